"""Video out to other apps: the `FrameOutput` interface and `ThreadedOutput`, which puts any backend behind a
bounded queue and a sender thread.

Why a queue and a thread: a receiver may be slow (a congested network, a busy NDI decoder) or dead (a
v4l2loopback device nobody reads), and a backend's send may block or fail. The render thread only hands
over the frame it already read back (`send` never blocks); a full queue drops the OLDEST waiting frame (a
video out shows the newest one) and counts it, as the recorder and the PNG writer do. The backend is
opened on the sender thread too, so loading a runtime library never stalls a frame.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class OutputStats:
    sent: int = 0  # frames the backend accepted
    dropped: int = 0  # frames the full queue pushed out (the sender was behind) or that came after a failure
    errors: int = 0  # backend failures (open or send)
    error: str = ""  # the newest failure, in words


class FrameOutput(Protocol):
    """One video output: the render thread calls `send` once per frame it wants to share."""

    name: str  # what it is, for the panel and the log, e.g. "NDI vjgan"
    stats: OutputStats

    def send(self, image: np.ndarray, time: float) -> bool:
        """Hand over one (H, W, 3) uint8 RGB frame (top row first) made at `time` (seconds of audio);
        never blocks. False when an older frame had to be dropped for it."""

    def close(self) -> None:
        """Stop sending and release the backend (bounded: at most a couple of seconds)."""


class Sink(Protocol):
    """A backend as `ThreadedOutput` drives it, only ever from its sender thread: opened for the first frame's
    size (and opened again when the size changes), written frame by frame, closed once at the end; any
    method may block or raise."""

    def open(self, width: int, height: int) -> None: ...

    def write(self, image: np.ndarray, time: float, seq: int) -> None: ...

    def close(self) -> None: ...


_STOP = None


class ThreadedOutput:
    """A `FrameOutput` around a `Sink`: bounded queue (drop oldest, counted) + one sender thread.

    A failed open is reported once (`stats.error`) and the output stays down: later frames are counted
    as dropped, so a missing device costs the render loop one queue put per frame and nothing else. A
    failed write is counted and the next frame tries again (a receiver may come back).
    """

    def __init__(self, name: str, sink: Sink, queue_size: int = 2) -> None:
        self.name = name
        self.stats = OutputStats()
        self._sink = sink
        self._queue: queue.Queue[tuple[np.ndarray, float, int] | None] = queue.Queue(maxsize=max(1, queue_size))
        self._seq = 0
        self._failed = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"output {name}", daemon=True)
        self._thread.start()

    @property
    def offered(self) -> int:
        """Frames handed to `send` so far: the next frame's sequence number (what NDI receivers see)."""
        return self._seq

    @property
    def failed(self) -> bool:
        """The backend could not be opened: the output is down until it is started again."""
        return self._failed

    def send(self, image: np.ndarray, time: float) -> bool:
        if self._failed or self._closed:
            self.stats.dropped += 1
            return False
        item = (image, time, self._seq)
        self._seq += 1
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            pass
        try:  # the sender is behind: the oldest waiting frame makes room for the newest
            self._queue.get_nowait()
            self.stats.dropped += 1
        except queue.Empty:
            pass
        try:
            self._queue.put_nowait(item)
        except queue.Full:  # the sender never took one out meanwhile; the render thread does not wait
            self.stats.dropped += 1
        return False

    def close(self, timeout: float = 2.0) -> None:
        if self._closed:
            return
        self._closed = True
        while True:  # frames still waiting are not worth a stop's time (counted as dropped)
            try:
                if self._queue.get_nowait() is not None:
                    self.stats.dropped += 1
            except queue.Empty:
                break
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("output %s: its sender is stuck in the backend; left behind (daemon thread)", self.name)

    def _fail(self, what: str, exc: BaseException) -> None:
        self.stats.errors += 1
        self.stats.error = f"{what}: {exc}"
        if self.stats.errors in (1, 10, 100) or self.stats.errors % 1000 == 0:
            log.warning("output %s: %s (%d errors)", self.name, self.stats.error, self.stats.errors)

    def _run(self) -> None:
        size: tuple[int, int] | None = None
        opened = False  # open() was called: close() is owed even if it failed halfway
        try:
            while True:
                item = self._queue.get()
                if item is _STOP or self._closed:
                    break
                image, time, seq = item
                h, w = image.shape[:2]
                if size != (w, h):
                    try:
                        opened = True
                        self._sink.open(w, h)
                        size = (w, h)
                    except Exception as exc:  # noqa: BLE001 - a backend that cannot start must not end the show
                        self._failed = True
                        self._fail("cannot start", exc)
                        break
                try:
                    self._sink.write(image, time, seq)
                    self.stats.sent += 1
                except Exception as exc:  # noqa: BLE001 - a receiver's trouble is counted, never raised
                    self._fail("send failed", exc)
        finally:
            if opened:
                try:
                    self._sink.close()
                except Exception as exc:  # noqa: BLE001 - closing: report and continue
                    log.warning("output %s: closing: %s", self.name, exc)
