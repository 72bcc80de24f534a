"""MIDI through a real MIDI server: a private jackd (dummy driver), rtmidi JACK ports on both sides, a
controller in another process (tests/midi_peer.py), connected with jack_connect."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import wait_for
from tests.control.conftest import make_registry
from tests.midi_rig import MidiPeer, jack_connect, jack_server, midi_peer  # noqa: F401 - fixtures
from vjgan.control.midi import MidiInput
from vjgan.control.midi_bindings import MidiRouter
from vjgan.control.midi_clock import MidiClock
from vjgan.control.midi_feedback import MidiFeedback
from vjgan.control.midi_learn import MidiLearn
from vjgan.control.midi_ports import MidiInPort, MidiOutPort
from vjgan.core.errors import UserError
from vjgan.core.registry import ControlQueue


class Live:
    """The control stage's MIDI parts on real JACK ports, the registry applied by a draining 'render loop'."""

    def __init__(self) -> None:
        self.registry, self.store = make_registry()
        self.queue = ControlQueue(self.registry)
        self.router = MidiRouter(self.registry)
        self.learn = MidiLearn(self.router)
        self.clock = MidiClock()
        self.input = MidiInput(self.queue, self.router, self.learn, self.clock)
        self.input.open("virtual", api="jack")
        self.out = MidiOutPort("virtual", api="jack")
        self.feedback = MidiFeedback(self.out.send, self.router)
        self.registry.watchers += [self.router.changed, self.feedback.changed]
        self.feedback.start()

    def drain_until(self, pred, timeout: float = 10.0) -> bool:  # noqa: ANN001
        def step() -> object:
            self.queue.drain()
            return pred()

        return wait_for(step, timeout=timeout, poll=0.002)

    def close(self) -> None:
        self.feedback.stop()
        self.input.close()
        self.out.close()


@pytest.fixture
def live(jack_server: str) -> Iterator[Live]:  # noqa: F811 - the fixture imported above
    rig = Live()
    try:
        yield rig
    finally:
        rig.close()


def test_learn_through_jack_moves_a_parameter_and_feedback_comes_back(live: Live, midi_peer: MidiPeer) -> None:  # noqa: F811
    jack_connect("peer_out:midi", "vjgan_in:midi")
    jack_connect("vjgan_out:midi", "peer_in:midi")
    live.learn.arm("/vjgan/test/y")  # "click a control" (0..2) ...
    midi_peer.send(0xB2, 74, 32)  # ... "move a knob": CC 74 on channel 3, from the other process
    assert live.drain_until(lambda: live.learn.learned == 1), live.input.stats
    assert live.router.bindings()[0].source == "cc 74 ch 3"
    midi_peer.send(0xB2, 74, 127)
    assert live.drain_until(lambda: live.store.values.get("/vjgan/test/y") == pytest.approx(2.0))

    # the value changes elsewhere (the panel): the knob's LED ring / motor fader is told, on its channel
    live.queue.set("/vjgan/test/y", 0.5, "panel")
    live.queue.drain()
    assert wait_for(lambda: [0xB2, 74, 32] in midi_peer.received, timeout=10.0), midi_peer.received
    assert live.feedback.stats.errors == 0

    # what binds to nothing comes through the server too: counted, ignored, and the show goes on
    midi_peer.send(0xB5, 1, 1)  # an unbound CC
    midi_peer.send(0xC0, 5)  # a program change
    midi_peer.send(0xB2, 74)  # a truncated CC
    assert wait_for(lambda: live.input.stats.received >= 5, timeout=10.0), live.input.stats
    assert live.router.stats.unbound == 1 and live.input.stats.ignored == 1, (live.router.stats, live.input.stats)
    assert live.input.stats.malformed == 1, live.input.stats
    midi_peer.send(0xB2, 74, 0)
    assert live.drain_until(lambda: live.store.values.get("/vjgan/test/y") == 0.0)


def test_a_note_triggers_an_action_and_pickup_waits(live: Live, midi_peer: MidiPeer) -> None:  # noqa: F811
    fired: list[object] = []
    live.registry.register(live.registry.get("/vjgan/test/go"), lambda v: fired.append(v))
    jack_connect("peer_out:midi", "vjgan_in:midi")
    live.learn.arm("/vjgan/test/go")
    midi_peer.send(0x99, 36, 100)  # learning the pad does not fire it
    assert live.drain_until(lambda: live.learn.learned == 1)
    midi_peer.send(0x89, 36, 0)
    midi_peer.send(0x99, 36, 110)
    assert live.drain_until(lambda: fired == [True]), live.input.stats

    live.learn.arm("/vjgan/test/x", takeover="pickup")  # value 0.5 (its default)
    midi_peer.send(0xB0, 1, 10)  # far below 0.5: learned, but pickup ignores it
    assert live.drain_until(lambda: live.learn.learned == 2)
    midi_peer.send(0xB0, 1, 30)
    assert live.drain_until(lambda: live.router.stats.pickup_waiting == 2)
    assert "/vjgan/test/x" not in live.store.values
    midi_peer.send(0xB0, 1, 90)  # crossed 0.5: picked up
    assert live.drain_until(lambda: live.store.values.get("/vjgan/test/x") == pytest.approx(90 / 127))


def test_midi_clock_at_120_bpm_gives_the_tempo_within_one_percent(live: Live, midi_peer: MidiPeer) -> None:  # noqa: F811
    jack_connect("peer_out:midi", "vjgan_in:midi")
    readings = []
    done = threading.Event()

    def reader() -> None:  # the app's clock thread reads about every 10 ms
        while not done.is_set():
            r = live.clock.read()
            if r is not None:
                readings.append(r)
            time.sleep(0.01)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        sent = midi_peer.clock(120.0, 4.0)
        wait_for(lambda: live.clock.stopped == 1, timeout=10.0)
    finally:
        done.set()
        t.join()
    assert live.clock.ticks_total == sent, (live.clock.ticks_total, sent)
    assert live.clock.started == 1 and live.clock.stopped == 1
    assert live.input.stats.clock == sent + 2  # start, the ticks, stop
    assert live.clock.read() is None  # stopped: the analysis takes the tempo back
    late = [r for r in readings if r.beat >= 2.0]  # a full two-beat window
    assert late, f"no readings after two beats ({len(readings)} in all)"
    worst = max(abs(r.bpm - 120.0) / 120.0 for r in late)
    print(f"MIDI clock 120 BPM over JACK: {len(late)} readings, worst error {worst:.3%}, "
          f"last {late[-1].bpm:.3f} BPM")
    assert worst < 0.01, f"worst tempo error {worst:.2%} over {len(late)} readings"
    # the beat counts the ticks (the first after start is beat 0); the last reading came in the last beat
    assert all(abs(r.beat * 24 - round(r.beat * 24)) < 1e-9 for r in late)
    assert (sent - 1) / 24 - 1.0 <= late[-1].beat <= (sent - 1) / 24


def test_no_server_or_no_port_is_a_clear_error(jack_server: str) -> None:  # noqa: F811
    with pytest.raises(UserError, match="no port matches 'nonexistent'"):
        MidiInPort("nonexistent", lambda m, t: None, api="jack")
    env_server = "vjgan-no-such-server"
    r = subprocess.run(
        [sys.executable, "-c", "from vjgan.control.midi_ports import MidiOutPort\n"
         "try:\n    MidiOutPort('virtual', api='jack')\nexcept Exception as e:\n    print(type(e).__name__, e)"],
        capture_output=True, text=True, env={**os.environ, "JACK_DEFAULT_SERVER": env_server},
    )
    assert "UserError no MIDI server: jack:" in r.stdout, r.stdout + r.stderr
