"""Offline music-video render: the live pipeline run frame by frame in audio time, into an MP4.

Same stages as `vjgan live` (MappingEngine → generator → PostFXChain on a headless EGL context), but
driven by the whole-track analysis instead of the live analyzer, and never by the wall clock: frame i
is the picture at audio time start + i / fps, with every beat/onset event between two frames counted
once. Nothing depends on timing or thread scheduling, so the same seed gives the same frames.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vjgan.audio.decode import load_audio
from vjgan.audio.trackanalysis import SAMPLE_RATE, TrackAnalysis, analyze_track
from vjgan.core.errors import UserError
from vjgan.core.features import Features
from vjgan.core.frame import GeneratedFrame, GeneratorParams
from vjgan.core.registry import ParamRegistry
from vjgan.mapping.engine import MappingEngine
from vjgan.mapping.presets import find_preset, load_preset
from vjgan.models.base import Generator
from vjgan.models.default import load_default_generator
from vjgan.models.loaders import load_generator as load_checkpoint
from vjgan.models.runner import GeneratorThread
from vjgan.render.video_writer import VideoWriter, check_output_path

log = logging.getLogger(__name__)


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
    crf: int = 18
    x264_preset: str = "medium"
    progress: bool = True
    no_fx: bool = False  # the generator's image plainly scaled: no effects, no sharpening upscale


@dataclass
class RenderResult:
    path: Path
    frames: int
    duration: float  # seconds of video
    wall_s: float  # render time
    realtime_factor: float  # video seconds per wall second (>1 = faster than real time)
    stage_ms: dict[str, float]  # median ms per frame: mapping, generator, postfx (upload+GL+readback), encode


def preset_path(preset: str | None) -> Path:
    """Resolve --preset exactly like the live app: a path, or a name in presets/ (default: "default")."""
    return find_preset(preset or "default")


def load_generator(model: str | None, device: str) -> Generator:
    if model == "procedural":
        from vjgan.models.procedural import ProceduralGenerator

        return ProceduralGenerator().to(device)
    if model in (None, "default"):
        return load_default_generator(device)
    return load_checkpoint(model, device)


def seed_everything(seed: int) -> None:
    """Every RNG a stage might draw from (latent walks, noise inputs) starts from the render's seed."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class FramePipeline:
    """Features at audio time t → final RGB frame, through the live stages (synchronously)."""

    def __init__(
        self,
        generator: Generator,
        mapping: MappingEngine,
        registry: ParamRegistry,
        size: tuple[int, int],
        device: str = "cpu",
        no_fx: bool = False,
    ) -> None:
        from vjgan.render.postfx import PostFXChain
        from vjgan.render.upload import FrameUploader
        from vjgan.render.window import headless_context

        self.generator = generator.eval()
        self.device = device
        self.mapping = mapping
        self.ctx = headless_context()
        self.chain = PostFXChain(self.ctx, size)
        self.chain.plain = no_fx
        self.registry = registry
        self.chain.register(self.registry)
        self.uploader = FrameUploader(self.ctx)
        # The live generator thread's own per-frame code (bends, noise, rewrite, ψ), run synchronously:
        # the thread is never started, so every frame is generated, none dropped, in order.
        self._runner = GeneratorThread(self.generator, device=device)
        self._seq = 0
        self.stage_ms: dict[str, list[float]] = {"mapping": [], "generator": [], "postfx": []}

    def generate(self, params: GeneratorParams, t: float) -> GeneratedFrame:
        return self._runner.render(params, t)  # raises UserError on bad params (e.g. latent shape)

    def frame(self, features: Features) -> np.ndarray:
        from vjgan.render.postfx import FrameInputs

        t0 = time.perf_counter()
        params = self.mapping.step(features, features.time)  # audio time as the clock: reproducible LFOs
        self._seq += 1
        params.generator.seq = self._seq
        t1 = time.perf_counter()
        gen = self.generate(params.generator, features.time)
        gen.seq = self._seq  # a new seq every frame so the uploader never skips one
        t2 = time.perf_counter()
        self.uploader.upload(gen)
        self.chain.set_uniforms(params.shader)
        inputs = FrameInputs(time=features.time, onset=features.onset, beat_phase=features.beat_phase, rms=features.rms)
        self.chain.render(self.uploader.current, None, 1.0, inputs)
        image = self.chain.read().copy()
        t3 = time.perf_counter()
        for k, a, b in (("mapping", t0, t1), ("generator", t1, t2), ("postfx", t2, t3)):
            self.stage_ms[k].append((b - a) * 1000)
        return image

    def release(self) -> None:
        self.chain.release()
        self.ctx.release()


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


def render_video(cfg: RenderConfig, analysis: TrackAnalysis | None = None) -> RenderResult:
    """Render `cfg.audio` to `cfg.output`. UserError on bad input; the output name only ever holds a
    complete file (an interrupted or failed render leaves the previous file, or none)."""
    from tqdm import tqdm

    out = check_output_path(cfg.output)
    w, h = cfg.size
    if w % 2 or h % 2 or w < 16 or h < 16:
        raise UserError(f"--size {w}x{h}: width and height must be even and at least 16")
    if not 1 <= cfg.fps <= 240:
        raise UserError(f"--fps {cfg.fps}: must be between 1 and 240")
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

    if analysis is None:
        analysis = analyze_track(cfg.audio, n_sections=cfg.n_sections, progress=cfg.progress)
    seed_everything(0 if cfg.seed is None else cfg.seed)
    generator = load_generator(cfg.model, cfg.device)
    mapping, registry = make_mapping(generator, cfg.preset)
    if cfg.seed is not None:
        _reseed_latents(registry, cfg.seed)
    pipeline = FramePipeline(generator, mapping, registry, (w, h), cfg.device, no_fx=cfg.no_fx)
    log.info(
        "rendering %s → %s: %d frames %dx%d @ %d fps, %d sections, %.1f BPM",
        cfg.audio, out, n_frames, w, h, cfg.fps, len(analysis.sections), analysis.tempo,
    )  # fmt: skip
    t0 = time.perf_counter()
    encode_ms: list[float] = []
    try:
        with VideoWriter(out, w, h, cfg.fps, clip, SAMPLE_RATE, crf=cfg.crf, preset=cfg.x264_preset) as writer:
            prev: float | None = None
            bar = tqdm(total=n_frames, unit="frame", desc="rendering", disable=not cfg.progress)
            try:
                for i in range(n_frames):
                    t = start + i / cfg.fps
                    features = analysis.features_at(t, prev, frame=i, wall=0.0)
                    image = pipeline.frame(features)
                    te = time.perf_counter()
                    writer.write(image)
                    encode_ms.append((time.perf_counter() - te) * 1000)
                    prev = t
                    bar.update(1)
            finally:
                bar.close()
    finally:
        pipeline.release()
    wall = time.perf_counter() - t0
    video_s = n_frames / cfg.fps
    return RenderResult(
        path=out,
        frames=n_frames,
        duration=video_s,
        wall_s=wall,
        realtime_factor=video_s / max(wall, 1e-9),
        stage_ms={k: float(np.median(v)) if v else 0.0 for k, v in {**pipeline.stage_ms, "encode": encode_ms}.items()},
    )
