"""Train the embedded default model (vjgan/assets/default_model.safetensors) from procedural images.

Why this objective: a GAN does not converge in the ~25 CPU-minutes this project can spend, so the real
StyleGAN2 generator is trained as a *learned renderer*: the first dimensions of z are the parameters of
a procedural painter (domain-warped waves, rings, blobs, a cosine colour palette), and the generator
regresses the painter's image for that z. Every z has a target, so nothing collapses, and since the
painter is smooth in its parameters, moving z moves the picture smoothly — what a VJ needs.

    nice -n 10 .venv/bin/python scripts/train_default_model.py --minutes 25
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from vjgan.models.vjgan_format import save_generator
from vjgan.paths import ASSETS_DIR

DEFAULT_CONFIG = StyleGAN2Config(z_dim=128, w_dim=128, img_resolution=128, channel_base=2048, channel_max=64,
                                 mapping_layers=2, mapping_lr_multiplier=1.0)
N_PARAMS = 27


def basis(res: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Eight fixed spatial fields (waves, diagonals, a ring, two blobs, a checker) the painter mixes.

    Fixed fields are what a StyleGAN learns fast (shared by every sample, built up from its constant
    input); the per-sample part is how they are mixed and coloured, which is what styles do."""
    lin = torch.linspace(-1, 1, res, device=device)
    y, x = torch.meshgrid(lin, lin, indexing="ij")
    tau = 2 * math.pi
    r = torch.sqrt(x**2 + y**2)
    return torch.stack([
        torch.sin(tau * 1.0 * x), torch.sin(tau * 1.0 * y), torch.sin(tau * 0.7 * (x + y)),
        torch.sin(tau * 0.7 * (x - y)), torch.cos(tau * 1.2 * r),
        2 * torch.exp(-((x + 0.4) ** 2 + (y + 0.3) ** 2) / 0.18) - 0.5,
        2 * torch.exp(-((x - 0.5) ** 2 + (y - 0.4) ** 2) / 0.12) - 0.5,
        torch.sin(tau * 1.5 * x) * torch.sin(tau * 1.5 * y),
    ])


def paint(z: torch.Tensor, res: int) -> torch.Tensor:
    """The procedural painter: z (B, ≥N_PARAMS) → images (B, 3, res, res) in [-1, 1], smooth in z.

    Each colour channel is its own mix of the fixed fields (24 weights from z) around a base colour
    (3 from z): interfering waves, rings and blobs whose colours and shapes flow with z. Linear in the
    fields, so it is exactly what modulated toRGB layers can express once the fields are learned."""
    u = 0.5 * (1 + torch.erf(z[:, :N_PARAMS] / math.sqrt(2)))  # Gaussian → uniform(0, 1)
    bases = basis(res, z.device)
    base_colour = 0.6 * (2 * u[:, :3] - 1)
    mix = 1.4 * (2 * u[:, 3:27].reshape(-1, 3, 8) - 1)
    img = base_colour[:, :, None, None] + torch.einsum("bck,khw->bchw", mix, bases) / 2.0
    return img.clamp(-1, 1)


def loss_fn(img: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    loss = F.l1_loss(img, tgt) + F.mse_loss(img, tgt) + F.l1_loss(F.avg_pool2d(img, 4), F.avg_pool2d(tgt, 4))
    for d in (2, 3):  # edges keep the bands sharp
        loss = loss + 0.25 * F.l1_loss(img.diff(dim=d), tgt.diff(dim=d))
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
        loss = loss_fn(gen(z), tgt)
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
    imgs = torch.cat([gen(z), paint(z, gen.img_resolution), gen(interp)])
    save_grid(imgs, args.samples, nrow=8)
    gen.train()


if __name__ == "__main__":
    main()
