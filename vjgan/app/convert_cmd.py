"""`vjgan convert IN OUT`: any supported checkpoint → vjgan's safetensors format (no pickles at load time)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from vjgan.core.errors import UserError

HELP = "convert a checkpoint to vjgan's safetensors format"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path,
                        help="official StyleGAN2/StyleGAN3 .pkl, rosinality .pt, or vjgan .safetensors/dir")
    parser.add_argument("output", type=Path,
                        help="NAME.safetensors (one file, config in its metadata) or a directory "
                             "(model.safetensors + config.json)")
    parser.add_argument("--half", action="store_true", help="store weights as fp16 (half the size)")
    parser.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")


def run(args: argparse.Namespace) -> int:
    from vjgan.models.loaders import load_generator
    from vjgan.models.vjgan_format import save_generator

    out: Path = args.output
    if out.exists() and not args.force:
        raise UserError(f"{out} exists; pass --force to overwrite it")
    if out.suffix and out.suffix != ".safetensors":
        raise UserError(f"{out}: the output must end in .safetensors, or be a directory name without a suffix")
    gen = load_generator(args.input, "cpu")
    save_generator(gen, out, half=args.half)
    # check the written file loads back to the same network before declaring success
    back = load_generator(out, "cpu")
    z = torch.randn(1, gen.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (gen.synthesis(gen.mapping(z)) - back.synthesis(back.mapping(z))).abs().max().item()
    tol = 0.05 if args.half else 0.0
    if diff > tol:
        raise UserError(f"{out}: the written model does not reproduce the input (max diff {diff:.3g})")
    print(f"wrote {out} ({gen.img_resolution}², {gen.num_ws} ws × {gen.w_dim}; round-trip max diff {diff:.2g})")
    return 0
