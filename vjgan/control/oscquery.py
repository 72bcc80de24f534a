"""Answering controllers: value queries, and feedback (un)registration, on the OSC server thread.

Conventions (docs/osc.md):
- a message with no arguments to a parameter's address (or a pattern, or a learned address) that is not a
  trigger asks for its value: the reply goes to the query's UDP source address and port, at the address
  asked (TouchOSC / Open Stage Control convention). A bare message to a trigger still fires it.
- `/vjgan/query ADDRESS_OR_PATTERN [PORT]`: one reply per parameter at or below a matching address (so
  `/vjgan/*` is every parameter), and per learned controller address likewise, to PORT at the sender's IP
  when given, else to the source port; several replies go in bundles of at most SAFE_DATAGRAM bytes.
- `/vjgan/feedback/register [HOST] PORT`, `/vjgan/feedback/unregister [[HOST] PORT]` (feedback.py).
Refusals (unknown address, bad arguments, peer limit) are answered with `/vjgan/error s` and counted.

Values come from `ParamRegistry.values()`, the table the render thread publishes after each drain: read
without a lock, so a query never waits for a frame and the render loop never waits for a query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vjgan.control.feedback import OscFeedback
from vjgan.control.learn import OscLearn
from vjgan.control.oscpattern import compile_pattern, is_pattern, pattern_matches
from vjgan.control.oscreply import encode_all, error_message, value_messages
from vjgan.control.oscstats import OscStats
from vjgan.control.oscwire import WireMessage
from vjgan.core.errors import UserError
from vjgan.core.registry import ParamRegistry

QUERY = "/vjgan/query"
REGISTER = "/vjgan/feedback/register"
UNREGISTER = "/vjgan/feedback/unregister"

Send = Callable[[bytes, tuple[str, int]], None]
Targets = Callable[[str], tuple[list[str], Any]]


class OscQueries:
    """Consumes the messages that ask for something back; everything else goes on to the dispatcher."""

    def __init__(self, registry: ParamRegistry, learn: OscLearn, stats: OscStats, targets: Targets, send: Send,
                 report: Callable[[str], None], feedback: OscFeedback | None = None) -> None:
        self.registry, self.learn, self.stats = registry, learn, stats
        self.targets, self.send, self.report = targets, send, report
        self.feedback = feedback

    def handle(self, m: WireMessage, ip: str, port: int | None) -> bool:
        """True when `m` was a query or a feedback request (answered or refused here)."""
        if m.address == QUERY:
            self._query(m, ip, port)
        elif m.address == REGISTER:
            self._register(m, ip, port)
        elif m.address == UNREGISTER:
            self._unregister(m, ip, port)
        elif m.args or not self._bare_query(m, ip, port):
            return False
        return True

    # --- queries ---
    def _bare_query(self, m: WireMessage, ip: str, port: int | None) -> bool:
        try:
            targets, binding = self.targets(m.address)
        except ValueError:
            return False  # the dispatcher counts the bad pattern
        params = [self.registry.get(t) for t in targets]
        if not params or any(p is None or p.kind == "trigger" for p in params):
            return False  # unknown, or a trigger: fired by the dispatcher as before
        values = self.registry.values()
        if binding is not None:
            replies = [r for r in value_messages(self.registry, [binding], binding.target, values.get(binding.target))
                       if r[0] == m.address]
        else:
            replies = [r for t in targets for r in value_messages(self.registry, (), t, values.get(t))]
        if not replies:
            self._refuse(f"{m.address[:80]} has no value yet", ip, port)
            return True
        self._reply(m.address, replies, ip, port)
        return True

    def _query(self, m: WireMessage, ip: str, port: int | None) -> None:
        if not m.args or not isinstance(m.args[0], str) or len(m.args) > 2:
            self._refuse("usage: /vjgan/query ADDRESS_OR_PATTERN [REPLY_PORT]", ip, port)
            return
        pattern = m.args[0]
        if len(m.args) == 2:
            reply_port = _port(m.args[1])
            if reply_port is None:
                self._refuse(f"/vjgan/query: reply port must be 1..65535, got {m.args[1]!r}", ip, port)
                return
            port = reply_port
        try:
            compiled = compile_pattern(pattern)
        except ValueError as exc:
            self._refuse(f"/vjgan/query: bad address pattern {pattern[:80]!r}: {exc}", ip, port)
            return
        binding = self.learn.route(pattern)
        if binding is not None:  # a learned controller address: answered there
            targets, aliases = [], [binding]
        else:
            targets = [p.address for p in self.registry.params() if _under(compiled, p.address)]
            aliases = [b for b in self.learn.bindings() if _under(compiled, b.source)]
        if not targets and not aliases:
            self._refuse(f"unknown address {pattern[:80]}", ip, port, unknown=True)
            return
        values = self.registry.values()
        replies = [r for t in targets for r in value_messages(self.registry, (), t, values.get(t))]
        for b in aliases:
            replies += [r for r in value_messages(self.registry, [b], b.target, values.get(b.target))
                        if r[0] == b.source]
        if not replies and not is_pattern(pattern):
            self._refuse(f"{pattern[:80]} has no value (a trigger, or not set yet)", ip, port)
            return
        self._reply(pattern, replies, ip, port)

    # --- feedback (un)registration ---
    def _register(self, m: WireMessage, ip: str, port: int | None) -> None:
        if self.feedback is None:
            self._refuse(f"{m.address}: OSC feedback is off in this process", ip, port)
            return
        if len(m.args) not in (1, 2):
            self._refuse("usage: /vjgan/feedback/register [HOST] PORT", ip, port)
            return
        host = m.args[0] if len(m.args) == 2 else ip
        try:
            self.feedback.register(host, m.args[-1], source=(ip, port) if port is not None else None)
        except UserError as exc:
            self._refuse(f"/vjgan/feedback/register: {exc}", ip, port)
            return
        self.stats.answered += 1

    def _unregister(self, m: WireMessage, ip: str, port: int | None) -> None:
        if self.feedback is None:
            self._refuse(f"{m.address}: OSC feedback is off in this process", ip, port)
            return
        if len(m.args) > 2 or (m.args and _port(m.args[-1]) is None):
            self._refuse("usage: /vjgan/feedback/unregister [[HOST] PORT]", ip, port)
            return
        if not m.args:
            if port is None:
                self._refuse("/vjgan/feedback/unregister over TCP needs the PORT", ip, port)
                return
            address = (ip, port)
        else:
            address = (str(m.args[0]) if len(m.args) == 2 else ip, int(_port(m.args[-1]) or 0))
        if self.feedback.unregister(address) == 0:
            self._refuse(f"/vjgan/feedback/unregister: no peer {address[0]}:{address[1]}", ip, port)
            return
        self.stats.answered += 1

    # --- replies ---
    def _reply(self, asked: str, replies: list[tuple[str, list[Any]]], ip: str, port: int | None) -> None:
        if port is None:
            self.stats.bad_value += 1
            self.report(f"query {asked[:80]!r} from {ip} over TCP without a reply port: not answered")
            return
        for datagram in encode_all(replies):
            self._send(datagram, (ip, port))
        self.stats.answered += 1
        self.stats.replies += len(replies)

    def _refuse(self, text: str, ip: str, port: int | None, unknown: bool = False) -> None:
        """Counted (unknown or bad_value), logged, and answered with /vjgan/error when there is a port."""
        if unknown:
            self.stats.unknown += 1
        else:
            self.stats.bad_value += 1
        self.report(f"OSC from {ip}: {text}")
        if port is not None:
            self._send(error_message(text), (ip, port))

    def _send(self, datagram: bytes, address: tuple[str, int]) -> None:
        try:
            self.send(datagram, address)
        except OSError as exc:
            self.stats.reply_errors += 1
            self.report(f"OSC reply to {address[0]}:{address[1]} failed: {exc}")


def _under(compiled: Any, address: str) -> bool:
    """The pattern matches `address` or a leading part of it in whole segments: a subtree (`/vjgan/shader`,
    `/vjgan/*`) asks for every parameter below it."""
    segments = address.split("/")
    return any(len(variant) <= len(segments) and pattern_matches((variant,), "/".join(segments[: len(variant)]))
               for variant in compiled)  # a variant of k segments can only match the first k


def _port(value: Any) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return None
    return value
