"""The one interface every generator implements, so mapping, bending and rendering never care which.

A generator works in a W+ latent space: `mapping` turns z into ws (num_ws × w_dim), `synthesis`
turns ws into an image. Layers that can be bent have stable names (`layer_names`), used as keys by
presets, the mapping engine (`GeneratorParams.bends/rewrite/noise_strength`) and OSC addresses.
"""

from __future__ import annotations

import numpy as np
import torch


class Generator(torch.nn.Module):
    """Abstract generator. Subclasses set the attributes in __init__ and implement the methods."""

    z_dim: int
    w_dim: int
    num_ws: int
    img_resolution: int  # native height in pixels
    img_channels: int = 3
    # bendable layers in forward order, e.g. ("b4.conv1", "b8.conv0", ...)
    layer_names: tuple[str, ...] = ()
    # bendable layers outside the synthesis (a VAE-GAN's encoder, "enc.*"); bent by whoever runs them
    encoder_layer_names: tuple[str, ...] = ()
    # ws index ranges [start, stop) driven by the mapping engine's coarse/middle/fine latent groups
    layer_groups: dict[str, tuple[int, int]] = {}

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        """z (B, z_dim) → ws (B, num_ws, w_dim)."""
        raise NotImplementedError

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """ws (B, num_ws, w_dim) → image (B, 3, H, W), roughly in [-1, 1]."""
        raise NotImplementedError

    @property
    def w_avg(self) -> torch.Tensor:
        """Mean w (w_dim,), the centre of truncation."""
        raise NotImplementedError

    # -- hooks for models.bending / noise / rewrite / loaders (added by the models stage) -------------
    def layer_module(self, name: str) -> torch.nn.Module:
        """The module whose output is the feature map of bendable layer `name` (and whose `.weight`
        model rewriting scales). Default: the submodule at that dotted path."""
        if name not in self.layer_names:
            raise KeyError(name)
        return self.get_submodule(name)

    def noise_gain_buffers(self) -> dict[str, torch.Tensor]:
        """layer -> (1, 1, H, W) buffer multiplying that layer's noise, written in place by models.noise.
        Generators without noise inputs return {}."""
        return {}

    def set_widescreen(self, mode: str | None) -> None:
        """None | "mirror" | "16:9": widen the output without retraining, where the architecture allows."""
        if mode is not None:
            from vjgan.core.errors import UserError

            raise UserError(f"{type(self).__name__} has no widescreen mode")

    def config_dict(self) -> dict:
        """{"kind": ..., "config": {...}}: what models.vjgan_format needs to rebuild this generator."""
        raise NotImplementedError

    @torch.no_grad()
    def seeds_to_ws(self, seeds: list[int], truncation_psi: float = 1.0) -> np.ndarray:
        """Reproducible latents for seeds, (len(seeds), num_ws, w_dim) float32 on the CPU."""
        device = next(self.parameters()).device
        z = torch.stack([torch.from_numpy(np.random.RandomState(s).randn(self.z_dim)) for s in seeds])
        return self.mapping(z.float().to(device), truncation_psi).float().cpu().numpy()
