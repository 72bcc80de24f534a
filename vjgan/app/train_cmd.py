"""`vjgan train`: train a VAE-GAN (models.vaegan_train) or a StyleGAN2 (models.stylegan2_train) on a
folder of images."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from vjgan.core.errors import UserError

HELP = "train a VAE-GAN or a StyleGAN2 on a folder of images"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", required=True, metavar="DIR",
                        help="folder of training images (searched recursively)")
    parser.add_argument("--arch", choices=("vaegan", "stylegan2"), default="vaegan",
                        help="vaegan (default; encodes images, trains in minutes) or stylegan2")
    parser.add_argument("--res", type=int, default=128, help="training resolution, a power of two (default 128)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: <arch>-<images folder name>)")
    parser.add_argument("--epochs", type=int, default=100, help="passes over the image set (default 100)")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in total")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--device", default="auto", help="cuda, cuda:N, cpu or auto (default)")
    parser.add_argument("--no-flip", action="store_true", help="no horizontal-flip augmentation")
    parser.add_argument("--channel-base", type=int, default=None, help="network width (default: by resolution)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=None, metavar="RATE",
                        help="GAN learning rate (default 0.005 per-tensor scaled; stylegan2 0.0025); with --resume "
                             "it replaces the run's own, e.g. lower after a divergence")
    sg2 = parser.add_argument_group("stylegan2 (--arch stylegan2)")
    sg2.add_argument("--from", dest="init_from", metavar="CHECKPOINT",
                     help="fine-tune this StyleGAN2 checkpoint (vjgan, official .pkl or rosinality .pt; same "
                          "resolution as --res; D starts fresh)")
    sg2.add_argument("--channel-max", type=int, default=None, help="widest layer (default 512)")
    sg2.add_argument("--w-dim", type=int, default=512, help="z and w size (default 512)")
    sg2.add_argument("--r1-gamma", type=float, default=None, help="R1 weight (default 0.0002·res²/batch)")
    sg2.add_argument("--augment", default="color,translation,cutout",
                     help="DiffAugment policies, comma-separated, or 'none' (default: all three)")
    sg2.add_argument("--snap", type=int, default=200, help="steps between sample grids and checkpoints (200)")


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


def _check_res(res: int) -> int:
    if res < 8 or res & (res - 1):
        raise UserError(f"--res must be a power of two ≥ 8 (e.g. 64, 128, 256), got {res}")
    return res


def _out_dir(args: argparse.Namespace, images_dir: Path, prefix: str) -> Path:
    """--out, or <prefix>-<images folder>; a trained model there is continued only with --resume."""
    out = Path(args.out) if args.out else Path(f"{prefix}-{images_dir.resolve().name}")
    if not args.resume and (out / "model.safetensors").exists():
        raise UserError(f"{out} already holds a trained model: add --resume to continue it, or pick another --out")
    return out


@contextlib.contextmanager
def _terminate_like_ctrl_c() -> Iterator[None]:
    """SIGTERM (`kill`, a job scheduler, a closed session) stops a training run as Ctrl-C does: the
    trainer saves a checkpoint and the run exits 130, instead of losing everything since the last epoch."""
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    with _terminate_like_ctrl_c():
        if args.arch == "stylegan2":
            return run_stylegan2(args)
        return run_vaegan(args)


def run_vaegan(args: argparse.Namespace) -> int:
    from vjgan.models.vaegan_data import load_image_folder
    from vjgan.models.vaegan_train import TrainConfig, Trainer

    res = _check_res(args.res)
    if args.epochs < 1 or args.batch < 1:
        raise UserError("--epochs and --batch must be at least 1")
    images_dir = Path(args.images)
    out = _out_dir(args, images_dir, "vaegan")
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


def run_stylegan2(args: argparse.Namespace) -> int:
    """Steps = --max-steps, or --epochs passes over the set; fine-tunes with --from, continues with --resume."""
    from vjgan.models.stylegan2_train import SG2TrainConfig, SG2Trainer, default_config
    from vjgan.models.vaegan_data import load_image_folder

    res = _check_res(args.res)
    if args.epochs < 1 or args.batch < 1 or args.snap < 1:
        raise UserError("--epochs, --batch and --snap must be at least 1")
    if args.resume and args.init_from:
        raise UserError("--resume continues the run in --out; --from starts a new one: use one of them")
    if args.lr is not None and not args.lr > 0:
        raise UserError(f"--lr must be positive, got {args.lr}")
    images_dir = Path(args.images)
    out = _out_dir(args, images_dir, "stylegan2")
    device = pick_device(args.device)
    images = load_image_folder(images_dir, res)
    max_steps = args.max_steps or args.epochs * max(1, len(images) // args.batch)
    augment = "" if args.augment == "none" else args.augment
    cfg = SG2TrainConfig(batch=args.batch, max_steps=max_steps, snap=args.snap, flip=not args.no_flip,
                         seed=args.seed, r1_gamma=args.r1_gamma, augment=augment)
    if args.lr is not None:
        cfg.lr = args.lr
    model_cfg = default_config(res, args.channel_base or 16384, args.channel_max or 512, args.w_dim)
    trainer = SG2Trainer(images, out, model_cfg, cfg, device=device, resume=args.resume,
                         init_from=args.init_from, override=("lr",) if args.lr is not None else ())
    log.info("training a StyleGAN2 on %d images at %d² on %s → %s", len(images), res, device, out)
    result = trainer.run()
    log.info("done: %d steps, %.3g s/step; model %s, samples in %s", result.steps, result.s_per_step,
             out / "model.safetensors", out / "samples")
    return 0
