"""What the two official-equivalence scripts share: importing the official code from a checkout you
supply (stubbing what its networks do not need), randomising what initialisation leaves constant, and
comparing ws and images of an official network with ours for the same z / ψ / class."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import torch


def import_official(checkout: Path) -> None:
    """Put the checkout on sys.path; stub `requests` (dnnlib.util) and `pkg_resources` (a version check in
    stylegan3's conv2d_gradfix) when missing: the networks never call them."""
    sys.path.insert(0, str(checkout.expanduser()))
    try:
        import requests  # noqa: F401
    except ImportError:
        sys.modules["requests"] = types.ModuleType("requests")
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import packaging.version

        mod = types.ModuleType("pkg_resources")
        mod.parse_version = packaging.version.parse  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = mod


@torch.no_grad()
def randomise_sg2(og: torch.nn.Module) -> None:
    """StyleGAN2 initialises noise strengths, biases and w_avg to constants: random values make a wrong
    use of any of them show."""
    for n, p in og.named_parameters():
        if "noise_strength" in n or n.endswith("bias"):
            p.normal_(0, 0.5)
    og.mapping.w_avg.normal_()


def diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


@torch.no_grad()
def compare_outputs(og: torch.nn.Module, ours: torch.nn.Module, z: torch.Tensor, c: torch.Tensor, label: str,
                    **official_synthesis_kwargs: object) -> float:
    """ws (ψ 1 and 0.7) and images (batch 1 and 4) of both networks for latents z and class labels c
    (c.shape[1] == 0: unconditional); prints each, returns the worst max |difference|."""
    c_dim = c.shape[1]
    worst = 0.0
    for psi in (1.0, 0.7):
        wo = og.mapping(z, c, truncation_psi=psi)
        wm = ours.mapping(z, psi, c=c if c_dim else None)
        for b in (1, 4):
            io = og.synthesis(wo[:b], **official_synthesis_kwargs)
            im = ours.synthesis(wo[:b])
            d_ws, d_img = diff(wo, wm), diff(io, im)
            worst = max(worst, d_ws, d_img)
            print(f"{label} psi={psi} batch={b}: ws max|d|={d_ws:.3g} image max|d|={d_img:.3g} "
                  f"(image range ±{io.abs().max().item():.2f})")
    return worst
