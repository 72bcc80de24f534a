"""The tempo-source selector: which clock the beat tracker follows (analysis, Link, MIDI clock, a leader).

Why a thread of its own: an external clock is read about every 10 ms and handed to the audio engine as
the newest reading (`AudioEngine.follow_clock`, latest value); neither the render loop nor the analysis
thread may wait on a clock. The same thread feeds vjgan's own tempo and beat to every clock that can be
led (`lead(bpm, beat, at)`, Link) while another source is selected: then vjgan leads the session.

Clocks plug in by name: `TempoSources({"link": LinkClock(...), "midi": MidiClock(...)}, ...)`. A source that
has no clock (not enabled) is refused with a note, and the analysis stays in charge; a clock with nothing
to say yet (no ticks, leader silent) leaves the analysis in charge until it speaks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from vjgan.core.clock import TEMPO_SOURCES, ClockReading, ExternalClock
from vjgan.core.errors import UserError
from vjgan.core.features import FeatureBus
from vjgan.core.registry import Param, ParamRegistry

log = logging.getLogger(__name__)

GROUP = "tempo_source"
ADDRESS = "/vjgan/tempo/source"
ENABLE_HINT = {"link": "start with --link", "midi": "start with --midi-in PORT|virtual",
               "leader": "start with --follow HOST:PORT"}


class TempoSources:
    """Reads the selected clock at `hz` and hands it to the audio engine; leads the clocks that can be led.

    `engine()` returns the current audio engine (it changes when the audio source is switched), `note`
    tells the user (the panel's messages). `select` runs on the render thread (a registry apply); the
    thread only reads `source`, one string swapped atomically.
    """

    def __init__(self, clocks: Mapping[str, ExternalClock], engine: Callable[[], Any], bus: FeatureBus,
                 note: Callable[[str], None] = log.info, hz: float = 100.0,
                 off: Mapping[str, str] | None = None) -> None:
        unknown = sorted(set(clocks) - set(TEMPO_SOURCES[1:]))
        if unknown:
            raise ValueError(f"unknown tempo sources {unknown}: expected {', '.join(TEMPO_SOURCES[1:])}")
        self.clocks = dict(clocks)
        self.off = {**ENABLE_HINT, **(off or {})}  # why a source is not enabled (a failed start says its error)
        self.engine = engine
        self.bus = bus
        self.note = note
        self.period = 1.0 / hz
        self.source = "analysis"  # what is followed now
        self.errors = 0  # clock reads that raised
        self.last: ClockReading | None = None  # the reading handed to the engine last
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- control (render thread) ------------------------------------------------------------------
    def select(self, name: str) -> None:
        """Follow `name`; one that is not enabled leaves the analysis in charge (UserError says why)."""
        name = str(name).strip().lower()
        if name not in TEMPO_SOURCES:
            raise UserError(f"tempo source {name!r}: expected one of {', '.join(TEMPO_SOURCES)}")
        if name != "analysis" and name not in self.clocks:
            self.source = "analysis"
            hint = self.off.get(name, "not available")
            why = f"tempo source {name} is not enabled ({hint}); following the analysis"
            self.note(why)
            raise UserError(why)
        if name != self.source:
            self.source = name
            self.note(f"tempo source: {name}")

    def available(self) -> tuple[str, ...]:
        return ("analysis", *[s for s in TEMPO_SOURCES[1:] if s in self.clocks])

    def status(self) -> str:
        """One line for the panel: what is followed, and each clock's own state when it has one."""
        parts = [f"following {self.source}"]
        if self.source != "analysis" and self.last is None:
            parts[0] += " (no reading yet: the analysis meanwhile)"
        for clock in self.clocks.values():
            st = getattr(clock, "status", None)
            if callable(st):
                parts.append(str(st()))
        return "; ".join(parts)

    def params(self) -> list[tuple[Param, Callable[[Any], None]]]:
        return [(Param(ADDRESS, "str", "tempo and beat from: " + " | ".join(TEMPO_SOURCES) + " (enabled ones: "
                       "Link with --link, MIDI clock with --midi-in); an external clock replaces the analysis, tap "
                       "and nudge", group=GROUP),
                 self.select)]

    def register(self, registry: ParamRegistry) -> None:
        registry.replace_group(GROUP, self.params())

    # ---- the thread -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="vjgan-tempo-source", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None
        for clock in self.clocks.values():
            stop = getattr(clock, "stop", None)
            if callable(stop):
                stop()

    def _run(self) -> None:
        handed: tuple[Any, ClockReading | None] | None = None  # (engine, reading) given last
        next_t = time.perf_counter()
        while not self._stop.is_set():
            handed = self.tick(handed)
            next_t += self.period
            delay = next_t - time.perf_counter()
            if delay < -self.period:  # stalled (a loaded machine): no catching up in a burst
                next_t, delay = time.perf_counter(), 0.0
            self._stop.wait(max(delay, 0.0))

    def tick(self, handed: tuple[Any, ClockReading | None] | None = None) -> tuple[Any, ClockReading | None]:
        """One read: the selected clock to the engine (only when engine or reading changed), vjgan's tempo
        to the clocks it leads. Returns what was handed, for the next call."""
        source = self.source
        reading = None
        if source != "analysis":
            clock = self.clocks.get(source)
            try:
                reading = clock.read() if clock is not None else None
            except Exception as exc:  # noqa: BLE001 - a broken clock: the analysis takes over, the show goes on
                self.errors += 1
                if self.errors in (1, 10, 100) or self.errors % 1000 == 0:
                    log.warning("tempo source %s: read failed (%d times): %s", source, self.errors, exc)
        self.last = reading
        engine = self.engine()
        if handed is None or handed[0] is not engine or handed[1] is not reading:
            follow = getattr(engine, "follow_clock", None)
            if callable(follow):
                follow(reading)
            handed = (engine, reading)
        self._lead(source)
        return handed

    def _lead(self, source: str) -> None:
        """vjgan's tempo (and beat) to every clock that can be led and is not the one followed. Only once
        the beat tracker has found beats: a default 120 BPM must not overwrite a session's tempo."""
        f = self.bus.latest
        if f.beat_count <= 0 or f.wall <= 0.0:
            return
        for name, clock in self.clocks.items():
            lead = getattr(clock, "lead", None)
            if name != source and callable(lead):
                lead(float(f.tempo), float(f.beat_count) + float(f.beat_phase), float(f.wall))
