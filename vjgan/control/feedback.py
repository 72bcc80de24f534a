"""OSC feedback: registered controllers are told every parameter value that changes, so their faders follow.

Sources: whatever the registry records (registry.py): values applied from OSC, the panel, MIDI, OSC learn
bindings and presets, and stages re-registering their parameters (a preset load). Not the values the
mapping engine computes from the audio every frame: those never pass through the registry (stream them
with --osc-out). A change is not sent back to the controller whose message caused it (origin
"osc:IP:PORT" = the peer's address or the address it registered from), so two-way faders do not fight.

The render thread only appends a batch to a bounded deque (never blocks). This module's thread coalesces
per peer and address (the newest value wins), sends at most `rate_hz` messages per second per address
and peer, packs them into bundles of at most SAFE_DATAGRAM bytes, and counts what it coalesced, dropped,
suppressed and failed to send. A new peer first gets every current value (its faders sync at connect).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from vjgan.control.learn import OscLearn
from vjgan.control.oscreply import encode_all, value_messages
from vjgan.control.oscstats import RateLimitedLog
from vjgan.core.errors import UserError
from vjgan.core.registry import ParamChange, ParamRegistry

log = logging.getLogger(__name__)

MAX_PEERS = 16
RATE_HZ = 60.0  # per address and peer
MAX_SOURCES = 8  # source addresses remembered per peer (echo suppression)
MAX_BATCHES = 4096  # change batches waiting for the feedback thread (a flood drops the oldest, counted)


@dataclass
class FeedbackStats:
    changes: int = 0  # parameter changes heard from the registry
    messages: int = 0  # OSC messages sent (all peers)
    datagrams: int = 0  # datagrams sent
    coalesced: int = 0  # values replaced by a newer one before they were sent
    echoes: int = 0  # changes not sent back to the peer that caused them
    dropped: int = 0  # change batches dropped because MAX_BATCHES were waiting
    unreachable: int = 0  # datagrams a peer could not be sent (refused, no route, buffer full)
    refused: int = 0  # registrations refused (peer limit, bad address)
    last_error: str = ""


@dataclass
class Peer:
    """A controller that receives feedback at `host:port`; `sources` are the addresses it sends from."""

    host: str
    port: int
    sources: set[tuple[str, int]] = field(default_factory=set)
    pending: dict[str, list[Any]] = field(default_factory=dict)  # address → args not yet sent
    last_sent: dict[str, float] = field(default_factory=dict)
    sync: bool = True  # send every current value first
    sent: int = 0
    errors: int = 0

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def caused(self, origin: str) -> bool:
        if not origin.startswith("osc:"):
            return False
        ip, _, port = origin[4:].rpartition(":")
        try:
            src = (ip, int(port))
        except ValueError:
            return False
        return src == self.address or src in self.sources


def check_peer(host: str, port: Any) -> tuple[str, int]:
    """(IP, port) of a feedback target; UserError when it is not an IP literal and a port 1..65535 (no DNS:
    OSC registrations are answered on the server thread, which must not wait for a resolver)."""
    if isinstance(port, float) and port.is_integer():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UserError(f"feedback port must be an integer 1..65535, got {port!r}")
    try:
        ip = str(ipaddress.ip_address(str(host)))
    except ValueError as exc:
        raise UserError(f"feedback host must be an IP address, got {str(host)[:80]!r}") from exc
    return ip, port


def resolve_peer(host: str, port: int) -> tuple[str, int]:
    """`--osc-feedback HOST:PORT` with a host name resolved once, at start."""
    try:
        ip = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][4][0]
    except OSError as exc:
        raise UserError(f"--osc-feedback: cannot resolve {host!r}: {exc}") from exc
    return check_peer(str(ip), port)


class OscFeedback:
    """Feedback of changed values to up to `max_peers` controllers, from its own thread."""

    def __init__(self, registry: ParamRegistry, learn: OscLearn | None = None, rate_hz: float = RATE_HZ,
                 max_peers: int = MAX_PEERS) -> None:
        self.registry, self.learn = registry, learn
        self.interval = 1.0 / rate_hz
        self.max_peers = max_peers
        self.stats = FeedbackStats()
        self._log = RateLimitedLog(log)
        self._batches: deque[tuple[ParamChange, ...]] = deque(maxlen=MAX_BATCHES)
        self._peers: dict[tuple[str, int], Peer] = {}
        self._lock = threading.Lock()  # peers: OSC thread (register) and this thread; never the render thread
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._socks: dict[int, socket.socket] = {}
        self._sending = False  # values taken from `pending` but not yet handed to the socket
        self.version = 0  # bumps when peers change (panel)

    # --- peers (any thread) ---
    def register(self, host: str, port: Any, source: tuple[str, int] | None = None) -> tuple[str, int]:
        """Add (or refresh) a peer; it gets every current value first. UserError: bad address, peer limit."""
        try:
            address = check_peer(host, port)
        except UserError as exc:
            self.stats.refused += 1
            self.stats.last_error = str(exc)
            raise
        with self._lock:
            peer = self._peers.get(address)
            if peer is None:
                if len(self._peers) >= self.max_peers:
                    self.stats.refused += 1
                    self.stats.last_error = f"feedback peer limit {self.max_peers} reached: {address[0]}:{address[1]}"
                    self._log.warning("OSC %s refused", self.stats.last_error)
                    raise UserError(f"{self.stats.last_error} refused (unregister one first)")
                peer = self._peers[address] = Peer(*address)
                log.info("OSC feedback → %s:%d", *address)
            if source is not None:
                peer.sources.discard(source)
                if len(peer.sources) >= MAX_SOURCES:  # re-registrations from new ports: forget an old one
                    peer.sources.pop()
                peer.sources.add(source)
            peer.sync = True
            self.version += 1
        self._wake.set()
        return address

    def unregister(self, address: tuple[str, int]) -> int:
        """Remove the peers at `address` or registered from it; how many."""
        with self._lock:
            gone = [a for a, p in self._peers.items() if a == address or address in p.sources]
            for a in gone:
                del self._peers[a]
            if gone:
                self.version += 1
        return len(gone)

    def peers(self) -> list[tuple[str, int, int, int]]:
        """(host, port, messages sent, send errors) of every peer."""
        with self._lock:
            return [(p.host, p.port, p.sent, p.errors) for p in self._peers.values()]

    # --- the registry's side (render thread): never blocks ---
    def on_changes(self, changes: tuple[ParamChange, ...]) -> None:
        if len(self._batches) >= MAX_BATCHES:
            self.stats.dropped += 1  # the append pushes the oldest batch out
        self._batches.append(changes)
        self._wake.set()

    # --- lifecycle ---
    def start(self) -> OscFeedback:
        if self._thread is None:
            if self.on_changes not in self.registry.watchers:
                self.registry.watchers.append(self.on_changes)
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="osc-feedback", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self.on_changes in self.registry.watchers:
            self.registry.watchers.remove(self.on_changes)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        for s in self._socks.values():
            s.close()
        self._socks.clear()

    def __enter__(self) -> OscFeedback:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float) -> bool:
        """Until nothing waits to be sent (tests): every batch taken, every peer's pending list empty."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                idle = not (self._batches or self._sending or any(p.pending or p.sync for p in self._peers.values()))
            if idle:
                return True
            time.sleep(0.005)
        return False

    # --- the feedback thread ---
    def _run(self) -> None:
        timeout: float | None = None
        while not self._stop.is_set():
            self._wake.wait(timeout)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                timeout = self._step(time.monotonic())
            except Exception:  # never let a bad value kill feedback
                log.exception("OSC feedback failed")
                timeout = self.interval

    def _step(self, now: float) -> float | None:
        """Take the waiting batches, send what is due; seconds until the next value is due (None: idle)."""
        bindings = self.learn.bindings() if self.learn is not None else []
        with self._lock:
            peers = list(self._peers.values())
            while self._batches:
                batch = self._batches.popleft()
                self.stats.changes += len(batch)
                for c in batch:
                    msgs = value_messages(self.registry, bindings, c.address, c.value)
                    for peer in peers:
                        if peer.caused(c.origin):
                            self.stats.echoes += 1
                            continue
                        for a, args in msgs:
                            if a in peer.pending:
                                self.stats.coalesced += 1
                            peer.pending[a] = args
            for peer in peers:
                if peer.sync:  # after the batches: the published table is at least as new as any of them
                    peer.sync = False
                    for address, value in self.registry.values().items():
                        for a, args in value_messages(self.registry, bindings, address, value):
                            peer.pending[a] = args
            due: list[tuple[Peer, list[tuple[str, list[Any]]]]] = []
            next_due: float | None = None
            for peer in peers:
                items = []
                for a in list(peer.pending):
                    at = peer.last_sent.get(a, -1e9) + self.interval
                    if at <= now:
                        items.append((a, peer.pending.pop(a)))
                        peer.last_sent[a] = now
                    else:
                        next_due = at if next_due is None else min(next_due, at)
                if items:
                    due.append((peer, items))
            self._sending = bool(due)
        try:
            for peer, items in due:
                self._send(peer, items)
        finally:
            self._sending = False
        return None if next_due is None else max(next_due - now, 0.0)

    def _send(self, peer: Peer, items: list[tuple[str, list[Any]]]) -> None:
        family = socket.AF_INET6 if ":" in peer.host else socket.AF_INET
        sock = self._socks.get(family)
        if sock is None:
            sock = self._socks[family] = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)  # a full send buffer drops a datagram instead of stalling feedback
        for datagram in encode_all(items):
            try:
                sock.sendto(datagram, peer.address)
                self.stats.datagrams += 1
            except OSError as exc:
                peer.errors += 1
                self.stats.unreachable += 1
                self.stats.last_error = f"OSC feedback to {peer.host}:{peer.port} failed: {exc}"
                self._log.warning("%s", self.stats.last_error)
        peer.sent += len(items)
        self.stats.messages += len(items)
