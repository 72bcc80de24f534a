"""The messages of one frame: what the mapping engine hands to the generator and the renderer, and what
the generator hands back.

Plain data (numpy, floats, dicts of floats) so it crosses threads cheaply and never holds GPU state:
the generator thread copies it into its preallocated device tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    model_mix: float = 0.0  # 0..1: weights blended toward the mix model (`--mix-model`), 0 = the model's own
    # a VAE-GAN's encoder layers ("enc.*") -> transform -> value: bends what the encoder sees of a camera
    # frame; applied by the frame-encoder thread (vjgan.models.frame_encoder), not the generator thread
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


@dataclass(slots=True)
class GeneratedFrame:
    """One generator output on its way to the renderer.

    `image` stays on the generator's device (uint8, H×W×4, RGBA, top row first) so a CUDA
    renderer can copy it device-to-device; the CPU path uploads it from host memory.
    """

    image: Any  # a torch.Tensor on the generator's device (core itself never imports torch)
    seq: int  # GeneratorParams.seq it was made from
    time: float  # audio time of the params
    gen_ms: float  # generator forward time
    wall: float  # perf_counter() when finished
