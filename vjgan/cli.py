"""The `vjgan` command: a thin dispatcher so `--help` stays fast (no torch/GL import until a command runs).

Each subcommand is a module of vjgan/app (the one package that may wire stages) and exposes `HELP`,
`add_arguments(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from vjgan.core.errors import UserError

COMMANDS: dict[str, str] = {
    "live": "vjgan.app.live_cmd",
    "analyze": "vjgan.app.analyze_cmd",
    "render": "vjgan.app.offline_cmd",
    "train": "vjgan.app.train_cmd",
    "encode": "vjgan.app.encode_cmd",
    "project": "vjgan.app.project_cmd",
    "mix": "vjgan.app.mix_cmd",
    "convert": "vjgan.app.convert_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vjgan", description="Real-time audio-reactive neural visuals.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"vjgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
