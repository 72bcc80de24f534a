"""MIDI clock in as an external clock (`vjgan.core.clock.ExternalClock`, name "midi").

A MIDI clock is 24 ticks per quarter note, plus start / stop / continue / song position. A tick can
arrive late (the MIDI server delivers in periods, 5 ms for JACK at 256 frames; a busy machine delays a
period) but never early, so the sender's schedule is the lower envelope of the arrival times: the tempo is
the slope of the lower convex hull's edge under the middle of the last `WINDOW_TICKS` ticks (two beats),
and that line at the newest tick is the phase. Late ticks lie above it and move neither; a single tick
interval would be off by 25 %. When the middle edge is short (a burst of late ticks after a stall), the
previous tempo holds rather than a wrong one.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from vjgan.core.clock import ClockReading

PPQ = 24
WINDOW_TICKS = 48  # two beats of ticks: the tempo follows a change within two beats
MIN_TICKS = 6  # a quarter of a beat before the first reading
MIN_EDGE = 0.25  # a hull edge spanning less than this share of the window is a burst, not the schedule
TIMEOUT_S = 1.5  # no tick for this long (and 8 tick intervals): the clock stopped talking (a busy machine can
# hold a tick back for most of a second: that is no reason to drop the tempo)

CLOCK, START, CONTINUE, STOP, SONG_POSITION = 0xF8, 0xFA, 0xFB, 0xFC, 0xF2


class MidiClock:
    """`feed` from the MIDI input thread (each system real-time byte with its arrival time), `read` from the
    app's clock thread. A lock guards the tick window; both sides hold it for microseconds."""

    name = "midi"

    def __init__(self, window: int = WINDOW_TICKS) -> None:
        self._lock = threading.Lock()
        self._times: deque[float] = deque(maxlen=max(window, MIN_TICKS))
        self._ticks = 0  # ticks since start (or since the song position)
        self._running = True  # a sender that never sends start still gives a tempo
        self.started = 0  # counters, for the stats line
        self.stopped = 0
        self.ticks_total = 0
        self._slope: float | None = None  # seconds per tick of the last window that had a clean edge

    def feed(self, msg: list[int] | tuple[int, ...], when: float) -> bool:
        """A MIDI message at perf_counter() time `when`; True when it was a clock message."""
        status = msg[0] if msg else 0
        with self._lock:
            if status == CLOCK:
                self.ticks_total += 1
                if not self._running:
                    return True  # stopped: ticks keep the tempo in some senders, but the song holds
                if self._times and when - self._times[-1] > self._timeout():
                    self._times.clear()  # a pause: an old tempo must not bend the new one
                self._times.append(when)
                self._ticks += 1
                return True
            if status == START:
                self._restart(0)
                self._slope = None
                self.started += 1
                return True
            if status == CONTINUE:
                self._times.clear()
                self._running = True
                return True
            if status == STOP:
                self._running = False
                self._times.clear()
                self.stopped += 1
                return True
            if status == SONG_POSITION and len(msg) == 3:
                self._ticks = (msg[1] | (msg[2] << 7)) * 6  # sixteenth notes → ticks
                self._times.clear()
                return True
        return False

    def _restart(self, ticks: int) -> None:
        self._ticks = ticks
        self._times.clear()
        self._running = True

    def _timeout(self) -> float:
        n = len(self._times)
        if n < 2:
            return TIMEOUT_S
        return max(TIMEOUT_S, 8 * (self._times[-1] - self._times[0]) / (n - 1))

    def status(self, reading: ClockReading | None = None) -> str:
        """One line for the panel."""
        reading = reading if reading is not None else self.read()
        if reading is None:
            return f"MIDI clock: {'stopped' if not self._running else 'no ticks'} ({self.ticks_total} ticks so far)"
        return f"MIDI clock: {reading.bpm:.2f} BPM, beat {reading.beat_at():.2f}"

    def read(self) -> ClockReading | None:
        """Tempo and beat from the last two beats of ticks; None before a quarter beat of ticks, after a
        stop, or when the ticks stopped coming."""
        with self._lock:
            times = list(self._times)
            last_tick = self._ticks - 1  # tick k after a start falls on beat k / 24 (the first on beat 0)
            running = self._running
            timeout = self._timeout()
        if not running or len(times) < MIN_TICKS or time.perf_counter() - times[-1] > timeout:
            return None
        n = len(times)
        a, b = middle_edge(times)
        slope = (times[b] - times[a]) / (b - a)  # seconds per tick
        if b - a < MIN_EDGE * n and self._slope is not None:
            slope = self._slope  # a burst after a stall: keep the tempo the clean windows gave
        elif slope > 0:
            self._slope = slope
        if slope <= 0 or not 1.0 <= 60.0 / (slope * PPQ) <= 999.0:
            return None
        at = times[a] + slope * (n - 1 - a)  # when the newest tick was due on the sender's schedule
        return ClockReading("midi", 60.0 / (slope * PPQ), last_tick / PPQ, at)


def middle_edge(times: list[float]) -> tuple[int, int]:
    """Indices of the lower convex hull edge of (i, times[i]) that spans the middle index (monotone chain)."""
    hull: list[int] = []
    for i, t in enumerate(times):
        while len(hull) >= 2:
            p, q = hull[-2], hull[-1]
            if (times[q] - times[p]) * (i - p) >= (t - times[p]) * (q - p):  # q is not below p→i
                hull.pop()
            else:
                break
        hull.append(i)
    mid = (len(times) - 1) / 2.0
    for p, q in zip(hull, hull[1:], strict=False):
        if p <= mid <= q:
            return p, q
    return hull[0], hull[-1]
