"""Mapping cost per rendered frame with 64 routes (goal: ≤ 0.5 ms). Prints JSON.

Usage: .venv/bin/python scripts/bench_mapping.py [--routes 64] [--frames 3000] [--out FILE]
Wall-clock p99 on a shared machine is dominated by preemption; step_cpu_ms_* counts this thread's CPU only.
Uses the default model's shapes when vjgan.models.default exists, else a random StyleGAN2 of the
same family (512-d W, 256 px); only the mapping engine is timed, never the generator.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vjgan.core.effects import available_effects  # noqa: E402
from vjgan.core.features import PITCH_CLASSES, Features  # noqa: E402
from vjgan.core.registry import ParamRegistry  # noqa: E402
from vjgan.mapping.engine import MappingEngine  # noqa: E402
from vjgan.mapping.presets import load_preset  # noqa: E402


def generator():
    try:
        return importlib.import_module("vjgan.models.default").load_default_generator("cpu"), "default"
    except ModuleNotFoundError:
        from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator

        return StyleGAN2Generator(StyleGAN2Config(img_resolution=256)).eval(), "random StyleGAN2 512-d 256px"


def preset_text(n_routes: int, layers: tuple[str, ...], effects: dict) -> str:
    """A busy preset: chroma latents in all groups, LFOs, envelopes, smoothing, every kind of target."""
    targets = ["truncation", "noise.all", "noise_mask.amount", "latent.section", "latent.walk_amount",
               "latent.direction.hit"]
    targets += [f"noise.{layer}" for layer in layers]
    targets += [f"bend.{layer}.{t}" for layer in layers for t in ("zoom", "rotate", "translate_x")]
    targets += [f"rewrite.{layer}" for layer in layers]
    targets += [f"shader.{e}.{u}" for e, ps in effects.items() for u in ps]
    sources = ["rms", "onset", "kick", "snare", "percussive", "harmonic", "lfo.a", "lfo.b", "chroma.C", "bass"]
    lines = [
        "[latents]", f"seeds = {list(range(12))}", f"seeds_b = {list(range(100, 112))}",
        "chroma_smoothing_ms = 100", "walk_seed = 7",
        "[latents.groups]", 'coarse = "bass_chroma"', 'middle = "chroma"', 'fine = "chroma"',
        "[latents.directions.hit]", "seed = 5",
        "[lfos.a]", 'shape = "sine"', "beats = 4", "[lfos.b]", 'shape = "random"', "beats = 2",
        "[targets]", '"latent.walk_speed" = 0.5',
    ]
    for i in range(n_routes):
        lines += ["[[routes]]", f'source = "{sources[i % len(sources)]}"', f'target = "{targets[i % len(targets)]}"',
                  "gain = 0.1", "attack_ms = 20", "release_ms = 200"]
        if i % 4 == 0:
            lines.append('envelope = { trigger = "kick_event", decay_ms = 100 }')
        if i % 3 == 0:
            lines += ['curve = "power"', "curve_amount = 2.0"]
    return "\n".join(lines) + "\n"


def timeline(n: int) -> list[Features]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        beats = i * 2.0 / 60.0  # 120 BPM at 60 fps
        chroma = tuple(float(x) for x in rng.random(12))
        out.append(Features(time=i / 60, frame=i, rms=float(rng.random()), onset=float(rng.random()),
                            kick=float(rng.random()), kick_event=i % 30 == 0, kick_count=i // 30, chroma=chroma,
                            bass_chroma=chroma, beat_count=int(beats), beat_phase=beats % 1,
                            bar_phase=(beats % 4) / 4))
    assert len(PITCH_CLASSES) == 12
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, default=64)
    ap.add_argument("--frames", type=int, default=3000)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    gen, model = generator()
    effects = available_effects()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(preset_text(args.routes, tuple(gen.layer_names), effects), encoding="utf-8")
        engine = MappingEngine(gen, load_preset(path, effects), ParamRegistry(), effects=effects, watch=False)
    frames = timeline(args.frames)
    for i, f in enumerate(frames[:200]):  # warm-up
        engine.step(f, now=i / 60)
    ms, cpu_ms = [], []
    for i, f in enumerate(tqdm(frames, desc="mapping frames", unit="frame")):
        t0, c0 = time.perf_counter(), time.thread_time()
        engine.step(f, now=(200 + i) / 60)
        ms.append((time.perf_counter() - t0) * 1000)
        cpu_ms.append((time.thread_time() - c0) * 1000)  # excludes time preempted by other processes
    # crossfading doubles the work: time that too
    engine.load(engine.preset, crossfade_beats=1e6 / 1e5)
    fade_ms = []
    for i, f in enumerate(frames[:300]):
        t0 = time.perf_counter()
        engine.step(f, now=1000 + i / 600)
        fade_ms.append((time.perf_counter() - t0) * 1000)
    ms_sorted = sorted(ms)
    result = {
        "routes": args.routes,
        "frames": args.frames,
        "model": model,
        "num_ws": gen.num_ws,
        "w_dim": gen.w_dim,
        "layers": len(gen.layer_names),
        "step_ms_mean": round(statistics.fmean(ms), 4),
        "step_ms_p50": round(ms_sorted[len(ms) // 2], 4),
        "step_ms_p99": round(ms_sorted[int(len(ms) * 0.99)], 4),
        "step_cpu_ms_p50": round(sorted(cpu_ms)[len(cpu_ms) // 2], 4),
        "step_cpu_ms_p99": round(sorted(cpu_ms)[int(len(cpu_ms) * 0.99)], 4),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "crossfade_step_ms_p50": round(sorted(fade_ms)[len(fade_ms) // 2], 4),
        "goal_ms": 0.5,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
