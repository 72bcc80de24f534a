"""Screenshots of the panel and the output for the docs: `python -m vjgan.app.shots [--out docs/img]`.

Runs the real app in a window (Xvfb is fine) on the demo track for a few seconds, then saves what
the panel window and the output window show.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

TABS = ("Mapping", "Effects", "Latents", "Bending", "Stats")


def take(out: Path, audio: str | None = None, model: str | None = None, seconds: float = 4.0,
         tabs: tuple[str, ...] = TABS, size: tuple[int, int] = (640, 360)) -> list[Path]:
    from PIL import Image

    from vjgan.app.live import LiveApp, LiveConfig

    if audio is None:
        from vjgan.audio.demo import demo_track_path

        audio = str(demo_track_path())
    out.mkdir(parents=True, exist_ok=True)
    app = LiveApp(LiveConfig(audio=audio, model=model, size=size, fps=30.0))
    app.start()
    saved: list[Path] = []
    try:
        t_end = time.perf_counter() + seconds
        while time.perf_counter() < t_end:
            app.step()
            app._pace()
        # the output: what the chain drew (the window's own buffer is the same image, flipped)
        img = app.chain.read()
        Image.fromarray(np.ascontiguousarray(img)).save(out / "output.png")
        saved.append(out / "output.png")
        for tab in tabs:
            if app.panel is None:
                break
            app.panel.tab = tab
            for _ in range(3):  # a few frames so the tab selection and plots settle
                app.step()
                app._pace()
            path = out / f"panel_{tab.lower()}.png"
            app.panel.screenshot(path)
            app.window.make_current()
            saved.append(path)
    finally:
        app.stop()
    return saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("docs/img"))
    ap.add_argument("--audio")
    ap.add_argument("--model")
    ap.add_argument("--seconds", type=float, default=6.0)
    args = ap.parse_args()
    for p in take(args.out, args.audio, args.model, args.seconds):
        print(p)


if __name__ == "__main__":
    main()
