#!/usr/bin/env python
"""Draws docs/img/architecture.png from the code itself: the packages of vjgan and every import between
them that grimp finds (the graph import-linter checks), so the picture can never drift from the code.

Usage: .venv/bin/python scripts/draw_architecture.py [-o docs/img/architecture.png]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import grimp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STAGES = ("audio", "mapping", "models", "render", "control", "video")
ROLE = {
    "audio": "sources → ring →\nanalysis → Features",
    "mapping": "Features →\nFrameParams",
    "models": "generators, bending,\ngenerator process",
    "render": "GL upload, post-FX,\nwindow, recorder",
    "control": "OSC in/out,\nImGui panel",
    "video": "camera / file in,\nNDI / v4l2 out",
}
POS = {"cli": (0.5, 0.93), "app": (0.5, 0.76), "core": (0.5, 0.12)}
POS |= {s: (0.09 + i * 0.164, 0.45) for i, s in enumerate(STAGES)}


def package_imports() -> Counter[tuple[str, str]]:
    graph = grimp.build_graph("vjgan")
    counts: Counter[tuple[str, str]] = Counter()
    for module in graph.modules:
        src = module.split(".")[1] if module.count(".") else None
        for imported in graph.find_modules_directly_imported_by(module):
            dst = imported.split(".")[1] if imported.count(".") else None
            if src and dst and src != dst and src in POS and dst in POS:
                counts[(src, dst)] += 1
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, default=REPO / "docs" / "img" / "architecture.png")
    args = ap.parse_args()
    counts = package_imports()
    fig, ax = plt.subplots(figsize=(12, 6.5), dpi=100)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    colours = {"cli": "#d9d9d9", "app": "#f4cccc", "core": "#d9ead3"}
    for name, (x, y) in POS.items():
        w, h = (0.14, 0.17) if name in STAGES else (0.5, 0.09)
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.01",
                                    fc=colours.get(name, "#cfe2f3"), ec="#333333"))
        label = f"vjgan.{name}"
        if name in ROLE:
            label += "\n" + ROLE[name]
        elif name == "core":
            label += "\nmessages · registry · vocabularies · protocols · errors · paths"
        elif name == "app":
            label += "\nwires the stages: live loop, actions, offline render, CLI commands"
        ax.text(x, y, label, ha="center", va="center", fontsize=9)
    for (src, dst), n in sorted(counts.items()):
        (x0, y0), (x1, y1) = POS[src], POS[dst]
        bad = (src in STAGES and dst != "core") or src == "core"  # anything but downwards
        arrow = FancyArrowPatch((x0, y0 - 0.05), (x1, y1 + 0.05), arrowstyle="-|>", mutation_scale=10,
                                color="#cc0000" if bad else "#777777", lw=0.6 + 0.15 * min(n, 20), alpha=0.7)
        ax.add_patch(arrow)
    between = sum(n for (s, d), n in counts.items() if (s in STAGES and d != "core") or s == "core")
    ax.set_title(f"vjgan packages and their imports (grimp; line width = number of imports); "
                 f"imports against the layering (red): {between}", fontsize=10)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, bbox_inches="tight")
    print(f"wrote {args.out}: {sum(counts.values())} package-crossing imports, {between} between stages")


if __name__ == "__main__":
    main()
