"""`vjgan project`: images → the W+ latents a generator paints them with, in a .npz the mapping engine reads.

The .npz holds `latents` (n, num_ws, w_dim) in argument order (a latent set: `[latents] file = ...`, whose
entries the chroma sums and bar loops step through) and one array per image named after its file stem (a
prototype: a direction file with `key = "<stem>"`, or `"<a>-<b>"` for the way from one to another).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from vjgan.core.errors import UserError

HELP = "find the latents that reproduce images (projection) → .npz latent set / prototypes"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (png, jpg, ...)")
    parser.add_argument("-o", "--out", required=True, metavar="NPZ", help="output .npz")
    parser.add_argument("--model", default="default", help="'default' (embedded) or a checkpoint path")
    parser.add_argument("--steps", type=int, default=300, help="optimisation steps per image (default 300)")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--space", choices=("w", "w+"), default="w+",
                        help="w: one w for all layers (more editable); w+: one per layer (closer fit)")
    parser.add_argument("--preview", metavar="PNG", help="also write target | projection side by side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image
    from tqdm import tqdm

    from vjgan.models.loaders import load_network
    from vjgan.models.projection import project

    out = Path(args.out)
    if out.suffix != ".npz":
        raise UserError(f"--out must be a .npz file, got {out}")
    if not out.parent.exists():
        raise UserError(f"cannot write {out}: folder {out.parent} does not exist")
    images = []
    for item in args.images:
        try:
            with Image.open(item) as im:
                images.append((Path(item).stem, np.asarray(im.convert("RGB"))))
        except OSError as exc:
            raise UserError(f"cannot read image {item}: {exc}") from exc
    names = [n for n, _ in images]
    if "latents" in names:
        raise UserError("an image named 'latents' would hide the latent set in the .npz: rename it")
    if len(set(names)) != len(names):
        raise UserError(f"two images share a file name: {', '.join(sorted(names))}")
    generator = load_network(args.model, "vjgan project --model", args.device)
    arrays, previews = {}, []
    for name, image in images:
        with tqdm(total=args.steps, desc=f"project {name}", unit="step", leave=False) as bar:
            def tick(step: int, loss: float, bar=bar) -> None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}")

            result = project(generator, image, steps=args.steps, lr=args.lr, w_plus=args.space == "w+",
                             seed=args.seed, progress=tick)
        log.info("%s: PSNR %.1f dB after %d steps (loss %.3f → %.3f)", name, result.psnr, args.steps,
                 result.losses[0], result.losses[-1])
        arrays[name] = result.ws
        previews.append(np.concatenate([result.target, result.image], axis=1))
    np.savez(out, latents=np.stack([arrays[n] for n in names]), **arrays)
    log.info("wrote %s: latents %s and prototypes %s", out, (len(names), *arrays[names[0]].shape), ", ".join(names))
    if args.preview:
        Image.fromarray(np.concatenate(previews, axis=0)).save(args.preview)
    return 0
