"""What mapping needs to know of a generator, as a protocol: so mapping never imports the models stage.

`vjgan.models.base.Generator` (a torch module) satisfies it; mapping only reads shapes and layer names,
asks for seeds' latents, and (GANSpace) runs the mapping network.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class LatentModel(Protocol):
    z_dim: int
    w_dim: int
    num_ws: int
    # bendable layers in forward order, and (VAE-GAN) the encoder's, "enc.*"
    layer_names: tuple[str, ...]
    encoder_layer_names: tuple[str, ...]
    # ws row ranges [start, stop) of the coarse/middle/fine latent groups
    layer_groups: dict[str, tuple[int, int]]

    @property
    def w_avg(self) -> Any:
        """Mean w (w_dim,): a tensor or an array."""

    def mapping(self, z: Any, truncation_psi: float = 1.0) -> Any:
        """z (B, z_dim) → ws (B, num_ws, w_dim), as tensors."""

    def seeds_to_ws(self, seeds: list[int], truncation_psi: float = 1.0) -> np.ndarray:
        """Reproducible latents, (len(seeds), num_ws, w_dim) float32."""
