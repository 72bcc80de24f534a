"""MIDI feedback: a bound parameter's changes go back out to its control (LED rings, motor faders, pad LEDs).

The registry's change batches (a registry watcher, on the render thread: applied messages, and a preset
load re-registering its targets with new values) are only turned into three bytes each and left in a dict
keyed by control (the newest value per control wins, so the dict is bounded by the bindings); a
sender thread of its own sends them at most every `interval` seconds, so a flood of changes neither
blocks the render loop nor floods the controller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vjgan.control.midi_bindings import MidiRouter, fraction_of
from vjgan.core.midi_binding import MidiBinding
from vjgan.core.registry import Param, ParamChange

log = logging.getLogger(__name__)


def feedback_bytes(b: MidiBinding, param: Param | None, value: Any) -> list[int] | None:
    """The message that shows `value` on the control of `b`; None when there is nothing to show."""
    ch = b.channel - 1
    if b.kind == "note":
        if b.value is not None:  # a pad that sends a fixed value: lit while that value is the current one
            on = value == b.value
        elif param is not None and param.kind == "trigger":
            return None
        elif isinstance(value, bool):
            on = value
        else:
            f = fraction_of(param, value)
            if f is None:
                return None
            vel = round(f * 127)
            return [0x90 | ch, b.number, vel] if vel else [0x80 | ch, b.number, 0]
        return [0x90 | ch, b.number, 127] if on else [0x80 | ch, b.number, 0]
    if param is not None and param.kind in ("trigger", "str"):
        return None
    f = (1.0 if value else 0.0) if isinstance(value, bool) else fraction_of(param, value)
    if f is None:
        return None
    if b.kind == "pitchbend":
        v = round(f * 16383)
        return [0xE0 | ch, v & 0x7F, v >> 7]
    return [0xB0 | ch, b.number, round(f * 127)]


@dataclass
class FeedbackStats:
    queued: int = 0
    sent: int = 0
    coalesced: int = 0  # values replaced by a newer one before they were sent
    errors: int = 0


class MidiFeedback:
    """Applied values of bound targets → their controls, on a thread of its own."""

    def __init__(self, send: Callable[[list[int]], None], router: MidiRouter, interval: float = 0.01) -> None:
        self._send = send
        self.router = router
        self.interval = interval
        self.stats = FeedbackStats()
        self._pending: dict[tuple[str, int, int], list[int]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="midi-feedback", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(1.0)

    # --- render thread (a registry watcher) ---------------------------------------------------------
    def changed(self, changes: tuple[ParamChange, ...]) -> None:
        for c in changes:
            bound = self.router.bound_to(c.address)
            if not bound:
                continue
            param = self.router.registry.get(c.address)
            for b in bound:
                # a fader that moved the value needs no echo (a motor fader would fight the hand); pads do
                if b.feedback and not (b.kind != "note" and c.origin == b.source):
                    self._queue(b, feedback_bytes(b, param, c.value))

    def refresh(self) -> None:
        """Every bound control to its parameter's current value (after learn or a preset load)."""
        for b in self.router.bindings():
            if b.feedback:
                param = self.router.registry.get(b.target)
                self._queue(b, feedback_bytes(b, param, self.router.value_of(b.target)))

    def _queue(self, b: MidiBinding, msg: list[int] | None) -> None:
        if msg is None:
            return
        with self._lock:
            if b.key in self._pending:
                self.stats.coalesced += 1
            self._pending[b.key] = msg
            self.stats.queued += 1
        self._wake.set()

    # --- sender thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                batch, self._pending = self._pending, {}
            for msg in batch.values():
                try:
                    self._send(msg)
                    self.stats.sent += 1
                except Exception as exc:  # a port that went away: count, log once in a while, go on
                    self.stats.errors += 1
                    if self.stats.errors in (1, 10, 100):
                        log.warning("MIDI feedback send failed (%d times): %s", self.stats.errors, exc)
            self._stop.wait(self.interval)  # at most one batch per interval: the newest values win
