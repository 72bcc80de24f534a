"""MIDI against the running app: `vjgan live --midi-in virtual --midi-out virtual` on a real JACK server,
a controller in another process: learn moves a registry parameter, feedback comes back, bindings live in
presets, and the MIDI clock is the app's ExternalClock 'midi'."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.app.test_headless import click_track
from tests.conftest import wait_for
from tests.midi_rig import MidiPeer, jack_connect, jack_server, midi_peer  # noqa: F401 - fixtures
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.core.clock import ExternalClock
from vjgan.core.registry import ControlMessage
from vjgan.mapping.presets import load_preset

INVERT = "/vjgan/target/shader.color.invert"


def test_midi_learn_moves_a_parameter_and_feedback_comes_back(
        tmp_path: Path, pulse_server: str, midi_peer: MidiPeer) -> None:  # noqa: F811
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=3.0)
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(64, 36), fps=30.0,
                             panel=False, midi_in="virtual", midi_out="virtual", midi_api="jack"))
    app.start()
    try:
        assert app.midi is not None and app.midi.input.port is not None, list(app.messages)
        jack_connect("peer_out:midi", "vjgan_in:midi")
        jack_connect("vjgan_out:midi", "peer_in:midi")
        clock: ExternalClock = app.midi.clock  # what the tempo-source selector follows as "midi"
        assert clock.name == "midi"

        app.panels.port.midi_learn(INVERT)  # the panel's learn button ("click a control")
        midi_peer.send(0xB0, 20, 127)  # "move a knob"
        assert wait_for(lambda: app.midi.learn.learned == 1, timeout=10.0), app.midi.input.stats
        assert wait_for(lambda: (app.step(), app.chain.value("color", "invert"))[1] == pytest.approx(1.0),
                        timeout=10.0)

        # the value moves elsewhere (OSC, the panel): the knob's LEDs follow
        app.queue.post(ControlMessage(INVERT, 0.25, "osc"))
        app.step()
        assert app.chain.value("color", "invert") == pytest.approx(0.25)
        assert wait_for(lambda: [0xB0, 20, 32] in midi_peer.received, timeout=10.0), midi_peer.received
        view = app.panels.port.snapshot().midi
        assert view is not None and view.bindings[0].source == "cc 20 ch 1" and view.in_port.startswith("vjgan_in")

        # the binding is saved with the live state, and a preset load brings it back
        saved = app.mapping.save(str(tmp_path / "with_midi.toml"))
        preset = load_preset(saved)
        assert preset.extra["midi"]["bindings"] == [
            {"kind": "cc", "channel": 1, "number": 20, "target": INVERT, "takeover": "jump"}]
        app.panels.port.midi_unbind("cc 20 ch 1")
        assert app.midi.router.bindings() == []
        app.mapping.load(preset)
        assert [b.source for b in app.midi.router.bindings()] == ["cc 20 ch 1"]
    finally:
        app.stop()


def test_the_beat_follows_a_midi_clock(tmp_path: Path, pulse_server: str, midi_peer: MidiPeer) -> None:  # noqa: F811
    """What the tempo-source selector does with source 'midi': the clock's readings, handed to the audio
    engine every 10 ms, replace the analysed tempo (the click track is 120 BPM, the clock 100)."""
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=3.0)
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(64, 36), fps=30.0,
                             panel=False, midi_in="virtual", midi_api="jack"))
    app.start()
    try:
        jack_connect("peer_out:midi", "vjgan_in:midi")
        sender = threading.Thread(target=midi_peer.clock, args=(100.0, 5.0), daemon=True)
        sender.start()
        tempos = []
        while sender.is_alive():
            reading = app.midi.clock.read()
            app.audio.follow_clock(reading)
            app.step()
            if reading is not None and reading.beat >= 2.0:
                tempos.append(app.bus.latest.tempo)
            time.sleep(0.01)
        assert tempos, "no clock readings"
        assert max(abs(t - 100.0) for t in tempos[len(tempos) // 4:]) < 1.0, tempos
        app.audio.follow_clock(app.midi.clock.read())  # stopped: None, the analysis takes over again
        assert app.midi.clock.read() is None
    finally:
        app.stop()
