"""Real photos for VAE-GAN tests: crops of Debian's wallpapers, committed in tests/data/wallpapers.

Generated shapes hid a divergence that real photos showed at once (#16), so stability and quality
are also tested on these (sources and licences: tests/data/wallpapers/LICENSE.md; made by
scripts/wallpaper_crops.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

WALLPAPERS = Path(__file__).resolve().parents[1] / "data" / "wallpapers"


def wallpaper_crops(n_train: int, n_held: int, folder: Path, res: int = 32,
                    seed: int = 0) -> tuple[Path, np.ndarray, np.ndarray]:
    """Writes n_train crops as PNG files to `folder` (a real folder for `load_image_folder`/`vjgan train`)
    and returns (folder, train images, held-out images) as uint8 (n, res, res, 3); the held-out crops are
    a random other part of the set, never written to `folder`."""
    paths = sorted(WALLPAPERS.glob("*.png"))
    if n_train + n_held > len(paths):
        raise ValueError(f"only {len(paths)} crops in {WALLPAPERS}")
    pick = np.random.default_rng(seed).permutation(len(paths))[: n_train + n_held]
    images = []
    for i in pick:
        with Image.open(paths[i]) as im:
            im = im.convert("RGB")
            if im.size != (res, res):
                im = im.resize((res, res), Image.Resampling.LANCZOS)
            images.append(np.asarray(im))
    arr = np.stack(images)
    folder.mkdir(parents=True, exist_ok=True)
    for k, im in enumerate(arr[:n_train]):
        Image.fromarray(im).save(folder / f"crop_{k:04d}.png")
    return folder, arr[:n_train], arr[n_train:]
