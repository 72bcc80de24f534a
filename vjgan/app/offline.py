"""Offline music-video render: the live pipeline run frame by frame in audio time, into an MP4.

Same stages as `vjgan live` (MappingEngine → generator → PostFXChain on a headless EGL context), but
driven by the whole-track analysis instead of the live analyzer, and never by the wall clock: frame i
is the picture at audio time start + i / fps, with every beat/onset event between two frames counted
once. Nothing depends on timing or thread scheduling, so the same seed gives the same frames.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vjgan.app.interrupts import interrupts_to_main
from vjgan.app.offline_frames import Clip, FrameStages
from vjgan.app.offline_pipeline import run_stages
from vjgan.audio.decode import load_audio
from vjgan.audio.trackanalysis import SAMPLE_RATE, TrackAnalysis, analyze_track
from vjgan.core.errors import UserError
from vjgan.core.registry import ParamRegistry
from vjgan.mapping.engine import MappingEngine
from vjgan.mapping.presets import find_preset, load_preset
from vjgan.models.base import Generator
from vjgan.models.loaders import load_model
from vjgan.render.video_writer import VideoWriter, check_output_path

log = logging.getLogger(__name__)


# --quality: final = the look as designed; draft = a quick preview (fastest x264 preset, bilinear magnification).
# Draft's x264 ultrafast: 1.06x real time at 720p on the 2-core machine where veryfast gave 0.86x, at
# 39.8 dB PSNR against a lossless render instead of 40.7, in files about twice as large (docs/performance.md).
QUALITY: dict[str, dict[str, object]] = {
    "final": {"crf": 18, "x264_preset": "medium", "sharp": True},
    "draft": {"crf": 23, "x264_preset": "ultrafast", "sharp": False},
}


@dataclass
class RenderConfig:
    audio: Path
    output: Path
    preset: str | None = None  # name in presets/ or a path; None = presets/default.toml
    model: str | None = None  # None/"default" = embedded model, "procedural", or a checkpoint path
    size: tuple[int, int] = (1920, 1080)
    fps: int = 30
    seed: int | None = None  # None = the preset's own latent seeds; N = latent set A from seeds N, N+1, ...
    start: float = 0.0
    duration: float | None = None  # None = to the end of the track
    device: str = "cpu"
    n_sections: int | None = None  # None = chosen by the eigengap of the segmentation
    quality: str = "final"  # a key of QUALITY
    crf: int | None = None  # None = the quality's
    x264_preset: str | None = None  # None = the quality's
    progress: bool = True
    no_fx: bool = False  # the generator's image plainly scaled: no effects, no sharpening upscale
    pipelined: bool = True  # generator, post-FX and encoder on their own threads (same frames either way)
    threads: int | None = None  # torch intra-op threads (None: default_threads(); Ray workers: 1)
    mix_model: str | None = None  # a checkpoint the target model.mix blends the weights toward
    mix_layers: str = ""  # its weight per resolution (mixing.parse_layers); unlisted: 1
    ray: str | None = None  # None = this process; "local" = a local Ray; else a Ray address (auto, ray://...)
    workers: int = 2  # Ray workers (one model and GL context each)
    segment_seconds: float = 2.0  # frames per Ray task (and per resumable segment file), in video seconds

    def encoder(self) -> tuple[int, str]:
        """(crf, x264 preset) after the quality's defaults."""
        q = QUALITY[self.quality]
        return (int(q["crf"]) if self.crf is None else self.crf), str(self.x264_preset or q["x264_preset"])


@dataclass
class RenderResult:
    path: Path
    frames: int
    duration: float  # seconds of video
    wall_s: float  # render time
    realtime_factor: float  # video seconds per wall second (>1 = faster than real time)
    stage_ms: dict[str, float]  # median ms per frame: mapping, generator, postfx (upload+GL+readback), encode
    rendered: int = 0  # frames rendered by this run (a resumed Ray render skips finished segments)


@dataclass(frozen=True)
class Plan:
    """What a config renders, checked: output path, frames, and the audio clip to mux."""

    output: Path
    clip: Clip
    audio: np.ndarray
    size: tuple[int, int]


def preset_path(preset: str | None) -> Path:
    """Resolve --preset exactly like the live app: a path, or a name in presets/ (default: "default")."""
    return find_preset(preset or "default")


def seed_everything(seed: int) -> None:
    """Every RNG a stage might draw from (latent walks, noise inputs) starts from the render's seed."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_mapping(generator: Generator, preset: str | None) -> tuple[MappingEngine, ParamRegistry]:
    """The live MappingEngine with the preset, and the registry its controls live in."""
    registry = ParamRegistry()
    # watch=False: no hot reload while rendering, so a file saved mid-render cannot change the video
    engine = MappingEngine(generator, load_preset(preset_path(preset)), registry, watch=False)
    if engine.uses_pca():
        engine.pca.compute_now()  # live computes it off-thread; a render must have it from frame 0
    return engine, registry


def _reseed_latents(registry: ParamRegistry, seed: int) -> None:
    """--seed picks the latent set through the same control the panel and OSC use."""
    address = "/vjgan/latent/reseed"
    if registry.get(address) is None:
        log.warning("--seed %d: this mapping has no %s control; only the random generators are seeded", seed, address)
        return
    _, apply, value, _ = registry.resolve(address, seed)
    apply(value)


def load_stereo(path: Path) -> np.ndarray:
    """The audio to mux, float32 (n, 2) at the analysis rate."""
    data, _ = load_audio(path, sample_rate=SAMPLE_RATE, mono=False)
    data = np.asarray(data, dtype=np.float32).reshape(len(data), -1)
    return data if data.shape[1] >= 2 else np.repeat(data, 2, axis=1)


def plan_render(cfg: RenderConfig) -> Plan:
    """Validate the config and work out the frames; UserError before any slow work."""
    out = check_output_path(cfg.output)
    w, h = cfg.size
    if w % 2 or h % 2 or w < 16 or h < 16:
        raise UserError(f"--size {w}x{h}: width and height must be even and at least 16")
    if not 1 <= cfg.fps <= 240:
        raise UserError(f"--fps {cfg.fps}: must be between 1 and 240")
    if cfg.quality not in QUALITY:
        raise UserError(f"--quality {cfg.quality}: one of {', '.join(QUALITY)}")
    preset_path(cfg.preset)  # an unknown preset fails before minutes of analysis
    audio = load_stereo(Path(cfg.audio))
    total = len(audio) / SAMPLE_RATE
    start = float(cfg.start)
    if not 0.0 <= start < total:
        raise UserError(f"--start {start:g} s is outside the track ({total:.2f} s long)")
    end = total if cfg.duration is None else min(total, start + float(cfg.duration))
    if end - start < 1.0 / cfg.fps:
        raise UserError(f"--duration {cfg.duration}: shorter than one frame")
    n_frames = int(round((end - start) * cfg.fps))
    end = start + n_frames / cfg.fps  # the audio ends exactly with the last frame
    clip = audio[int(round(start * SAMPLE_RATE)) : int(round(end * SAMPLE_RATE))]
    return Plan(out, Clip(start, cfg.fps, n_frames), clip, (w, h))


def default_threads(device: str) -> int:
    """Torch threads for a render without --threads: half the cores on CPU. The generator shares them
    with llvmpipe's and x264's threads; torch's default (all cores) oversubscribes them, and its
    workers' spin-waits then cost more than they gain: at 720p on 2 cores, 1 thread rendered
    0.875x real time where 2 gave 0.75x (`--quality draft`, docs/performance.md)."""
    if device != "cpu":
        return torch.get_num_threads()
    return max(1, (os.cpu_count() or 2) // 2)


def open_stages(cfg: RenderConfig, analysis: TrackAnalysis, clip: Clip) -> FrameStages:
    """Model and GL context, once per process (a Ray worker keeps them for all its ranges)."""
    torch.set_num_threads(cfg.threads if cfg.threads is not None else default_threads(cfg.device))
    seed_everything(_seed(cfg))
    generator = load_model(cfg.model, cfg.device)
    sharp = bool(QUALITY[cfg.quality]["sharp"])
    stages = FrameStages(generator, analysis, clip, cfg.size, cfg.device, no_fx=cfg.no_fx, sharp=sharp)
    if cfg.mix_model is not None:
        from vjgan.models.mixing import parse_layers
        from vjgan.models.runner import mix_state_for

        # loaded once, here, so a wrong file is a clear error before any frame
        stages.set_mix_state(mix_state_for(cfg.mix_model, generator), parse_layers(cfg.mix_layers))
    return stages


def begin_range(stages: FrameStages, cfg: RenderConfig, first: int, resume: bool = False) -> None:
    """The mapping in the state the single-process render has at frame `first`: a fresh one stepped from
    frame 0, or with `resume` the running one stepped on, when `first` lies ahead of it."""
    if resume and stages.can_seek(first):
        stages.seek(first)
        return
    seed_everything(_seed(cfg))
    mapping, registry = make_mapping(stages.generator, cfg.preset)
    if cfg.seed is not None:
        _reseed_latents(registry, cfg.seed)
    stages.begin(mapping, registry, _seed(cfg), first)


def _seed(cfg: RenderConfig) -> int:
    return 0 if cfg.seed is None else cfg.seed


def render_range(
    stages: FrameStages, cfg: RenderConfig, first: int, last: int, writer: VideoWriter,
    on_frame: Callable[[], None] | None = None, resume: bool = False,
) -> list[float]:  # fmt: skip
    """Frames [first, last) into `writer`, the three stages concurrently when `cfg.pipelined`.
    Returns the encode times (ms per frame). `resume`: see `begin_range`."""
    begin_range(stages, cfg, first, resume)
    encode_ms: list[float] = []

    def encode(image: np.ndarray) -> None:
        te = time.perf_counter()
        writer.write(image)
        encode_ms.append((time.perf_counter() - te) * 1000)
        if on_frame is not None:
            on_frame()

    run_stages(range(first, last), stages.generate, stages.draw, encode, pipelined=cfg.pipelined)
    return encode_ms


def render_video(cfg: RenderConfig, analysis: TrackAnalysis | None = None) -> RenderResult:
    """Render `cfg.audio` to `cfg.output`. UserError on bad input; the output name only ever holds a
    complete file (an interrupted or failed render leaves the previous file, or none). In this process;
    `cfg.ray` set: use `vjgan.app.offline_ray.render_video_ray`."""
    if cfg.ray is not None:
        raise ValueError("RenderConfig.ray is set: call vjgan.app.offline_ray.render_video_ray")
    plan = plan_render(cfg)
    with interrupts_to_main():
        if analysis is None:
            analysis = analyze_track(cfg.audio, n_sections=cfg.n_sections, progress=cfg.progress)
        threads = torch.get_num_threads()  # --threads is for this render, not for the rest of the process
        try:
            result = _render_single(cfg, plan, analysis)
        finally:
            torch.set_num_threads(threads)
    return result


def _render_single(cfg: RenderConfig, plan: Plan, analysis: TrackAnalysis) -> RenderResult:
    from tqdm import tqdm

    out, n_frames, (w, h) = plan.output, plan.clip.frames, plan.size
    stages = open_stages(cfg, analysis, plan.clip)
    log.info(
        "rendering %s → %s: %d frames %dx%d @ %d fps, %d sections, %.1f BPM",
        cfg.audio, out, n_frames, w, h, cfg.fps, len(analysis.sections), analysis.tempo,
    )  # fmt: skip
    crf, x264_preset = cfg.encoder()
    t0 = time.perf_counter()
    try:
        with VideoWriter(out, w, h, cfg.fps, plan.audio, SAMPLE_RATE, crf=crf, preset=x264_preset) as writer:
            bar = tqdm(total=n_frames, unit="frame", desc="rendering", disable=not cfg.progress)
            try:
                encode_ms = render_range(stages, cfg, 0, n_frames, writer, lambda: bar.update(1))
            finally:
                bar.close()
    finally:
        stages.release()
    wall = time.perf_counter() - t0
    video_s = n_frames / cfg.fps
    encode = float(np.median(encode_ms)) if encode_ms else 0.0
    return RenderResult(
        path=out,
        frames=n_frames,
        duration=video_s,
        wall_s=wall,
        realtime_factor=video_s / max(wall, 1e-9),
        stage_ms={**stages.medians(), "encode": encode},
        rendered=n_frames,
    )
