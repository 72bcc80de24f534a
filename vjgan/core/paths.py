"""Where things live: the repo's shaders/ and presets/, shipped assets, the per-user cache, and which folders
remote requests (OSC, the panel) may touch."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from vjgan.core.errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # vjgan/
REPO_DIR = PACKAGE_DIR.parent
ASSETS_DIR = PACKAGE_DIR / "assets"
SHADERS_DIR = Path(os.environ.get("VJGAN_SHADERS", REPO_DIR / "shaders"))
PRESETS_DIR = Path(os.environ.get("VJGAN_PRESETS", REPO_DIR / "presets"))


def cache_dir() -> Path:
    """Generated files (demo track, analysis caches). VJGAN_CACHE overrides; created on demand."""
    base = os.environ.get("VJGAN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "vjgan"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


class PathRefused(UserError):
    """A path from OSC or the panel that leads outside the folders it may touch."""


def default_media_dirs() -> list[Path]:
    """Where a VJ keeps tracks, clips and images: the working folder and the usual Music, Videos and Pictures."""
    home = Path.home()
    return [Path.cwd(), home / "Music", home / "Videos", home / "Pictures"]


def confine(text: str | Path, roots: Sequence[Path], what: str, suffix: str = "") -> Path:
    """`text` as a resolved path inside one of `roots`, else PathRefused.

    Paths that arrive over the network (OSC) or from the panel may only read or write in the folders the user
    configured: absolute paths elsewhere, `..` escapes and symlinks that resolve outside are refused. A relative
    path is taken from `roots[0]`; `suffix` (e.g. ".toml") is appended when missing, before the final check, so
    a symlink named NAME.toml cannot lead out either; `~` is the user's home. Local command-line paths never come
    through here.
    """
    raw = str(text).strip()
    inside = " or ".join(str(r) for r in roots) or "(no folders configured)"
    if not raw or "\x00" in raw:
        raise PathRefused(f"{what} {raw!r} refused: not a usable path")
    try:
        p = Path(raw).expanduser()
        if not p.is_absolute():
            if not roots:
                raise PathRefused(f"{what} {raw!r} refused: no folder is configured for it")
            p = roots[0] / p
        full = p.resolve()
        if suffix and not full.name:
            raise PathRefused(f"{what} {raw!r} refused: not a file name")
        if suffix and not full.name.endswith(suffix):
            full = full.with_name(full.name + suffix).resolve()
        allowed = [r.resolve() for r in roots]
    except (OSError, ValueError, RuntimeError) as exc:  # symlink loops, names too long
        raise PathRefused(f"{what} {raw!r} refused: {exc}") from exc
    if any(full == r or full.is_relative_to(r) for r in allowed):
        return full
    raise PathRefused(f"{what} {raw!r} refused: {full} is outside {inside}")
