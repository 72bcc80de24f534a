"""The musical features of one analysis frame, and the bus that carries them to the other threads.

`Features` is immutable: the analysis thread publishes a new snapshot every hop (100 per second) and
readers (mapping engine, panel meters, OSC out) just take the latest reference, so no lock is needed.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, fields

import numpy as np

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FPS = 100.0  # analysis frames per second (hop 10 ms)


def _zeros12() -> tuple[float, ...]:
    return (0.0,) * 12


@dataclass(frozen=True, slots=True)
class Features:
    """One analysis frame. Scalars are normalised to roughly 0..1 unless the name says otherwise."""

    time: float = 0.0  # audio time (s) of the end of the analysed window, in the source's own clock
    frame: int = 0  # analysis frame index since the analyzer started
    wall: float = 0.0  # time.perf_counter() when published (for latency stats)
    rms: float = 0.0  # instantaneous RMS (linear, full scale = 1)
    rms_smooth: float = 0.0  # RMS smoothed over ~1 s: sections, loudness
    onset: float = 0.0  # onset strength (madmom RNN onset activation, 0..1)
    onset_event: bool = False  # a peak-picked onset happened in this frame
    percussive: float = 0.0  # percussive energy (online HPSS)
    harmonic: float = 0.0  # harmonic energy (online HPSS)
    kick: float = 0.0  # low-band percussive onset strength
    kick_event: bool = False
    snare: float = 0.0  # high-band percussive onset strength
    snare_event: bool = False
    bass: float = 0.0  # band energies
    mid: float = 0.0
    high: float = 0.0
    chroma: tuple[float, ...] = field(default_factory=_zeros12)  # harmonic part, max-normalised, C..B
    bass_chroma: tuple[float, ...] = field(default_factory=_zeros12)  # low register only (roots)
    tempo: float = 120.0  # BPM
    beat_phase: float = 0.0  # 0..1 within the current beat
    bar_phase: float = 0.0  # 0..1 within the current bar (4 beats)
    beat_event: bool = False
    bar_event: bool = False
    beat_count: int = 0
    # whole-track analysis only (rehearsal, offline render); the live analyzer leaves them at 0
    section: int = 0  # section label (0..k-1) from Laplacian segmentation; same label = same material
    section_phase: float = 0.0  # 0..1 progress through the current section instance
    # events since the analyzer started: a consumer slower than 100 fps (the mapping engine at a 60 fps
    # render rate) compares counts between its frames, so it never misses a one-frame *_event
    onset_count: int = 0
    kick_count: int = 0
    snare_count: int = 0

    def scalars(self) -> dict[str, float]:
        """Every mapping source by name: fields, plus `chroma.C` … `chroma.B` and `bass_chroma.*`."""
        out: dict[str, float] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, tuple):
                for name, x in zip(PITCH_CLASSES, v, strict=True):
                    out[f"{f.name}.{name}"] = float(x)
            elif f.name not in ("frame", "wall"):
                out[f.name] = float(v)
        return out


SOURCE_NAMES: tuple[str, ...] = tuple(Features().scalars())


class FeatureBus:
    """Latest `Features` for the renderer plus a bounded history for meters and plots.

    Single writer (the analysis thread); any number of readers. `latest` is a plain attribute read.
    """

    def __init__(self, history_seconds: float = 10.0) -> None:
        self.latest: Features = Features()
        self._history: deque[Features] = deque(maxlen=int(history_seconds * FPS))
        self._lock = threading.Lock()  # only guards history copies, never the hot `latest` read
        self._new = threading.Condition(self._lock)

    def publish(self, features: Features) -> None:
        with self._lock:
            self._history.append(features)
            self.latest = features
            self._new.notify_all()

    def wait_newer(self, frame: int, timeout: float) -> Features:
        """Block until a snapshot newer than `frame` exists (for consumers that follow every frame)."""
        with self._new:
            self._new.wait_for(lambda: self.latest.frame > frame, timeout)
            return self.latest

    def history(self, n: int | None = None) -> list[Features]:
        with self._lock:
            items = list(self._history)
        return items if n is None else items[-n:]

    def history_array(self, name: str, n: int | None = None) -> np.ndarray:
        """One scalar source over the history, oldest first (for implot lines)."""
        return np.array([f.scalars()[name] for f in self.history(n)], dtype=np.float32)
