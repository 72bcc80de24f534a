"""`vjgan mix A B -o C`: a model whose layers blend two checkpoints of one architecture (coarse from one,
fine from the other, or any weight per resolution); C loads wherever a checkpoint does."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from vjgan.core.errors import UserError

HELP = "mix two checkpoints of one architecture layer by layer → a new checkpoint"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A", help="first checkpoint ('default' = the embedded model)")
    parser.add_argument("b", metavar="B", help="second checkpoint, same architecture")
    parser.add_argument("-o", "--out", required=True, metavar="C", help="output .safetensors")
    parser.add_argument("--layers", default="",
                        help="weight of B per synthesis resolution, e.g. '4-16=0,32-128=1' (coarse from A, "
                             "fine from B); resolutions not listed take --t")
    parser.add_argument("--t", type=float, default=0.5, help="weight of B for the layers --layers leaves out")
    parser.add_argument("--mapping", type=float, default=0.0,
                        help="weight of B for the mapping network and w_avg (default 0: A's latent space)")


def run(args: argparse.Namespace) -> int:
    from vjgan.models.loaders import load_network
    from vjgan.models.mixing import mix_generators, parse_layers
    from vjgan.models.vjgan_format import save_generator

    out = Path(args.out)
    if out.suffix != ".safetensors":
        raise UserError(f"--out must be a .safetensors file, got {out}")
    if not out.parent.exists():
        raise UserError(f"cannot write {out}: folder {out.parent} does not exist")
    for name, value in (("--t", args.t), ("--mapping", args.mapping)):
        if not 0.0 <= value <= 1.0:
            raise UserError(f"{name} must be between 0 and 1, got {value}")
    layers = parse_layers(args.layers)
    a, b = load_network(args.a, "vjgan mix A"), load_network(args.b, "vjgan mix B")
    mixed = mix_generators(a, b, layers, args.t, args.mapping)
    save_generator(mixed, out)
    log.info("wrote %s: %s from B per resolution, %g elsewhere, mapping %g", out,
             {f"{lo}-{hi}": w for (lo, hi), w in layers.items()} or "none", args.t, args.mapping)
    return 0
