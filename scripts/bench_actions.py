#!/usr/bin/env python
"""Frame intervals of the render loop while each panel/OSC action runs (issue #14; not a test).

The real app headless (default model, a real track on loop, OSC in), the loop on this thread; a
second thread sends each action over real OSC (`oscsend`, liblo-tools) in turn, `--window` seconds
apart, after a quiet baseline window. Per action: the max and p99 frame interval in its window and how
many intervals exceeded 2 display intervals, and the longest single step() (the render thread's own
work in one frame, without the pacing wait: what an action blocking the thread shows up in even when a
loaded machine stretches every interval), and the longest time one frame spent in action code (the
control queue's and the worker's drains). Works on trees before the worker too (the "before" figures).

Usage: source scripts/services.sh && PYTHONPATH=$PWD .venv/bin/python scripts/bench_actions.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VJGAN_SHARED_AUDIO") or REPO.parent / "shared" / "audio")
TRACKS = ("Kevin_MacLeod_-_Vibe_Ace.ogg", "Karissa_Hobbs_-_Lets_Go_Fishin.ogg")


def actions(media: Path, shaders: Path) -> list[tuple[str, list[str] | None]]:
    """(label, oscsend arguments after the port) or None for a file edit done by the sender itself."""
    return [
        ("baseline (no action)", []),
        ("audio/file (switch track)", ["/vjgan/app/audio/file", "s", str(media / TRACKS[1])]),
        ("preset/save", ["/vjgan/preset/save", "s", "bench-live"]),
        ("preset/load drums", ["/vjgan/preset/load", "s", "drums"]),
        ("latent/reseed", ["/vjgan/latent/reseed", "i", "777"]),
        ("app/latent/seeds", ["/vjgan/app/latent/seeds", "s", ",".join(str(100 + i) for i in range(12))]),
        ("app/latent/morph_to", ["/vjgan/app/latent/morph_to", "s", "4242"]),
        ("app/latent/save_prototype", ["/vjgan/app/latent/save_prototype", "s", "bench"]),
        ("app/route/add", ["/vjgan/app/route/add", "s", "onset -> shader.color.invert"]),
        ("app/pca/compute", ["/vjgan/app/pca/compute"]),
        ("shader file edited", None),
        ("audio/file (switch back)", ["/vjgan/app/audio/file", "s", str(media / TRACKS[0])]),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--window", type=float, default=4.0, help="seconds per action")
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--model", default=None, help="default: the embedded default model")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not (SHARED / TRACKS[0]).exists():
        sys.exit(f"needs the real tracks in {SHARED} (VJGAN_SHARED_AUDIO)")

    import vjgan.app.live as live
    from vjgan.app.live import LiveApp, LiveConfig
    from vjgan.core.paths import PRESETS_DIR, SHADERS_DIR

    tmp = Path(tempfile.mkdtemp(prefix="bench_actions_"))
    media, presets, shaders = tmp / "media", tmp / "presets", tmp / "shaders"
    media.mkdir()
    for t in TRACKS:  # a media folder of its own: the app may open these
        (media / t).symlink_to(SHARED / t)
    shutil.copytree(PRESETS_DIR, presets, ignore=shutil.ignore_patterns("prototypes"))
    shutil.copytree(SHADERS_DIR, shaders)
    live.PRESETS_DIR = presets  # saves and prototypes land in the temporary copy
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    w, h = (int(x) for x in args.size.split("x"))
    app = LiveApp(LiveConfig(audio=str(media / TRACKS[0]), model=args.model, headless=True, size=(w, h),
                             fps=args.fps, panel=False, osc_port=port, shaders_dir=shaders, media_dirs=[media],
                             preset=str(presets / "default.toml")))
    plan = actions(media, shaders)
    marks: list[tuple[str, float]] = []
    done = threading.Event()

    def sender() -> None:
        time.sleep(2.0)  # let the show settle
        for label, osc in plan:
            marks.append((label, time.perf_counter()))
            if osc is None:
                f = shaders / "color.frag"
                f.write_text(f.read_text() + f"\n// edited {time.time()}\n")
            elif osc:
                subprocess.run(["oscsend", "127.0.0.1", str(port), *osc], check=True)
            time.sleep(args.window)
        done.set()

    presents: list[float] = []
    applying: list[float] = []  # per frame: time in the control queue's and the worker's drain (action code)
    spent = [0.0]

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a drain: the render thread's time in action code, whichever tree this is."""
        def run(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[0] += time.perf_counter() - t
        return run

    app.queue.drain = timed(app.queue.drain)
    if hasattr(app, "worker"):
        app.worker.drain = timed(app.worker.drain)
    steps: list[float] = []  # time inside step(): the render thread's own work, without the pacing wait
    app.start()
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    t_start = time.perf_counter()
    try:
        while not done.is_set() and time.perf_counter() - t_start < 2.0 + args.window * (len(plan) + 2):
            t0 = time.perf_counter()
            app.step()
            steps.append(time.perf_counter() - t0)
            applying.append(spent[0])
            spent[0] = 0.0
            app._pace()
            presents.append(time.perf_counter())
    finally:
        app.stop()
    t = np.asarray(presents)
    dt = np.diff(t) * 1000.0
    st = np.asarray(steps[1:]) * 1000.0
    ap_ms = np.asarray(applying[1:]) * 1000.0
    ends = np.asarray(t[1:])
    display = 1000.0 / args.fps
    rows = []
    for i, (label, start) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else start + args.window
        mask = (ends > start) & (ends <= end)
        sel = dt[mask]
        if not len(sel):
            continue
        rows.append({"action": label, "intervals": int(len(sel)), "max_ms": round(float(sel.max()), 1),
                     "p99_ms": round(float(np.percentile(sel, 99)), 1),
                     "over_2_intervals": int((sel > 2 * display).sum()),
                     "step_max_ms": round(float(st[mask].max()), 1),
                     "action_code_max_ms": round(float(ap_ms[mask].max()), 1)})
    notes = list(app.messages)
    out = {"fps": args.fps, "size": args.size, "window_s": args.window, "load_avg": os.getloadavg(),
           "gen_ms": app.stats.gen_ms, "rows": rows, "notes": notes[-20:]}
    print(f"{'action':32s} {'n':>5s} {'max ms':>8s} {'p99 ms':>8s} {'> 2 intervals':>14s} {'step max':>9s} "
          f"{'in action':>9s}")
    for r in rows:
        print(f"{r['action']:32s} {r['intervals']:5d} {r['max_ms']:8.1f} {r['p99_ms']:8.1f} "
              f"{r['over_2_intervals']:14d} {r['step_max_ms']:9.1f} {r['action_code_max_ms']:9.1f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
