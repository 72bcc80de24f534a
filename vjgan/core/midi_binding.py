"""A MIDI binding: a controller's CC, note or pitch bend on one channel, bound to a registry target.

Shared ground for the same reason as `bindings.py` (OSC learn): presets store MIDI bindings (mapping
validates them at load) and the control stage applies them. Plain data; the takeover state lives in the
router (vjgan/control/midi_bindings.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from vjgan.core.errors import UserError

MidiKind = Literal["cc", "note", "pitchbend"]
KINDS: tuple[str, ...] = ("cc", "note", "pitchbend")
# "jump": the parameter follows the knob at once; "pickup": the knob is ignored until it crosses the
# parameter's current value (no jump when a preset, the panel or OSC moved the parameter meanwhile)
TAKEOVERS: tuple[str, ...] = ("jump", "pickup")
BINDING_KEYS = ("kind", "channel", "number", "target", "takeover", "value", "feedback")


@dataclass(frozen=True, slots=True)
class MidiBinding:
    """`kind` `number` on `channel` (1..16, as controllers label them) → registry `target`.

    CC values (0..127) and pitch bend (0..16383) are scaled onto the target's [minimum, maximum]; a note-on
    fires a trigger, toggles a bool, or sets a number from its velocity. With `value`, a note-on sends that
    fixed value instead (a preset name for /vjgan/preset/load, a seed for /vjgan/latent/reseed).
    """

    kind: MidiKind
    channel: int
    number: int  # CC or note number; 0 for pitch bend
    target: str
    takeover: str = "jump"
    value: Any = None
    feedback: bool = True  # send the target's changes back to the control (LED rings, motor faders)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.kind, self.channel, self.number)

    @property
    def source(self) -> str:
        """The control in words, e.g. 'cc 7 ch 1'; also the `origin` of the messages it posts."""
        return source_name(self.kind, self.channel, self.number)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "channel": self.channel}
        if self.kind != "pitchbend":
            d["number"] = self.number
        d["target"] = self.target
        d["takeover"] = self.takeover
        if self.value is not None:
            d["value"] = self.value
        if not self.feedback:
            d["feedback"] = False
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "MIDI bindings") -> MidiBinding:
        try:
            if not isinstance(d, dict):
                raise ValueError("expected a table")
            unknown = sorted(set(d) - set(BINDING_KEYS))
            if unknown:
                raise ValueError(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(BINDING_KEYS)})")
            kind = d.get("kind")
            if kind not in KINDS:
                raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
            channel = _int(d.get("channel", 1), "channel", 1, 16)
            number = 0 if kind == "pitchbend" else _int(d.get("number"), "number", 0, 127)
            target = d.get("target")
            if not (isinstance(target, str) and target.startswith("/")):
                raise ValueError(f"target must be a registry address starting with '/', got {target!r}")
            takeover = d.get("takeover", "jump")
            if takeover not in TAKEOVERS:
                raise ValueError(f"takeover must be one of {', '.join(TAKEOVERS)}, got {takeover!r}")
            value = d.get("value")
            if value is not None:
                if not isinstance(value, bool | int | float | str):
                    raise ValueError(f"value must be a number, a string or a boolean, got {value!r}")
                if isinstance(value, float) and not math.isfinite(value):
                    raise ValueError("value must be finite")
            feedback = d.get("feedback", True)
            if not isinstance(feedback, bool):
                raise ValueError(f"feedback must be true or false, got {feedback!r}")
            return cls(kind, channel, number, target, takeover, value, feedback)
        except ValueError as exc:
            raise UserError(f"{where}: invalid binding {d!r}: {exc}") from exc


def source_name(kind: str, channel: int, number: int) -> str:
    return f"pitchbend ch {channel}" if kind == "pitchbend" else f"{kind} {number} ch {channel}"


def bindings_from_dict(d: Any, where: str = "MIDI bindings") -> list[MidiBinding]:
    """The [midi] table of a preset: {"bindings": [...]}; UserError naming the first bad one. Two bindings
    of one control would fight, so a duplicate is an error too."""
    if not isinstance(d, dict):
        raise UserError(f"{where}: expected a table with a 'bindings' list")
    unknown = sorted(set(d) - {"bindings"})
    if unknown:
        raise UserError(f"{where}: unknown key(s) {', '.join(unknown)} (only [[midi.bindings]])")
    items = d.get("bindings", [])
    if not isinstance(items, list):
        raise UserError(f"{where}: expected [[midi.bindings]] tables")
    out: dict[tuple[str, int, int], MidiBinding] = {}
    for i, x in enumerate(items):
        b = MidiBinding.from_dict(x, f"{where}[{i}]")
        if b.key in out:
            raise UserError(f"{where}[{i}]: {b.source} is bound twice ({out[b.key].target} and {b.target})")
        out[b.key] = b
    return list(out.values())


def _int(x: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or not lo <= x <= hi:
        raise ValueError(f"{name} must be an integer {lo}..{hi}, got {x!r}")
    return x
