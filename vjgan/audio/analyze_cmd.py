"""`vjgan analyze`: not built yet (see its issue)."""

from __future__ import annotations

import argparse

from vjgan.errors import UserError

HELP = "analyse an audio file with the live analyzer (plot / JSON)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("'vjgan analyze' is not implemented yet")
