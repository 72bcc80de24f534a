"""MIDI in → registry: parse a channel message, look its control up in the bindings, scale its value onto
the target's range, honour the takeover mode, and hand back the ControlMessage to post.

Why a router of its own: the MIDI input thread (rtmidi's) only translates and posts, like the OSC server;
the value it compares a knob against for pickup is the registry's published current value
(`ParamRegistry.values()`), and the registry's change batches (`changed`, a registry watcher) tell it when
something else moved a bound parameter, so it never reads stage state.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vjgan.core.midi_binding import MidiBinding, bindings_from_dict
from vjgan.core.registry import ControlMessage, Param, ParamChange, ParamRegistry

PICKUP_TOLERANCE = 1.5 / 127  # a knob within one step of the value has caught it


class MalformedMidi(ValueError):
    """Bytes that are no valid MIDI message (truncated, a data byte >= 128)."""


@dataclass(frozen=True, slots=True)
class MidiEvent:
    """A channel message that can drive a binding. `kind` "note_off" shares its note's binding."""

    kind: str  # "cc", "note", "note_off", "pitchbend"
    channel: int  # 1..16
    number: int  # CC / note number, 0 for pitch bend
    value: int  # 0..127 (CC value, velocity), 0..16383 for pitch bend

    @property
    def key(self) -> tuple[str, int, int]:
        return ("note" if self.kind == "note_off" else self.kind, self.channel, self.number)

    @property
    def fraction(self) -> float:
        return self.value / (16383.0 if self.kind == "pitchbend" else 127.0)


_LENGTHS = {0x80: 3, 0x90: 3, 0xA0: 3, 0xB0: 3, 0xC0: 2, 0xD0: 2, 0xE0: 3}


def parse(msg: Sequence[int]) -> MidiEvent | None:
    """A bindable event, or None for the rest (program change, aftertouch, system messages). Raises
    MalformedMidi for bytes that are no MIDI message at all."""
    if not msg:
        raise MalformedMidi("empty message")
    status = msg[0]
    if not 0x80 <= status <= 0xFF:
        raise MalformedMidi(f"no status byte: {list(msg)[:4]}")
    if status >= 0xF0:
        return None  # system common / real time: the clock reads those
    kind, channel = status & 0xF0, (status & 0x0F) + 1
    if len(msg) != _LENGTHS[kind] or any(not 0 <= b < 0x80 for b in msg[1:]):
        raise MalformedMidi(f"bad channel message {list(msg)[:4]}")
    if kind == 0xB0:
        return MidiEvent("cc", channel, msg[1], msg[2])
    if kind == 0x90:
        return MidiEvent("note" if msg[2] else "note_off", channel, msg[1], msg[2])
    if kind == 0x80:
        return MidiEvent("note_off", channel, msg[1], msg[2])
    if kind == 0xE0:
        return MidiEvent("pitchbend", channel, 0, msg[1] | (msg[2] << 7))
    return None


def fraction_of(param: Param | None, value: Any) -> float | None:
    """Where `value` sits in the param's range, 0..1; None without a finite numeric range."""
    if param is None or param.minimum is None or param.maximum is None or param.maximum == param.minimum:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return min(max((float(value) - param.minimum) / (param.maximum - param.minimum), 0.0), 1.0)


@dataclass
class RouterStats:
    routed: int = 0  # control messages posted
    unbound: int = 0  # channel messages no binding wants
    pickup_waiting: int = 0  # knob moves ignored until the knob crosses the value (pickup)
    unusable: int = 0  # bound, but nothing to send (note-off, a string target without a fixed value)


class MidiRouter:
    """The binding table and the takeover state.

    `route` runs on the MIDI input thread, `changed` on the render thread (a registry watcher), the table
    edits on the panel's or the loop's; one lock, held for microseconds, guards it all.
    """

    def __init__(self, registry: ParamRegistry) -> None:
        self.registry = registry
        self.stats = RouterStats()
        self.version = 0  # bumps on every table change (the panel refreshes its list)
        self._lock = threading.Lock()
        self._bindings: dict[tuple[str, int, int], MidiBinding] = {}
        self._picked: set[tuple[str, int, int]] = set()  # pickup bindings that hold their parameter
        self._last: dict[tuple[str, int, int], float] = {}  # control → its previous fraction

    # --- the table -------------------------------------------------------------------------------
    def bind(self, binding: MidiBinding) -> None:
        with self._lock:
            self._bindings[binding.key] = binding
            self._picked.discard(binding.key)
            self.version += 1

    def unbind(self, source: str) -> None:
        with self._lock:
            self._bindings = {k: b for k, b in self._bindings.items() if b.source != source}
            self.version += 1

    def bindings(self) -> list[MidiBinding]:
        with self._lock:
            return sorted(self._bindings.values(), key=lambda b: b.key)

    def bound_to(self, target: str) -> list[MidiBinding]:
        with self._lock:
            return [b for b in self._bindings.values() if b.target == target]

    def value_of(self, target: str) -> Any:
        """The target's current value (the registry's published one)."""
        return self._current(target, self.registry.get(target))

    def to_dict(self) -> dict[str, Any]:
        """For presets: {"bindings": [{kind, channel, number, target, takeover, ...}, ...]}."""
        return {"bindings": [b.to_dict() for b in self.bindings()]}

    def load_dict(self, d: Any, where: str = "MIDI bindings") -> None:
        """Replace every binding (preset load); UserError on bad data, leaving the old ones in place."""
        new = {b.key: b for b in bindings_from_dict(d, where)}
        with self._lock:
            self._bindings = new
            self._picked.clear()
            self.version += 1

    # --- MIDI input thread -----------------------------------------------------------------------
    def route(self, event: MidiEvent) -> ControlMessage | None:
        """The message this event asks for, or None (counted in `stats` by why)."""
        with self._lock:
            b = self._bindings.get(event.key)
            if b is None:
                self.stats.unbound += 1
                return None
            param = self.registry.get(b.target)
            value = self._value(b, event, param)
            if value is None:
                return None
        self.stats.routed += 1
        return ControlMessage(b.target, value, b.source)

    def _value(self, b: MidiBinding, event: MidiEvent, param: Param | None) -> Any:
        kind = param.kind if param is not None else "float"
        previous = self._last.get(event.key)
        self._last[event.key] = event.fraction
        if event.kind == "note_off":
            self.stats.unusable += 1
            return None
        if b.value is not None:
            if event.kind == "note" or (event.fraction >= 0.5 and (previous is None or previous < 0.5)):
                return b.value
            return None
        if kind == "trigger":  # a button: fires on note-on, or when a CC goes over the middle
            if event.kind == "note" or (event.fraction >= 0.5 and (previous is None or previous < 0.5)):
                return True
            return None
        if kind == "bool":
            if event.kind == "note":
                return not bool(self._current(b.target, param))
            return event.fraction >= 0.5
        if kind == "str":
            self.stats.unusable += 1
            return None
        if event.kind != "note" and b.takeover == "pickup" and not self._pickup(b, event.fraction, previous, param):
            self.stats.pickup_waiting += 1
            return None
        return _scaled(event.fraction, param)

    def _pickup(self, b: MidiBinding, f: float, previous: float | None, param: Param | None) -> bool:
        if b.key in self._picked:
            return True
        at = fraction_of(param, self._current(b.target, param))
        if at is None or abs(f - at) <= PICKUP_TOLERANCE or (previous is not None and (previous - at) * (f - at) <= 0):
            self._picked.add(b.key)
            return True
        return False

    def _current(self, target: str, param: Param | None) -> Any:
        return self.registry.values().get(target, param.default if param is not None else None)

    # --- render thread ---------------------------------------------------------------------------
    def changed(self, changes: tuple[ParamChange, ...]) -> None:
        """A registry watcher: a bound parameter that moved because of anything but the control itself (the
        panel, OSC, a preset load re-registering it with a new value) lets go of its pickup bindings."""
        with self._lock:
            for c in changes:
                for b in self._bindings.values():
                    if b.target == c.address and b.source != c.origin:
                        self._picked.discard(b.key)


def _scaled(fraction: float, param: Param | None) -> float:
    if param is None or param.minimum is None or param.maximum is None:
        return fraction  # no finite range: 0..1 as is (the queue clamps)
    return param.minimum + fraction * (param.maximum - param.minimum)
