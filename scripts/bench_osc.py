#!/usr/bin/env python
"""OSC timings on this machine (not a test): server throughput, send→posted latency, OSC-out cost.

Usage: .venv/bin/python scripts/bench_osc.py
"""

from __future__ import annotations

import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vjgan.control.osc import OscServer  # noqa: E402
from vjgan.control.osc_out import encode_features  # noqa: E402
from vjgan.control.oscwire import encode_bundle, encode_message  # noqa: E402
from vjgan.core.features import Features  # noqa: E402
from vjgan.core.registry import ControlQueue, Param, ParamRegistry, ParamStore  # noqa: E402


def main() -> int:
    registry, store = ParamRegistry(), ParamStore()
    registry.register(Param("/b/x", "float", "x", 0.0, 1.0, 0.0), store.setter("x"))
    queue = ControlQueue(registry)
    with OscServer(registry, queue, port=0) as server, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        msg = encode_message("/b/x", [0.5])
        n = 20000
        t0 = time.perf_counter()
        for i in range(n):
            s.sendto(msg, ("127.0.0.1", server.port))
            if i % 200 == 199:
                server.wait_posted(i + 1, timeout=5)
        server.wait_posted(n, timeout=10)
        dt = time.perf_counter() - t0
        print(f"server throughput: {n / dt:,.0f} valid messages/s ({dt / n * 1e6:.1f} µs each, incl. sending)")
        queue.drain()
        lat = []
        for i in range(200):
            t = time.perf_counter()
            s.sendto(msg, ("127.0.0.1", server.port))
            server.wait_posted(n + i + 1, timeout=2)
            lat.append((server.stats.last_posted_at - t) * 1e3)
        lat.sort()
        print(f"send → posted latency: p50 {statistics.median(lat):.3f} ms, p99 {lat[int(0.99 * len(lat))]:.3f} ms")
    f = Features(frame=1, chroma=(0.5,) * 12)
    t0 = time.perf_counter()
    for _ in range(2000):
        encode_bundle(encode_features(f, {"beat": 1}))
    print(f"OSC out encode: {(time.perf_counter() - t0) / 2000 * 1e6:.1f} µs per 100 Hz tick")
    return 0


if __name__ == "__main__":
    sys.exit(main())
