"""The routing layer on its own (no sockets): address patterns, lookup order, TCP stream framing.

The socket tests (test_osc_in.py) show the same behaviour end to end; these pin the rules of each module
of the split: oscpattern (matching), oscdispatch (where a message goes, what it carries), oscwire (framing).
"""

from __future__ import annotations

import pytest

from vjgan.control.learn import OscLearn
from vjgan.control.oscdispatch import OscDispatcher, value_for
from vjgan.control.oscpattern import MAX_PATTERN_VARIANTS, compile_pattern, is_pattern, pattern_matches
from vjgan.control.oscstats import OscStats
from vjgan.control.oscwire import WireMessage, encode_message, length_frames, slip_frames
from vjgan.core.bindings import Binding
from vjgan.core.registry import ControlQueue, ParamError

from .conftest import make_registry


@pytest.mark.parametrize(
    ("pattern", "address", "hit"),
    [
        ("/a/*", "/a/xyz", True),
        ("/a/*", "/a/x/y", False),  # '*' never crosses a '/'
        ("/a/**/c", "/a/b/c", True),
        ("/a/?", "/a/b", True),
        ("/a/?", "/a/bc", False),
        ("/a/[b-d]x", "/a/cx", True),
        ("/a/[!b-d]x", "/a/cx", False),
        ("/a/[!b-d]x", "/a/ex", True),
        ("/a/{foo,bar}/z", "/a/bar/z", True),
        ("/a/{foo,bar}/z", "/a/baz/z", False),
        ("/a/*b*c", "/a/xxbyyc", True),
        ("/a/*b*c", "/a/xxbyy", False),
    ],
)
def test_patterns_match_segment_by_segment(pattern: str, address: str, hit: bool) -> None:
    assert is_pattern(pattern)
    assert pattern_matches(compile_pattern(pattern), address) is hit


@pytest.mark.parametrize("bad", ["/a/[", "/a/{x", "/a/[]", "/a/[!]", "/" + "{a,b}" * 6])
def test_malformed_or_exploding_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        compile_pattern(bad)
    assert 2**6 > MAX_PATTERN_VARIANTS  # the last case expands past the cap


def test_a_long_hostile_pattern_matches_in_linear_time() -> None:
    compiled = compile_pattern("/" + "*a" * 200 + "b")
    assert not pattern_matches(compiled, "/" + "a" * 5000)  # a backtracking matcher would not return


def test_lookup_order_learned_alias_then_address_then_pattern() -> None:
    registry, _ = make_registry()
    learn = OscLearn(registry)
    learn.bind(Binding("/vjgan/test/n", "/vjgan/test/x", False, 0.0, 1.0))  # an alias shadowing a real address
    d = OscDispatcher(registry, ControlQueue(registry), learn, OscStats(), lambda text: None)
    assert d.targets("/vjgan/test/n")[0] == ["/vjgan/test/x"]
    assert d.targets("/vjgan/test/y") == (["/vjgan/test/y"], None)
    assert sorted(d.targets("/vjgan/test/[xy]")[0]) == ["/vjgan/test/x", "/vjgan/test/y"]
    assert d.targets("/nothing/here") == ([], None)
    with pytest.raises(ValueError):
        d.targets("/vjgan/test/[")


def test_dispatch_counts_each_message_once_and_names_the_address() -> None:
    registry, _ = make_registry()
    queue = ControlQueue(registry)
    stats, reports = OscStats(), []
    d = OscDispatcher(registry, queue, OscLearn(registry), stats, reports.append)
    d.dispatch(WireMessage("/vjgan/test/[xy]", (0.5,), 1), 0.0, "10.0.0.1")  # a pattern: x and y
    d.dispatch(WireMessage("/vjgan/test/go", (0,), 1), 0.0, "10.0.0.1")  # trigger release: ignored
    d.dispatch(WireMessage("/vjgan/test/x", (float("nan"),), 1), 0.0, "10.0.0.1")
    d.dispatch(WireMessage("/vjgan/zzz", (1,), 1), 0.0, "10.0.0.1")
    assert (stats.posted, stats.ignored, stats.bad_value, stats.unknown) == (2, 1, 1, 1)
    assert d.wait_posted(2, 0.0) and not d.wait_posted(3, 0.0)
    assert any("/vjgan/test/x" in r for r in reports) and "'/vjgan/zzz'" in reports[-1] and "10.0.0.1" in reports[-1]
    assert queue.drain() == stats.posted


def test_value_rules() -> None:
    assert value_for("trigger", (), "/t") is True and value_for("trigger", ("go",), "/t") is True
    assert value_for("trigger", (0,), "/t") is None and value_for("trigger", (1.0,), "/t") is True
    assert value_for("float", (0.25,), "/f") == 0.25
    for args in [(), (1.0, 2.0), (b"\x00",), (None,)]:
        with pytest.raises(ParamError, match="/f"):
            value_for("float", args, "/f")
    with pytest.raises(ParamError, match="non-finite"):
        value_for("trigger", (float("inf"),), "/t")


def test_tcp_framing_keeps_partial_frames_and_refuses_oversized() -> None:
    msg = encode_message("/vjgan/test/x", [0.5])
    buf = bytearray(len(msg).to_bytes(4, "big") + msg + len(msg).to_bytes(4, "big") + msg[:5])
    frames, ok = length_frames(buf, 1024)
    assert ok and frames == [msg] and len(buf) == 4 + 5  # the cut frame waits for the rest
    assert length_frames(bytearray((5000).to_bytes(4, "big")), 1024) == ([], False)
    payload = msg.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc")
    buf = bytearray(b"\xc0" + payload + b"\xc0\xc0" + payload[:3])
    frames, ok = slip_frames(buf, 1024)
    assert ok and frames == [msg] and bytes(buf).lstrip(b"\xc0") == payload[:3]  # the next frame waits
    assert slip_frames(bytearray(b"\xc0" + b"x" * 2000 + b"\xc0"), 1024)[1] is False
