"""Single-producer / single-consumer ring buffer of float32 samples.

The audio callback runs on PortAudio's thread and must never block, so there is no lock: the producer
only advances `_write` and the consumer only advances `_read`. Each index is a Python int replaced by
one assignment (atomic under the GIL), and the data is copied before the index is published, so the
reader never sees a slot that is still being written.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Fixed-capacity FIFO of frames `[n, channels]`; a full buffer drops the new block and counts it."""

    def __init__(self, capacity: int, channels: int = 1) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._buf = np.zeros((self.capacity, self.channels), dtype=np.float32)
        self._write = 0  # total frames ever written (producer-owned)
        self._read = 0  # total frames ever read (consumer-owned)
        self.overflows = 0  # blocks dropped because the reader fell behind (producer-owned)
        self.dropped_frames = 0

    # producer side -------------------------------------------------------------------------------
    def write(self, block: np.ndarray) -> bool:
        """Copy a block in; False (and an overflow counted) when it does not fit. Never blocks."""
        data = np.asarray(block, dtype=np.float32)
        if data.ndim == 1:
            data = data[:, None]
        n = data.shape[0]
        w = self._write
        if n > self.capacity - (w - self._read):
            self.overflows += 1
            self.dropped_frames += n
            return False
        start = w % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start : start + first] = data[:first]
        if first < n:
            self._buf[: n - first] = data[first:]
        self._write = w + n  # publish only after the copy
        return True

    # consumer side -------------------------------------------------------------------------------
    @property
    def available(self) -> int:
        return self._write - self._read

    @property
    def frames_written(self) -> int:
        return self._write

    @property
    def frames_read(self) -> int:
        return self._read

    def read(self, n: int) -> np.ndarray | None:
        """Exactly `n` frames `[n, channels]` (a copy), or None when fewer are buffered."""
        r = self._read
        if self._write - r < n:
            return None
        start = r % self.capacity
        first = min(n, self.capacity - start)
        if first == n:
            out = self._buf[start : start + n].copy()
        else:
            out = np.concatenate((self._buf[start:], self._buf[: n - first]))
        self._read = r + n
        return out

    def read_available(self) -> np.ndarray:
        """Everything buffered right now (possibly zero frames)."""
        out = self.read(self.available)
        return out if out is not None else np.zeros((0, self.channels), np.float32)

    def skip_to_latest(self, keep: int) -> int:
        """Drop all but the newest `keep` frames (a consumer that fell behind catches up); returns dropped."""
        drop = max(0, self.available - keep)
        self._read += drop
        return drop
