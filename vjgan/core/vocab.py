"""Names every stage agrees on: bend transforms and noise masks.

One definition each, so a preset, an OSC address, the mapping engine and the generator's hooks can never
disagree about what `bend.<layer>.zoom` or `noise_mask = "rings"` means.
"""

from __future__ import annotations

# transform -> (minimum, maximum, neutral). Semantics in vjgan.models.bending (see docs/mapping.md).
BEND_TRANSFORMS: dict[str, tuple[float, float, float]] = {
    "translate_x": (-1.0, 1.0, 0.0),  # fraction of the layer's width
    "translate_y": (-1.0, 1.0, 0.0),
    "rotate": (-360.0, 360.0, 0.0),  # degrees
    "zoom": (0.05, 8.0, 1.0),  # 1 = identity
    "flip_x": (0.0, 1.0, 0.0),
    "flip_y": (0.0, 1.0, 0.0),
    "mirror_x": (0.0, 1.0, 0.0),
    "mirror_y": (0.0, 1.0, 0.0),
    "erode": (0.0, 4.0, 0.0),  # kernel radius in pixels
    "dilate": (0.0, 4.0, 0.0),
    "threshold": (0.0, 1.0, 0.0),  # 0 = off
    "invert": (0.0, 1.0, 0.0),
    "ablate": (0.0, 1.0, 0.0),  # fraction of channels
    "ablate_cluster": (0.0, 64.0, 0.0),  # k zeroes saved channel cluster k (0 = off)
}

# neutral value of each transform (the identity)
BEND_NEUTRAL: dict[str, float] = {t: r[2] for t, r in BEND_TRANSFORMS.items()}

# procedural spatial noise masks (vjgan.models.noise draws them); presets may also name an image file
NOISE_MASKS: tuple[str, ...] = ("radial", "edges", "top", "bottom", "left", "right", "checker", "rings", "stripes")
