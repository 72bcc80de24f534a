#!/usr/bin/env python
"""Regenerate docs/osc.md from the parameter registry (rerun whenever a stage adds or renames parameters).

Usage: .venv/bin/python scripts/gen_osc_docs.py [OUTPUT]   (default docs/osc.md)
Importable: `from scripts.gen_osc_docs import main` or use vjgan.app.oscdoc.write_osc_docs directly.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vjgan.app.oscdoc import DOC_PATH, write_osc_docs  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out = write_osc_docs(Path(argv[0]) if argv else DOC_PATH)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
