"""Every `vjgan COMMAND --flag` that README.md and docs/ show is a flag that command takes: a VJ who copies
a line from the docs never meets "unrecognized arguments"."""

from __future__ import annotations

import re
from pathlib import Path

from vjgan.cli import COMMANDS, build_parser

REPO = Path(__file__).resolve().parents[1]
_COMMAND = re.compile(rf"vjgan ({'|'.join(COMMANDS)})\b([^`|\n]*)")
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def _flags_by_command() -> dict[str, set[str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.option_strings == [] and getattr(a, "choices", None))
    return {name: {o for act in p._actions for o in act.option_strings} for name, p in sub.choices.items()}


def documented_flags() -> list[tuple[str, str, str]]:
    """(where, command, flag) for each flag written after `vjgan COMMAND` on one line of the docs."""
    found = []
    for doc in (REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))):
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for m in _COMMAND.finditer(line):
                found += [(f"{doc.name}:{n}", m.group(1), flag) for flag in _FLAG.findall(m.group(2))]
    return found


def test_every_documented_flag_exists() -> None:
    flags = _flags_by_command()
    found = documented_flags()
    assert len(found) > 50  # the docs do show commands: the pattern still finds them
    unknown = [f"{where}: vjgan {cmd} {flag}" for where, cmd, flag in found if flag not in flags[cmd]]
    assert not unknown, "the docs show flags the CLI does not take:\n" + "\n".join(unknown)


def test_a_stale_flag_would_be_found() -> None:
    line = "run `vjgan train --images DIR --epocs 3` then `vjgan live --model runs/x`"
    flags = _flags_by_command()
    seen = [(m.group(1), f) for m in _COMMAND.finditer(line) for f in _FLAG.findall(m.group(2))]
    assert seen == [("train", "--images"), ("train", "--epocs"), ("live", "--model")]
    assert [f for c, f in seen if f not in flags[c]] == ["--epocs"]
