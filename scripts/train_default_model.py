"""Train the embedded default model (vjgan/assets/default_model.safetensors) from procedural fields.

Why this objective: a GAN does not converge in the CPU time this project can spend, so the real StyleGAN2
synthesis network is trained as a *learned renderer*: the first N_PARAMS dimensions of z are the parameters
of a procedural painter that mixes fixed shapes into four smooth fields, and the network regresses the
painter's fields for that z. Every z has a target, so nothing collapses, and the painter is smooth in z, so
moving the latent moves the picture smoothly. The model's painting head (vjgan/models/contour_head.py)
turns the fields into sharp bands, ridges, palette and shade; it has no weights, so nothing here trains it.

    nice -n 5 .venv/bin/python scripts/train_default_model.py --minutes 40
    nice -n 5 .venv/bin/python scripts/train_default_model.py --resume --minutes 25 --lr 3e-3
"""

from __future__ import annotations

import argparse
import functools
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from vjgan.core.paths import ASSETS_DIR
from vjgan.models.contour_head import FIELDS, ContourHeadConfig
from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from vjgan.models.vjgan_format import save_generator

DEFAULT_CONFIG = StyleGAN2Config(z_dim=128, w_dim=128, img_resolution=128, img_channels=FIELDS, channel_base=2048,
                                 channel_max=64, mapping_layers=2, mapping_lr_multiplier=1.0,
                                 head=ContourHeadConfig().to_dict())
ASPECT = 16 / 9
FIELD_WEIGHTS = (2.0, 1.0, 1.0, 1.0)  # the height field's errors are multiplied by the bands: weigh it most
# per field: how strongly z mixes the shapes in, and how far z moves its level (hue moves most: palettes)
MIX_SCALE = (0.45, 0.12, 0.3, 0.4)
LEVEL_SCALE = (0.5, 1.5, 0.5, 0.6)


def smooth_noise(res: int, knots: int, seed: int, device: torch.device | str) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = torch.randn(1, 1, knots, knots, generator=g)
    n = F.interpolate(n, size=(res, res), mode="bicubic", align_corners=True)[0, 0]
    return (n / n.std()).to(device)


@functools.lru_cache(maxsize=4)
def basis(res: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """25 fixed spatial fields on the 16:9 canvas (x stretched onto the square grid) that z mixes: plane
    waves in six directions and two phases, rings, angular lobes, two blobs, smooth noise at two scales.

    Fixed fields are what a StyleGAN learns fast (shared by every sample, built up from its constant
    input); the per-sample part is how they are mixed, which is what styles do."""
    v = torch.linspace(-1, 1, res, device=device)
    u = torch.linspace(-ASPECT, ASPECT, res, device=device)
    y, x = torch.meshgrid(v, u, indexing="ij")
    tau = 2 * math.pi
    r, th = torch.sqrt(x**2 + y**2), torch.atan2(y, x)
    fields = []
    for f, ang in ((0.35, 0.0), (0.35, 1.57), (0.5, 0.8), (0.5, 2.4), (0.8, 0.3), (0.8, 1.9)):
        p = x * math.cos(ang) + y * math.sin(ang)
        fields += [torch.sin(tau * f * p), torch.cos(tau * f * p)]
    fields += [torch.cos(tau * 0.45 * r), torch.sin(tau * 0.45 * r), torch.cos(tau * 0.9 * r)]
    fields += [r * torch.cos(3 * th), r * torch.sin(3 * th), r * torch.cos(5 * th) * torch.exp(-r),
               r * torch.cos(2 * th)]
    fields += [2 * torch.exp(-((x - 0.9) ** 2 + (y + 0.3) ** 2) / 0.3) - 0.5,
               2 * torch.exp(-((x + 1.0) ** 2 + (y - 0.4) ** 2) / 0.25) - 0.5]
    fields += [smooth_noise(res, k, 100 + i, device) for i, k in enumerate((4, 4, 6, 6))]
    return torch.stack(fields)


N_BASIS = 25
N_PARAMS = FIELDS * N_BASIS + FIELDS


def paint(z: torch.Tensor, res: int) -> torch.Tensor:
    """The procedural painter: z (B, ≥N_PARAMS) → the head's four fields (B, 4, res, res), smooth in z.

    Each field mixes the fixed shapes with weights from z, shrunk towards 0 (a continuous soft
    threshold, so a few shapes dominate each picture and an interpolation never pops), plus a level."""
    b = basis(res, str(z.device))
    w = z[:, : FIELDS * N_BASIS].reshape(-1, FIELDS, N_BASIS)
    w = torch.sign(w) * F.relu(w.abs() - 0.6) * torch.tensor(MIX_SCALE, device=z.device)[None, :, None]
    level = z[:, FIELDS * N_BASIS : N_PARAMS] * torch.tensor(LEVEL_SCALE, device=z.device)
    return (torch.einsum("bck,khw->bchw", w, b) + level[:, :, None, None]).clamp(-3, 3)


def loss_fn(fields: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    wt = torch.tensor(FIELD_WEIGHTS, device=fields.device)[None, :, None, None]
    err = (fields - tgt) * wt
    loss = err.abs().mean() + err.square().mean()
    for d in (2, 3):  # the slopes set where band edges fall
        loss = loss + 0.5 * ((fields.diff(dim=d) - tgt.diff(dim=d)) * wt).abs().mean()
    return loss


def save_grid(images: torch.Tensor, path: Path, nrow: int) -> None:
    from PIL import Image

    imgs = ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    n, h, w, _ = imgs.shape
    rows = math.ceil(n / nrow)
    grid = np.zeros((rows * h, nrow * w, 3), np.uint8)
    for i, im in enumerate(imgs):
        grid[(i // nrow) * h:(i // nrow + 1) * h, (i % nrow) * w:(i % nrow + 1) * w] = im
    Image.fromarray(grid).save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=25.0, help="wall-clock training budget")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)")
    ap.add_argument("--out", type=Path, default=ASSETS_DIR / "default_model.safetensors")
    ap.add_argument("--samples", type=Path, default=Path("/tmp/vjgan_default_samples.png"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true", help="continue from --out instead of random weights")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = DEFAULT_CONFIG
    gen = StyleGAN2Generator(cfg).train()
    if args.resume:
        from vjgan.models.vjgan_format import load_vjgan

        gen.load_state_dict(load_vjgan(args.out).state_dict())
    opt = torch.optim.Adam(gen.parameters(), lr=args.lr, betas=(0.9, 0.99))
    end = time.monotonic() + args.minutes * 60
    last_save = time.monotonic()
    step = 0
    ema = None
    bar = tqdm(total=int(args.minutes * 60), unit="s", desc="training default model")
    t0 = time.monotonic()
    while time.monotonic() < end:
        frac = 1 - (end - time.monotonic()) / (args.minutes * 60)
        for g in opt.param_groups:  # cosine decay to 10 %
            g["lr"] = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))
        z = torch.randn(args.batch, cfg.z_dim)
        with torch.no_grad():
            tgt = paint(z, cfg.img_resolution)
        loss = loss_fn(gen.synthesis_network(gen.mapping(z)), tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        bar.n = int(time.monotonic() - t0)
        bar.set_postfix(step=step, loss=f"{ema:.4f}")
        bar.refresh()
        if time.monotonic() - last_save > 180:
            finish(gen, args, quick=True)
            last_save = time.monotonic()
    bar.close()
    finish(gen, args, quick=False)
    print(f"{step} steps, loss {ema:.4f}, saved {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


@torch.no_grad()
def finish(gen: StyleGAN2Generator, args: argparse.Namespace, quick: bool) -> None:
    gen.eval()
    gen.compute_w_avg(n=2000 if quick else 20000)
    save_generator(gen, args.out)
    z = torch.from_numpy(np.stack([np.random.RandomState(s).randn(gen.z_dim) for s in range(8)])).float()
    # row 1-2: seeds, row 3: targets of the same z, row 4: interpolation seed 0 → seed 1
    interp = torch.stack([torch.lerp(z[0], z[1], a) for a in np.linspace(0, 1, 8)])
    imgs = torch.cat([gen(z), gen.head(paint(z, gen.img_resolution)), gen(interp)])
    save_grid(imgs, args.samples, nrow=8)
    gen.train()


if __name__ == "__main__":
    main()
