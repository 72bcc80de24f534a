"""A small registry with one parameter of each kind, the queue, and a running OscServer on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from vjgan.control.osc import OscServer
from vjgan.core.registry import ControlQueue, Param, ParamRegistry, ParamStore

PARAMS = (
    Param("/vjgan/test/x", "float", "a float 0..1", 0.0, 1.0, 0.5, "test"),
    Param("/vjgan/test/y", "float", "a float 0..2", 0.0, 2.0, 1.0, "test"),
    Param("/vjgan/test/n", "int", "an int 0..10", 0, 10, 3, "test"),
    Param("/vjgan/test/on", "bool", "a switch", None, None, False, "test"),
    Param("/vjgan/test/name", "str", "a name", None, None, "", "test"),
    Param("/vjgan/test/go", "trigger", "a trigger", group="test"),
)


@dataclass
class Rig:
    registry: ParamRegistry
    queue: ControlQueue
    store: ParamStore
    server: OscServer

    @property
    def port(self) -> int:
        return self.server.port

    def drain_until(self, applied: int, timeout: float = 3.0) -> int:
        """Drain like a render loop (every ~2 ms) until `applied` messages were applied in total."""
        import time

        deadline = time.monotonic() + timeout
        while self.queue.stats.applied < applied and time.monotonic() < deadline:
            self.queue.drain()
            time.sleep(0.002)
        return self.queue.stats.applied


def make_registry() -> tuple[ParamRegistry, ParamStore]:
    registry, store = ParamRegistry(), ParamStore()
    for p in PARAMS:
        registry.register(p, store.setter(p.address))
    return registry, store


@pytest.fixture
def rig() -> Iterator[Rig]:
    registry, store = make_registry()
    queue = ControlQueue(registry)
    server = OscServer(registry, queue, port=0).start()
    try:
        yield Rig(registry, queue, store, server)
    finally:
        server.stop()
