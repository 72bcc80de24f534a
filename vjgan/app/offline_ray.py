"""`vjgan render --ray [ADDRESS]`: frame ranges rendered by Ray workers, joined without re-encoding.

Each worker is a Ray actor that loads the model and builds its EGL context once, then renders whole
segments (frame ranges): it steps a fresh mapping engine alone up to the range start (so the range
starts in the single-process state, see offline_frames.py), renders and encodes the range, and returns
the encoded bytes, so workers on other machines need no shared folder. The driver stores each segment
atomically in the work folder (offline_segments.py), joins them by remuxing the video packets and muxes
the audio once. A rerun after a crash or a kill skips the segments already there.

Ray is imported only here, only when --ray is given.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from vjgan.app.offline import (
    SAMPLE_RATE,
    RenderConfig,
    RenderResult,
    open_stages,
    plan_render,
    preset_path,
    render_range,
)
from vjgan.app.offline_frames import Clip
from vjgan.app.offline_segments import Segment, WorkFolder, config_hash, file_digest, plan_segments
from vjgan.audio.trackanalysis import TrackAnalysis, analyze_track
from vjgan.core.errors import UserError
from vjgan.render.video_join import join_segments
from vjgan.render.video_writer import VideoWriter

log = logging.getLogger(__name__)
LOCAL_OBJECT_STORE = 256 * 1024**2  # segments are a few MB each; Ray's default (30 % of RAM) is far more


class SegmentWorker:
    """One Ray actor: a model and a GL context, reused for every segment it is given."""

    def __init__(self, cfg: RenderConfig, analysis: TrackAnalysis, clip: Clip) -> None:
        self.cfg = cfg
        self.stages = open_stages(cfg, analysis, clip)

    def render(self, first: int, last: int) -> tuple[bytes, dict[str, float]]:
        """Frames [first, last) encoded (video only); returns the file's bytes and stage medians."""
        cfg = self.cfg
        crf, x264_preset = cfg.encoder()
        w, h = cfg.size
        with tempfile.TemporaryDirectory(prefix="vjgan-seg-") as d:
            path = Path(d) / "segment.mp4"
            with VideoWriter(path, w, h, cfg.fps, None, SAMPLE_RATE, crf=crf, preset=x264_preset) as writer:
                for k in self.stages.stage_ms.values():
                    k.clear()
                encode_ms = render_range(self.stages, cfg, first, last, writer, resume=True)
            data = path.read_bytes()
        return data, {**self.stages.medians(), "encode": float(np.median(encode_ms)) if encode_ms else 0.0}

    def ready(self) -> bool:
        return True


def _key(cfg: RenderConfig, worker_cfg: RenderConfig, segment_frames: int) -> str:
    """Everything that decides the frames of a segment (so a changed config never reuses one)."""
    model = cfg.model or "default"
    model_id = file_digest(Path(model)) if Path(model).is_file() else model
    return config_hash({
        "audio": file_digest(Path(cfg.audio)), "preset": preset_path(cfg.preset).read_text(encoding="utf-8"),
        "model": model_id, "size": list(cfg.size), "fps": cfg.fps, "seed": cfg.seed, "start": cfg.start,
        "duration": cfg.duration, "sections": cfg.n_sections, "quality": cfg.quality, "encoder": cfg.encoder(),
        "no_fx": cfg.no_fx, "threads": worker_cfg.threads,
        "mix": [file_digest(Path(cfg.mix_model)) if cfg.mix_model and Path(cfg.mix_model).is_file() else cfg.mix_model,
                cfg.mix_layers], "device": cfg.device, "segment": segment_frames,
    })  # fmt: skip


def _connect(cfg: RenderConfig, attempts: int = 3) -> bool:
    """Start a local Ray or connect to `cfg.ray`; True when this call started it (and must stop it).

    A local start is retried: Ray gives its raylet a fixed 30 s to register, which a busy machine misses."""
    import ray

    if ray.is_initialized():
        return False
    for attempt in range(1, attempts + 1):
        try:
            if cfg.ray == "local":
                ray.init(num_cpus=cfg.workers, include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE,
                         logging_level=logging.WARNING)  # fmt: skip
            else:
                ray.init(address=cfg.ray, logging_level=logging.WARNING)
            return True
        except Exception as exc:  # noqa: BLE001 - Ray raises many kinds (ConnectionError, RuntimeError, ...)
            ray.shutdown()
            if cfg.ray != "local" or attempt == attempts:
                hint = ""
                if cfg.ray != "local" and os.environ.get("RAY_AUTH_MODE") != "token":
                    hint = ("; a cluster started by `ray start` uses token authentication (Ray's default since "
                            "2.59): run with RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN or "
                            "~/.ray/auth_token (`ray get-auth-token` on the head node)")  # fmt: skip
                raise UserError(f"--ray {cfg.ray}: cannot start or reach Ray: {exc}{hint}") from exc
            log.warning("local Ray did not start (%s); trying again (%d of %d)", exc, attempt + 1, attempts)
    return True


def _unwrap(exc: BaseException) -> BaseException:
    """A worker's UserError (e.g. a trail effect on a range) reaches the user as itself, one line."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, UserError):
        return UserError(str(cause))
    return exc


def render_video_ray(cfg: RenderConfig, analysis: TrackAnalysis | None = None) -> RenderResult:
    from tqdm import tqdm

    if cfg.workers < 1:
        raise UserError(f"--workers {cfg.workers}: at least 1")
    if not cfg.segment_seconds > 0:
        raise UserError(f"--segment-seconds {cfg.segment_seconds}: must be positive")
    plan = plan_render(cfg)
    if analysis is None:
        analysis = analyze_track(cfg.audio, n_sections=cfg.n_sections, progress=cfg.progress)
    seg_frames = max(1, int(round(cfg.segment_seconds * cfg.fps)))
    worker_cfg = replace(cfg, ray=None, progress=False, threads=cfg.threads or 1)
    folder = WorkFolder(plan.output, _key(cfg, worker_cfg, seg_frames), plan_segments(plan.clip.frames, seg_frames))
    todo = folder.open()
    rendered = sum(s.frames for s in todo)
    t0 = time.perf_counter()
    stage_ms: list[dict[str, float]] = []
    if todo:
        log.info("rendering %d of %d segments on Ray (%s), %d reused", len(todo), len(folder.segments),
                 cfg.ray, folder.reused)  # fmt: skip
        bar = tqdm(total=plan.clip.frames, initial=plan.clip.frames - rendered, unit="frame",
                   desc="rendering (ray)", disable=not cfg.progress)  # fmt: skip
        started = _connect(cfg)
        try:
            stage_ms = _farm(cfg, worker_cfg, analysis, plan.clip, folder, todo, bar)
        finally:
            bar.close()
            if started:
                import ray

                ray.shutdown()
    join_segments([folder.segment_path(s) for s in folder.segments], plan.output, cfg.fps, plan.audio, SAMPLE_RATE)
    folder.remove()
    wall = time.perf_counter() - t0
    video_s = plan.clip.frames / cfg.fps
    medians = {k: float(np.median([s[k] for s in stage_ms])) for k in (stage_ms[0] if stage_ms else {})}
    return RenderResult(plan.output, plan.clip.frames, video_s, wall, video_s / max(wall, 1e-9), medians, rendered)


def _farm(
    cfg: RenderConfig, worker_cfg: RenderConfig, analysis: TrackAnalysis, clip: Clip, folder: WorkFolder,
    todo: list[Segment], bar,
) -> list[dict[str, float]]:  # fmt: skip
    """Keep every worker busy with the next missing segment; store each one as it arrives."""
    import ray

    actor = ray.remote(num_cpus=1)(SegmentWorker)
    ref = ray.put(analysis)
    workers = [actor.remote(worker_cfg, ref, clip) for _ in range(min(cfg.workers, len(todo)))]
    queue = list(todo)
    running: dict = {}
    stats: list[dict[str, float]] = []

    def submit(w) -> None:
        seg = queue.pop(0)
        running[w.render.remote(seg.first, seg.last)] = (w, seg)

    for w in workers:
        submit(w)
    try:
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            w, seg = running.pop(done[0])
            try:
                data, st = ray.get(done[0])
            except Exception as exc:  # noqa: BLE001 - RayTaskError wraps the worker's exception
                raise _unwrap(exc) from exc
            folder.store(seg, data)
            stats.append(st)
            bar.update(seg.frames)
            if queue:
                submit(w)
    finally:
        for w in workers:
            ray.kill(w)
    return stats
