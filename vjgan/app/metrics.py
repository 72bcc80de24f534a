"""The render loop's measurements: per-stage times, frame intervals, audio → screen latency, the frame log.

Why apart from the loop: the loop's job is to show frames; what it learns about them (the `LiveStats` the
panel header, the Stats tab and the benchmarks read, and `frames.json` of a headless run) is bookkeeping
that should not hide the frame's path.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from vjgan.core.features import Features
from vjgan.core.stats import STAGES, LiveStats

_SEQ_KEEP = 512  # submitted params remembered for latency, at most (half are dropped past it)


class LoopMetrics:
    """Owned by the render thread. `stats` is mutated in place; others get copies (`LiveStats.copy`)."""

    def __init__(self, log_frames: bool = False) -> None:
        self.stats = LiveStats()
        self.frame_times: deque[float] = deque(maxlen=600)  # ms between display ticks
        self.stage_hist: dict[str, deque[float]] = {s: deque(maxlen=120) for s in STAGES}
        self.seq_info: dict[int, tuple[float, float]] = {}  # params seq → (features wall, audio time)
        self.frame_log: list[dict[str, Any]] = []  # per frame, when `log_frames` (headless PNG runs)
        self.log_frames = log_frames

    def submitted(self, seq: int, wall: float, audio_time: float) -> None:
        """Params `seq` went to the generator, made from features published at `wall` (for latency)."""
        self.seq_info[seq] = (wall, audio_time)
        if len(self.seq_info) > _SEQ_KEEP:
            for k in sorted(self.seq_info)[: _SEQ_KEEP // 2]:
                del self.seq_info[k]

    def tick(self, dt: float, interval: float) -> None:
        """A display tick `dt` seconds after the previous one; over 2 intervals counts as a late frame."""
        self.frame_times.append(dt * 1000.0)
        if dt > 2 * interval:
            self.stats.late_frames += 1

    def account(self, features: Features, frame: Any, uploaded: bool, ts: tuple[float, ...],
                audio_stats: Any, gen_stats: Any, preset: str = "") -> None:
        """One displayed frame: `ts` = (start, mapped, uploaded, rendered, presented) perf_counter times;
        `frame` the generated frame shown (None: the previous one), `uploaded` whether it is new."""
        t0, t1, t2, t3, t4 = ts
        s = self.stats
        s.frames += 1
        hist = self.stage_hist
        hist["audio"].append(float(getattr(audio_stats, "analysis_ms_p50", 0.0) or 0.0))
        hist["mapping"].append((t1 - t0) * 1000)
        if frame is not None:
            hist["generator"].append(float(frame.gen_ms))
        if uploaded:
            hist["upload"].append((t2 - t1) * 1000)
        hist["render"].append((t3 - t2) * 1000)
        hist["display"].append((t4 - t3) * 1000)
        for k, v in hist.items():
            if v:
                s.stage_ms[k] = float(np.median(v))
        s.last_present = t4
        if uploaded and frame.seq in self.seq_info:  # first display of a generated frame
            wall, _ = self.seq_info[frame.seq]
            if wall > 0:
                s.latency_ms = (t4 - wall) * 1000
        if features.wall > 0:
            s.shader_latency_ms = (t4 - features.wall) * 1000
        if gen_stats is not None:
            s.gen_fps = float(getattr(gen_stats, "fps", 0.0))
            s.gen_dropped = int(getattr(gen_stats, "dropped", 0))
            s.gen_ms = float(getattr(gen_stats, "gen_ms_p50", 0.0))
        s.audio_overflows = int(getattr(audio_stats, "overflows", 0) or 0)
        s.audio_status = str(getattr(audio_stats, "status", "") or "")
        if len(self.frame_times) > 1:
            ft = np.asarray(self.frame_times)
            s.frame_ms_p50 = float(np.percentile(ft, 50))
            s.frame_ms_p99 = float(np.percentile(ft, 99))
            s.render_fps = 1000.0 / max(s.frame_ms_p50, 1e-3)
        if self.log_frames:
            seq_wall, seq_time = self.seq_info.get(frame.seq, (0.0, 0.0)) if frame is not None else (0.0, 0.0)
            self.frame_log.append({
                "index": s.frames - 1, "wall": t4, "audio_time": features.time, "onset": features.onset,
                "rms": features.rms, "gen_seq": frame.seq if frame is not None else -1,
                "gen_audio_time": seq_time, "latency_ms": s.latency_ms,
                "feature_wall": features.wall, "tempo": features.tempo, "beat_count": features.beat_count,
                "beat_phase": features.beat_phase,
                "preset": preset,
            })
