"""The contract every audio source keeps, and the real-time clock for sources without a device.

A source owns a `RingBuffer` of mono float32 samples at `sample_rate`; the analysis thread is its only
reader. Audio time is the stream clock: sample index in the ring / sample_rate (monotonic, also across
file loops and seeks).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from vjgan.core.ringbuffer import RingBuffer

RING_SECONDS = 4.0  # room for the analysis thread to catch up after a stall on a busy machine


class AudioSource:
    """Interface: start()/stop(), `ring`, `sample_rate`, `channels`, `position`, `describe()`."""

    sample_rate: int = 44100
    channels: int = 1  # channels of the ring (always mono: what the analyzer reads)
    device_latency: float = 0.0  # seconds the device buffers before our callback sees a sample

    def __init__(self, sample_rate: int = 44100) -> None:
        self.sample_rate = sample_rate
        self.ring = RingBuffer(int(RING_SECONDS * sample_rate), 1)
        # (ring frames written, perf_counter) after the newest block: lets the engine time latency
        self.last_block: tuple[int, float] = (0, time.perf_counter())
        # set after every block: the analysis thread wakes on it instead of polling (no sleep latency)
        self.data_ready = threading.Event()
        self.status_flags = 0  # PortAudio over/underflow flags reported to callbacks

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def position(self) -> float:
        """Audio time (s) of the newest sample in the ring."""
        return self.ring.frames_written / self.sample_rate

    @property
    def overflows(self) -> int:
        return self.ring.overflows

    def describe(self) -> str:
        return type(self).__name__

    def _push(self, mono: np.ndarray) -> None:
        """Producer side (audio callback or clock thread): copy in, note the time. Nothing else."""
        self.ring.write(mono)
        self._noted()

    def _noted(self) -> None:
        """After a block reached the ring: its time for latency stats, and wake the analysis."""
        self.last_block = (self.ring.frames_written, time.perf_counter())
        self.data_ready.set()

    def __enter__(self) -> AudioSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ClockFeeder:
    """A thread that calls `render(n)` for as many samples as real time has advanced (10 ms blocks).

    Used where no audio device drives the stream (silence, a file analysed without playing it), so
    everything downstream still runs at the real 100 frames/s.
    """

    def __init__(self, sample_rate: int, render: Callable[[int], None], block: int = 441) -> None:
        self._sr = sample_rate
        self._render = render
        self._block = block
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="audio-clock", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        self._thread = None

    def _run(self) -> None:
        t0 = time.perf_counter()
        done = 0
        while not self._stop.is_set():
            due = int((time.perf_counter() - t0) * self._sr)
            while due - done >= self._block:
                self._render(self._block)
                done += self._block
            if due - done > self._sr:  # the process stalled for >1 s: do not burst-feed the backlog
                done = due - self._block
            self._stop.wait(self._block / self._sr / 2)


class SilenceSource(AudioSource):
    """Zeros at real-time rate: the show goes on (and the analysis keeps ticking) without audio."""

    def __init__(self, sample_rate: int = 44100, reason: str = "") -> None:
        super().__init__(sample_rate)
        self.reason = reason
        self._zeros = np.zeros(4096, dtype=np.float32)
        self._clock = ClockFeeder(sample_rate, lambda n: self._push(self._zeros[:n]))

    def start(self) -> None:
        self._clock.start()

    def stop(self) -> None:
        self._clock.stop()

    def describe(self) -> str:
        return f"silence ({self.reason})" if self.reason else "silence"
