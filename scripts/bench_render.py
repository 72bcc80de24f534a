"""Render-loop benchmark: frame times while the generator is slower than the display, and audio→screen latency.

1. Frame times: the live loop (headless EGL, and the glfw window + panel when DISPLAY is set) runs at --fps
   with a generator artificially slowed to --gen-ms per frame; reports frame-interval p50/p99/max, how many
   intervals exceeded 2 display intervals (the issue's spike target), the panel's own frame rate (it draws
   on its own thread and backs off while the output is late) and the load average around each part (on a
   shared 2-core machine the other jobs decide much of the result).
2. Latency: clicks played into the PulseAudio null sink the app records from, through the strobe shader
   (scripts/bench_latency.py's shader path; run that script for the generator path too).

Run: `source scripts/services.sh && .venv/bin/python scripts/bench_render.py --json bench_render.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from vjgan.app.live import LiveApp, LiveConfig
from vjgan.models.procedural import ProceduralGenerator


class SlowGenerator(ProceduralGenerator):
    """The procedural generator plus a fixed delay: a stand-in for a network slower than the display."""

    def __init__(self, delay_ms: float) -> None:
        super().__init__()
        self.delay = delay_ms / 1000.0

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        time.sleep(self.delay)
        return super().synthesis(ws)


def frame_times(headless: bool, seconds: float, fps: float, gen_ms: float, size: tuple[int, int],
                panel: bool = True) -> dict:
    panel = panel and not headless
    app = LiveApp(LiveConfig(model="procedural", headless=headless, size=size, fps=fps, panel=panel,
                             gen_process=False))  # the stand-in below is a class of this script: a thread
    slow = SlowGenerator(gen_ms)
    app.generator = slow
    app.gen_thread = type(app.gen_thread)(slow, device="cpu")
    app.start()
    load_before = os.getloadavg()
    panel_frames = app.panel.frames if app.panel is not None else 0
    intervals = []
    last = time.perf_counter()
    end = last + seconds
    while time.perf_counter() < end:
        app.step()
        app._pace()
        now = time.perf_counter()
        intervals.append((now - last) * 1000)
        last = now
    stats = app.stats
    panel_frames = (app.panel.frames - panel_frames) if app.panel is not None else 0
    panel_parts = ({k: float(np.median(v)) for k, v in app.panel.part_costs.items() if v}
                   if app.panel is not None else {})
    app.stop()
    ft = np.asarray(intervals[5:])
    return {
        "mode": "headless-egl" if headless else "window-xvfb" + ("+panel" if panel else ""),
        "display_fps": fps, "generator_ms": gen_ms, "seconds": seconds, "size": list(size),
        "frame_ms_p50": float(np.percentile(ft, 50)), "frame_ms_p99": float(np.percentile(ft, 99)),
        "frame_ms_max": float(ft.max()), "spikes_over_2_intervals": int((ft > 2000 / fps).sum()),
        "frames": len(ft), "generator_fps": stats.gen_fps, "stage_ms_p50": stats.stage_ms,
        "panel_fps": panel_frames / seconds, "panel_ms_p50": panel_parts,
        "load_avg_before": load_before, "load_avg_after": os.getloadavg(),
    }


def latency(clicks: int, fps: float) -> dict:
    """Click → screen through the shaders: scripts/bench_latency.py's shader path (that script also
    measures the generator path, through the real default model)."""
    from bench_latency import shader_path

    return {"display_fps": fps, **shader_path(clicks, fps)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--gen-ms", type=float, default=60.0, help="generator delay: slower than the display")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--clicks", type=int, default=10)
    ap.add_argument("--json", default="bench_render.json")
    ap.add_argument("--part", choices=("headless", "window", "window-nopanel", "latency"),
                    help="run one part in this process (EGL and GLX contexts cannot share a process)")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    if args.part:
        if args.part == "latency":
            part = latency(args.clicks, args.fps)
        else:
            part = frame_times(args.part == "headless", args.seconds, args.fps, args.gen_ms, (w, h),
                               panel=args.part == "window")
        with open(args.json, "w") as f:
            json.dump(part, f)
        return
    result = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "load_avg_before": os.getloadavg()}, "frame_times": [], "latency": None}
    parts = ["headless"] + (["window", "window-nopanel"] if os.environ.get("DISPLAY") else [])
    parts += ["latency"] if os.environ.get("PULSE_SERVER") else []
    for part in parts:
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            subprocess.run([sys.executable, __file__, "--part", part, "--json", tmp.name, "--seconds",
                            str(args.seconds), "--fps", str(args.fps), "--gen-ms", str(args.gen_ms), "--size",
                            args.size, "--clicks", str(args.clicks)], check=True)
            data = json.load(open(tmp.name))
        if part == "latency":
            result["latency"] = data
        else:
            result["frame_times"].append(data)
    result["machine"]["load_avg_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
