"""MIDI ports through python-rtmidi: a controller's port by name, or a virtual port other programs connect to.

Linux has two MIDI servers rtmidi speaks to: the ALSA sequencer (USB controllers appear there) and JACK
(also where a headless machine without a sound card has MIDI: jackd's dummy driver). "auto" takes JACK
when a JACK server runs, else ALSA. A missing server or port is a UserError naming what exists; the
show runs without MIDI.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from vjgan.core.errors import UserError

log = logging.getLogger(__name__)

APIS = ("auto", "jack", "alsa")
CLIENT = "vjgan"  # JACK client names: vjgan_in, vjgan_out (ports vjgan_in:midi, vjgan_out:midi)
OnMessage = Callable[[list[int], float], None]  # (bytes, perf_counter() time of the message)


def _rtmidi() -> Any:
    try:
        import rtmidi
    except ImportError as exc:  # pragma: no cover - in requirements.txt
        raise UserError("MIDI needs python-rtmidi (pip install python-rtmidi==1.5.8)") from exc
    return rtmidi


def _client(kind: str, api: str, client: str) -> tuple[Any, str]:
    """An rtmidi MidiIn/MidiOut on the first API of `api` that has a server running."""
    rtmidi = _rtmidi()
    if api not in APIS:
        raise UserError(f"MIDI API {api!r}: use one of {', '.join(APIS)}")
    order = ["jack", "alsa"] if api == "auto" else [api]
    ids = {"jack": rtmidi.API_UNIX_JACK, "alsa": rtmidi.API_LINUX_ALSA}
    errors = []
    for name in order:
        if ids[name] not in rtmidi.get_compiled_api():
            errors.append(f"{name}: not compiled into python-rtmidi")
            continue
        try:
            cls = rtmidi.MidiIn if kind == "in" else rtmidi.MidiOut
            return cls(ids[name], name=client), name
        except rtmidi.RtMidiError as exc:
            errors.append(f"{name}: {exc}")
    raise UserError("no MIDI server: " + "; ".join(errors)
                    + " (start jackd, e.g. `jackd -d dummy` headless, or use a machine with an ALSA sequencer)")


def _open(midi: Any, spec: str, kind: str, client: str) -> str:
    """Open `spec` on an rtmidi client: "virtual" / "virtual:NAME", or an existing port by (part of) its name."""
    if spec == "virtual" or spec.startswith("virtual:"):
        name = spec.partition(":")[2] or "midi"
        midi.open_virtual_port(name)
        return f"{client}:{name} (virtual)"
    ports = midi.get_ports()
    exact = [i for i, p in enumerate(ports) if p == spec]
    found = exact or [i for i, p in enumerate(ports) if spec.lower() in p.lower()]
    if len(found) != 1:
        what = "no" if not found else "more than one"
        listing = ", ".join(repr(p) for p in ports) or "none"
        raise UserError(f"MIDI {kind}: {what} port matches {spec!r} (ports: {listing}; or 'virtual')")
    midi.open_port(found[0], "midi")
    return ports[found[0]]


class MidiInPort:
    """An open input; `on_message` runs on rtmidi's thread with each message and its time.

    The time is rebuilt from rtmidi's delta times (taken when the MIDI server delivered the message), so a
    callback that waited for the GIL still gets the message's own time: the clock's tempo depends on it."""

    def __init__(self, spec: str, on_message: OnMessage, api: str = "auto", client: str = f"{CLIENT}_in") -> None:
        self._midi, self.api = _client("in", api, client)
        self._on_message = on_message
        self._t: float | None = None
        self.errors = 0  # exceptions raised by on_message (logged)
        self._midi.ignore_types(sysex=True, timing=False, active_sense=True)  # the clock is timing
        try:
            self.name = _open(self._midi, spec, "in", client)
        except Exception:
            self._midi.delete()
            raise
        self._midi.set_callback(self._callback)

    def _callback(self, event: tuple[list[int], float], _data: Any = None) -> None:
        msg, delta = event
        now = time.perf_counter()
        t = now if self._t is None else self._t + delta
        if t > now or now - t > 1.0:  # first message, or the sum of deltas drifted: resync
            t = now
        self._t = t
        try:
            self._on_message(msg, t)
        except Exception:  # a bug in a handler must not kill rtmidi's thread
            self.errors += 1
            if self.errors in (1, 10, 100) or self.errors % 1000 == 0:
                log.exception("MIDI input handler failed (%d times)", self.errors)

    def ports(self) -> list[str]:
        return list(self._midi.get_ports())

    def close(self) -> None:
        self._midi.cancel_callback()
        self._midi.close_port()
        self._midi.delete()


class MidiOutPort:
    """An open output. `send` is rtmidi's: JACK queues the bytes for its next period, ALSA writes them."""

    def __init__(self, spec: str, api: str = "auto", client: str = f"{CLIENT}_out") -> None:
        self._midi, self.api = _client("out", api, client)
        try:
            self.name = _open(self._midi, spec, "out", client)
        except Exception:
            self._midi.delete()
            raise

    def send(self, msg: list[int]) -> None:
        self._midi.send_message(msg)

    def close(self) -> None:
        self._midi.close_port()
        self._midi.delete()
