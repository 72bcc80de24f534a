"""Routing: where a parsed OSC message goes, and the one value it carries there.

Modelled on python-osc's `Dispatcher` (address → handlers, patterns matched against the known addresses),
but the "handlers" are parameters of the `ParamRegistry` and handling never runs them: a message becomes a
`ControlMessage` posted to the `ControlQueue`, applied by the render thread at its next frame. Lookup order:
a learned alias (`OscLearn`, e.g. TouchOSC's `/1/fader3`), then the exact parameter address, then an
address pattern over every parameter. The caller (the server) serialises calls; one `OscStats` counts
what happened to each message.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from vjgan.control.learn import OscLearn
from vjgan.control.oscpattern import compile_pattern, is_pattern, pattern_matches
from vjgan.control.oscstats import OscStats
from vjgan.control.oscwire import WireMessage
from vjgan.core.bindings import Binding
from vjgan.core.registry import ControlMessage, ControlQueue, ParamError, ParamRegistry


def value_for(kind: str, args: tuple[Any, ...], address: str) -> Any:
    """The single value a parameter of `kind` takes from an OSC argument list (None: nothing to do).

    ParamError when the arguments cannot be one value (the message is refused and counted)."""
    if kind == "trigger":
        # TouchOSC buttons send 1 on press and 0 on release; a bare message or an impulse also fires.
        if not args:
            return True
        a = args[0]
        if isinstance(a, str | bytes) or a is None:
            return True
        if isinstance(a, float) and not math.isfinite(a):
            raise ParamError(f"{address} got a non-finite value {a}")
        return True if a else None
    if len(args) != 1:
        raise ParamError(f"{address} expects exactly one argument, got {len(args)}")
    a = args[0]
    if isinstance(a, bytes) or a is None:
        raise ParamError(f"{address} cannot take a {'blob' if a is not None else 'nil'} argument")
    return a


class OscDispatcher:
    """Turns parsed messages into validated `ControlMessage`s. `report(text)` logs a refusal (rate-limited)."""

    def __init__(
        self,
        registry: ParamRegistry,
        queue: ControlQueue,
        learn: OscLearn,
        stats: OscStats,
        report: Callable[[str], None],
    ) -> None:
        self.registry, self.queue, self.learn, self.stats = registry, queue, learn, stats
        self._report = report
        self._posted_cv = threading.Condition()

    def targets(self, address: str) -> tuple[list[str], Binding | None]:
        """The parameter addresses a message to `address` sets, and the learned binding that routed it (if any).

        ValueError for a malformed pattern."""
        binding = self.learn.route(address)
        if binding is not None:
            return [binding.target], binding
        if self.registry.get(address) is not None:
            return [address], None
        if is_pattern(address):
            compiled = compile_pattern(address)
            return [p.address for p in self.registry.params() if pattern_matches(compiled, p.address)], None
        return [], None

    def dispatch(self, m: WireMessage, due: float, sender_ip: str, sender_port: int | None = None) -> None:
        """Post `m` to every parameter it addresses (`due`: perf_counter time to apply it, 0 = next frame).
        The origin names the sender's IP and UDP port, so feedback is not echoed to it."""
        st = self.stats
        origin = f"osc:{sender_ip}" if sender_port is None else f"osc:{sender_ip}:{sender_port}"
        if self.learn.observe(m.address) is not None:
            st.learned += 1
        try:
            targets, binding = self.targets(m.address)
        except ValueError as exc:
            st.bad_value += 1
            self._report(f"bad OSC address pattern {m.address[:80]!r}: {exc}")
            return
        if not targets:
            st.unknown += 1
            self._report(f"unknown OSC address {m.address[:80]!r} from {sender_ip}")
            return
        for target in targets:
            param = self.registry.get(target)
            if param is None:  # a learned binding whose parameter is gone (e.g. a shader was unloaded)
                st.unknown += 1
                continue
            try:
                value = value_for(param.kind, m.args, target)
                if value is None:  # trigger release
                    st.ignored += 1
                    continue
                if binding is not None:
                    value = binding.translate(value, self.registry)
                param.coerce(value)  # validation only: the queue clamps (and counts) on the render thread
            except ParamError as exc:
                st.bad_value += 1
                self._report(f"OSC {m.address[:80]}: {exc}")
                continue
            self.queue.post(ControlMessage(target, value, origin=origin, due=due))
            with self._posted_cv:
                st.posted += 1
                st.last_posted_at = time.perf_counter()
                self._posted_cv.notify_all()

    def wait_posted(self, count: int, timeout: float) -> bool:
        """Block until at least `count` messages were posted in total (tests, the app's latency probe)."""
        with self._posted_cv:
            return self._posted_cv.wait_for(lambda: self.stats.posted >= count, timeout)
