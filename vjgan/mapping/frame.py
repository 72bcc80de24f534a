"""What the mapping engine hands to the generator thread and the renderer for one frame.

Plain data (numpy, floats, dicts of floats) so it crosses threads cheaply and never holds GPU state:
the generator thread copies it into its preallocated device tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(slots=True)
class GeneratorParams:
    """Everything the generator needs for one frame.

    `latent` is a W+ latent, shape (num_ws, w_dim), already mixed (chroma sums, loops, sections,
    prototype directions). Dict keys are the generator's layer names (`Generator.layer_names`);
    a layer missing from a dict keeps its neutral value.
    """

    latent: np.ndarray
    truncation: float = 1.0  # ψ, applied around the generator's mean w by the generator thread
    noise_strength: dict[str, float] = field(default_factory=dict)  # layer -> multiplier of learned noise
    noise_mask: str | None = None  # name of a spatial noise mask (see models.noise), None = uniform
    noise_mask_amount: float = 0.0
    # layer -> transform -> value, e.g. {"b16.conv0": {"zoom": 1.2, "rotate": 15.0}}; see models.bending
    bends: dict[str, dict[str, float]] = field(default_factory=dict)
    rewrite: dict[str, float] = field(default_factory=dict)  # layer -> weight scale (1 = original)
    # a VAE-GAN's encoder layers ("enc.*") -> transform -> value: bends what the encoder sees of a camera
    # frame; applied by the frame-encoder thread (vjgan.video.encoder), not the generator thread
    encoder_bends: dict[str, dict[str, float]] = field(default_factory=dict)
    seq: int = 0  # increasing counter, lets the generator skip work when nothing changed


@dataclass(slots=True)
class ShaderParams:
    """Uniform values for the GLSL post-FX chain: effect name -> uniform name -> value."""

    uniforms: dict[str, dict[str, float]] = field(default_factory=dict)
    chain: tuple[str, ...] = ()  # effect names in order; empty = keep the current chain


@dataclass(slots=True)
class FrameParams:
    generator: GeneratorParams
    shader: ShaderParams
    time: float = 0.0  # audio time these params were computed for
    # the semantic edits (latent.direction.*, latent.pca.*) already inside generator.latent, kept apart so
    # a latent from elsewhere (a camera frame through the VAE-GAN encoder) gets the same edits
    latent_offset: np.ndarray | None = None
