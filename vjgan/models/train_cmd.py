"""`vjgan train`: not built yet (see its issue)."""

from __future__ import annotations

import argparse

from vjgan.errors import UserError

HELP = "train a VAE-GAN on a folder of images"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("'vjgan train' is not implemented yet")
