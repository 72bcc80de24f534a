"""`--model procedural`: an analytic "generator" (interfering colour waves) behind the Generator interface.

It has no learned weights, costs a few milliseconds, and reacts to latents the way a GAN does (nearby
latents → similar images), so the live loop, the panel and the tests can run without a checkpoint.
It is selected only explicitly with `--model procedural`.
"""

from __future__ import annotations

import math

import torch

from vjgan.models.base import Generator


class ProceduralGenerator(Generator):
    z_dim = 64
    w_dim = 64
    num_ws = 8
    layer_names = ()
    layer_groups = {"coarse": (0, 3), "middle": (3, 6), "fine": (6, 8)}

    def __init__(self, resolution: int = 256, waves: int = 6) -> None:
        super().__init__()
        self.img_resolution = resolution
        self.waves = waves
        g = torch.Generator().manual_seed(1234)
        # Fixed random projection z → w; a Parameter so `.parameters()` reports the device.
        self.proj = torch.nn.Parameter(torch.randn(self.z_dim, self.w_dim, generator=g) / math.sqrt(self.z_dim),
                                       requires_grad=False)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, resolution), torch.linspace(-1, 1, resolution), indexing="ij")
        self.register_buffer("xs", xs, persistent=False)
        self.register_buffer("ys", ys, persistent=False)

    @property
    def w_avg(self) -> torch.Tensor:
        return torch.zeros(self.w_dim, device=self.proj.device)

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        w = torch.tanh(z @ self.proj) * truncation_psi
        return w[:, None, :].expand(-1, self.num_ws, -1).contiguous()

    @torch.no_grad()
    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        coarse = ws[:, 0:3].mean(1)  # wave directions and frequencies
        middle = ws[:, 3:6].mean(1)  # phases
        fine = ws[:, 6:8].mean(1)  # colour mixing
        n = self.waves
        freq = 2.0 + 6.0 * coarse[:, :n].abs()  # (B, n)
        ang = math.pi * coarse[:, n : 2 * n]
        phase = 2 * math.pi * middle[:, :n]
        x, y = self.xs[None, None], self.ys[None, None]  # (1, 1, H, W)
        arg = freq[..., None, None] * (torch.cos(ang)[..., None, None] * x + torch.sin(ang)[..., None, None] * y)
        waves = torch.sin(arg + phase[..., None, None])  # (B, n, H, W)
        colours = fine[:, : 3 * n].reshape(-1, 3, n)  # (B, 3, n)
        img = torch.einsum("bcn,bnhw->bchw", colours, waves) / math.sqrt(n) * 2.0
        return torch.tanh(img)
