"""MIDI learn: the next CC, note or pitch bend a controller sends becomes the binding of an armed parameter.

Like OSC learn (learn.py): the panel arms a target ("click a control, move a knob"), the MIDI input thread
completes it. Thread-safe: arm/cancel from the panel's thread, observe from rtmidi's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vjgan.control.midi_bindings import MidiEvent, MidiRouter
from vjgan.core.errors import UserError
from vjgan.core.midi_binding import TAKEOVERS, MidiBinding

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Armed:
    target: str
    takeover: str
    value: Any


class MidiLearn:
    def __init__(self, router: MidiRouter) -> None:
        self.router = router
        self._lock = threading.Lock()
        self._armed: _Armed | None = None
        self.last_learned: MidiBinding | None = None
        self.learned = 0
        self.on_learned: list[Callable[[MidiBinding], None]] = []  # e.g. feedback shows the value at once

    def arm(self, target: str, takeover: str = "jump", value: Any = None) -> None:
        """Bind the next control that moves to `target`. A string parameter (a preset name to load) needs
        the fixed `value` a note then sends."""
        param = self.router.registry.get(target)
        if param is None:
            raise UserError(f"MIDI learn: no parameter {target} (see docs/osc.md for the address space)")
        if takeover not in TAKEOVERS:
            raise UserError(f"MIDI learn: takeover must be one of {', '.join(TAKEOVERS)}, got {takeover!r}")
        if param.kind == "str" and value is None:
            raise UserError(f"MIDI learn: {target} takes a string; give the value a note should send")
        if isinstance(value, str) and param.kind in ("int", "float"):  # typed in the panel
            try:
                value = int(value) if param.kind == "int" else float(value)
            except ValueError as exc:
                raise UserError(f"MIDI learn: {target} takes a number, not {value!r}") from exc
        with self._lock:
            self._armed = _Armed(target, takeover, value)

    def cancel(self) -> None:
        with self._lock:
            self._armed = None

    @property
    def armed(self) -> str | None:
        armed = self._armed
        return armed.target if armed else None

    def observe(self, event: MidiEvent) -> MidiBinding | None:
        """MIDI input thread, every bindable event: completes an armed learn (a note-off never does)."""
        if self._armed is None or event.kind == "note_off":
            return None
        with self._lock:
            armed, self._armed = self._armed, None
        if armed is None:
            return None
        kind = "note" if event.kind == "note" else event.kind
        binding = MidiBinding(kind, event.channel, event.number, armed.target, armed.takeover,  # type: ignore[arg-type]
                              armed.value)
        self.router.bind(binding)
        self.last_learned = binding
        self.learned += 1
        log.info("MIDI learn: %s → %s (%s)", binding.source, binding.target, binding.takeover)
        for listener in self.on_learned:
            listener(binding)
        return binding
