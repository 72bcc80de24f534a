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
    """`--tempo-source midi`: the selector hands the MIDI clock's readings to the audio engine, whose beat
    then has the clock's tempo (100 BPM) instead of the click track's (120 BPM)."""
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=3.0)
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(64, 36), fps=30.0,
                             panel=False, midi_in="virtual", midi_api="jack", tempo_source="midi"))
    app.start()
    try:
        assert app.tempo_sources.source == "midi" and "midi" in app.tempo_sources.available()
        jack_connect("peer_out:midi", "vjgan_in:midi")
        sender = threading.Thread(target=midi_peer.clock, args=(100.0, 5.0), daemon=True)
        sender.start()
        tempos = []
        while sender.is_alive():
            app.step()
            last = app.tempo_sources.last  # what the selector handed the engine last
            if last is not None and last.beat >= 2.0:
                tempos.append(app.bus.latest.tempo)
            time.sleep(0.01)
        assert tempos, "no clock readings reached the engine"
        # from the first reading on until the stop: the engine applies a reading at its next hop, so the
        # first samples and those around the stop may still show the analysis' tempo
        steady = tempos[len(tempos) // 4: -max(len(tempos) // 10, 1)]
        assert max(abs(t - 100.0) for t in steady) < 1.0, tempos
        assert "MIDI clock" in app.tempo_sources.status()
        assert wait_for(lambda: app.tempo_sources.last is None, timeout=5.0)  # stopped: the analysis again
    finally:
        app.stop()
