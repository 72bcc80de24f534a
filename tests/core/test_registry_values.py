"""The registry's value table: what queries read and feedback follows, published by the render thread."""

from __future__ import annotations

from typing import Any

from vjgan.core.registry import ControlQueue, Param, ParamChange, ParamRegistry, ParamStore


def _registry() -> tuple[ParamRegistry, ParamStore, list[tuple[ParamChange, ...]]]:
    registry, store = ParamRegistry(), ParamStore()
    registry.register(Param("/t/x", "float", "x", 0.0, 1.0, 0.5, "g"), store.setter("x"))
    registry.register(Param("/t/n", "int", "n", 0, 10, 3, "g"), store.setter("n"))
    registry.register(Param("/t/go", "trigger", "go", group="g"), store.setter("go"))
    registry.register(Param("/t/cmd", "str", "a command without a value yet", group="g"), store.setter("cmd"))
    heard: list[tuple[ParamChange, ...]] = []
    registry.watchers.append(heard.append)
    return registry, store, heard


def test_registration_publishes_defaults_and_drain_publishes_applied_values() -> None:
    registry, _, heard = _registry()
    assert registry.values() == {"/t/x": 0.5, "/t/n": 3}  # a trigger and an unset command have no value
    before = registry.values()
    queue = ControlQueue(registry)
    queue.set("/t/x", 0.7, origin="osc:10.0.0.5:9001")
    queue.set("/t/x", 2.0, origin="midi")  # clamped to 1.0; the newest of one drain wins
    queue.set("/t/n", 3, origin="panel")  # unchanged: not a change
    queue.set("/t/go", 1, origin="panel")  # a trigger: no value
    queue.set("/t/n", "many", origin="panel")  # rejected: not recorded
    assert queue.drain() == 4
    assert registry.values() == {"/t/x": 1.0, "/t/n": 3}
    assert before == {"/t/x": 0.5, "/t/n": 3}  # a published table is never mutated: readers need no lock
    assert heard == [(ParamChange("/t/x", 1.0, "midi"),)]


def test_re_registration_with_a_new_current_value_is_a_change() -> None:
    registry, store, heard = _registry()
    heard.clear()
    items: list[tuple[Param, Any]] = [
        (Param("/t/x", "float", "x", 0.0, 1.0, 0.25, "g"), store.setter("x")),  # a preset load moved it
        (Param("/t/n", "int", "n", 0, 10, 3, "g"), store.setter("n")),  # same value: not a change
    ]
    registry.replace_group("g", items)
    assert heard == [(ParamChange("/t/x", 0.25, "register:g"),)]
    assert registry.values() == {"/t/x": 0.25, "/t/n": 3}  # /t/go and /t/cmd are gone with their group


def test_a_failing_watcher_does_not_stop_the_render_loop() -> None:
    registry, store, heard = _registry()

    def broken(_changes: tuple[ParamChange, ...]) -> None:
        raise RuntimeError("feedback bug")

    registry.watchers.insert(0, broken)
    queue = ControlQueue(registry)
    queue.set("/t/x", 0.1)
    assert queue.drain() == 1
    assert store.values["x"] == 0.1 and heard[-1] == (ParamChange("/t/x", 0.1, "panel"),)
