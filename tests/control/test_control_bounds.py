"""An OSC flood while the render loop is not draining: the control queue stays bounded, the newest wins."""

from __future__ import annotations

import socket
import time

import pytest

from vjgan.control.osc import OscServer
from vjgan.control.oscwire import encode_message
from vjgan.core.registry import ControlQueue

from .conftest import make_registry


def test_flood_during_a_stalled_render_loop_is_bounded_and_keeps_the_newest() -> None:
    registry, store = make_registry()
    queue = ControlQueue(registry, max_pending=50)
    server = OscServer(registry, queue, port=0).start()
    n = 2000
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in range(n):
                sock.sendto(encode_message("/vjgan/test/x", [(i + 1) / n]), ("127.0.0.1", server.port))
                if i % 50 == 49:
                    time.sleep(0.002)  # paced: the kernel's socket buffer must not be what drops them
        assert server.wait_posted(n, timeout=20), server.stats
    finally:
        server.stop()
    # the render loop was stalled all along: only the newest 50 wait, the rest are counted as dropped
    assert queue.stats.dropped == n - 50
    assert queue.drain() == 50
    assert store.values["/vjgan/test/x"] == pytest.approx(1.0)  # the newest value got through


def test_far_future_bundles_cannot_fill_the_schedule() -> None:
    from vjgan.core.registry import ControlMessage

    registry, store = make_registry()
    queue = ControlQueue(registry, max_pending=10)
    now = time.perf_counter()
    for i in range(30):  # as timed OSC bundles post them (due in 30 s), the render loop draining each frame
        queue.post(ControlMessage("/vjgan/test/x", i / 30, "osc", due=now + 30.0))
        assert queue.drain(now) == 0
    queue.post(ControlMessage("/vjgan/test/y", 1.5, "osc"))  # due now: still applied
    assert queue.drain(now) == 1 and store.values["/vjgan/test/y"] == 1.5
    assert queue.stats.dropped == 20 and queue.drain(now + 31.0) == 10
