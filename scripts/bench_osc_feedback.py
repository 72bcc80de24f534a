#!/usr/bin/env python
"""OSC query and feedback timings on this machine (not a test): what a change costs the render thread, query
round trips, and change → controller latency, over loopback UDP.

Usage: .venv/bin/python scripts/bench_osc_feedback.py [PARAMS]   (default 400, about the live app's count)
"""

from __future__ import annotations

import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vjgan.control.feedback import OscFeedback  # noqa: E402
from vjgan.control.osc import OscServer  # noqa: E402
from vjgan.control.oscwire import encode_message, parse_packet  # noqa: E402
from vjgan.core.registry import ControlQueue, Param, ParamRegistry, ParamStore  # noqa: E402


def _pct(xs: list[float]) -> str:
    xs = sorted(xs)
    return f"p50 {statistics.median(xs):.3f}, p99 {xs[int(0.99 * (len(xs) - 1))]:.3f}"


def _drain_cost(registry: ParamRegistry, queue: ControlQueue, n: int, count: int) -> list[float]:
    """µs per drain applying one changed value (what a fader move costs the render thread)."""
    out = []
    for i in range(count):
        queue.set(f"/b/p{i % n}", (i % 97) / 97)
        t = time.perf_counter()
        queue.drain()
        out.append((time.perf_counter() - t) * 1e6)
    return out


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    registry, store = ParamRegistry(), ParamStore()
    for i in range(n):
        registry.register(Param(f"/b/p{i}", "float", "x", 0.0, 1.0, 0.5), store.setter(str(i)))
    queue = ControlQueue(registry)
    base = _drain_cost(registry, queue, n, 3000)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer, socket.socket(socket.AF_INET,
                                                                                 socket.SOCK_DGRAM) as ctl:
        peer.bind(("127.0.0.1", 0))
        ctl.bind(("127.0.0.1", 0))
        ctl.settimeout(2.0)
        peer.settimeout(2.0)
        with OscFeedback(registry) as fb, OscServer(registry, queue, port=0, feedback=fb) as server:
            fb.register("127.0.0.1", peer.getsockname()[1])
            fb.wait_idle(5.0)
            with_fb = _drain_cost(registry, queue, n, 3000)
            fb.wait_idle(10.0)
            print(f"{n} params, drain of one changed value (µs): without feedback {_pct(base)}; "
                  f"with feedback and 1 peer {_pct(with_fb)}")
            peer.setblocking(False)
            try:
                while True:
                    peer.recv(65536)
            except BlockingIOError:
                pass
            peer.settimeout(2.0)

            rtt = []
            for i in range(500):
                t = time.perf_counter()
                ctl.sendto(encode_message(f"/b/p{i % n}"), server.address)
                ctl.recv(65536)
                rtt.append((time.perf_counter() - t) * 1e3)
            print(f"bare-address query round trip (ms): {_pct(rtt)}")
            wild, datagrams = [], 0
            for _ in range(50):
                t = time.perf_counter()
                ctl.sendto(encode_message("/vjgan/query", ["/b/*"]), server.address)
                got = datagrams = 0
                while got < n:
                    got += len(parse_packet(ctl.recv(65536)))
                    datagrams += 1
                wild.append((time.perf_counter() - t) * 1e3)
            print(f"/vjgan/query /b/* ({n} replies in {datagrams} datagrams) round trip (ms): {_pct(wild)}")

            lat = []
            for i in range(300):  # a new address each time: the 60 Hz per-address limit never holds one back
                queue.set(f"/b/p{i % n}", 0.01 + (i % 50) / 100)
                t = time.perf_counter()
                queue.drain()
                peer.recv(65536)
                lat.append((time.perf_counter() - t) * 1e3)
            print(f"drain → peer received the change (ms): {_pct(lat)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
