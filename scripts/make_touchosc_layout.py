#!/usr/bin/env python
"""Write the TouchOSC layout (presets/touchosc/vjgan.tosc) for the current address space.

Usage: .venv/bin/python scripts/make_touchosc_layout.py [OUTPUT.tosc]
Load it: copy the file to the tablet (or open it in the TouchOSC editor and sync); in TouchOSC's
connections, OSC UDP host = the vjgan computer, send port 9000 (or --osc-port), receive port = the one
given to `vjgan live --osc-out`. Details in docs/osc.md.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vjgan.app.oscdoc import collect_registry  # noqa: E402
from vjgan.control.touchosc import LAYOUT_PATH, write_layout  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    registry, included, skipped = collect_registry()
    out = write_layout(registry, Path(argv[0]) if argv else LAYOUT_PATH)
    print(f"wrote {out} ({len(registry.params())} parameters from {', '.join(included)})")
    for s in skipped:
        print(f"  not included: {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
