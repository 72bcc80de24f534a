"""OSC learn: bind whatever address a controller sends next to a registry parameter.

Controllers (TouchOSC pages, Ableton's Max for Live devices) have their own address schemes
(`/1/fader3`), so instead of making the VJ type addresses, the panel arms learn for a parameter and the
next incoming address becomes an alias for it. Bindings are plain data so presets can store them.
Thread-safe: the panel arms/cancels from the GUI thread, the OSC server thread observes and routes.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from vjgan.core.bindings import Binding
from vjgan.core.errors import UserError
from vjgan.core.registry import ParamRegistry

log = logging.getLogger(__name__)


class OscLearn:
    """Learn state + the table of bindings the OSC server consults before the registry."""

    def __init__(self, registry: ParamRegistry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._bindings: dict[str, Binding] = {}
        self._armed: tuple[str, bool | None, float, float] | None = None
        self.last_learned: Binding | None = None
        self.version = 0  # bumps on every change so the panel can refresh its list

    # --- panel side ---
    def arm(self, target: str, scale: bool | None = None, in_range: tuple[float, float] = (0.0, 1.0)) -> None:
        """Bind the next incoming address to `target`. `scale=None`: scale when the target has a finite
        numeric range (TouchOSC faders send 0..1)."""
        if self.registry.get(target) is None:
            raise UserError(f"OSC learn: no parameter {target} (see docs/osc.md for the address space)")
        with self._lock:
            self._armed = (target, scale, float(in_range[0]), float(in_range[1]))
            self.version += 1

    def cancel(self) -> None:
        with self._lock:
            self._armed = None
            self.version += 1

    @property
    def armed(self) -> str | None:
        armed = self._armed
        return armed[0] if armed else None

    def bind(self, binding: Binding) -> None:
        with self._lock:
            self._bindings[binding.source] = binding
            self.version += 1

    def unbind(self, source: str) -> None:
        with self._lock:
            self._bindings.pop(source, None)
            self.version += 1

    def bindings(self) -> list[Binding]:
        with self._lock:
            return sorted(self._bindings.values(), key=lambda b: b.source)

    def to_dict(self) -> dict[str, Any]:
        """For presets: {"bindings": [ {source, target, scale, in_min, in_max}, ... ]}."""
        return {"bindings": [b.to_dict() for b in self.bindings()]}

    def load_dict(self, d: dict[str, Any], where: str = "OSC bindings") -> None:
        """Replace all bindings (preset load). UserError on invalid data, leaving the old ones in place."""
        items = d.get("bindings", []) if isinstance(d, dict) else None
        if not isinstance(items, list):
            raise UserError(f"{where}: expected a table with a 'bindings' list")
        new = {b.source: b for b in (Binding.from_dict(x, where) for x in items)}
        with self._lock:
            self._bindings = new
            self.version += 1

    @classmethod
    def from_dict(cls, registry: ParamRegistry, d: dict[str, Any], where: str = "OSC bindings") -> OscLearn:
        learn = cls(registry)
        learn.load_dict(d, where)
        return learn

    # --- OSC server side ---
    def observe(self, address: str) -> Binding | None:
        """Called for every well-formed incoming message: completes an armed learn. Returns the new binding."""
        if self._armed is None or address.startswith("/vjgan/out/"):  # never learn our own feature stream
            return None
        with self._lock:
            if self._armed is None:
                return None
            target, scale, lo, hi = self._armed
            param = self.registry.get(target)
            if scale is None:
                scale = bool(
                    param is not None
                    and param.kind in ("float", "int")
                    and param.minimum is not None
                    and param.maximum is not None
                )
            binding = Binding(address, target, scale, lo, hi)
            self._bindings[address] = binding
            self._armed = None
            self.last_learned = binding
            self.version += 1
        log.info("OSC learn: %s → %s%s", address, target, " (scaled)" if binding.scale else "")
        return binding

    def route(self, address: str) -> Binding | None:
        return self._bindings.get(address)
