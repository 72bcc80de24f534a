"""`vjgan live`: not built yet (see its issue)."""

from __future__ import annotations

import argparse

from vjgan.errors import UserError

HELP = "run the live show: output window, panel, OSC"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("'vjgan live' is not implemented yet")
