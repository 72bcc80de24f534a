"""Timed bundles from python-osc running in another process land at their time tag, not before."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from .conftest import Rig

# Runs in a separate interpreter: a different process (and OSC implementation) than the server.
SENDER = r"""
import sys, time
from pythonosc import osc_bundle_builder, osc_message_builder, udp_client
port, delay = int(sys.argv[1]), float(sys.argv[2])
tag = osc_bundle_builder.IMMEDIATELY if delay == 0 else time.time() + delay
b = osc_bundle_builder.OscBundleBuilder(tag)
for address, value in (("/vjgan/test/x", 0.6), ("/vjgan/test/n", 9)):
    m = osc_message_builder.OscMessageBuilder(address)
    m.add_arg(value)
    b.add_content(m.build())
udp_client.SimpleUDPClient("127.0.0.1", port).send(b.build())
print(repr(tag), flush=True)
"""


def _send_bundle(port: int, delay: float) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SENDER, str(port), str(delay)], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip())


def test_bundle_timed_250ms_ahead_applies_at_its_time_tag(rig: Rig) -> None:
    applied_at: dict[str, float] = {}

    def stamp(address: str):  # the apply callbacks run on "our render thread": note wall time of application
        def apply(value: object) -> None:
            applied_at[address] = time.time()
            rig.store.values[address] = value

        return apply

    for address in ("/vjgan/test/x", "/vjgan/test/n"):
        rig.registry.register(rig.registry.get(address), stamp(address))  # type: ignore[arg-type]

    tag = _send_bundle(rig.port, 0.25)
    assert rig.server.wait_posted(2, timeout=5), rig.server.stats
    assert rig.drain_until(2, timeout=5) == 2, rig.queue.stats
    # Both messages of the bundle apply together, no earlier than the time tag (1 ms allows for sampling the
    # wall and perf clocks at slightly different instants) and promptly after it.
    for address in ("/vjgan/test/x", "/vjgan/test/n"):
        assert applied_at[address] >= tag - 0.001, f"{address} applied {tag - applied_at[address]:.4f} s early"
        late = applied_at[address] - tag
        assert late <= 0.5, f"{address} applied {late:.3f} s after its time tag"  # promptly (2 shared cores)
    assert rig.store.values["/vjgan/test/x"] == pytest.approx(0.6)
    assert rig.store.values["/vjgan/test/n"] == 9


def test_immediate_bundle_applies_at_the_next_drain(rig: Rig) -> None:
    _send_bundle(rig.port, 0.0)
    assert rig.server.wait_posted(2, timeout=3)
    assert rig.queue.drain() == 2
    assert rig.store.values["/vjgan/test/n"] == 9
