"""MIDI in: every message from the input port, on rtmidi's thread, goes to the clock, to learn, or through
the bindings onto the ControlQueue, and nowhere else (no GL, generator or mapping state is touched here).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vjgan.control.midi_bindings import MalformedMidi, MidiRouter, parse
from vjgan.control.midi_clock import MidiClock
from vjgan.control.midi_learn import MidiLearn
from vjgan.control.midi_ports import MidiInPort
from vjgan.core.registry import ControlQueue

log = logging.getLogger(__name__)


@dataclass
class MidiInStats:
    received: int = 0
    clock: int = 0  # clock, start, stop, continue, song position
    malformed: int = 0
    ignored: int = 0  # messages that bind to nothing (program change, aftertouch, sysex, active sensing)

    def line(self, router: MidiRouter, learn: MidiLearn) -> str:
        r = router.stats
        return (f"received {self.received}  routed {r.routed}  unbound {r.unbound}  pickup waiting "
                f"{r.pickup_waiting}  clock {self.clock}  malformed {self.malformed}  ignored "
                f"{self.ignored + r.unusable}  learned {learn.learned}")


class MidiInput:
    """Routes one input port. `handle` is the port's callback (and what tests feed directly)."""

    def __init__(self, queue: ControlQueue, router: MidiRouter, learn: MidiLearn, clock: MidiClock) -> None:
        self.queue = queue
        self.router = router
        self.learn = learn
        self.clock = clock
        self.stats = MidiInStats()
        self.port: MidiInPort | None = None

    def open(self, spec: str, api: str = "auto") -> MidiInPort:
        """Open the input port (UserError when there is no MIDI server or no such port)."""
        self.port = MidiInPort(spec, self.handle, api)
        log.info("MIDI in: %s (%s)", self.port.name, self.port.api)
        return self.port

    def handle(self, msg: list[int], when: float) -> None:
        self.stats.received += 1
        if msg and 0xF0 <= msg[0] <= 0xFF:
            if self.clock.feed(msg, when):
                self.stats.clock += 1
            else:
                self.stats.ignored += 1
            return
        try:
            event = parse(msg)
        except MalformedMidi as exc:
            self.stats.malformed += 1
            if self.stats.malformed in (1, 10, 100) or self.stats.malformed % 1000 == 0:
                log.warning("MIDI in: malformed message ignored (%d so far): %s", self.stats.malformed, exc)
            return
        if event is None:
            self.stats.ignored += 1
            return
        learned = self.learn.observe(event)
        if learned is not None and event.kind == "note":
            return  # learning a pad must not fire its action; a knob's first move already counts
        message = self.router.route(event)
        if message is not None:
            self.queue.post(message)

    def close(self) -> None:
        if self.port is not None:
            self.port.close()
            self.port = None
