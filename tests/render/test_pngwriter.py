"""Headless PNG output on a disk that cannot keep up: memory stays bounded, drops are counted, nothing waits."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
from PIL import Image

from vjgan.render.pngwriter import PngWriter


def test_a_stalled_disk_cannot_grow_memory_and_drops_are_counted(tmp_path: Path) -> None:
    # frame 0's file is a FIFO nobody reads yet: opening it for writing blocks, like a disk that has
    # stopped answering (a full NFS server, a USB stick in trouble). Every later frame must wait behind it.
    fifo = tmp_path / "frame_00000.png"
    os.mkfifo(fifo)
    frame_bytes = 96 * 128 * 3
    writer = PngWriter(tmp_path, max_queued_bytes=10 * frame_bytes)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        t0 = time.perf_counter()
        accepted = [writer.add(i, np.full((96, 128, 3), i % 256, np.uint8)) for i in range(300)]
        add_s = time.perf_counter() - t0
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the render thread was never held up, and memory holds the bound, not the 300 frames: 10 queued plus
    # the one in the writer's hands (with PIL's RGBX copy of it and zlib's buffers, ~5 frames' worth)
    assert add_s < 1.0, f"add() waited {add_s:.2f} s for the disk"
    assert held - before < 20 * frame_bytes, f"{(held - before) / frame_bytes:.0f} frames held in memory"
    assert sum(accepted) == 10 and accepted[:10] == [True] * 10
    assert writer.stats.dropped == 290 and writer.stats.queued_bytes <= 10 * frame_bytes

    # the disk comes back: everything that was queued is written, in order (frame 0 through the FIFO)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    writer.close()
    reader.join(timeout=10)
    assert received and received[0][:8] == b"\x89PNG\r\n\x1a\n"
    for i in range(1, 10):
        image = np.asarray(Image.open(tmp_path / f"frame_{i:05d}.png"))
        assert np.array_equal(image, np.full((96, 128, 3), i, np.uint8))
    assert not (tmp_path / "frame_00010.png").exists()
    assert writer.stats.written == 10 and writer.stats.failed == 0 and writer.stats.queued_bytes == 0


def test_an_unwritable_frame_is_counted_and_the_writer_carries_on(tmp_path: Path) -> None:
    (tmp_path / "frame_00001.png").mkdir()  # a folder where frame 1 should go: that write fails
    writer = PngWriter(tmp_path)
    for i in range(3):
        assert writer.add(i, np.zeros((8, 8, 3), np.uint8))
    writer.close()  # returns: the thread survived the failed frame
    assert writer.stats.written == 2 and writer.stats.failed == 1 and writer.stats.last_error
    assert (tmp_path / "frame_00002.png").is_file()
