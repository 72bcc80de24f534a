"""MIDI bindings through the real router, learn, queue and registry (the JACK transport: test_midi_jack.py):
scaling, pickup takeover, notes as triggers, malformed and unbound messages counted, presets round-trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.control.conftest import make_registry
from vjgan.control.midi import MidiInput
from vjgan.control.midi_bindings import MidiRouter, parse
from vjgan.control.midi_clock import MidiClock
from vjgan.control.midi_feedback import feedback_bytes
from vjgan.control.midi_learn import MidiLearn
from vjgan.core.errors import UserError
from vjgan.core.midi_binding import MidiBinding, bindings_from_dict
from vjgan.core.registry import ControlQueue
from vjgan.mapping.presets import load_preset, save_preset


class Rig:
    def __init__(self) -> None:
        self.registry, self.store = make_registry()
        self.queue = ControlQueue(self.registry)
        self.router = MidiRouter(self.registry)
        self.learn = MidiLearn(self.router)
        self.input = MidiInput(self.queue, self.router, self.learn, MidiClock())
        self.registry.watchers.append(self.router.changed)

    def feed(self, *msg: int) -> int:
        """One message in (as the port's callback would), then a render-loop drain; returns messages applied."""
        self.input.handle(list(msg), 0.0)
        return self.queue.drain()

    @property
    def values(self) -> dict:
        return self.store.values


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_parse_channel_messages() -> None:
    assert parse([0xB3, 7, 100]).key == ("cc", 4, 7)
    assert parse([0x90, 60, 0]).kind == "note_off"  # note-on with velocity 0 is a note-off
    bend = parse([0xE0, 0x7F, 0x7F])
    assert bend.kind == "pitchbend" and bend.fraction == 1.0
    assert parse([0xC0, 5]) is None  # program change: nothing to bind
    assert parse([0xF8]) is None


def test_learned_cc_scales_to_the_parameter_range(rig: Rig) -> None:
    rig.learn.arm("/vjgan/test/y")  # 0..2
    assert rig.feed(0xB0, 21, 127) == 1  # learned, and the knob's first move counts
    assert rig.values["/vjgan/test/y"] == pytest.approx(2.0)
    rig.feed(0xB0, 21, 0)
    assert rig.values["/vjgan/test/y"] == pytest.approx(0.0)
    assert rig.learn.learned == 1 and rig.router.bindings()[0].source == "cc 21 ch 1"
    rig.feed(0xB1, 21, 64)  # the same CC on channel 2 is another control
    assert rig.values["/vjgan/test/y"] == pytest.approx(0.0)
    assert rig.router.stats.unbound == 1


def test_pickup_ignores_the_knob_until_it_crosses_the_value(rig: Rig) -> None:
    rig.router.bind(MidiBinding("cc", 1, 7, "/vjgan/test/x", "pickup"))
    rig.queue.set("/vjgan/test/x", 0.5, "osc")  # the value moved elsewhere (OSC, panel, preset)
    rig.queue.drain()
    for v in (10, 20, 40):  # below 0.5 and not crossing: ignored
        assert rig.feed(0xB0, 7, v) == 0
    assert rig.values["/vjgan/test/x"] == 0.5
    assert rig.router.stats.pickup_waiting == 3
    assert rig.feed(0xB0, 7, 70) == 1  # crossed 0.5 (40 → 70): picked up, follows from here
    assert rig.values["/vjgan/test/x"] == pytest.approx(70 / 127)
    assert rig.feed(0xB0, 7, 20) == 1
    assert rig.values["/vjgan/test/x"] == pytest.approx(20 / 127)

    rig.queue.set("/vjgan/test/x", 0.9, "panel")  # moved elsewhere again: the knob lets go
    rig.queue.drain()
    assert rig.feed(0xB0, 7, 30) == 0
    assert rig.feed(0xB0, 7, 115) == 1  # 114/127 ≈ 0.898: within a step of 0.9 counts as caught
    assert rig.values["/vjgan/test/x"] == pytest.approx(115 / 127)


def test_jump_follows_at_once(rig: Rig) -> None:
    rig.router.bind(MidiBinding("cc", 1, 7, "/vjgan/test/x", "jump"))
    rig.queue.set("/vjgan/test/x", 0.5, "osc")
    rig.queue.drain()
    assert rig.feed(0xB0, 7, 0) == 1 and rig.values["/vjgan/test/x"] == 0.0


def test_notes_trigger_toggle_and_send_fixed_values(rig: Rig) -> None:
    fired: list[object] = []
    rig.registry.register(rig.registry.get("/vjgan/test/go"), fired.append)
    rig.router.bind(MidiBinding("note", 10, 36, "/vjgan/test/go"))
    rig.router.bind(MidiBinding("note", 10, 37, "/vjgan/test/on"))
    rig.router.bind(MidiBinding("note", 10, 38, "/vjgan/test/name", value="ambient"))
    assert rig.feed(0x99, 36, 100) == 1 and fired == [True]
    assert rig.feed(0x89, 36, 0) == 0 and fired == [True]  # the pad's release fires nothing
    rig.feed(0x99, 37, 90)
    assert rig.values["/vjgan/test/on"] is True
    rig.feed(0x99, 37, 90)
    assert rig.values["/vjgan/test/on"] is False  # a pad toggles a switch
    rig.feed(0x99, 38, 1)
    assert rig.values["/vjgan/test/name"] == "ambient"
    # learning a pad binds it without firing it
    rig.learn.arm("/vjgan/test/go")
    assert rig.feed(0x99, 40, 100) == 0 and fired == [True]
    assert rig.feed(0x99, 40, 100) == 1 and fired == [True, True]


def test_a_cc_button_fires_a_trigger_once_per_press(rig: Rig) -> None:
    fired: list[object] = []
    rig.registry.register(rig.registry.get("/vjgan/test/go"), fired.append)
    rig.router.bind(MidiBinding("cc", 1, 64, "/vjgan/test/go"))
    for v in (127, 127, 0, 127):
        rig.feed(0xB0, 64, v)
    assert len(fired) == 2


def test_malformed_and_unbound_are_counted_and_ignored(rig: Rig) -> None:
    rig.router.bind(MidiBinding("cc", 1, 7, "/vjgan/test/x"))
    for bad in ([], [0x07, 0x10], [0xB0, 7], [0xB0, 7, 200], [0xB0, 7, 1, 2]):
        rig.input.handle(bad, 0.0)
    rig.input.handle([0xC0, 3], 0.0)  # program change
    rig.input.handle([0xB0, 8, 64], 0.0)  # no binding
    assert rig.queue.drain() == 0
    assert rig.input.stats.malformed == 5 and rig.input.stats.ignored == 1 and rig.router.stats.unbound == 1
    assert rig.feed(0xB0, 7, 127) == 1  # and the next good one still works
    assert rig.values["/vjgan/test/x"] == 1.0


def test_learn_refuses_unknown_targets_and_strings_without_a_value(rig: Rig) -> None:
    with pytest.raises(UserError, match="no parameter"):
        rig.learn.arm("/vjgan/nope")
    with pytest.raises(UserError, match="string"):
        rig.learn.arm("/vjgan/test/name")
    with pytest.raises(UserError, match="takes a number"):
        rig.learn.arm("/vjgan/test/n", value="ambient")
    rig.learn.arm("/vjgan/test/n", value="7")  # typed in the panel: a note then sends the number 7
    rig.feed(0x90, 50, 1)
    assert rig.router.bindings()[0].value == 7
    rig.feed(0x90, 50, 1)
    assert rig.values["/vjgan/test/n"] == 7


def test_feedback_bytes_show_the_value_on_the_control() -> None:
    registry, _ = make_registry()
    y = registry.get("/vjgan/test/y")
    assert feedback_bytes(MidiBinding("cc", 2, 7, y.address), y, 1.0) == [0xB1, 7, 64]
    assert feedback_bytes(MidiBinding("pitchbend", 1, 0, y.address), y, 2.0) == [0xE0, 0x7F, 0x7F]
    on = registry.get("/vjgan/test/on")
    assert feedback_bytes(MidiBinding("note", 1, 36, on.address), on, True) == [0x90, 36, 127]
    assert feedback_bytes(MidiBinding("note", 1, 36, on.address), on, False) == [0x80, 36, 0]
    pad = MidiBinding("note", 1, 38, "/vjgan/test/name", value="ambient")
    assert feedback_bytes(pad, registry.get(pad.target), "ambient") == [0x90, 38, 127]
    assert feedback_bytes(MidiBinding("note", 1, 36, "/vjgan/test/go"), registry.get("/vjgan/test/go"), True) is None


def test_bindings_round_trip_through_a_preset(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[preset]\nname = "m"\n\n[[midi.bindings]]\nkind = "cc"\nchannel = 1\nnumber = 7\n'
                    'target = "/vjgan/target/truncation"\ntakeover = "pickup"\n\n[[midi.bindings]]\n'
                    'kind = "note"\nchannel = 10\nnumber = 36\ntarget = "/vjgan/preset/load"\nvalue = "ambient"\n')
    preset = load_preset(path)
    router = MidiRouter(make_registry()[0])
    router.load_dict(preset.extra["midi"])
    assert [b.source for b in router.bindings()] == ["cc 7 ch 1", "note 36 ch 10"]
    preset.extra["midi"] = router.to_dict()
    out = tmp_path / "saved.toml"
    save_preset(preset, out)
    again = bindings_from_dict(load_preset(out).extra["midi"])
    assert again == router.bindings()
    assert again[0].takeover == "pickup" and again[1].value == "ambient"


@pytest.mark.parametrize(("table", "why"), [
    ('kind = "knob"\nchannel = 1\nnumber = 7\ntarget = "/vjgan/x"', "kind must be one of"),
    ('kind = "cc"\nchannel = 17\nnumber = 7\ntarget = "/vjgan/x"', "channel must be an integer 1..16"),
    ('kind = "cc"\nchannel = 1\nnumber = 128\ntarget = "/vjgan/x"', "number must be an integer 0..127"),
    ('kind = "cc"\nchannel = 1\nnumber = 7\ntarget = "x"', "target must be a registry address"),
    ('kind = "cc"\nchannel = 1\nnumber = 7\ntarget = "/vjgan/x"\ntakeover = "soft"', "takeover must be one of"),
    ('kind = "cc"\nchannel = 1\nnumber = 7\ntarget = "/vjgan/x"\nvelocity = 3', "unknown key"),
])
def test_a_bad_binding_in_a_preset_is_a_clear_error(tmp_path: Path, table: str, why: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'[preset]\nname = "bad"\n\n[[midi.bindings]]\n{table}\n')
    with pytest.raises(UserError, match=why) as err:
        load_preset(path)
    assert "bad.toml" in str(err.value) and "midi" in str(err.value)


def test_a_control_bound_twice_is_an_error() -> None:
    b = {"kind": "cc", "channel": 1, "number": 7, "target": "/vjgan/a"}
    with pytest.raises(UserError, match="bound twice"):
        bindings_from_dict({"bindings": [b, b | {"target": "/vjgan/b"}]})



def test_a_preset_load_resets_pickup_to_the_new_values(rig: Rig) -> None:
    from vjgan.core.registry import Param

    rig.router.bind(MidiBinding("cc", 1, 7, "/vjgan/test/x", "pickup"))
    assert rig.feed(0xB0, 7, 64) == 1  # 0.504: meets the default 0.5, picked up
    assert rig.feed(0xB0, 7, 10) == 1
    # a preset load re-registers its targets with the new base values as defaults
    rig.registry.replace_group("test", [(Param("/vjgan/test/x", "float", "x", 0.0, 1.0, 0.9, "test"),
                                         rig.store.setter("/vjgan/test/x"))])
    assert rig.router.value_of("/vjgan/test/x") == 0.9
    assert rig.feed(0xB0, 7, 20) == 0  # far from the new 0.9: waits
    assert rig.feed(0xB0, 7, 120) == 1  # crossed it


def test_feedback_follows_applied_values_and_preset_loads_but_not_its_own_fader(rig: Rig) -> None:
    from tests.conftest import wait_for
    from vjgan.control.midi_feedback import MidiFeedback
    from vjgan.core.registry import Param

    sent: list[list[int]] = []
    fb = MidiFeedback(sent.append, rig.router)
    rig.registry.watchers.append(fb.changed)
    fb.start()
    try:
        rig.router.bind(MidiBinding("cc", 1, 7, "/vjgan/test/x"))
        rig.feed(0xB0, 7, 100)  # the fader itself: no echo
        rig.queue.set("/vjgan/test/x", 0.25, "osc")  # moved elsewhere: the fader is told
        rig.queue.drain()
        assert wait_for(lambda: [0xB0, 7, 32] in sent, timeout=5.0), sent
        # a preset load re-registers the target with its new value
        rig.registry.replace_group("test", [(Param("/vjgan/test/x", "float", "x", 0.0, 1.0, 1.0, "test"),
                                             rig.store.setter("/vjgan/test/x"))])
        assert wait_for(lambda: [0xB0, 7, 127] in sent, timeout=5.0), sent
        assert [0xB0, 7, 100] not in sent
    finally:
        fb.stop()
