"""`vjgan train`: train a VAE-GAN on a folder of images (see models.vaegan_train)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from vjgan.core.errors import UserError

HELP = "train a VAE-GAN on a folder of images"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", required=True, metavar="DIR",
                        help="folder of training images (searched recursively)")
    parser.add_argument("--res", type=int, default=128, help="training resolution, a power of two (default 128)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: vaegan-<images folder name>)")
    parser.add_argument("--epochs", type=int, default=100, help="passes over the image set (default 100)")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in total")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--device", default="auto", help="cuda, cuda:N, cpu or auto (default)")
    parser.add_argument("--no-flip", action="store_true", help="no horizontal-flip augmentation")
    parser.add_argument("--channel-base", type=int, default=None, help="network width (default: by resolution)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=None, metavar="RATE",
                        help="GAN learning rate (default 0.005, per-tensor scaled); with --resume it replaces "
                             "the run's own, e.g. lower after a divergence")


def default_model_config(res: int, channel_base: int | None = None):
    """Widths that train in minutes: ~4 M generator parameters at 128²."""
    from vjgan.models.vaegan import VaeGanConfig

    if channel_base is None:
        channel_base = 8 * res * 4 if res <= 64 else 4096
    return VaeGanConfig(resolution=res, channel_base=channel_base, channel_max=256)


def pick_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available here (use --device cpu)")
    return name


def run(args: argparse.Namespace) -> int:
    from vjgan.models.vaegan_data import load_image_folder
    from vjgan.models.vaegan_train import TrainConfig, Trainer

    res = args.res
    if res < 8 or res & (res - 1):
        raise UserError(f"--res must be a power of two ≥ 8 (e.g. 64, 128, 256), got {res}")
    if args.epochs < 1 or args.batch < 1:
        raise UserError("--epochs and --batch must be at least 1")
    images_dir = Path(args.images)
    out = Path(args.out) if args.out else Path(f"vaegan-{images_dir.resolve().name}")
    if not args.resume and (out / "model.safetensors").exists():
        raise UserError(f"{out} already holds a trained model: add --resume to continue it, or pick another --out")
    device = pick_device(args.device)
    images = load_image_folder(images_dir, res)
    cfg = TrainConfig(epochs=args.epochs, batch=args.batch, max_steps=args.max_steps, flip=not args.no_flip,
                      seed=args.seed)
    if args.lr is not None:
        if not args.lr > 0:
            raise UserError(f"--lr must be positive, got {args.lr}")
        cfg.lr_gan = args.lr
    trainer = Trainer(images, out, default_model_config(res, args.channel_base), cfg, device=device,
                      resume=args.resume, override=("lr_gan",) if args.lr is not None else ())
    log.info("training on %d images at %d² on %s → %s", len(images), res, device, out)
    result = trainer.run()
    log.info("done: %d steps, %d epochs, %.1f images/s; model %s, samples in %s", result.steps, result.epochs,
             result.images_per_s, out, out / "samples")
    return 0
