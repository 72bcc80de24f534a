"""FrameRing: a frame read while the generator process publishes is never torn and never carries another
frame's seq. A real writer process publishes seq-stamped frames as fast as it can (tens of thousands a
second, lapping the three slots during the reader's copies); the reader checks every frame it gets."""

from __future__ import annotations

import multiprocessing as mp
import time
from multiprocessing import shared_memory

from tests.models import seq_generator
from vjgan.models.frame_ring import FrameRing, ring_size

RES = 256


def test_reads_under_concurrent_publishes_are_consistent() -> None:
    slot_bytes = RES * RES * 4
    shm = shared_memory.SharedMemory(create=True, size=ring_size(slot_bytes))
    ring = FrameRing(shm.buf, slot_bytes)
    ring.clear()
    writer = mp.get_context("spawn").Process(target=seq_generator.ring_writer, args=(shm.name, slot_bytes, RES, 3.0))
    writer.start()
    try:
        deadline = time.monotonic() + 30.0
        while not ring.ready and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ring.ready
        reads, tries, bad, number, newest = 0, 0, [], 0, 0
        while writer.is_alive():
            tries += 1
            frame = ring.read(number)
            if frame is None:
                continue
            number = frame.number
            reads += 1
            stamped, whole = seq_generator.stamped_seq(frame.image)
            if not (whole and stamped == frame.seq and frame.time == float(frame.seq)):
                bad.append((frame.seq, stamped, whole))
            assert frame.seq > newest  # never an older frame after a newer one
            newest = frame.seq
        writer.join(5.0)
        assert writer.exitcode == 0
        print(f"{reads} frames read in {tries} tries, newest seq {newest}")
        assert reads > 100 and newest > 2 * reads  # the writer lapped the reader all along
        assert not bad, f"{len(bad)} of {reads} frames carry another frame's image: {bad[:5]}"
    finally:
        if writer.is_alive():
            writer.kill()
        ring.release()
        shm.close()
        shm.unlink()
