"""The leader's side of several outputs in step: followers register, the clock and every mirrored change go out.

One UDP socket and one thread. Followers say `Hello` (and keep saying it once a second); the leader sends
each of them its `Clock` at `rate` Hz and every `Change` as soon as the render thread hands it over
(`mirror`), twice against a lost datagram (the follower drops the repeat by its sequence number). Pings are
answered at once with the leader's time, so a follower can estimate the clock offset between the two
machines. A follower silent for `timeout` seconds is dropped. Malformed packets are counted and refused.
The render thread only calls `publish` and `mirror`, which never block.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import random
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from vjgan.control.oscstats import RateLimitedLog
from vjgan.control.syncwire import Bye, Change, Clock, Hello, Ping, Pong, SyncError, decode, encode
from vjgan.core.clock import ClockReading
from vjgan.core.errors import UserError

log = logging.getLogger(__name__)

MAX_FOLLOWERS = 32
REPEATS = 2  # each change is sent this many times (UDP may lose one); followers drop duplicates


@dataclass
class LeaderStats:
    followers: int = 0
    packets: int = 0
    malformed: int = 0  # not a valid sync message: refused
    refused: int = 0  # from a sender outside the allowlist, or one follower too many
    clocks_sent: int = 0
    changes_sent: int = 0
    send_errors: int = 0
    last_error: str = ""


class LeaderLink:
    """`port=0` picks a free port (`.port` after `start()`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, rate: float = 30.0, timeout: float = 5.0,
                 allow: Iterable[str] | None = None) -> None:
        self.host, self.port = host, int(port)
        self.rate, self.timeout = rate, timeout
        try:
            self.allow = [ipaddress.ip_network(str(a).strip(), strict=False) for a in allow] if allow is not None \
                else None
        except ValueError as exc:
            raise UserError(f"allowlist: {exc} (e.g. 192.168.1.20 or 192.168.1.0/24)") from exc
        self.session = random.getrandbits(31)
        self.stats = LeaderStats()
        self._seq = 0
        self._reading: ClockReading | None = None  # latest value, replaced by the render thread
        self._outbox: deque[Change] = deque(maxlen=1024)
        self._followers: dict[tuple[str, int], float] = {}  # address → last heard (perf_counter)
        self._sock: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._log = RateLimitedLog(log)

    def start(self) -> LeaderLink:
        try:
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((self.host, self.port))
        except OSError as exc:
            raise UserError(f"--lead: cannot listen on {self.host}:{self.port}: {exc.strerror or exc} "
                            "(port in use? pass another)") from exc
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sync-leader", daemon=True)
        self._thread.start()
        log.info("leading on udp://%s:%d (followers: vjgan live --follow HOST:%d)", self.host, self.port, self.port)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._poke()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        for s in (self._sock, self._wake_r, self._wake_w):
            if s is not None:
                s.close()
        self._sock = None

    # ---- render thread ------------------------------------------------------------------------------
    def publish(self, reading: ClockReading) -> None:
        """The leader's beat now (latest value; the thread sends it at `rate`)."""
        self._reading = reading

    def mirror(self, target_beat: int, address: str, value: object, origin: str = "") -> Change:
        """Send a control change to every follower now, to apply at `target_beat` (-1: at once)."""
        self._seq += 1
        change = Change(self.session, self._seq, int(target_beat), address, value, origin[:64])
        self._outbox.append(change)
        self._poke()
        return change

    def followers(self) -> list[tuple[str, int]]:
        return list(self._followers)

    # ---- the thread ---------------------------------------------------------------------------------
    def _poke(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        interval = 1.0 / self.rate
        next_clock = time.perf_counter()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([sock, self._wake_r], [], [], max(0.0, next_clock - time.perf_counter()))
            except (OSError, ValueError):
                break
            if self._wake_r in ready:
                with contextlib.suppress(OSError):
                    self._wake_r.recv(4096)
            if sock in ready:
                self._receive(sock)
            while self._outbox:
                data = encode(self._outbox.popleft())
                for _ in range(REPEATS):
                    self._send_all(sock, data)
                self.stats.changes_sent += 1
            now = time.perf_counter()
            if now >= next_clock:
                next_clock = max(next_clock + interval, now)
                self._expire(now)
                self._send_clock(sock)

    def _receive(self, sock: socket.socket) -> None:
        for _ in range(64):  # drain what is there, then go back to sending
            try:
                data, sender = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._error(f"sync socket: {exc}")
                return
            self.stats.packets += 1
            try:
                self._handle(sock, data, (sender[0], sender[1]))
            except (SyncError, ValueError) as exc:
                self.stats.malformed += 1
                self._error(f"sync packet from {sender[0]} refused: {exc}")
            except Exception as exc:  # a bug here must not end the thread (and the followers' clock)
                self.stats.malformed += 1
                self.stats.last_error = f"internal error: {exc!r}"
                log.exception("sync: unexpected error on a packet")

    def _handle(self, sock: socket.socket, data: bytes, sender: tuple[str, int]) -> None:
        if self.allow is not None and not any(ipaddress.ip_address(sender[0]) in n for n in self.allow):
            self.stats.refused += 1
            self._error(f"sync packet from {sender[0]} refused (not in the allowlist)")
            return
        msg = decode(data)
        now = time.perf_counter()
        if isinstance(msg, Hello):
            where = (sender[0], msg.reply_port or sender[1])
            if where not in self._followers:
                if len(self._followers) >= MAX_FOLLOWERS:
                    self.stats.refused += 1
                    self._error(f"follower {where[0]}:{where[1]} refused: {MAX_FOLLOWERS} already follow")
                    return
                log.info("follower %s:%d joined (%s)", where[0], where[1], msg.name or "unnamed")
            self._followers[where] = now
            self.stats.followers = len(self._followers)
            self._send_clock(sock, [where])  # a first beat at once, not at the next tick
        elif isinstance(msg, Ping):
            if sender in self._followers:
                self._followers[sender] = now
            self._send(sock, encode(Pong(msg.sent, time.perf_counter())), sender)
        elif isinstance(msg, Bye):
            if self._followers.pop(sender, None) is not None:
                log.info("follower %s:%d left", *sender)
            self.stats.followers = len(self._followers)
        else:
            raise SyncError(f"{type(msg).__name__} is not for a leader")

    def _expire(self, now: float) -> None:
        for where, heard in list(self._followers.items()):
            if now - heard > self.timeout:
                del self._followers[where]
                log.info("follower %s:%d silent for %.0f s: dropped", where[0], where[1], self.timeout)
        self.stats.followers = len(self._followers)

    def _send_clock(self, sock: socket.socket, to: list[tuple[str, int]] | None = None) -> None:
        r = self._reading
        if r is None or not self._followers:
            return
        now = time.perf_counter()
        data = encode(Clock(self.session, r.bpm, r.beat_at(now), now, r.beats_per_bar))
        for where in to or list(self._followers):
            self._send(sock, data, where)
        self.stats.clocks_sent += 1

    def _send_all(self, sock: socket.socket, data: bytes) -> None:
        for where in list(self._followers):
            self._send(sock, data, where)

    def _send(self, sock: socket.socket, data: bytes, where: tuple[str, int]) -> None:
        try:
            sock.sendto(data, where)
        except OSError as exc:  # full buffer, unreachable host: that datagram is lost, the next one may pass
            self.stats.send_errors += 1
            self._error(f"sync send to {where[0]}:{where[1]}: {exc}")

    def _error(self, text: str) -> None:
        self.stats.last_error = text
        self._log.warning("%s", text)
