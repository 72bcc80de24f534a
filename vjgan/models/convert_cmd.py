"""`vjgan convert`: not built yet (see its issue)."""

from __future__ import annotations

import argparse

from vjgan.errors import UserError

HELP = "convert a checkpoint to vjgan's safetensors format"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("'vjgan convert' is not implemented yet")
