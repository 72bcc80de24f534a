"""A fixed painting head: four smooth fields from the synthesis network → a sharp 16:9 colour image.

Why: a network that CPU training can fit in half an hour paints smooth fields, and smooth fields alone
are the soft colour washes nobody wants to project. The head turns them into structure analytically —
contour bands with hard edges, thin ridge lines, a palette and light and dark — at a higher resolution
than the network runs at, so detail costs no network work and stays crisp when upscaled. Everything
upstream (latents, bending, noise) still shapes the picture: the head only draws what the fields say.

Field channels (each roughly in [-3, 3]):
  0 height: its level sets become two-tone bands (`bands` per unit, edge steepness `sharpness`)
  1 hue: position on a cosine palette (light bands) and its complement (dark bands)
  2 ridges: thin bright lines where it crosses its level set
  3 shade: light and dark over the whole picture
The network's square field map covers a 16:9 canvas (x stretched): the head resamples it to
(height, height × aspect), so the picture is widescreen natively with no mirrored constant.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from vjgan.core.errors import UserError

FIELDS = 4  # the synthesis network's img_channels when it has this head
DARK = 0.35  # brightness of the dark bands relative to the light ones


@dataclass(frozen=True)
class ContourHeadConfig:
    """Stored in the model's config (`head`), so a checkpoint always paints the same way."""

    height: int = 256  # output height in pixels (the network's resolution × 2 for the default model)
    aspect: float = 16 / 9
    bands: float = 1.5  # bands per unit of the height field
    sharpness: float = 6.0  # edge steepness of the bands (≥ 6: hard edges; 1: soft stripes)
    hue_scale: float = 0.2
    ridge_freq: float = 0.8
    ridge_width: float = 0.1
    ridge_gain: float = 0.35

    @property
    def width(self) -> int:
        return int(round(self.height * self.aspect / 2)) * 2

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ContourHeadConfig:
        d = dict(d)
        kind = d.pop("kind", "contour")
        if kind != "contour":
            raise UserError(f"unknown painting head {kind!r} (known: contour)")
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise UserError(f"unknown contour head fields: {sorted(unknown)}")
        cfg = cls(**d)
        if not 16 <= cfg.height <= 4096 or not 0.25 <= cfg.aspect <= 4:
            raise UserError(f"contour head: height {cfg.height} / aspect {cfg.aspect} out of range")
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "contour", **asdict(self)}


class ContourHead(torch.nn.Module):
    """fields (B, 4, h, w) → image (B, 3, height, width) in [-1, 1]. No weights: nothing to train."""

    def __init__(self, cfg: ContourHeadConfig):
        super().__init__()
        self.cfg = cfg
        # cosine palette (Quilez): colour(t) = ½ + ½·cos(2π(t + phase)); dark bands take the complementary
        # colour (t + ½, i.e. 1 − colour: no second cosine), dimmed
        self.register_buffer("phase", torch.tensor([0.0, 0.33, 0.67]).reshape(1, 3, 1, 1), persistent=False)

    @property
    def output_size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.cfg.width, self.cfg.height

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        f = F.interpolate(fields.float(), size=(c.height, c.width), mode="bilinear", align_corners=False)
        height, hue, ridge, shade = f.unbind(1)
        band = torch.sigmoid(c.sharpness * torch.sin(2 * math.pi * c.bands * height)).unsqueeze(1)
        light = torch.cos(2 * math.pi * (c.hue_scale * hue.unsqueeze(1) + self.phase)).mul_(0.5).add_(0.5)
        dark = (1 - light).mul_(DARK)
        line = torch.exp(-(torch.sin(math.pi * c.ridge_freq * ridge) / c.ridge_width).square()).unsqueeze(1)
        light_dark = (0.6 + 0.4 * torch.tanh(1.2 * shade)).unsqueeze(1)
        rgb = torch.lerp(dark, light, band) * light_dark + c.ridge_gain * line
        return rgb.clamp(0, 1) * 2 - 1


def build_head(spec: dict[str, Any]) -> ContourHead | None:
    """The head a config asks for ({} = none: the network's channels are the image)."""
    return ContourHead(ContourHeadConfig.from_dict(spec)) if spec else None
