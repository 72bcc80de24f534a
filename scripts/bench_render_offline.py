"""Offline render speed as a multiple of real time (video seconds per wall-clock second).

    .venv/bin/python scripts/bench_render_offline.py                    # default model, native size, CPU
    .venv/bin/python scripts/bench_render_offline.py --model stylegan2-1024 --device cuda   # on a GPU box
    .venv/bin/python scripts/bench_render_offline.py --size 1280x720 --quality draft        # preview settings
    .venv/bin/python scripts/bench_render_offline.py --size 1280x720 --sequential           # stages one by one

Audio: --audio FILE, else the generated demo track (vjgan.audio.demo), else a generated click track.
Prints whole-track analysis time (uncached) and the render's per-stage medians as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _audio(path: str | None, tmp: Path) -> Path:
    if path:
        return Path(path)
    try:
        from vjgan.audio.demo import demo_track_path

        return demo_track_path()
    except ImportError:
        import soundfile as sf

        sr, dur = 44100, 30.0
        t = np.arange(int(sr * dur)) / sr
        x = 0.2 * np.sin(2 * np.pi * 110 * t) * (t < dur / 2) + 0.2 * np.sin(2 * np.pi * 330 * t) * (t >= dur / 2)
        for b in np.arange(0.5, dur, 0.5):
            i = int(b * sr)
            x[i : i + 1000] += np.exp(-np.arange(1000) / 200.0) * np.sin(2 * np.pi * 60 * np.arange(1000) / sr)
        out = tmp / "bench.wav"
        sf.write(str(out), x.astype(np.float32), sr)
        return out


def _stylegan2_1024(device: str):
    """A StyleGAN2 at 1024×1024 (config-f sizes, random weights: speed does not depend on the values)."""
    from vjgan.models import stylegan2

    return stylegan2.StyleGAN2Generator(stylegan2.StyleGAN2Config(img_resolution=1024)).to(device).eval()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--audio")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of video to render")
    p.add_argument("--model", default="default", help="default | procedural | stylegan2-1024 | checkpoint path")
    p.add_argument("--size", help="WxH (default: the model's native size, square)")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--device", default="cpu")
    p.add_argument("--quality", default="final", choices=("final", "draft"))
    p.add_argument("--sequential", action="store_true", help="generator, post-FX, encoder one after another")
    p.add_argument("--x264-preset", help="override the quality's x264 preset")
    p.add_argument("--threads", type=int, help="torch threads for the render (default: torch's)")
    args = p.parse_args()

    os.environ.setdefault("VJGAN_CACHE", tempfile.mkdtemp(prefix="vjgan-bench-cache-"))
    from vjgan.app import offline
    from vjgan.audio.trackanalysis import analyze_track

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        audio = _audio(args.audio, tmp)
        t0 = time.perf_counter()
        analysis = analyze_track(audio, use_cache=False, progress=False)
        analysis_s = time.perf_counter() - t0

        if args.model == "stylegan2-1024":
            gen = _stylegan2_1024(args.device)
            offline.load_model = lambda model, device: gen  # benchmark-only: bypass checkpoint loading
            model = "stylegan2-1024"
        else:
            gen = offline.load_model(args.model, args.device)
            model = args.model
        res = int(gen.img_resolution)
        size = tuple(int(v) for v in args.size.lower().split("x")) if args.size else (res, res)
        cfg = offline.RenderConfig(
            audio=audio, output=tmp / "bench.mp4", model=model, size=size, fps=args.fps,
            duration=args.seconds, device=args.device, progress=True, quality=args.quality,
            pipelined=not args.sequential, threads=args.threads, x264_preset=args.x264_preset,
        )  # fmt: skip
        load0 = os.getloadavg()
        cpu0, main0 = time.process_time(), time.thread_time()
        result = offline.render_video(cfg, analysis=analysis)
        cpu_ms = (time.process_time() - cpu0) * 1000 / max(result.frames, 1)
        main_ms = (time.thread_time() - main0) * 1000 / max(result.frames, 1)
    print(json.dumps({
        "audio": str(audio), "track_s": round(analysis.duration, 2), "analysis_s": round(analysis_s, 2),
        "analysis_x_realtime": round(analysis.duration / analysis_s, 1), "model": model,
        "generator": type(gen).__name__, "size": f"{size[0]}x{size[1]}", "fps": args.fps, "device": args.device,
        "quality": args.quality, "pipelined": not args.sequential, "threads": args.threads,
        "load_avg_1min_start_end": [round(load0[0], 2), round(os.getloadavg()[0], 2)],
        "frames": result.frames, "render_s": round(result.wall_s, 2),
        "render_x_realtime": round(result.realtime_factor, 3),
        "stage_ms": {k: round(v, 2) for k, v in result.stage_ms.items()},
        "cpu_ms_per_frame": {"process": round(cpu_ms, 1), "main_thread": round(main_ms, 1)},
    }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
