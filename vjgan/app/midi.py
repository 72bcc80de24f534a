"""MIDI in the running app: `vjgan live --midi-in PORT|virtual --midi-out PORT|virtual`.

Wires the control stage's MIDI parts to the app: the input's messages go onto the app's ControlQueue, the
registry's changes go to the router (pickup) and to the feedback sender (registry watchers), the bindings live in
presets ([[midi.bindings]], like OSC learn's [osc] table), and the clock is the tempo source "midi".
A port that cannot be opened is a note; the show runs without it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from vjgan.control.midi import MidiInput
from vjgan.control.midi_bindings import MidiRouter
from vjgan.control.midi_clock import MidiClock
from vjgan.control.midi_feedback import MidiFeedback
from vjgan.control.midi_learn import MidiLearn
from vjgan.control.midi_ports import MidiOutPort
from vjgan.core.errors import UserError
from vjgan.core.panel_state import MidiView
from vjgan.core.registry import ControlQueue

log = logging.getLogger(__name__)


class LiveMidi:
    """Router, learn and clock always (so bindings load and save), ports as asked."""

    def __init__(self, queue: ControlQueue, note: Callable[[str], None], midi_in: str | None = None,
                 midi_out: str | None = None, api: str = "auto") -> None:
        self.queue = queue
        self.note = note
        self.router = MidiRouter(queue.registry)
        self.learn = MidiLearn(self.router)
        self.clock = MidiClock()
        self.input = MidiInput(queue, self.router, self.learn, self.clock)
        self.out: MidiOutPort | None = None
        self.feedback: MidiFeedback | None = None
        if midi_in:
            try:
                self.input.open(midi_in, api)
            except UserError as exc:
                note(f"MIDI in not opened: {exc}")
        if midi_out:
            try:
                self.out = MidiOutPort(midi_out, api)
                self.feedback = MidiFeedback(self.out.send, self.router)
                log.info("MIDI out: %s (%s)", self.out.name, self.out.api)
            except UserError as exc:
                note(f"MIDI out not opened: {exc}")
        self.watchers = [self.router.changed] + ([self.feedback.changed] if self.feedback is not None else [])
        queue.registry.watchers.extend(self.watchers)
        if self.feedback is not None:
            self.learn.on_learned.append(lambda _b: self.feedback.refresh() if self.feedback else None)

    def attach(self, mapping: Any) -> None:
        """Bindings live in presets (table [midi]): saved with the live state, replaced when one activates."""

        def activate(preset: Any) -> None:
            self.router.load_dict(preset.extra.get("midi", {}), where=f"preset {preset.name!r} [midi]")
            if self.feedback is not None:
                self.feedback.refresh()

        mapping.extra_providers["midi"] = self.router.to_dict
        mapping.on_activate.append(activate)
        try:
            activate(mapping.preset)  # the start-up preset was compiled before this listener existed
        except UserError as exc:
            self.note(f"MIDI bindings not loaded: {exc}")

    def start(self) -> None:
        if self.feedback is not None:
            self.feedback.start()
            self.feedback.refresh()  # LED rings and motor faders to where the show starts

    def stop(self) -> None:
        for watcher in self.watchers:
            if watcher in self.queue.registry.watchers:
                self.queue.registry.watchers.remove(watcher)
        self.input.close()
        if self.feedback is not None:
            self.feedback.stop()
        if self.out is not None:
            self.out.close()
            self.out = None

    # --- the panel's side (PanelPort calls, the snapshot) ------------------------------------------
    def arm(self, address: str, takeover: str = "jump", value: Any = None) -> None:
        try:
            self.learn.arm(address, takeover, value)
        except UserError as exc:
            self.note(str(exc))

    def view(self) -> MidiView:
        port = self.input.port
        reading = self.clock.read()
        fb = self.feedback.stats if self.feedback is not None else None
        return MidiView(
            in_port=port.name if port is not None else None,
            out_port=self.out.name if self.out is not None else None,
            stats=self.input.stats.line(self.router, self.learn)
            + (f"  feedback sent {fb.sent}" if fb is not None else ""),
            armed=self.learn.armed,
            bindings=tuple(self.router.bindings()),
            clock=self.clock.status(reading),
        )


def make_live_midi(app: Any) -> LiveMidi | None:
    """The app's MIDI when --midi-in or --midi-out asks for it, bound to its presets; None otherwise (a
    preset's [midi] table then passes through untouched)."""
    config = app.config
    if not (config.midi_in or config.midi_out):
        return None
    midi = LiveMidi(app.queue, app.note, config.midi_in, config.midi_out, config.midi_api)
    midi.attach(app.mapping)
    return midi
