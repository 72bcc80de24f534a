"""The lock-free SPSC ring buffer with a real producer thread."""

from __future__ import annotations

import threading
import time

import numpy as np

from vjgan.core.ringbuffer import RingBuffer


def test_producer_thread_order_and_no_loss() -> None:
    ring = RingBuffer(4096)
    total = 200_000
    out: list[np.ndarray] = []

    def produce() -> None:
        i = 0
        while i < total:
            n = min(300, total - i)
            block = np.arange(i, i + n, dtype=np.float32)
            while not ring.write(block):  # full: a real callback would drop; the test retries
                time.sleep(0.0005)
            i += n

    t = threading.Thread(target=produce)
    t.start()
    got = 0
    while got < total:
        block = ring.read(min(441, total - got))
        if block is None:
            time.sleep(0.0002)
            continue
        out.append(block[:, 0])
        got += len(block)
    t.join()
    data = np.concatenate(out)
    assert np.array_equal(data, np.arange(total, dtype=np.float32))


def test_overflow_drops_new_block_and_counts() -> None:
    ring = RingBuffer(1000)
    assert ring.write(np.ones(800))
    assert not ring.write(np.ones(300))
    assert ring.overflows == 1 and ring.dropped_frames == 300 and ring.available == 800
    assert ring.read(900) is None
    assert ring.read(800) is not None and ring.available == 0
    assert ring.write(np.arange(900, dtype=np.float32))  # wraps around the end
    assert np.array_equal(ring.read(900)[:, 0], np.arange(900, dtype=np.float32))


def test_skip_to_latest() -> None:
    ring = RingBuffer(1000)
    ring.write(np.arange(600, dtype=np.float32))
    assert ring.skip_to_latest(100) == 500
    assert np.array_equal(ring.read(100)[:, 0], np.arange(500, 600, dtype=np.float32))
