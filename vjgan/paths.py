"""Where things live: the repo's shaders/ and presets/, shipped assets, and the per-user cache."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
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
