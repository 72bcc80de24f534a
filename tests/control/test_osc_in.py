"""OSC in with an independent client: liblo's `oscsend` (another process, another OSC implementation)."""

from __future__ import annotations

import socket
import time

import pytest

from tests.conftest import require_tool
from vjgan.control.osc import OscServer
from vjgan.control.oscwire import encode_message
from vjgan.control.peers import free_udp_port, oscsend
from vjgan.core.errors import UserError
from vjgan.core.registry import ControlQueue

from .conftest import Rig, make_registry


@pytest.fixture(autouse=True)
def _liblo() -> None:
    require_tool("oscsend")


def test_oscsend_sets_a_float_after_drain(rig: Rig) -> None:
    oscsend(rig.port, "/vjgan/test/x", 0.75, types="f")
    assert rig.server.wait_posted(1, timeout=3)
    assert "/vjgan/test/x" not in rig.store.values  # nothing happens on the network thread
    assert rig.queue.drain() == 1
    assert rig.store.values["/vjgan/test/x"] == pytest.approx(0.75)
    assert rig.server.stats.errors == 0


def test_every_kind_from_oscsend(rig: Rig) -> None:
    oscsend(rig.port, "/vjgan/test/n", 7, types="i")
    oscsend(rig.port, "/vjgan/test/on", True, types="T")
    oscsend(rig.port, "/vjgan/test/name", "dusk", types="s")
    oscsend(rig.port, "/vjgan/test/go", types="")
    oscsend(rig.port, "/vjgan/test/y", 1.25, types="d")
    assert rig.server.wait_posted(5, timeout=3)
    rig.queue.drain()
    v = rig.store.values
    assert (v["/vjgan/test/n"], v["/vjgan/test/on"], v["/vjgan/test/name"], v["/vjgan/test/go"]) == (
        7,
        True,
        "dusk",
        True,
    )
    assert v["/vjgan/test/y"] == pytest.approx(1.25)


def test_trigger_release_is_ignored(rig: Rig) -> None:
    """TouchOSC buttons send 1 on press and 0 on release: only the press fires."""
    oscsend(rig.port, "/vjgan/test/go", 0.0, types="f")
    oscsend(rig.port, "/vjgan/test/x", 0.1, types="f")  # a marker that arrives after the release
    assert rig.server.wait_posted(1, timeout=3)
    rig.queue.drain()
    assert "/vjgan/test/go" not in rig.store.values
    assert rig.server.stats.ignored == 1


def test_out_of_range_is_clamped_and_counted(rig: Rig) -> None:
    oscsend(rig.port, "/vjgan/test/x", 5.0, types="f")
    oscsend(rig.port, "/vjgan/test/n", -40, types="i")
    assert rig.server.wait_posted(2, timeout=3)
    assert rig.queue.drain() == 2
    assert rig.store.values["/vjgan/test/x"] == 1.0
    assert rig.store.values["/vjgan/test/n"] == 0
    assert rig.queue.stats.clamped == 2


def test_wrong_type_nan_and_unknown_are_refused_and_counted(rig: Rig) -> None:
    oscsend(rig.port, "/vjgan/test/x", "loud", types="s")
    oscsend(rig.port, "/vjgan/test/x", "nan", types="f")
    oscsend(rig.port, "/vjgan/test/x", "inf", types="d")
    oscsend(rig.port, "/vjgan/test/x", 0.1, 0.2, types="ff")
    oscsend(rig.port, "/vjgan/nothing/here", 0.5, types="f")
    oscsend(rig.port, "/vjgan/test/x", 0.25, types="f")  # the server still works afterwards
    assert rig.server.wait_posted(1, timeout=3)
    rig.queue.drain()
    assert rig.store.values == {"/vjgan/test/x": 0.25}
    st = rig.server.stats
    assert (st.bad_value, st.unknown, st.posted, st.packets) == (4, 1, 1, 6)
    assert "unknown OSC address" in st.last_error or "expects" in st.last_error or "non-finite" in st.last_error


def test_address_patterns_reach_every_match(rig: Rig) -> None:
    oscsend(rig.port, "/vjgan/test/[xy]", 0.5, types="f")
    oscsend(rig.port, "/vjgan/{test,other}/n", 4, types="i")
    assert rig.server.wait_posted(3, timeout=3)
    rig.queue.drain()
    assert rig.store.values == {"/vjgan/test/x": 0.5, "/vjgan/test/y": 0.5, "/vjgan/test/n": 4}


def test_allowlist_refuses_other_senders() -> None:
    registry, store = make_registry()
    queue = ControlQueue(registry)
    with OscServer(registry, queue, port=0, allow=["127.0.0.2"]) as server:
        oscsend(server.port, "/vjgan/test/x", 0.9, types="f")  # from 127.0.0.1: refused
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # from 127.0.0.2: allowed
            s.bind(("127.0.0.2", 0))
            s.sendto(encode_message("/vjgan/test/x", [0.3]), ("127.0.0.1", server.port))
        assert server.wait_posted(1, timeout=3)
        queue.drain()
        assert store.values == {"/vjgan/test/x": pytest.approx(0.3)}
        assert (server.stats.refused, server.stats.posted) == (1, 1)


def test_binds_loopback_by_default_and_reports_bad_setup() -> None:
    registry, _ = make_registry()
    queue = ControlQueue(registry)
    with OscServer(registry, queue, port=0) as server:
        assert server.address[0] == "127.0.0.1"
        with pytest.raises(UserError, match="port in use"):
            OscServer(registry, queue, port=server.port).start()
    with pytest.raises(UserError, match="--osc-host"):
        OscServer(registry, queue, host="203.0.113.7", port=free_udp_port()).start()
    with pytest.raises(UserError, match="allowlist"):
        OscServer(registry, queue, allow=["not-an-ip"])


def test_tcp_length_prefixed_from_oscsend_and_slip_from_python() -> None:
    """Optional TCP: liblo's osc.tcp (OSC 1.0 int32 length prefix) and OSC 1.1 SLIP framing."""
    registry, store = make_registry()
    queue = ControlQueue(registry)
    with OscServer(registry, queue, port=0, tcp=True) as server:
        oscsend(server.port, "/vjgan/test/x", 0.4, types="f", host=f"osc.tcp://127.0.0.1:{server.port}")
        assert server.wait_posted(1, timeout=3)
        msg = encode_message("/vjgan/test/n", [6])
        slip = b"\xc0" + msg.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"
        with socket.create_connection(("127.0.0.1", server.port)) as c:
            c.sendall(slip + b"\xc0garbage\xc0")  # a good frame, then a malformed one
            assert server.wait_posted(2, timeout=3)
            deadline = time.monotonic() + 3
            while server.stats.malformed < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
        queue.drain()
    assert store.values == {"/vjgan/test/x": pytest.approx(0.4), "/vjgan/test/n": 6}
    assert server.stats.malformed == 1
