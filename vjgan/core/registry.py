"""The one parameter registry: every live-controllable value, with its OSC address, type and range.

Single source of truth for OSC (in and out), the panel, OSC learn and docs/osc.md. Stages register the
parameters they own together with an `apply` callback; callbacks only ever run on the render thread,
when `ControlQueue.drain` applies queued messages at the start of a frame, so network and GUI threads
never touch the generator, the mapping engine or the GL context directly.

The registry also keeps every parameter's current value (`values()`): a stage registers a parameter with
its current value as `default`, and the queue records each value it applies. The table is published as a
new dict after each change (never mutated afterwards), so other threads (OSC queries) read it without a
lock and the render thread never waits; `watchers` hear each batch of changes (OSC feedback).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

Kind = Literal["float", "int", "bool", "str", "trigger"]


class ParamError(ValueError):
    """A message that cannot be applied: unknown address or unusable value. Logged, never fatal."""


@dataclass(frozen=True, slots=True)
class Param:
    address: str  # e.g. "/vjgan/target/truncation"
    kind: Kind
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    group: str = ""  # owner, so a stage can replace all its params at once (e.g. on preset load)

    def coerce(self, value: Any) -> tuple[Any, bool]:
        """Value converted to this param's kind and clamped to its range; second item: was clamped."""
        if self.kind == "trigger":
            return True, False
        if self.kind == "str":
            if not isinstance(value, str):
                raise ParamError(f"{self.address} expects a string, got {type(value).__name__}")
            return value, False
        if isinstance(value, str | bytes) or value is None:
            raise ParamError(f"{self.address} expects a number, got {type(value).__name__}")
        try:
            x = float(value)
        except (TypeError, ValueError) as exc:
            raise ParamError(f"{self.address} expects a number, got {value!r}") from exc
        if not math.isfinite(x):
            raise ParamError(f"{self.address} got a non-finite value {x}")
        if self.kind == "bool":
            return x >= 0.5, False
        clamped = x
        if self.minimum is not None:
            clamped = max(self.minimum, clamped)
        if self.maximum is not None:
            clamped = min(self.maximum, clamped)
        if self.kind == "int":
            return int(round(clamped)), clamped != x
        return float(clamped), clamped != x  # float even when the bounds were written as ints


@dataclass(frozen=True, slots=True)
class ControlMessage:
    """A request to set a parameter, from OSC, the panel, MIDI or a preset."""

    address: str
    value: Any
    origin: str = "panel"
    due: float = 0.0  # time.perf_counter() at which to apply (OSC bundle time tags); 0 = next frame


@dataclass(frozen=True, slots=True)
class ParamChange:
    """A parameter's value changed: applied by the queue (`origin` of its message, e.g. "osc:10.0.0.5:9001",
    "panel", "midi") or re-registered by its stage with a new current value (origin "register:GROUP")."""

    address: str
    value: Any
    origin: str


def _initial(param: Param) -> Any:
    """The value a registration announces: its default, coerced (None: no value, e.g. a trigger)."""
    if param.kind == "trigger" or param.default is None:
        return None
    try:
        return param.coerce(param.default)[0]
    except ParamError:
        return None


class ParamRegistry:
    def __init__(self) -> None:
        self._params: dict[str, tuple[Param, Callable[[Any], None]]] = {}
        self._lock = threading.Lock()
        self.version = 0  # bumps on every change, so the panel / OSC docs know to refresh
        self._values: dict[str, Any] = {}  # published table: replaced, never mutated
        # called with each batch of changes, on the thread that made them (mostly the render thread): must not block
        self.watchers: list[Callable[[tuple[ParamChange, ...]], None]] = []

    def register(self, param: Param, apply: Callable[[Any], None]) -> None:
        with self._lock:
            self._params[param.address] = (param, apply)
            self.version += 1
            changes = self._publish({param.address: _initial(param)}, f"register:{param.group}")
        self._notify(changes)

    def replace_group(self, group: str, items: Iterable[tuple[Param, Callable[[Any], None]]]) -> None:
        with self._lock:
            self._params = {a: pa for a, pa in self._params.items() if pa[0].group != group}
            new: dict[str, Any] = {}
            for param, apply in items:
                self._params[param.address] = (param, apply)
                new[param.address] = _initial(param)
            self.version += 1
            changes = self._publish(new, f"register:{group}")
        self._notify(changes)

    def values(self) -> dict[str, Any]:
        """Current value of every parameter that has one (a snapshot: do not mutate). Any thread."""
        return self._values

    def record(self, changes: Iterable[ParamChange]) -> None:
        """Publish applied values (the queue, on the render thread); the newest per address wins."""
        latest = {c.address: c for c in changes}
        with self._lock:
            old = self._values
            out = [c for c in latest.values()
                   if c.address in self._params and (c.address not in old or old[c.address] != c.value)]
            if out:  # copy-on-write: ~3 µs for 400 parameters, once per frame that changed something
                self._values = {**old, **{c.address: c.value for c in out}}
        self._notify(tuple(out))

    def _publish(self, new: dict[str, Any], origin: str) -> tuple[ParamChange, ...]:
        """Lock held. Values of (re)registered params: a None keeps the known value; unregistered ones go."""
        table = {a: v for a, v in self._values.items() if a in self._params}
        out = []
        for address, value in new.items():
            if value is None:
                continue
            if address not in table or table[address] != value or type(table[address]) is not type(value):
                table[address] = value
                out.append(ParamChange(address, value, origin))
        self._values = table
        return tuple(out)

    def _notify(self, changes: tuple[ParamChange, ...]) -> None:
        if not changes:
            return
        for watcher in list(self.watchers):
            try:
                watcher(changes)
            except Exception:  # a feedback bug must not stop the render loop
                log.exception("registry watcher failed")

    def get(self, address: str) -> Param | None:
        entry = self._params.get(address)
        return entry[0] if entry else None

    def params(self) -> list[Param]:
        with self._lock:
            return sorted((p for p, _ in self._params.values()), key=lambda p: p.address)

    def resolve(self, address: str, value: Any) -> tuple[Param, Callable[[Any], None], Any, bool]:
        entry = self._params.get(address)
        if entry is None:
            raise ParamError(f"unknown address {address}")
        param, apply = entry
        coerced, clamped = param.coerce(value)
        return param, apply, coerced, clamped


@dataclass
class ControlStats:
    applied: int = 0
    rejected: int = 0
    clamped: int = 0
    dropped: int = 0  # messages dropped because MAX_PENDING were already waiting (a flood, a stalled loop)
    last_error: str = ""


MAX_PENDING = 8192  # messages waiting for the render loop (inbox), and timed ones waiting for their time


class ControlQueue:
    """Thread-safe inbox of ControlMessages; the render loop drains it once per frame.

    Bounded: an OSC flood while the render loop stalls drops the oldest waiting messages (the newest
    value of a control is the one that matters), and a full schedule of future (timed bundle) messages
    refuses new ones; both counted in `stats.dropped`. Posting never blocks.
    """

    def __init__(self, registry: ParamRegistry, max_pending: int = MAX_PENDING) -> None:
        self.registry = registry
        self.max_pending = max_pending
        self._inbox: deque[ControlMessage] = deque(maxlen=max_pending)  # append/popleft: thread-safe
        self._later: list[tuple[float, int, ControlMessage]] = []
        self._tiebreak = itertools.count()
        self.stats = ControlStats()
        self.listeners: list[Callable[[ControlMessage], None]] = []  # e.g. OSC learn in the panel
        # render thread, before a message is scheduled: True = the gate took it (a leader holds changes
        # until the next beat and mirrors them to its followers; vjgan/app/follow.py)
        self.gate: Callable[[ControlMessage], bool] | None = None

    def post(self, message: ControlMessage) -> None:
        if len(self._inbox) >= self.max_pending:
            self.stats.dropped += 1  # the append below pushes the oldest out
        self._inbox.append(message)

    def set(self, address: str, value: Any, origin: str = "panel") -> None:
        self.post(ControlMessage(address, value, origin))

    def drain(self, now: float | None = None) -> int:
        """Apply every message that is due; returns how many were applied. Render thread only."""
        now = time.perf_counter() if now is None else now
        while self._inbox:
            m = self._inbox.popleft()
            if self.gate is not None and self.gate(m):
                continue
            if len(self._later) >= self.max_pending and m.due > now:
                self.stats.dropped += 1
                continue
            heapq.heappush(self._later, (m.due, next(self._tiebreak), m))
        applied = 0
        changes: list[ParamChange] = []
        while self._later and self._later[0][0] <= now:
            _, _, m = heapq.heappop(self._later)
            for listener in self.listeners:
                try:
                    listener(m)
                except Exception:  # a panel/learn listener bug must not stop the render loop
                    log.exception("control listener failed on %s", m.address)
            try:
                param, apply, value, clamped = self.registry.resolve(m.address, m.value)
                if clamped:
                    self.stats.clamped += 1
                    log.info("%s clamped to %s (range %s..%s)", m.address, value, param.minimum, param.maximum)
                apply(value)
                applied += 1
                if param.kind != "trigger":
                    changes.append(ParamChange(m.address, value, m.origin))
            except ParamError as exc:
                self.stats.rejected += 1
                self.stats.last_error = str(exc)
                log.warning("control message rejected (%s): %s", m.origin, exc)
            except Exception as exc:  # a stage's apply refused the value (e.g. UserError): the show goes on
                self.stats.rejected += 1
                self.stats.last_error = f"{m.address}: {exc}"
                log.warning("control message %s=%r failed (%s): %s", m.address, m.value, m.origin, exc)
        self.stats.applied += applied
        if changes:
            self.registry.record(changes)
        return applied


@dataclass
class ParamStore:
    """Plain value holder for parameters that are just numbers read once per frame (e.g. GUI sliders)."""

    values: dict[str, Any] = field(default_factory=dict)

    def setter(self, key: str) -> Callable[[Any], None]:
        def apply(value: Any) -> None:
            self.values[key] = value

        return apply
