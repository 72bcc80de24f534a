"""The real-music fixture: missing music skips on a developer's machine and fails under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

TEST = "tests/audio/test_bad_input.py::test_decodes_every_supported_kind"  # a shared_audio user


def _pytest(env_extra: dict[str, str], drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in drop} | env_extra
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", TEST], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_music_fails_under_ci(tmp_path: Path, ci: str) -> None:
    proc = _pytest({"CI": ci, "VJGAN_SHARED_AUDIO": str(tmp_path / "absent")})
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "1 error" in proc.stdout and "CI=true: the real-music tests must run" in proc.stdout


def test_missing_music_skips_outside_ci(tmp_path: Path) -> None:
    proc = _pytest({"VJGAN_SHARED_AUDIO": str(tmp_path / "absent")}, drop=("CI",))
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "1 skipped" in proc.stdout and "real music not available" in proc.stdout
