"""What StyleGAN2 and StyleGAN3 share behind the Generator interface (kept apart so each network's
module stays one readable page): the official mapping/synthesis submodules, the 16:9 crop of a
widescreen picture, an optional painting head (models.contour_head), w_avg."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from vjgan.core.errors import UserError
from vjgan.models.base import Generator

if TYPE_CHECKING:
    from vjgan.models.contour_head import ContourHead


class StyleGANFamily(Generator):
    """What StyleGAN2 and StyleGAN3 share behind the Generator interface: the official mapping network
    (`mapping_network`, with w_avg), the synthesis network (`synthesis_network`) and the 16:9 crop of a
    widescreen picture. Subclasses register the networks as submodules "mapping" and "synthesis" (the
    official state_dict keys; the methods of the same names shadow attribute access), and set
    `layer_names` (paths inside the synthesis network), `img_resolution` and `widescreen`; a subclass
    with a painting head registers it as submodule "head" (the synthesis network then paints fields)."""

    @property
    def head(self) -> ContourHead | None:
        return self._modules.get("head")  # type: ignore[return-value]

    @property
    def mapping_network(self) -> torch.nn.Module:
        """stylegan2.MappingNetwork (StyleGAN3 reuses it): z → ws, with its w_avg buffer."""
        return self._modules["mapping"]  # type: ignore[return-value]

    @property
    def synthesis_network(self) -> torch.nn.Module:
        return self._modules["synthesis"]  # type: ignore[return-value]

    def layer_module(self, name: str) -> torch.nn.Module:
        if name not in self.layer_names:
            raise UserError(f"unknown layer {name!r}; layers: {', '.join(self.layer_names)}")
        return self.synthesis_network.get_submodule(name)

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                c: torch.Tensor | None = None) -> torch.Tensor:
        return self.mapping_network(z, c, truncation_psi, truncation_cutoff)

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        img = self.synthesis_network(ws)
        if self.widescreen == "16:9":
            h, w = img.shape[2], img.shape[3]
            target = min(w, int(round(h * 16 / 9 / 2)) * 2)
            x0 = (w - target) // 2
            img = img[:, :, :, x0:x0 + target]
        return img if self.head is None else self.head(img)

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation_psi))

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping_network.w_avg

    @property
    def output_size(self) -> tuple[int, int]:
        """(width, height) of synthesis() output in the current widescreen mode."""
        if self.head is not None:
            return self.head.output_size
        h = self.img_resolution
        if self.widescreen is None:
            return (h, h)
        if self.widescreen == "mirror":
            return (2 * h, h)
        return (min(2 * h, int(round(h * 16 / 9 / 2)) * 2), h)

    @torch.no_grad()
    def compute_w_avg(self, n: int = 10000, seed: int = 0) -> None:
        """Mean w over n random z (for checkpoints that do not store it)."""
        g = torch.Generator().manual_seed(seed)
        dev = self.w_avg.device
        acc = torch.zeros(self.w_dim, dtype=torch.float64, device=dev)
        for i in range(0, n, 1000):
            z = torch.randn(min(1000, n - i), self.z_dim, generator=g).to(dev)
            acc += self.mapping(z)[:, 0].double().sum(0)
        self.mapping_network.w_avg.copy_((acc / n).float())
