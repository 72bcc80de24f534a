"""`TrackAnalysis`: what a whole-track analysis holds, and the `Features` it gives at any audio time.

Why a type of its own: the offline DSP (trackdsp.py) makes one, the cache (trackcache.py) stores and
loads it, the rehearsal feed (rehearsal.py) and the offline renderer ask it for `features_at(t)`. Stored
as a plain .npz (arrays and a JSON header, no pickle), written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from vjgan.audio.segmentation import Section
from vjgan.core.features import FPS, Features

CURVES = (
    "rms", "rms_smooth", "onset", "onset_harmonic", "onset_percussive", "percussive", "harmonic",
    "kick", "snare", "bass", "mid", "high",
)  # fmt: skip
MATRICES = ("chroma_harmonic", "chroma_percussive", "bass_chroma", "timbre")
EVENTS = ("onset_events", "kick_events", "snare_events")


@dataclass
class TrackAnalysis:
    """The whole-track analysis; arrays at `fps` frames per second, frame i centred at i / fps seconds."""

    duration: float
    tempo: float  # BPM, median over the track
    beats_per_bar: int
    beats: np.ndarray  # beat times (s)
    beat_positions: np.ndarray  # position of each beat in its bar, 1 = downbeat
    downbeats: np.ndarray  # downbeat times (s), a subset of `beats`
    sections: list[Section]
    curves: dict[str, np.ndarray]  # name in CURVES → (n,) float32, 0..1
    matrices: dict[str, np.ndarray]  # name in MATRICES → (n, d) float32
    events: dict[str, np.ndarray]  # name in EVENTS → frame indices (int)
    fps: float = FPS
    meta: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return len(self.curves["rms"])

    def section_at(self, t: float) -> tuple[int, float, Section]:
        """(index in `sections`, phase 0..1 within it, the section) at time t (clamped to the track)."""
        starts = np.array([s.start for s in self.sections])
        i = int(np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(self.sections) - 1))
        s = self.sections[i]
        phase = float(np.clip((t - s.start) / max(s.end - s.start, 1e-6), 0.0, 1.0))
        return i, phase, s

    def features_at(self, t: float, prev_t: float | None = None, frame: int = 0, wall: float | None = None) -> Features:
        """The `Features` at audio time t. Events (beat, bar, onset, kick, snare) are true when one falls in
        (prev_t, t] — pass the previous frame's time so a 30 fps render sees every 100 fps event once.
        prev_t > t means the loop wrapped (rehearsal): the window is (prev_t, end] ∪ [0, t]."""
        lo = t - 1.0 / self.fps if prev_t is None else prev_t
        i = int(np.clip(round(t * self.fps), 0, self.n_frames - 1))
        c = {k: float(v[i]) for k, v in self.curves.items()}
        m = self.matrices

        def hit_times(times: np.ndarray) -> bool:
            return bool(_in_window(times, lo, t, self.duration))

        def hit_frames(name: str) -> bool:
            return hit_times(self.events[name] / self.fps)

        def count(name: str) -> int:  # events so far: the mapping engine fires on a changed count
            return int(np.searchsorted(self.events[name], t * self.fps + 1e-6, side="right"))

        period = 60.0 / max(self.tempo, 1e-3)
        j, beat_phase, beat_period = _grid_phase(self.beats, t, period)
        _, bar_phase, _ = _grid_phase(self.downbeats, t, period * self.beats_per_bar)
        sec_i, sec_phase, sec = self.section_at(t)
        return Features(
            time=float(t),
            frame=frame,
            wall=time.perf_counter() if wall is None else wall,
            rms=c["rms"],
            rms_smooth=c["rms_smooth"],
            onset=c["onset"],
            onset_event=hit_frames("onset_events"),
            percussive=c["percussive"],
            harmonic=c["harmonic"],
            kick=c["kick"],
            kick_event=hit_frames("kick_events"),
            snare=c["snare"],
            snare_event=hit_frames("snare_events"),
            bass=c["bass"],
            mid=c["mid"],
            high=c["high"],
            chroma=tuple(float(x) for x in m["chroma_harmonic"][i]),
            bass_chroma=tuple(float(x) for x in m["bass_chroma"][i]),
            tempo=float(60.0 / beat_period),
            beat_phase=beat_phase,
            bar_phase=bar_phase,
            beat_event=hit_times(self.beats),
            bar_event=hit_times(self.downbeats),
            beat_count=max(0, j + 1),
            onset_count=count("onset_events"),
            kick_count=count("kick_events"),
            snare_count=count("snare_events"),
            section=sec.label,
            section_phase=sec_phase,
        )

    # -- storage: plain arrays only, loaded with allow_pickle=False -------------------------------------
    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {
            "beats": self.beats,
            "beat_positions": self.beat_positions,
            "downbeats": self.downbeats,
            "section_table": np.array([[s.start, s.end, s.label] for s in self.sections], dtype=np.float64),
        }
        arrays.update({f"curve_{k}": v for k, v in self.curves.items()})
        arrays.update({f"matrix_{k}": v for k, v in self.matrices.items()})
        arrays.update({f"event_{k}": v for k, v in self.events.items()})
        header = {
            "duration": self.duration, "tempo": self.tempo, "beats_per_bar": self.beats_per_bar,
            "fps": self.fps, "meta": self.meta,
        }  # fmt: skip
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        _atomic_write(path, lambda f: np.savez_compressed(f, **arrays))

    @classmethod
    def load(cls, path: Path) -> TrackAnalysis:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            return cls(
                duration=float(header["duration"]),
                tempo=float(header["tempo"]),
                beats_per_bar=int(header["beats_per_bar"]),
                beats=z["beats"],
                beat_positions=z["beat_positions"],
                downbeats=z["downbeats"],
                sections=[Section(float(a), float(b), int(c)) for a, b, c in z["section_table"]],
                curves={k: z[f"curve_{k}"] for k in CURVES},
                matrices={k: z[f"matrix_{k}"] for k in MATRICES},
                events={k: z[f"event_{k}"] for k in EVENTS},
                fps=float(header["fps"]),
                meta=header.get("meta", {}),
            )


def _grid_phase(grid: np.ndarray, t: float, default_period: float) -> tuple[int, float, float]:
    """(index of the last grid point ≤ t, phase 0..1 to the next one, current period), extrapolating outside."""
    if len(grid) < 2:
        return int(t // default_period), float((t / default_period) % 1.0), default_period
    j = int(np.searchsorted(grid, t, side="right") - 1)
    if j < 0:
        period = float(grid[1] - grid[0])
        return -1, float(1.0 - ((grid[0] - t) / period) % 1.0) % 1.0, period
    if j >= len(grid) - 1:
        period = float(grid[-1] - grid[-2])
        return j, float(((t - grid[-1]) / period) % 1.0), period
    period = float(grid[j + 1] - grid[j])
    return j, float((t - grid[j]) / period), period


def _in_window(times: np.ndarray, lo: float, hi: float, duration: float) -> bool:
    if len(times) == 0:
        return False
    if lo <= hi:
        return bool(np.any((times > lo) & (times <= hi)))
    return bool(np.any(times > lo) or np.any((times >= 0) & (times <= hi)))  # loop wrapped


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
