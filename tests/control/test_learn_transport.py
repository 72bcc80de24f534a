"""OSC learn (a controller's own address bound to a parameter) and the transport/tempo addresses."""

from __future__ import annotations

import pytest

from tests.conftest import require_tool
from vjgan.control.learn import OscLearn
from vjgan.control.osc import OscServer
from vjgan.control.peers import oscsend
from vjgan.control.transport import register_transport
from vjgan.core.bindings import Binding
from vjgan.core.errors import UserError
from vjgan.core.registry import ControlQueue

from .conftest import Rig, make_registry


@pytest.fixture(autouse=True)
def _liblo() -> None:
    require_tool("oscsend")


def test_learn_binds_the_next_address_with_range_scaling(rig: Rig) -> None:
    learn = rig.server.learn
    learn.arm("/vjgan/test/y")  # range 0..2; a TouchOSC fader sends 0..1
    oscsend(rig.port, "/1/fader3", 0.5, types="f")
    assert rig.server.wait_posted(1, timeout=3)
    rig.queue.drain()
    assert rig.store.values["/vjgan/test/y"] == pytest.approx(1.0)
    assert learn.armed is None and rig.server.stats.learned == 1
    oscsend(rig.port, "/1/fader3", 0.25, types="f")  # the binding stays
    assert rig.server.wait_posted(2, timeout=3)
    rig.queue.drain()
    assert rig.store.values["/vjgan/test/y"] == pytest.approx(0.5)
    assert learn.to_dict() == {
        "bindings": [{"source": "/1/fader3", "target": "/vjgan/test/y", "scale": True, "in_min": 0.0, "in_max": 1.0}]
    }


def test_bindings_round_trip_through_a_preset_dict() -> None:
    registry, store = make_registry()
    saved = {
        "bindings": [Binding("/2/push1", "/vjgan/test/go").to_dict(), Binding("/2/rot", "/vjgan/test/n").to_dict()]
    }
    learn = OscLearn.from_dict(registry, saved)
    assert learn.to_dict() == saved
    queue = ControlQueue(registry)
    with OscServer(registry, queue, port=0, learn=learn) as server:
        oscsend(server.port, "/2/push1", 1.0, types="f")
        oscsend(server.port, "/2/rot", 6, types="i")
        assert server.wait_posted(2, timeout=3)
        queue.drain()
    assert store.values == {"/vjgan/test/go": True, "/vjgan/test/n": 6}


def test_invalid_bindings_are_a_clear_error_and_keep_the_old_ones() -> None:
    registry, _ = make_registry()
    learn = OscLearn(registry)
    learn.bind(Binding("/a", "/vjgan/test/x"))
    with pytest.raises(UserError, match="source must be an OSC address"):
        learn.load_dict({"bindings": [{"source": "a", "target": "/vjgan/test/x"}]}, where="preset.toml [osc]")
    with pytest.raises(UserError, match="in_min"):
        learn.load_dict({"bindings": [{"source": "/a", "target": "/vjgan/test/x", "in_min": "nan"}]})
    with pytest.raises(UserError, match="no parameter"):
        learn.arm("/vjgan/nope")
    assert [b.source for b in learn.bindings()] == ["/a"]


class Player:
    """Stands in for the audio stage's FilePlayer (duck-typed: play/pause/seek/set_loop)."""

    duration = 120.0

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def play(self) -> None:
        self.calls.append(("play",))

    def pause(self) -> None:
        self.calls.append(("pause",))

    def seek(self, seconds: float) -> None:
        self.calls.append(("seek", seconds))

    def set_loop(self, a: float | None, b: float | None) -> None:
        self.calls.append(("loop", a, b))

    def tap(self) -> None:
        self.calls.append(("tap",))

    def nudge(self, bpm: float) -> None:
        self.calls.append(("nudge", bpm))


def test_transport_and_tempo_over_oscsend(rig: Rig) -> None:
    player = Player()
    register_transport(rig.registry, player, tempo=player)
    sends = [
        ("/vjgan/player/seek", "f", 30.0),
        ("/vjgan/player/loop_start", "f", 8.0),
        ("/vjgan/player/loop_end", "f", 16.0),
        ("/vjgan/player/loop", "i", 1),
        ("/vjgan/player/play", "", None),
        ("/vjgan/player/seek", "f", 500.0),  # past the end: clamped to the duration
        ("/vjgan/tempo/tap", "f", 1.0),
        ("/vjgan/tempo/nudge", "f", -0.5),
        ("/vjgan/player/pause", "i", 1),
    ]
    for address, types, value in sends:
        oscsend(rig.port, address, *([] if value is None else [value]), types=types)
        assert rig.server.wait_posted(len(player.calls) + 1, timeout=3)  # keep the order
        rig.queue.drain()
    assert player.calls == [
        ("seek", 30.0),
        ("loop", None, None),  # start alone: loop still off
        ("loop", None, None),
        ("loop", 8.0, 16.0),
        ("play",),
        ("seek", 120.0),
        ("tap",),
        ("nudge", -0.5),
        ("pause",),
    ]
    assert rig.queue.stats.clamped == 1


def test_transport_drives_the_real_file_player(rig: Rig, tmp_path) -> None:
    """The audio stage's FilePlayer (clock-driven, no sound device) through oscsend → queue → apply."""
    import numpy as np

    from vjgan.audio.player import FilePlayer

    sr = 44100
    player = FilePlayer(tmp_path / "tone.wav", play=False, data=np.zeros((10 * sr, 2), np.float32))
    register_transport(rig.registry, player, tempo=None)
    assert rig.registry.get("/vjgan/player/seek").maximum == pytest.approx(10.0)
    assert rig.registry.get("/vjgan/tempo/tap") is None  # no tempo object: no tempo addresses

    def send(address: str, types: str = "", *values: object) -> None:
        posted = rig.server.stats.posted
        oscsend(rig.port, address, *values, types=types)
        assert rig.server.wait_posted(posted + 1, timeout=3)
        rig.queue.drain()

    send("/vjgan/player/seek", "f", 3.0)
    player.render(441)
    assert player.file_position == pytest.approx(3.01, abs=1e-3)
    send("/vjgan/player/loop_start", "f", 1.0)
    send("/vjgan/player/loop_end", "f", 2.0)
    send("/vjgan/player/loop", "T", True)
    send("/vjgan/player/seek", "f", 1.9)
    for _ in range(20):  # 0.2 s of playback wraps at the loop end
        player.render(441)
    assert 1.0 <= player.file_position < 1.2
    send("/vjgan/player/pause")
    assert player.paused
    send("/vjgan/player/play", "i", 1)
    assert not player.paused
    send("/vjgan/player/loop_end", "f", 1.001)  # a 1 ms loop: FilePlayer refuses it, the queue counts it
    assert rig.queue.stats.rejected == 1 and "loop region" in rig.queue.stats.last_error
