"""The Outputs tab in a windowed show, run in its own process by test_video_out.py (a process that made a Mesa
EGL context cannot make a GLX one afterwards: see window_scenario.py). Writes result.json and the screenshot
into OUT; with --docs PATH also the docs' screenshot.

Usage: python -m tests.app.outputs_panel_scenario OUT [--docs docs/img/panel_outputs.png]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import glfw  # noqa: F401, I001 - before imgui_bundle (see vjgan.control.panel)

from tests.app.test_headless import click_track
from vjgan.app.live import LiveApp, LiveConfig

MISSING = "/dev/video63"


def main(out: Path, docs: Path | None) -> int:
    audio = out / "clicks.wav"
    click_track(audio, seconds=3.0)
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", size=(320, 180), fps=30.0, panel=True,
                             rehearsal=False, outputs={"v4l2": MISSING, "ndi": "vjgan"}))
    app.start()
    try:
        panel = app.panel
        assert panel is not None, list(app.messages)
        panel.tab = "Outputs"
        for _ in range(30):
            app.step()
        image = panel.screenshot(out / "outputs.png")
        views = {v.kind: v for v in panel.state.outputs}
        result = {"panel_error": panel.error, "std": float(image.std()), "shape": list(image.shape),
                  "views": {k: {"running": v.running, "target": v.target, "error": v.error, "sent": v.sent}
                            for k, v in views.items()}}
    finally:
        app.stop()
    (out / "result.json").write_text(json.dumps(result))
    if docs is not None:
        shutil.copy(out / "outputs.png", docs)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    docs = Path(args[args.index("--docs") + 1]) if "--docs" in args else None
    sys.exit(main(Path(args[0]), docs))
