"""An artist's folder read as they see it: real wallpaper crops written the ways real files come (a phone
JPEG with an EXIF orientation, a PNG with transparency, a 16-bit scan, a big JPEG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.vaegan.wallpapers import WALLPAPERS
from vjgan.models.vaegan_data import load_image

ORIENTATION = 0x0112


def _photo(name: str = "Altai_003.png", size: int = 64) -> Image.Image:
    with Image.open(WALLPAPERS / name) as im:
        return im.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def test_a_phone_photo_is_turned_upright_by_its_exif_orientation(tmp_path: Path) -> None:
    upright = _photo()
    upright.save(tmp_path / "upright.jpg", quality=95)
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # "rotate 90° clockwise to show": the sensor stored it turned the other way
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "phone.jpg", quality=95, exif=exif)
    want, _ = load_image(tmp_path / "upright.jpg", 64)
    got, size = load_image(tmp_path / "phone.jpg", 64)
    assert size == (64, 64)
    assert _diff(got, want) < 3  # JPEG noise only
    assert _diff(np.rot90(got), want) > 5 * _diff(got, want)  # ignoring the tag would show it sideways


def test_transparency_is_black_like_the_projector(tmp_path: Path) -> None:
    rgb = np.asarray(_photo()).copy()
    alpha = np.full((64, 64), 255, np.uint8)
    alpha[:, :32] = 0
    rgb[:, :32] = 255  # what hides under transparent pixels is arbitrary: here white
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(tmp_path / "cutout.png")
    got, _ = load_image(tmp_path / "cutout.png", 64)
    assert (got[:, :32] == 0).all()
    assert (got[:, 32:] == rgb[:, 32:]).all()


def test_a_16_bit_scan_keeps_its_tones(tmp_path: Path) -> None:
    grey = np.asarray(_photo().convert("L"))
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "scan16.png")  # 0..65535
    assert Image.open(tmp_path / "scan16.png").mode.startswith("I")
    got, _ = load_image(tmp_path / "scan16.png", 64)
    assert np.abs(got[..., 0].astype(int) - grey).max() <= 1  # not clipped to white
    assert (got[..., 0] == got[..., 1]).all() and (got[..., 1] == got[..., 2]).all()


def test_a_big_jpeg_decoded_at_reduced_scale_looks_the_same(tmp_path: Path) -> None:
    big = _photo("BytheWater_005.png", 1600)
    big.save(tmp_path / "big.jpg", quality=92)
    got, size = load_image(tmp_path / "big.jpg", 64)  # decoded at 1/8 scale (200², ≥ 2 × 64)
    with Image.open(tmp_path / "big.jpg") as im:
        full = np.asarray(im.convert("RGB").resize((64, 64), Image.Resampling.LANCZOS))
    assert size == (1600, 1600)
    assert _diff(got, full) < 2.0
