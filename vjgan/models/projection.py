"""Projection: find the latent a generator would need to paint a given image, by optimisation.

No perceptual network ships with vjgan (and none may be downloaded at run time), so the loss compares
Laplacian pyramids: each band (edges at every scale, then the coarse colour) is matched in L1, which
weighs structure like a perceptual loss does far better than plain pixel MSE, at no extra weights.
The search starts from the best of a few random latents (cheap forwards), adds decaying noise to the
latent early on to leave shallow minima, and optimises W (one w for every layer) or W+ (one per layer:
closer fits, less editable). The result is a W+ latent shaped (num_ws, w_dim): a prototype, a latent
set or a loop key for the mapping engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from vjgan.core.errors import UserError
from vjgan.models.base import Generator

PYRAMID_LEVELS = 5


@dataclass
class ProjectionResult:
    ws: np.ndarray  # (num_ws, w_dim) float32
    image: np.ndarray  # the generator's rendering of ws, uint8 (H, W, 3)
    target: np.ndarray  # what it was compared with: the image cropped and resized, uint8 (H, W, 3)
    psnr: float  # of that rendering against the (resized) target, dB
    losses: list[float] = field(default_factory=list)  # per step


def _blur_down(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=x.device) / 16.0
    k2 = (k[:, None] * k[None, :]).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k2, stride=2, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, levels: int = PYRAMID_LEVELS) -> list[torch.Tensor]:
    """Band-pass images from fine to coarse, then the low-pass residual (B, C, H, W each)."""
    bands = []
    for _ in range(levels - 1):
        if min(x.shape[-2:]) < 8:
            break
        low = _blur_down(x)
        up = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
        bands.append(x - up)
        x = low
    return [*bands, x]


def pyramid_loss(a: torch.Tensor, b: torch.Tensor, levels: int = PYRAMID_LEVELS) -> torch.Tensor:
    """Σ over bands of 2^level · mean |band_a − band_b|: coarse bands carry as much weight as fine edges."""
    return sum((2.0**i) * (pa - pb).abs().mean()
               for i, (pa, pb) in enumerate(zip(laplacian_pyramid(a, levels), laplacian_pyramid(b, levels),
                                                strict=True)))


def _render(generator: Generator, ws: torch.Tensor) -> torch.Tensor:
    img = generator.synthesis(ws)[:, :3]
    return img.float()


def target_tensor(image: np.ndarray, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    """uint8 (H, W, 3) → (1, 3, h, w) in [-1, 1], centre-cropped to the generator's aspect, then resized."""
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
        raise UserError(f"projection needs an RGB uint8 image, got {image.dtype} {image.shape}")
    h, w = size
    ih, iw = image.shape[:2]
    if iw * h > ih * w:  # too wide: crop the sides
        cw = max(1, round(ih * w / h))
        image = image[:, (iw - cw) // 2 : (iw - cw) // 2 + cw]
    else:
        ch = max(1, round(iw * h / w))
        image = image[(ih - ch) // 2 : (ih - ch) // 2 + ch]
    t = torch.from_numpy(np.ascontiguousarray(image[..., :3])).to(device).permute(2, 0, 1)[None].float()
    t = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    return t / 127.5 - 1.0


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR of two [-1, 1] images, as on 0..255 pixels."""
    mse = float(((a.clamp(-1, 1) - b.clamp(-1, 1)) ** 2).mean()) / 4.0
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def project(generator: Generator, image: np.ndarray, steps: int = 300, lr: float = 0.05, w_plus: bool = True,
            starts: int = 16, seed: int = 0, progress: Callable[[int, float], None] | None = None,
            ) -> ProjectionResult:
    """Optimise a latent so that `generator.synthesis` reproduces `image` (uint8 H×W×3)."""
    if not callable(getattr(generator, "mapping", None)) or not generator.z_dim:
        raise UserError(f"{type(generator).__name__} has no mapping network: projection needs a GAN")
    if steps < 1:
        raise UserError("projection needs at least one step")
    device = generator.w_avg.device
    generator.eval().requires_grad_(False)
    with torch.no_grad():
        probe = _render(generator, generator.w_avg.reshape(1, 1, -1).expand(1, generator.num_ws, -1))
        target = target_tensor(image, tuple(probe.shape[-2:]), device)
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(max(1, starts), generator.z_dim, generator=g).to(device)
        cands = torch.cat([generator.w_avg.reshape(1, 1, -1).expand(1, generator.num_ws, -1),
                           generator.mapping(z)])
        scores = [float(pyramid_loss(_render(generator, c[None]), target)) for c in cands]
        w0 = cands[int(np.argmin(scores))]
        w_std = float((generator.mapping(torch.randn(256, generator.z_dim, generator=g).to(device))[:, 0]
                       - generator.w_avg).square().sum(-1).mean().sqrt())
    w = (w0.clone() if w_plus else w0[:1].clone()).requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr, betas=(0.9, 0.999))
    losses: list[float] = []
    head = getattr(generator, "head", None)
    head_cfg = getattr(head, "cfg", None)
    try:
        for step in range(steps):
            if head_cfg is not None:  # continuation: soft bands first (useful gradients), hard by 70 %
                ramp = min(1.0, step / (0.7 * steps))
                head.cfg = replace(head_cfg, sharpness=1.0 + (head_cfg.sharpness - 1.0) * ramp)
            losses.append(_step(generator, w, w_plus, opt, target, lr, step / steps, w_std))
            if progress is not None:
                progress(step, losses[-1])
    finally:
        if head_cfg is not None:
            head.cfg = head_cfg
    with torch.no_grad():
        ws = (w if w_plus else w.expand(generator.num_ws, -1)).detach()
        out = _render(generator, ws[None])
        return ProjectionResult(ws.float().cpu().numpy(), to_uint8(out), to_uint8(target), psnr(out, target), losses)


def _step(generator: Generator, w: torch.Tensor, w_plus: bool, opt: torch.optim.Optimizer, target: torch.Tensor,
          lr: float, t: float, w_std: float) -> float:
    for group in opt.param_groups:  # warm up over 5 %, cosine down over the last 75 %
        group["lr"] = lr * min(1.0, t / 0.05) * (0.5 - 0.5 * math.cos(math.pi * min(1.0, (1 - t) / 0.75)))
    noise = 0.05 * w_std * max(0.0, 1 - t / 0.75) ** 2  # exploration that fades out
    ws = w if w_plus else w.expand(generator.num_ws, -1)
    ws = ws + noise * torch.randn_like(ws)
    loss = pyramid_loss(_render(generator, ws[None]), target)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [-1, 1] → uint8 (H, W, 3)."""
    return ((x[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
