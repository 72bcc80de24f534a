"""Per-layer noise strength and spatial noise masks, written in place into the generator's noise gains.

Each noisy layer multiplies its learned noise by a gain buffer (1, 1, H, W) (`Generator.noise_gain_buffers`).
The gain is `strength[layer] · lerp(1, mask, amount)`: strength scales the learned noise (1 = as trained,
0 = none, >1 = boiling texture), the mask puts it where the picture should churn.

Masks: procedural names (MASKS) or a path to an image file (grey levels, resized to each layer).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vjgan.core.errors import UserError
from vjgan.core.vocab import NOISE_MASKS
from vjgan.models.base import Generator

MASKS = NOISE_MASKS
MASK_SIZE = 256


def procedural_mask(name: str, h: int = MASK_SIZE, w: int = MASK_SIZE) -> torch.Tensor:
    """(h, w) mask in [0, 1]."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    r = torch.sqrt(x**2 + y**2) / math.sqrt(2)
    masks = {
        "radial": 1 - r,
        "edges": r,
        "top": (1 - y) / 2,
        "bottom": (1 + y) / 2,
        "left": (1 - x) / 2,
        "right": (1 + x) / 2,
        "checker": ((torch.sin(4 * math.pi * x) * torch.sin(4 * math.pi * y)) > 0).float(),
        "rings": 0.5 + 0.5 * torch.cos(8 * math.pi * r),
        "stripes": 0.5 + 0.5 * torch.cos(8 * math.pi * x),
    }
    if name not in masks:
        raise UserError(f"unknown noise mask {name!r}: use one of {', '.join(MASKS)} or an image file path")
    return masks[name].clamp(0, 1)


def image_mask(path: str | Path) -> torch.Tensor:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L").resize((MASK_SIZE, MASK_SIZE)), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as exc:
        raise UserError(f"{path}: cannot read noise mask image ({exc})") from None
    return torch.from_numpy(arr)


class NoiseControl:
    """Keeps the gain buffers of one generator in step with (strengths, mask, amount)."""

    def __init__(self, generator: Generator):
        self.gains = generator.noise_gain_buffers()
        self.layers = tuple(self.gains)
        self._masks: dict[str, torch.Tensor] = {}  # per layer, resized mask of the current mask name
        self._mask_name: str | None = None
        self._cache: dict[str, torch.Tensor] = {}
        self._last: tuple | None = None

    def set(self, strength: dict[str, float], mask: str | None = None, amount: float = 0.0) -> None:
        key = (tuple(sorted(strength.items())), mask, float(amount),
               tuple(tuple(g.shape) for g in self.gains.values()))
        if key == self._last:
            return
        unknown = set(strength) - set(self.layers)
        if unknown:
            raise UserError(f"noise: unknown layers {sorted(unknown)}; layers: {', '.join(self.layers)}")
        if mask != self._mask_name or self._masks_stale():
            self._load_mask(mask)
        for name, gain in self.gains.items():
            s = float(strength.get(name, 1.0))
            if mask is None or amount == 0:
                gain.fill_(s)
            else:
                m = self._masks[name]
                torch.mul(torch.lerp(torch.ones_like(m), m, float(amount)), s, out=gain)
        self._last = key

    def _masks_stale(self) -> bool:
        return any(self._masks.get(n) is None or self._masks[n].shape != g.shape for n, g in self.gains.items())

    def _load_mask(self, mask: str | None) -> None:
        self._masks = {}
        self._mask_name = mask
        if mask is None:
            return
        if mask not in self._cache:
            self._cache[mask] = procedural_mask(mask) if mask in MASKS else image_mask(mask)
        base = self._cache[mask][None, None]
        for name, gain in self.gains.items():
            m = F.interpolate(base, size=gain.shape[-2:], mode="bilinear", align_corners=False)
            self._masks[name] = m.to(gain.device)

    def refresh(self, generator: Generator) -> None:
        """Pick up re-allocated gain buffers (after a widescreen switch)."""
        self.gains = generator.noise_gain_buffers()
        self._last = None
