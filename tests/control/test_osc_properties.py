"""Property-based tests (hypothesis) of the OSC wire parser and the server's routing of what it parses.

No input may crash them: `parse_packet` yields messages or raises `OscParseError`, and the server counts every
packet (never its "internal error" path). Every rejection of a message names the offending address, so a
VJ reading the log knows which control of which controller is wrong.
"""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pythonosc.parsing import osc_types

from vjgan.control.osc import OscServer
from vjgan.control.oscwire import BUNDLE_PREFIX, OscParseError, WireMessage, parse_packet
from vjgan.core.registry import ControlQueue

from .conftest import PARAMS, make_registry

BOUNDED = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow])


def _pad(b: bytes) -> bytes:
    return b + b"\x00" * (4 - len(b) % 4)


# addresses: the registry's own, OSC patterns over them, and arbitrary text (with pattern characters)
ADDRESSES = st.one_of(
    st.sampled_from([p.address for p in PARAMS]),
    st.sampled_from(["/vjgan/test/*", "/vjgan/test/[xy]", "/vjgan/test/{x,n}", "/vjgan/*/?", "/vjgan/test/[!a-z]",
                     "/vjgan/test/[", "/vjgan/test/{x", "/vjgan/test/[]", "/vjgan/test/[!]", "/1/fader3"]),
    st.text(alphabet="/abcxyn*?[]{},!-", max_size=40).map(lambda s: "/" + s),
    st.text(max_size=40).map(lambda s: "/" + s.replace("\x00", "")),
)
TAG = st.sampled_from("ifdhsSbTFNIxm[]c")
ARG = {
    "i": st.integers(-(2**31), 2**31 - 1).map(lambda v: struct.pack(">i", v)),
    "f": st.floats(width=32).map(lambda v: struct.pack(">f", v)),
    "d": st.floats().map(lambda v: struct.pack(">d", v)),
    "h": st.integers(-(2**63), 2**63 - 1).map(lambda v: struct.pack(">q", v)),
    "s": st.text(max_size=20).map(lambda s: _pad(s.replace("\x00", "").encode())),
    "S": st.binary(max_size=12).map(lambda b: _pad(b.replace(b"\x00", b""))),
    "b": st.binary(max_size=12).map(lambda b: struct.pack(">i", len(b)) + b + b"\x00" * (-len(b) % 4)),
}


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, bytes]:
    """(address, datagram): a message whose payload matches its tags, or is cut, padded or replaced."""
    address = draw(ADDRESSES)
    tags = "".join(draw(st.lists(TAG, max_size=5)))
    payload = b"".join(draw(ARG[t]) if t in ARG else b"" for t in tags)
    mangle = draw(st.sampled_from(["none", "cut", "extra", "random", "no_comma"]))
    if mangle == "cut" and payload:
        payload = payload[: draw(st.integers(0, len(payload) - 1))]
    elif mangle == "extra":
        payload += draw(st.binary(min_size=1, max_size=8))
    elif mangle == "random":
        payload = draw(st.binary(max_size=40))
    head = "" if mangle == "no_comma" else ","
    return address, _pad(address.encode()) + _pad((head + tags).encode()) + payload


def bundles(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A bundle of elements; sizes are right, or drawn at random (negative, too long, unaligned)."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        out = [BUNDLE_PREFIX, struct.pack(">Q", draw(st.integers(0, 2**64 - 1)))]
        for element in draw(st.lists(children, max_size=4)):
            size = len(element) if draw(st.booleans()) else draw(st.integers(-(2**31), 2**31 - 1))
            out += [struct.pack(">i", size), element]
        return b"".join(out)

    return build()


PACKETS = st.recursive(messages().map(lambda m: m[1]) | st.binary(max_size=64), bundles, max_leaves=12)


@BOUNDED
@given(PACKETS | st.binary(max_size=300))
def test_parse_packet_yields_messages_or_a_clear_error(data: bytes) -> None:
    try:
        out = parse_packet(data)
    except OscParseError as exc:
        assert str(exc)
        return
    assert all(isinstance(m, WireMessage) and m.address.startswith("/") for m in out)
    assert all(isinstance(m.args, tuple) and isinstance(m.timetag, int) for m in out)


@BOUNDED
@given(messages())
def test_a_rejected_message_names_its_address(message: tuple[str, bytes]) -> None:
    address, data = message
    try:
        parse_packet(data)
    except OscParseError as exc:
        assert repr(address[:80]) in str(exc), (address, str(exc))


def _readable_address(data: bytes) -> str | None:
    if not data.startswith(b"/"):
        return None
    try:
        return osc_types.get_string(data, 0)[0]
    except Exception:  # noqa: BLE001 - python-osc raises several kinds; unreadable is all that matters here
        return None


@BOUNDED
@given(PACKETS | st.binary(max_size=300) | messages().map(lambda m: m[1]))
def test_server_counts_every_packet_and_names_what_it_refuses(data: bytes) -> None:
    """The real router (registry, patterns, value checks, queue) on one packet: no internal error, the packet
    lands in exactly one place, and each refused message's log line names its address."""
    registry, store = make_registry()
    queue = ControlQueue(registry)
    server = OscServer(registry, queue, port=0)  # not started: handle_datagram is what the socket thread calls
    errors: list[str] = []
    server._error = errors.append  # type: ignore[method-assign]  # collect instead of the rate-limited log
    server._handle_safely(data, "127.0.0.1")
    st_ = server.stats
    assert not st_.last_error.startswith("internal error"), st_.last_error
    assert st_.packets == 1
    try:
        parsed = parse_packet(data)
    except OscParseError:
        parsed = None
    if parsed is None:
        assert st_.malformed + st_.oversized == 1 and st_.messages == 0
        address = _readable_address(data)
        if address is not None:  # a broken message: the log line says which address it was for
            assert repr(address[:80]) in errors[-1], (address, errors)
    elif st_.malformed:  # a well-formed bundle timed too far ahead: refused as a whole
        assert st_.messages == 0 and "ahead" in errors[-1]
    else:
        assert st_.messages == len(parsed)
        assert st_.posted + st_.ignored + st_.answered + st_.unknown + st_.bad_value >= st_.messages
        assert len(errors) == st_.unknown + st_.bad_value
        names = [(m.address[:80], repr(m.address[:80])) for m in parsed]
        assert all(any(a in e or r in e for a, r in names) for e in errors), (errors, names)
    queue.drain(float("inf"))  # what was posted applies (or is rejected) on the render thread
    assert queue.stats.applied + queue.stats.rejected == st_.posted
