"""`vjgan render`: not built yet (see its issue)."""

from __future__ import annotations

import argparse

from vjgan.errors import UserError

HELP = "render a music video of an audio file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("'vjgan render' is not implemented yet")
