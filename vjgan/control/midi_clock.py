"""MIDI clock in as an external clock (`vjgan.core.clock.ExternalClock`, name "midi").

A MIDI clock is 24 ticks per quarter note, plus start / stop / continue / song position. Single tick
intervals jitter by the sender's and the MIDI server's period (JACK delivers in 5 ms blocks), so the tempo
is the slope of a least-squares line through the timestamps of the last `WINDOW_TICKS` ticks (two beats):
a late tick moves it by a fraction of a percent, not by 25 %. The line's value at the newest tick is the
phase, so the beat does not wobble either.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from vjgan.core.clock import ClockReading

PPQ = 24
WINDOW_TICKS = 48  # two beats of ticks: the tempo follows a change within two beats
MIN_TICKS = 6  # a quarter of a beat before the first reading
TIMEOUT_S = 0.5  # no tick for this long (and 8 tick intervals): the clock has stopped talking

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
        mean_i = (n - 1) / 2.0
        mean_t = sum(times) / n
        sxx = sum((i - mean_i) ** 2 for i in range(n))
        slope = sum((i - mean_i) * (t - mean_t) for i, t in enumerate(times)) / sxx  # seconds per tick
        if slope <= 0:
            return None
        bpm = 60.0 / (slope * PPQ)
        if not 1.0 <= bpm <= 999.0:
            return None
        at = mean_t + slope * (n - 1 - mean_i)  # the fitted time of the newest tick
        return ClockReading("midi", bpm, last_tick / PPQ, at)
