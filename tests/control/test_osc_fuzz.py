"""10,000+ malformed packets over real UDP: every one is counted, none changes a parameter, and the
server still answers a valid `oscsend` afterwards."""

from __future__ import annotations

import logging
import math
import random
import socket
import struct
import time

import pytest

from tests.conftest import require_tool
from vjgan.control.oscwire import encode_bundle, encode_message, unix_to_ntp
from vjgan.control.peers import oscsend

from .conftest import Rig

VALUE_PARAMS = ("/vjgan/test/x", "/vjgan/test/y", "/vjgan/test/n", "/vjgan/test/on")  # not str / trigger


def _pad(b: bytes) -> bytes:
    return b + b"\x00" * (4 - len(b) % 4)


def _raw(address: str, tags: str, payload: bytes) -> bytes:
    return _pad(address.encode()) + _pad(tags.encode()) + payload


def random_bytes(rng: random.Random) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))


def truncated(rng: random.Random) -> bytes:
    """A valid message or bundle for a real parameter, cut short."""
    msg = encode_message(rng.choice(VALUE_PARAMS), [0.123])
    if rng.random() < 0.5:
        return msg[: rng.randint(1, len(msg) - 1)]
    full = encode_bundle([msg])
    return full[: rng.randint(17, len(full) - 1)]  # cut inside the element (a bare header is a valid empty bundle)


def wrong_tags(rng: random.Random) -> bytes:
    address = rng.choice(VALUE_PARAMS)
    f = struct.pack(">f", 0.5)
    return rng.choice(
        [
            _raw(address, ",x", f),  # unknown tag
            _raw(address, ",[f]", f),  # arrays are refused
            _raw(address, ",m", b"\x00\x90\x40\x7f"),  # MIDI is refused
            _raw(address, ",fff", f),  # claims 3 floats, carries 1
            _raw(address, ",f", f + f),  # stray bytes
            _raw(address, "f", f),  # tag string without ','
            _raw(address, ",s", _pad(b"loud")),  # a string for a number
            _raw(address, ",ff", f + f),  # two values for one parameter
            _raw(address, ",N", b""),  # nil
            _raw(address, ",b", struct.pack(">i", 4) + b"\x01\x02\x03\x04"),  # blob
            _raw(address, "," + "".join(rng.choice("acegjklopquvwxyz") for _ in range(3)), f * 3),
        ]
    )


def unknown_address(rng: random.Random) -> bytes:
    name = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 12)))
    return rng.choice(
        [
            encode_message(f"/vjgan/{name}", [0.5]),
            encode_message(f"/{name}/x", [1]),
            encode_message(f"/vjgan/test/{name}*z", [0.5]),  # a pattern that matches nothing
            encode_bundle([encode_message(f"/nope/{name}", [0.5])]),
        ]
    )


def non_finite(rng: random.Random) -> bytes:
    address = rng.choice(VALUE_PARAMS)
    value = rng.choice([math.nan, math.inf, -math.inf])
    msg = rng.choice([_raw(address, ",f", struct.pack(">f", value)), _raw(address, ",d", struct.pack(">d", value))])
    if rng.random() < 0.3:
        return encode_bundle([msg], unix_to_ntp(time.time() + 0.05))  # timed bundles are validated too
    return msg


def huge(rng: random.Random) -> bytes:
    size = rng.randint(55_000, 65_000)
    if rng.random() < 0.5:
        return bytes(rng.getrandbits(8) for _ in range(64)) * (size // 64)
    return encode_message("/vjgan/test/x", [b"\x00" * size])  # well-formed but far too big


def test_fuzz_10000_malformed_packets(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    require_tool("oscsend")
    rng = random.Random(20261124)
    makers = [random_bytes, truncated, wrong_tags, unknown_address, non_finite]
    packets = [makers[i % len(makers)](rng) for i in range(10_000)]
    packets += [huge(rng) for _ in range(40)]
    packets += [b"/" + random_bytes(rng) * 60 for _ in range(40)]  # big (~6 KB) but under the limit: parsed
    defaults = {p.address: p.default for p in rig.registry.params()}

    caplog.set_level(logging.WARNING, logger="vjgan.control.osc")
    dest = ("127.0.0.1", rig.port)
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(0, len(packets), 100):  # pace by the server's count so the kernel never drops a packet
            for p in packets[i : i + 100]:
                s.sendto(p, dest)
                sent += 1
                if len(p) > 8192:
                    _wait_count(rig, sent)
            _wait_count(rig, sent)
            rig.queue.drain()  # a render loop keeps draining meanwhile

    st = rig.server.stats
    assert st.packets == len(packets)
    # every malformed packet was counted exactly once; a message cut right after its address is a valid
    # bare message, i.e. a value query (docs/osc.md), answered and counted as one
    assert st.errors + st.answered == len(packets), st
    assert st.answered < 200
    assert st.oversized == 40 and st.malformed > 2000 and st.unknown > 1000 and st.bad_value > 1000
    assert st.posted == 0
    time.sleep(0.06)  # past the time tags of the timed NaN bundles
    assert rig.queue.drain() == 0
    assert rig.store.values == {}  # no parameter changed
    assert {p.address: p.default for p in rig.registry.params()} == defaults
    # logged, but rate-limited: thousands of problems, a handful of lines
    records = [r for r in caplog.records if r.name == "vjgan.control.osc"]
    assert 1 <= len(records) <= 20

    oscsend(rig.port, "/vjgan/test/x", 0.75, types="f")  # the server still answers
    assert rig.server.wait_posted(1, timeout=3)
    assert rig.queue.drain() == 1
    assert rig.store.values == {"/vjgan/test/x": pytest.approx(0.75)}


def _wait_count(rig: Rig, n: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while rig.server.stats.packets < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"server saw {rig.server.stats.packets} of {n} packets")
        time.sleep(0.0005)
