"""External clocks: a tempo and a beat position from outside the audio analysis.

Ableton Link, MIDI clock and a leader vjgan instance all say the same thing — "at perf_counter() time
`at`, the music was at beat `beat`, going at `bpm`" — so the analysis follows any of them through this one
message. A reading extrapolates to any later moment, so a clock read every few ms is enough for a beat
phase that is exact at every analysis hop (10 ms) without reading the clock at each.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

# Where the tempo and beat phase come from. "analysis": the audio's own beat tracker (tap and nudge hold a
# tempo inside it); the others are external clocks that replace its tempo and phase while selected.
TEMPO_SOURCES: tuple[str, ...] = ("analysis", "link", "midi", "leader")


@dataclass(frozen=True, slots=True)
class ClockReading:
    """One observation of an external clock."""

    source: str  # one of TEMPO_SOURCES other than "analysis"
    bpm: float
    beat: float  # beats since the clock's origin at `at` (fractional; Link's beat, MIDI ticks / 24, ...)
    at: float  # time.perf_counter() of the observation
    beats_per_bar: int = 4  # Link's quantum; bar lines fall where beat is a multiple of it

    def __post_init__(self) -> None:
        if self.source not in TEMPO_SOURCES[1:]:
            raise ValueError(f"clock source {self.source!r}: expected one of {', '.join(TEMPO_SOURCES[1:])}")
        if not (math.isfinite(self.bpm) and 1.0 <= self.bpm <= 999.0):
            raise ValueError(f"clock tempo {self.bpm!r} BPM is not a usable tempo (1..999)")
        if not (math.isfinite(self.beat) and math.isfinite(self.at)):
            raise ValueError("clock beat and time must be finite")
        if self.beats_per_bar < 1:
            raise ValueError(f"beats_per_bar must be >= 1, got {self.beats_per_bar}")

    def beat_at(self, when: float | None = None) -> float:
        """The beat position at perf_counter() time `when` (now by default), at constant tempo."""
        t = time.perf_counter() if when is None else when
        return self.beat + (t - self.at) * self.bpm / 60.0

    def time_of(self, beat: float) -> float:
        """perf_counter() time at which `beat` is (or was) reached, at constant tempo."""
        return self.at + (beat - self.beat) * 60.0 / self.bpm


class ExternalClock(Protocol):
    """A clock the app can follow: Link, MIDI clock in, a leader instance. `read()` is called from the
    app's clock thread (about every 10 ms), never from the audio callback or the render loop, and must not
    block; None while the clock has nothing to say (no peers, no clock ticks yet, leader silent)."""

    name: str  # one of TEMPO_SOURCES

    def read(self) -> ClockReading | None: ...
