"""`vjgan encode`: example images → latent prototypes (and directions) in a .npz the mapping engine reads.

Each folder given becomes one prototype named after the folder; loose image files together become one
prototype named --name. `--direction POS NEG` adds "POS-NEG" = POS − NEG. `--ganspace K` adds the top-K
principal directions "pc0"… of any generator's mapping network (no images needed).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from vjgan.core.errors import UserError

HELP = "encode images into latent prototypes / directions (.npz)"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="*", metavar="IMAGES",
                        help="image files and/or folders (a folder = one prototype)")
    parser.add_argument("-o", "--out", required=True, metavar="NPZ", help="output .npz (merged into if it exists)")
    parser.add_argument("--model", required=True, metavar="M", help="VAE-GAN model (file or `vjgan train` folder)")
    parser.add_argument("--name", default="prototype", help="name of the prototype of the loose image files")
    parser.add_argument("--direction", nargs=2, action="append", default=[], metavar=("POS", "NEG"),
                        help="also store the direction POS − NEG (names of prototypes); repeatable")
    parser.add_argument("--ganspace", type=int, default=0, metavar="K", help="also store K GANSpace directions")
    parser.add_argument("--device", default="cpu")


def _group(items: list[str]) -> tuple[dict[str, list[Path]], list[Path]]:
    from vjgan.models.vaegan_data import IMAGE_EXTS, list_images

    groups: dict[str, list[Path]] = {}
    loose: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files = list_images(p)
            if not files:
                raise UserError(f"no images in folder {p}")
            groups[p.resolve().name] = files
        elif p.is_file():
            if p.suffix.lower() not in IMAGE_EXTS:
                raise UserError(f"{p} is not an image ({', '.join(IMAGE_EXTS)})")
            loose.append(p)
        else:
            raise UserError(f"no such image or folder: {p}")
    return groups, loose


def run(args: argparse.Namespace) -> int:
    from vjgan.models import prototypes as pt
    from vjgan.models.vaegan_data import load_image

    if not args.images and not args.ganspace:
        raise UserError("nothing to do: give IMAGES (files or folders) and/or --ganspace K")
    groups, loose = _group(args.images)
    if loose:
        groups[args.name] = loose
    latents = {}
    if groups:
        from vjgan.models.vaegan import load_vaegan

        model = load_vaegan(args.model, args.device)
        for name, files in groups.items():
            imgs = []
            for f in files:
                try:
                    imgs.append(load_image(f, model.img_resolution)[0])
                except OSError as exc:
                    log.warning("skipping unreadable image %s (%s)", f, exc)
            if not imgs:
                raise UserError(f"no readable images for prototype {name!r}")
            import numpy as np

            latents[name] = pt.prototype(pt.encode_images(model, np.stack(imgs)))
            log.info("prototype %r from %d image(s)", name, len(imgs))
    else:
        from vjgan.models.loaders import load_generator
        from vjgan.models.vaegan import register

        register()
        model = load_generator(args.model, args.device)
    if args.direction:
        have = {**(pt.load_prototypes(args.out) if Path(args.out).exists() else {}), **latents}
        latents.update(pt.directions_between(have, [tuple(d) for d in args.direction]))
    if args.ganspace:
        from vjgan.mapping.ganspace import ganspace

        latents.update(ganspace(model, k=args.ganspace).latent_directions(model.num_ws))
    path = pt.save_prototypes(args.out, latents)
    log.info("wrote %s: %s", path, ", ".join(sorted(latents)))
    return 0
