"""Value queries and feedback against real peers: a python-osc controller in another process, liblo's
`oscsend`/`oscdump`, and plain UDP sockets; the real server, registry, queue and feedback thread.

Nothing here depends on timing: absence of an echo is checked after the feedback thread reported idle
(a datagram sent on loopback is in the receiver's buffer when `sendto` returns)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_tool
from vjgan.control.feedback import OscFeedback
from vjgan.control.osc import OscServer
from vjgan.control.oscreply import SAFE_DATAGRAM
from vjgan.control.oscwire import encode_message, parse_packet
from vjgan.control.peers import OscDump, free_udp_port, oscsend
from vjgan.core.bindings import Binding
from vjgan.core.registry import ControlQueue, Param, ParamStore

from .conftest import make_registry

ROOT = Path(__file__).resolve().parents[2]
VALUES = {"/vjgan/test/x": 0.5, "/vjgan/test/y": 1.0, "/vjgan/test/n": 3, "/vjgan/test/on": 0.0,
          "/vjgan/test/name": ""}  # the defaults as a controller sees them (bool as 1.0/0.0; no trigger)


@dataclass
class Rig:
    registry: Any
    queue: ControlQueue
    store: ParamStore
    server: OscServer
    feedback: OscFeedback

    @property
    def port(self) -> int:
        return self.server.port

    def send_and_apply(self, sock: socket.socket, address: str, *args: Any) -> None:
        """A controller's change, posted by the server and applied by a render-loop drain."""
        before = self.server.stats.posted
        sock.sendto(encode_message(address, list(args)), ("127.0.0.1", self.port))
        assert self.server.wait_posted(before + 1, timeout=5.0), self.server.stats
        self.queue.drain()


@pytest.fixture
def rig() -> Iterator[Rig]:
    registry, store = make_registry()
    queue = ControlQueue(registry)
    feedback = OscFeedback(registry, max_peers=3).start()
    server = OscServer(registry, queue, port=0, feedback=feedback).start()
    try:
        yield Rig(registry, queue, store, server, feedback)
    finally:
        server.stop()
        feedback.stop()


def client(port: int, *messages: list[Any], expect: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """A python-osc controller in another process: sends `messages`, returns what came back."""
    cmd = [sys.executable, "-m", "tests.control.osc_client", str(port), "--expect", str(expect),
           "--timeout", str(timeout)]
    for m in messages:
        cmd += ["--send", json.dumps(m)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout + 20, check=True)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    return [x for x in lines if "address" in x]


def udp_peer() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def received(sock: socket.socket) -> list[tuple[str, tuple[Any, ...]]]:
    """Every message already in the socket's buffer (no waiting)."""
    out = []
    sock.setblocking(False)
    try:
        while True:
            out += [(m.address, m.args) for m in parse_packet(sock.recv(65536))]
    except BlockingIOError:
        pass
    return out


def test_bare_message_answers_the_current_value(rig: Rig) -> None:
    rig.queue.set("/vjgan/test/x", 0.25)
    rig.queue.set("/vjgan/test/n", 7)
    rig.queue.set("/vjgan/test/on", 1)
    rig.queue.drain()  # the render thread applied them: now they are the current values
    got = client(rig.port, ["/vjgan/test/x"], ["/vjgan/test/n"], ["/vjgan/test/on"], ["/vjgan/test/name"], expect=4)
    values = {g["address"]: g["args"] for g in got}
    assert values == {"/vjgan/test/x": [0.25], "/vjgan/test/n": [7], "/vjgan/test/on": [1.0],
                      "/vjgan/test/name": [""]}
    assert rig.server.stats.answered == 4 and rig.server.stats.posted == 0  # asked, nothing was set
    assert rig.store.values == {"/vjgan/test/x": 0.25, "/vjgan/test/n": 7, "/vjgan/test/on": True}


def test_bare_message_to_a_trigger_still_fires_it(rig: Rig) -> None:
    fired: list[Any] = []
    rig.registry.register(Param("/vjgan/test/go", "trigger", "a trigger", group="test"), fired.append)
    oscsend(rig.port, "/vjgan/test/go")
    assert rig.server.wait_posted(1, timeout=5.0)
    rig.queue.drain()
    assert fired == [True] and rig.server.stats.answered == 0


@pytest.mark.parametrize("pattern", ["/vjgan/test/*", "/vjgan/*", "/vjgan/test", "/vjgan/t?st"])
def test_wildcard_query_answers_every_parameter_at_or_below_a_match_in_one_bundle(rig: Rig, pattern: str) -> None:
    got = client(rig.port, ["/vjgan/query", pattern], expect=len(VALUES))
    assert {g["address"]: g["args"][0] for g in got} == VALUES  # the trigger has no value: not answered
    assert all(g["bundle"] for g in got) and len({g["datagram"] for g in got}) == 1


def test_a_large_query_is_split_into_safe_datagrams(rig: Rig) -> None:
    for i in range(300):
        rig.registry.register(Param(f"/vjgan/many/p{i:03d}", "float", "x", 0.0, 1.0, i / 300, "many"),
                              rig.store.setter(str(i)))
    got = client(rig.port, ["/vjgan/query", "/vjgan/many/*"], expect=300)
    assert len(got) == 300
    assert sorted(g["address"] for g in got) == [f"/vjgan/many/p{i:03d}" for i in range(300)]
    assert max(g["datagram"] for g in got) <= SAFE_DATAGRAM
    assert len({g["datagram"] for g in got}) >= 1 and rig.server.stats.replies == 300


def test_query_reply_port_reaches_another_receiver(rig: Rig) -> None:
    require_tool("oscsend"), require_tool("oscdump")
    port = free_udp_port()
    with OscDump(port) as dump:
        oscsend(rig.port, "/vjgan/query", "/vjgan/test/y", port)  # liblo sender; replies go to oscdump
        assert dump.wait_for(lambda ms: ("/vjgan/test/y", [1.0]) in ms, timeout=5.0), dump.lines


def test_unknown_and_malformed_queries_are_refused_counted_and_the_server_keeps_serving(rig: Rig) -> None:
    got = client(rig.port, ["/vjgan/query", "/vjgan/nope"], ["/vjgan/query", 5], ["/vjgan/query", "/vjgan/[x"],
                 ["/vjgan/feedback/register", "not-an-ip", 9000], expect=4)
    assert [g["address"] for g in got] == ["/vjgan/error"] * 4
    texts = [g["args"][0] for g in got]
    assert "unknown address /vjgan/nope" in texts[0]
    assert "usage: /vjgan/query" in texts[1] and "unclosed" in texts[2] and "IP address" in texts[3]
    st = rig.server.stats
    assert st.unknown == 1 and st.bad_value == 3 and st.answered == 0
    oscsend(rig.port, "/vjgan/test/x", 0.75)  # still serving
    assert rig.server.wait_posted(1, timeout=5.0)


def test_a_registered_peer_gets_changes_from_another_controller_and_the_sender_no_echo(rig: Rig) -> None:
    require_tool("oscsend"), require_tool("oscdump")
    port_b = free_udp_port()
    with OscDump(port_b) as b, udp_peer() as a:
        oscsend(rig.port, "/vjgan/feedback/register", port_b)  # B: liblo, another process
        assert b.wait_for(lambda ms: len(ms) >= len(VALUES), timeout=5.0)  # synced at connect
        assert {addr: v[0] for addr, v in b.messages} == {**VALUES, "/vjgan/test/name": '""'}  # oscdump quotes
        a.sendto(encode_message("/vjgan/feedback/register", [a.getsockname()[1]]), ("127.0.0.1", rig.port))
        assert _wait(lambda: len(rig.feedback.peers()) == 2)
        assert rig.feedback.wait_idle(5.0)
        assert len(received(a)) == len(VALUES)

        rig.send_and_apply(a, "/vjgan/test/x", 0.9)  # A moves a fader
        assert b.wait_for(lambda ms: ("/vjgan/test/x", [pytest.approx(0.9)]) in ms, timeout=5.0)
        assert rig.feedback.wait_idle(5.0)
        assert received(a) == []  # A's own change is not echoed back to it
        assert rig.feedback.stats.echoes == 1

        rig.queue.set("/vjgan/test/n", 9, origin="panel")  # the panel (or MIDI): both controllers follow
        rig.queue.drain()
        assert b.wait_for(lambda ms: ("/vjgan/test/n", [9]) in ms, timeout=5.0)
        assert rig.feedback.wait_idle(5.0)
        assert received(a) == [("/vjgan/test/n", (9,))]

        a.sendto(encode_message("/vjgan/feedback/unregister"), ("127.0.0.1", rig.port))
        assert _wait(lambda: len(rig.feedback.peers()) == 1)


def test_a_flood_of_changes_is_coalesced_and_the_peer_ends_on_the_final_value(rig: Rig) -> None:
    require_tool("oscdump")
    port_b = free_udp_port()
    with OscDump(port_b) as b, udp_peer() as c:
        rig.feedback.register("127.0.0.1", port_b)
        assert b.wait_for(lambda ms: len(ms) >= len(VALUES), timeout=5.0)
        for i in range(300):  # one frame applies 300 values of one fader: one message goes out
            c.sendto(encode_message("/vjgan/test/y", [i / 200]), ("127.0.0.1", rig.port))
        assert rig.server.wait_posted(300, timeout=10.0), rig.server.stats
        rig.queue.drain()
        assert b.wait_for(lambda ms: ("/vjgan/test/y", [pytest.approx(299 / 200)]) in ms, timeout=5.0)
        assert rig.feedback.wait_idle(5.0)
        assert [v for a, v in b.messages if a == "/vjgan/test/y"] == [[1.0], [pytest.approx(299 / 200)]]

        for i in range(300):  # 300 frames, one value each: at most 60 per second per address go out
            rig.queue.set("/vjgan/test/x", i / 300, origin="panel")
            rig.queue.drain()
        assert b.wait_for(lambda ms: ("/vjgan/test/x", [pytest.approx(299 / 300)]) in ms, timeout=5.0)
        assert rig.feedback.wait_idle(5.0)
        sent_x = [v for a, v in b.messages if a == "/vjgan/test/x"]
        assert sent_x[-1] == [pytest.approx(299 / 300)] and len(sent_x) < 300
        # every change was either sent or replaced by a newer one before it could be (the sync sent one more)
        assert rig.feedback.stats.coalesced == 300 - (len(sent_x) - 1)


def test_learned_controller_addresses_get_feedback_and_answer_queries(rig: Rig) -> None:
    require_tool("oscdump")
    rig.server.learn.bind(Binding("/1/fader3", "/vjgan/test/y", scale=True))  # TouchOSC 0..1 → y 0..2
    port_b = free_udp_port()
    with OscDump(port_b) as b:
        rig.feedback.register("127.0.0.1", port_b)
        assert b.wait_for(lambda ms: ("/1/fader3", [0.5]) in ms, timeout=5.0)  # y = 1.0 shown at 0.5
        rig.queue.set("/vjgan/test/y", 1.5, origin="panel")
        rig.queue.drain()
        assert b.wait_for(lambda ms: ("/1/fader3", [0.75]) in ms and ("/vjgan/test/y", [1.5]) in ms, timeout=5.0)
    got = client(rig.port, ["/1/fader3"], ["/vjgan/query", "/1/*"], expect=2)
    assert [(g["address"], g["args"]) for g in got] == [("/1/fader3", [0.75])] * 2


def test_peer_limit_refusal_and_unreachable_peers_are_counted(rig: Rig) -> None:
    with udp_peer() as p1, udp_peer() as p2, udp_peer() as p3:
        _limit_and_unreachable(rig, [p.getsockname()[1] for p in (p1, p2, p3)])


def _limit_and_unreachable(rig: Rig, ports: list[int]) -> None:
    for port in ports:
        rig.feedback.register("127.0.0.1", port)
    got = client(rig.port, ["/vjgan/feedback/register", 9104], expect=1)
    assert got[0]["address"] == "/vjgan/error" and "peer limit 3" in got[0]["args"][0]
    assert rig.feedback.stats.refused == 1 and len(rig.feedback.peers()) == 3
    assert rig.feedback.unregister(("127.0.0.1", ports[0])) == 1
    rig.feedback.register("255.255.255.255", 9000)  # a broadcast address: sendto refuses (no SO_BROADCAST)
    assert rig.feedback.wait_idle(5.0)
    assert rig.feedback.stats.unreachable >= 1
    assert any(h == "255.255.255.255" and errors >= 1 for h, _, _, errors in rig.feedback.peers())
    rig.queue.set("/vjgan/test/x", 0.1)
    rig.queue.drain()  # the others still get their feedback
    assert rig.feedback.wait_idle(5.0)
    assert all(sent >= len(VALUES) + 1 for h, _, sent, _ in rig.feedback.peers() if h == "127.0.0.1")


def _wait(predicate: Any, timeout: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_queries_over_tcp_need_a_reply_port(rig: Rig) -> None:
    """A TCP frame has no UDP source port to answer: a bare query is refused and counted, a query naming its
    reply port is answered over UDP (handle_datagram with port None is what the TCP client thread calls)."""
    with udp_peer() as peer:
        rig.server.handle_datagram(encode_message("/vjgan/test/x"), "127.0.0.1", None)
        assert rig.server.stats.bad_value == 1 and "over TCP" in rig.server.stats.last_error
        rig.server.handle_datagram(encode_message("/vjgan/query", ["/vjgan/test/x", peer.getsockname()[1]]),
                                   "127.0.0.1", None)
        peer.settimeout(5.0)
        assert [(m.address, m.args) for m in parse_packet(peer.recv(65536))] == [("/vjgan/test/x", (0.5,))]
        assert rig.server.stats.answered == 1
