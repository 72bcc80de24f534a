"""Headless `--out DIR`: PNG frames encoded and written on their own thread, with a memory bound.

The render loop hands over frames and never waits. A disk (or encoder) slower than the frame rate
used to grow the queue without end; now the frames waiting are bounded in bytes, and a frame that
does not fit is dropped (the newest: the ones queued keep the sequence gap-free up to it) and counted.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MAX_QUEUED_BYTES = 512 * 2**20  # ≈ 90 full-HD RGB frames: a second or more of a slow disk's hiccup


@dataclass
class PngStats:
    written: int = 0
    dropped: int = 0  # frames not queued because MAX_QUEUED_BYTES were already waiting
    failed: int = 0  # frames whose file could not be written (disk full, permissions)
    queued_bytes: int = 0
    last_error: str = ""


class PngWriter:
    """`add()` from the render thread; `close()` writes what is queued and ends the thread."""

    def __init__(self, out: Path, max_queued_bytes: int = MAX_QUEUED_BYTES) -> None:
        self.out = Path(out)
        self.max_queued_bytes = int(max_queued_bytes)
        self.stats = PngStats()
        self._lock = threading.Lock()  # guards stats.queued_bytes (both threads change it)
        self._q: queue.SimpleQueue[tuple[int, np.ndarray] | None] = queue.SimpleQueue()  # bounded by bytes
        self._t = threading.Thread(target=self._run, name="png-writer", daemon=True)
        self._t.start()

    def add(self, index: int, image: np.ndarray) -> bool:
        """Queue frame `index`; False (counted in `stats.dropped`) when the bound is reached. Never blocks."""
        with self._lock:
            if self.stats.queued_bytes + image.nbytes > self.max_queued_bytes:
                self.stats.dropped += 1
                first = self.stats.dropped == 1
            else:
                self.stats.queued_bytes += image.nbytes
                first = None
        if first is None:
            self._q.put((index, image))
            return True
        if first:
            log.warning("PNG frames are written slower than they are made: dropping frames (from %d)", index)
        return False

    def close(self) -> None:
        self._q.put(None)
        self._t.join()
        s = self.stats
        if s.dropped or s.failed:
            log.warning("PNG output %s: %d frames written, %d dropped (disk too slow), %d failed (%s)",
                        self.out, s.written, s.dropped, s.failed, s.last_error)

    def _run(self) -> None:
        from PIL import Image

        while (item := self._q.get()) is not None:
            i, img = item
            try:
                with open(self.out / f"frame_{i:05d}.png", "wb") as f:  # PIL would open it read-write
                    Image.fromarray(img).save(f, format="PNG", compress_level=1)
                self.stats.written += 1
            except OSError as exc:  # the writer must outlive a bad frame, or close() would wait forever
                self.stats.failed += 1
                self.stats.last_error = str(exc)
            with self._lock:
                self.stats.queued_bytes -= img.nbytes
