"""The shared-memory ring that carries generated frames from the generator process to the render thread.

Each slot has its own header (a version counter, then the frame's seq, size, audio time and forward
time) so an image always travels with its own metadata. The writer is a seqlock writer: version odd
while the slot is being written, even again once image and header are complete; the reader copies the
header and the image between two reads of the version and keeps the copy only if the version was even
and did not move. Why: with one shared header read after the image copy, a publish during the copy
gave an older image the newer frame's seq (the uploader then skipped the real frame as already shown).

Three slots: the writer fills the slot after the newest, so a reader copying the newest slot is torn
only if the writer laps it twice during one copy; the version check catches that too, and the reader
simply tries again on its next call. Each publish is numbered (the count lives in the ring, so a
restarted child goes on counting) and `read` only returns numbers above the last one it returned: a
reader that followed a stale slot index to a newer frame is never handed the older one next. Ordering
relies on stores becoming visible in program order, as on x86-64 (TSO); numpy copies are plain stores
between the version stores.

The ring header also carries the generator's stats and a heartbeat (time.monotonic() of the child,
the same clock for every process on the machine) for the parent's hang watchdog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SLOTS = 3
# ring header: int64 fields, then float64 fields
_I_READY, _I_SLOT, _I_COUNT, _I_FRAMES, _I_DROPPED, _I_PREEMPTED = range(6)
_F_P50, _F_P99, _F_FPS, _F_BEAT = range(4)
_N_INT, _N_FLOAT = 6, 4
# slot header: int64 fields, then float64 fields
_S_VERSION, _S_NUMBER, _S_SEQ, _S_H, _S_W = range(5)
_S_TIME, _S_GEN_MS = range(2)
_NS_INT, _NS_FLOAT = 5, 2
_HEADER = 8 * (_N_INT + _N_FLOAT)
_SLOT_HEADER = 8 * (_NS_INT + _NS_FLOAT)


@dataclass(frozen=True, slots=True)
class RingFrame:
    """One frame as read out of the ring: a private copy of the image with its own metadata."""

    image: np.ndarray  # (H, W, 4) uint8
    seq: int
    time: float
    gen_ms: float
    number: int  # publish count: frames come out of `read` in increasing numbers


@dataclass(frozen=True, slots=True)
class RingStats:
    frames: int
    dropped: int
    preempted: int
    gen_ms_p50: float
    gen_ms_p99: float
    fps: float


def ring_size(slot_bytes: int) -> int:
    """Bytes of shared memory a ring with slots of `slot_bytes` image bytes needs."""
    return _HEADER + SLOTS * (_SLOT_HEADER + slot_bytes)


class FrameRing:
    """Views onto a ring in `buf` (a SharedMemory's buffer). One writer process, one reader thread."""

    def __init__(self, buf: memoryview, slot_bytes: int) -> None:
        self.slot_bytes = slot_bytes
        self._ints = np.ndarray((_N_INT,), np.int64, buf, 0)
        self._floats = np.ndarray((_N_FLOAT,), np.float64, buf, 8 * _N_INT)
        self._slot_ints: list[np.ndarray] = []
        self._slot_floats: list[np.ndarray] = []
        self._images: list[np.ndarray] = []
        for k in range(SLOTS):
            base = _HEADER + k * (_SLOT_HEADER + slot_bytes)
            self._slot_ints.append(np.ndarray((_NS_INT,), np.int64, buf, base))
            self._slot_floats.append(np.ndarray((_NS_FLOAT,), np.float64, buf, base + 8 * _NS_INT))
            self._images.append(np.ndarray((slot_bytes,), np.uint8, buf, base + _SLOT_HEADER))

    def release(self) -> None:
        """Drop the views (SharedMemory.close() refuses while numpy arrays still export its buffer)."""
        self._ints = self._floats = np.zeros(0)
        self._slot_ints, self._slot_floats, self._images = [], [], []

    def clear(self) -> None:
        self._ints[:] = 0
        self._floats[:] = 0.0
        for k in range(SLOTS):
            self._slot_ints[k][:] = 0
            self._slot_floats[k][:] = 0.0

    # -- writer (the generator process) ---------------------------------------------------------------
    def publish(self, image: np.ndarray, seq: int, time: float, gen_ms: float) -> bool:
        """Write a (H, W, 4) uint8 frame into the slot after the newest, then make it the newest."""
        if image.nbytes > self.slot_bytes:
            return False  # never write past a slot
        slot = (int(self._ints[_I_SLOT]) + 1) % SLOTS
        number = int(self._ints[_I_COUNT]) + 1
        si, sf = self._slot_ints[slot], self._slot_floats[slot]
        version = int(si[_S_VERSION])
        version += 1 if version % 2 == 0 else 2  # odd: being written (a child killed mid-write left it odd)
        si[_S_VERSION] = version
        self._images[slot][: image.nbytes] = image.reshape(-1)
        si[_S_NUMBER], si[_S_SEQ], si[_S_H], si[_S_W] = number, seq, image.shape[0], image.shape[1]
        sf[_S_TIME], sf[_S_GEN_MS] = time, gen_ms
        si[_S_VERSION] = version + 1  # even: complete
        self._ints[_I_COUNT] = number
        self._ints[_I_SLOT] = slot
        return True

    def set_stats(self, s: RingStats) -> None:
        self._ints[_I_FRAMES], self._ints[_I_DROPPED], self._ints[_I_PREEMPTED] = s.frames, s.dropped, s.preempted
        self._floats[_F_P50], self._floats[_F_P99], self._floats[_F_FPS] = s.gen_ms_p50, s.gen_ms_p99, s.fps

    def beat(self, now: float) -> None:
        self._floats[_F_BEAT] = now

    def set_ready(self, ready: bool) -> None:
        self._ints[_I_READY] = int(ready)

    # -- reader (the render thread) -------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return bool(self._ints[_I_READY])

    @property
    def heartbeat(self) -> float:
        return float(self._floats[_F_BEAT])

    def stats(self) -> RingStats:
        i, f = self._ints, self._floats
        return RingStats(int(i[_I_FRAMES]), int(i[_I_DROPPED]), int(i[_I_PREEMPTED]),
                         float(f[_F_P50]), float(f[_F_P99]), float(f[_F_FPS]))

    def read(self, after: int = 0) -> RingFrame | None:
        """The newest frame if its number is above `after` and it could be copied untorn; else None (try
        again later)."""
        slot = int(self._ints[_I_SLOT])
        si, sf = self._slot_ints[slot], self._slot_floats[slot]
        version, number = int(si[_S_VERSION]), int(si[_S_NUMBER])
        if version % 2 or number <= after:
            return None  # being rewritten (the writer lapped us), or nothing newer than what we have
        seq, h, w = int(si[_S_SEQ]), int(si[_S_H]), int(si[_S_W])
        t, gen_ms = float(sf[_S_TIME]), float(sf[_S_GEN_MS])
        if h * w * 4 > self.slot_bytes:
            return None
        image = self._images[slot][: h * w * 4].copy().reshape(h, w, 4)
        if int(si[_S_VERSION]) != version:
            return None  # the writer came back to this slot during the copy: torn, drop it
        return RingFrame(image, seq, t, gen_ms, number)
