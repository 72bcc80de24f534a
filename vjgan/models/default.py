"""The embedded default model, so a fresh checkout shows pictures with no download.

A small StyleGAN2 (128², channel_max 64, ~2 MB) trained by scripts/train_default_model.py on procedural
colour fields (fixed waves, rings and blobs mixed by z, through cosine palettes); see docs/models.md.
"""

from __future__ import annotations

from pathlib import Path

from vjgan.core.errors import UserError
from vjgan.core.paths import ASSETS_DIR
from vjgan.models.base import Generator

DEFAULT_MODEL_PATH: Path = ASSETS_DIR / "default_model.safetensors"


def load_default_generator(device: str = "cpu") -> Generator:
    from vjgan.models.vjgan_format import load_vjgan

    if not DEFAULT_MODEL_PATH.exists():
        raise UserError(f"the embedded default model is missing ({DEFAULT_MODEL_PATH}); "
                        "reinstall vjgan or run scripts/train_default_model.py")
    return load_vjgan(DEFAULT_MODEL_PATH, device)
