"""`vjgan render AUDIO -o out.mp4`: a music video of a track, through the same stages as `vjgan live`."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from vjgan.core.errors import UserError

HELP = "render a music video of an audio file"


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"size {text!r}: expected WIDTHxHEIGHT, e.g. 1920x1080")
    return int(m[1]), int(m[2])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", type=Path, help="audio file (wav, flac, ogg, mp3, ...)")
    parser.add_argument("-o", "--output", type=Path, help="output .mp4 (default: AUDIO name with .mp4)")
    parser.add_argument("--preset", help="preset name in presets/ or a .toml path (default: default)")
    parser.add_argument("--model", help="'default' (embedded), 'procedural', or a checkpoint path")
    parser.add_argument("--size", type=_size, default=(1920, 1080), help="WIDTHxHEIGHT (default 1920x1080)")
    parser.add_argument("--fps", type=int, default=30, help="video frame rate (default 30)")
    parser.add_argument(
        "--seed", type=int,
        help="latent seed: the preset's latent set A becomes seeds S, S+1, ... (default: the preset's seeds); "
        "the same seed always gives the same video",
    )  # fmt: skip
    parser.add_argument("--start", type=float, default=0.0, help="start time in the track, seconds")
    parser.add_argument("--duration", type=float, help="seconds to render (default: to the end)")
    parser.add_argument("--device", default="cpu", help="generator device: cpu or cuda (default cpu)")
    parser.add_argument("--sections", type=int, help="number of section labels (default: automatic)")
    parser.add_argument(
        "--quality", choices=("draft", "final"), default="final",
        help="final (default): x264 medium, CRF 18, Lanczos magnification; draft: x264 ultrafast, CRF 23, "
        "bilinear magnification (a quick preview)",
    )  # fmt: skip
    parser.add_argument("--mix-model", metavar="CHECKPOINT",
                        help="a second checkpoint of the same architecture: the preset's target model.mix blends "
                             "the weights toward it (as `vjgan live --mix-model`)")
    parser.add_argument("--mix-layers", default="", metavar="SPEC",
                        help="with --mix-model: its weight per resolution, e.g. '4-16=0,32-128=1'; unlisted: 1")
    parser.add_argument("--crf", type=int, help="H.264 quality, lower = better (default: 18 final, 23 draft)")
    parser.add_argument(
        "--ray", nargs="?", const="local", metavar="ADDRESS",
        help="render frame ranges as Ray tasks: no ADDRESS = a local Ray on this machine; 'auto' or "
        "ray://HOST:10001 = a running cluster. A killed render resumes where it stopped",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="Ray workers, each loads the model once (default 2)")
    parser.add_argument(
        "--segment-seconds", type=float, default=2.0,
        help="with --ray: video seconds per task and per resumable segment file (default 2)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int,
        help="torch threads for the generator (default: half the CPU cores; Ray workers: 1). The same value "
        "gives the same frames in one process and on Ray",
    )  # fmt: skip
    parser.add_argument(
        "--sequential", action="store_true",
        help="run generator, post-FX and encoder one after another instead of concurrently (same frames; "
        "for comparison)",
    )  # fmt: skip
    parser.add_argument(
        "--no-fx", action="store_true",
        help="the generator's image scaled plainly (bilinear) to --size: no post-FX, no sharpening upscale "
        "(to see and measure what the model itself paints)",
    )  # fmt: skip
    parser.add_argument(
        "--analyze-only", action="store_true",
        help="only analyse the track into the cache (for rehearsal) and print beats and sections",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from vjgan.audio.trackanalysis import analyze_track

    if args.analyze_only:
        a = analyze_track(args.audio, n_sections=args.sections)
        print(
            f"{args.audio}: {a.duration:.2f} s, {a.tempo:.1f} BPM, {a.beats_per_bar}/4, "
            f"{len(a.beats)} beats, {len(a.downbeats)} bars"
        )
        for s in a.sections:
            print(f"  section {s.label}: {s.start:7.2f} – {s.end:7.2f} s")
        return 0

    from vjgan.app.offline import RenderConfig, render_video

    if args.ray is not None:
        from vjgan.app.offline_ray import render_video_ray as render_video  # imports ray

    if args.output is None:
        args.output = args.audio.with_suffix(".mp4")
    if args.output.resolve() == args.audio.resolve():
        raise UserError(f"output {args.output} would overwrite the audio file: pass -o OTHER.mp4")
    result = render_video(
        RenderConfig(
            audio=args.audio,
            output=args.output,
            preset=args.preset,
            model=args.model,
            size=args.size,
            fps=args.fps,
            seed=args.seed,
            start=args.start,
            duration=args.duration,
            device=args.device,
            n_sections=args.sections,
            quality=args.quality,
            mix_model=args.mix_model,
            mix_layers=args.mix_layers,
            crf=args.crf,
            no_fx=args.no_fx,
            pipelined=not args.sequential,
            threads=args.threads,
            ray=args.ray,
            workers=args.workers,
            segment_seconds=args.segment_seconds,
        )
    )
    stages = ", ".join(f"{k} {v:.1f}" for k, v in result.stage_ms.items())
    print(
        f"wrote {result.path}: {result.frames} frames ({result.rendered} rendered now), {result.duration:.2f} s "
        f"in {result.wall_s:.1f} s "
        f"({result.realtime_factor:.2f}x real time; ms/frame: {stages})"
    )
    return 0
