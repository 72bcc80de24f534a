"""The layout the data flow draws, enforced: import-linter's contracts (pyproject.toml) hold, a stage that
imports another breaks them, and no module outgrows one readable page (500 lines)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_LINES = 500


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(root / "pyproject.toml")],
        cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=120,
    )


def test_import_contracts_hold() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_a_stage_importing_another_stage_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(REPO / "vjgan", tmp_path / "vjgan", ignore=shutil.ignore_patterns("__pycache__", "assets"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "vjgan" / "audio" / "shortcut.py").write_text("from vjgan.render.window import OutputWindow\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "vjgan.audio is not allowed to import vjgan.render" in result.stdout
    assert "vjgan.audio.shortcut -> vjgan.render.window" in result.stdout


def test_a_cycle_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(REPO / "vjgan", tmp_path / "vjgan", ignore=shutil.ignore_patterns("__pycache__", "assets"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "vjgan" / "core" / "a_loop.py").write_text("from vjgan.core import b_loop  # noqa\n")
    (tmp_path / "vjgan" / "core" / "b_loop.py").write_text("from vjgan.core import a_loop  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "No cycles are allowed in vjgan.core" in result.stdout


def test_no_module_over_one_page() -> None:
    sizes = {p.relative_to(REPO).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
             for p in (REPO / "vjgan").rglob("*.py")}
    assert len(sizes) > 50  # the walk found the package
    too_long = {path: n for path, n in sizes.items() if n > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines (split them by responsibility): {too_long}"
