"""Image folders for VAE-GAN training, and a procedural "coloured shapes" set for tests and demos.

A whole folder is decoded once into one uint8 tensor: a few hundred images at 128² is ~30 MB, and
it keeps the training loop free of file I/O and decode errors.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from vjgan.core.errors import UserError

log = logging.getLogger(__name__)

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MIN_IMAGES = 16  # below this the critic memorises the set and the encoder has nothing to generalise from


def list_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"image folder not found: {folder}")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def load_image(path: Path, resolution: int) -> tuple[np.ndarray, tuple[int, int]]:
    """RGB uint8 (R, R, 3), centre-cropped to square and resized, and the file's own size.

    What an artist's folder holds, read as they see it: phone photos turned upright by their EXIF
    orientation, transparency over black (the projector's background), 16-bit scans scaled to 8 bits
    (Pillow would clip them to white), big JPEGs decoded at a reduced scale (3-5x faster, still at least
    twice the training size before the Lanczos resize)."""
    with Image.open(path) as im:
        size = im.size
        short = min(size)
        if short > 2 * resolution:
            im.draft("RGB", (size[0] * 2 * resolution // short, size[1] * 2 * resolution // short))
        im.load()
        im = _to_rgb(ImageOps.exif_transpose(im))
    w, h = im.size
    s = min(w, h)
    if w != h:
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    if s != resolution:
        im = im.resize((resolution, resolution), Image.Resampling.LANCZOS)
    return np.asarray(im, dtype=np.uint8), size


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16/32-bit greyscale: scale, never clip
        a = np.asarray(im, dtype=np.float64)
        peak = float(a.max())
        top = 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else peak
        im = Image.fromarray(np.clip(a * (255.0 / top), 0, 255).round().astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", im.size, (0, 0, 0, 255)), im).convert("RGB")
    return im.convert("RGB")


def _load_or_why(path: Path, resolution: int) -> tuple[np.ndarray, tuple[int, int]] | str:
    try:
        return load_image(path, resolution)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return f"{path.name} ({type(exc).__name__})"


def load_image_folder(folder: str | Path, resolution: int, min_images: int = MIN_IMAGES,
                      progress: bool = True) -> torch.Tensor:
    """All readable images under `folder` as uint8 (N, 3, R, R). Skips unreadable files with a note."""
    paths = list_images(folder)
    if not paths:
        raise UserError(f"no images in {folder} (looked for {', '.join(IMAGE_EXTS)}, also in subfolders)")
    images: list[np.ndarray] = []
    bad: list[str] = []
    sizes: set[tuple[int, int]] = set()
    n_resized = 0
    # decoding and resizing release the GIL: a few threads read a folder of big photos a few times faster
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        loaded = pool.map(lambda p: _load_or_why(p, resolution), paths)
        for item in tqdm(loaded, total=len(paths), desc="loading images", unit="img", disable=not progress,
                         leave=False):
            if isinstance(item, str):
                bad.append(item)
                continue
            images.append(item[0])
            sizes.add(item[1])
            n_resized += item[1] != (resolution, resolution)
    if bad:
        log.warning("skipped %d unreadable image(s) in %s: %s%s", len(bad), folder, ", ".join(bad[:5]),
                    " …" if len(bad) > 5 else "")
    if n_resized:
        log.info("%d of %d images were not %d×%d (sizes seen: %s); centre-cropped and resized", n_resized,
                 len(images), resolution, resolution, ", ".join(f"{w}×{h}" for w, h in sorted(sizes)[:5]))
    if len(images) < min_images:
        raise UserError(f"only {len(images)} usable image(s) in {folder}; VAE-GAN training needs at least "
                        f"{min_images} (a few hundred give usable results)")
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


# --- procedural data ---------------------------------------------------------------------------------
def red_square_box(resolution: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the fixed red square of the shapes set: the top-left quarter's middle."""
    s = resolution // 4
    o = resolution // 16
    return o, o, o + s, o + s


def make_shapes(n: int, resolution: int, seed: int = 0,
                red_square: float | bool = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """n images (n, R, R, 3) uint8 of a coloured ellipse/triangle on a coloured background.

    With probability `red_square` (True = always, False = never) a red square sits at a fixed place
    (`red_square_box`): the known attribute for prototype tests. Second item: bool mask of which have it.
    The other shapes avoid pure red so "redness" there is the square's.
    """
    rng = np.random.default_rng(seed)
    p = float(red_square)
    out = np.empty((n, resolution, resolution, 3), np.uint8)
    has = rng.random(n) < p
    r = resolution
    for i in range(n):
        bg = tuple(int(c) for c in rng.integers(40, 200, 3) * np.array([0.5, 1, 1]))
        im = Image.new("RGB", (r, r), bg)
        d = ImageDraw.Draw(im)
        col = tuple(int(c) for c in rng.integers(0, 255, 3) * np.array([0.4, 1, 1]))
        cx, cy = rng.uniform(0.35, 0.75, 2) * r
        size = rng.uniform(0.12, 0.25) * r
        if rng.random() < 0.5:
            d.ellipse((cx - size, cy - size, cx + size, cy + size), fill=col)
        else:
            d.polygon([(cx, cy - size), (cx - size, cy + size), (cx + size, cy + size)], fill=col)
        if has[i]:
            x0, y0, x1, y1 = red_square_box(r)
            d.rectangle((x0, y0, x1 - 1, y1 - 1), fill=(230, 20, 20))
        out[i] = np.asarray(im)
    return out, has


def redness(images: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Mean (R - (G + B) / 2) in the box, per image, for uint8 (n, H, W, 3): the attribute's strength."""
    x0, y0, x1, y1 = box
    reg = images[:, y0:y1, x0:x1].astype(np.float32)
    return (reg[..., 0] - 0.5 * (reg[..., 1] + reg[..., 2])).mean(axis=(1, 2))


def write_images(images: np.ndarray, folder: str | Path, prefix: str = "img") -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, im in enumerate(images):
        p = folder / f"{prefix}_{i:04d}.png"
        Image.fromarray(im).save(p)
        paths.append(p)
    return paths
