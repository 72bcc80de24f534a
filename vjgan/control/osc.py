"""OSC in: a UDP server whose only job is to validate packets and post `ControlMessage`s.

The handler thread never touches the generator, the mapping engine or the GL context: it checks a
message against the `ParamRegistry` (address, type, finite value) and posts it to the `ControlQueue`,
which the render thread drains at the start of the next frame. Bundle time tags become
`ControlMessage.due`, so timed cues from Ableton or a sequencer land on their time tag.

Hostile or broken input (random bytes, truncated packets, odd type tags, unknown addresses, NaN) is
counted in `OscServer.stats`, logged at a limited rate, and otherwise ignored. Nothing received is ever
evaluated as code. See docs/osc.md.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vjgan.control.learn import OscLearn
from vjgan.control.oscwire import TIMETAG_IMMEDIATE, OscParseError, WireMessage, ntp_to_unix, parse_packet
from vjgan.core.errors import UserError
from vjgan.core.registry import ControlMessage, ControlQueue, ParamError, ParamRegistry

log = logging.getLogger(__name__)

DEFAULT_PORT = 9000
DEFAULT_HOST = "127.0.0.1"
MAX_PACKET = 16384  # bytes; bigger datagrams are dropped unparsed (controllers send tens of bytes)
MAX_AHEAD = 60.0  # s; bundles timed further ahead are refused so the queue cannot be filled with the far future


MAX_TCP_CLIENTS = 8
SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD


def _length_frames(buf: bytearray, limit: int) -> tuple[list[bytes], bool]:
    """Complete int32-length-prefixed frames consumed from `buf`; False when a frame exceeds `limit`."""
    frames = []
    while len(buf) >= 4:
        size = int.from_bytes(buf[:4], "big", signed=True)
        if size < 0 or size > limit:
            return frames, False
        if len(buf) < 4 + size:
            break
        frames.append(bytes(buf[4 : 4 + size]))
        del buf[: 4 + size]
    return frames, True


def _slip_frames(buf: bytearray, limit: int) -> tuple[list[bytes], bool]:
    """Complete SLIP (RFC 1055, OSC 1.1) frames consumed from `buf`; False when one exceeds `limit`."""
    frames = []
    while True:
        end = buf.find(bytes([SLIP_END]), 1 if buf[:1] == bytes([SLIP_END]) else 0)
        if end < 0:
            return frames, len(buf) <= 2 * limit + 2
        raw = bytes(buf[:end]).lstrip(bytes([SLIP_END]))
        del buf[: end + 1]
        if not raw:
            continue
        frame = raw.replace(bytes([SLIP_ESC, SLIP_ESC_END]), bytes([SLIP_END])).replace(
            bytes([SLIP_ESC, SLIP_ESC_ESC]), bytes([SLIP_ESC])
        )
        if len(frame) > limit:
            return frames, False
        frames.append(frame)


@dataclass
class OscStats:
    """Counters since start. Every received packet ends up in exactly one of the error counters or
    produces messages; every message is posted, ignored, or counted as unknown/bad_value."""

    packets: int = 0  # datagrams received (including refused ones)
    messages: int = 0  # well-formed messages parsed
    posted: int = 0  # ControlMessages posted to the queue
    ignored: int = 0  # well-formed but deliberately not posted (trigger release value 0)
    learned: int = 0  # bindings made by OSC learn
    malformed: int = 0  # packets that are not valid OSC (or time tags too far ahead)
    oversized: int = 0  # packets above max_packet bytes, dropped unparsed
    refused: int = 0  # packets from senders outside the allowlist
    unknown: int = 0  # messages to an address that matches no parameter and no learned binding
    bad_value: int = 0  # messages with a wrong argument count/type or a non-finite value
    last_error: str = ""
    last_posted_at: float = 0.0  # time.perf_counter() of the newest post (latency probes: post → frame)

    @property
    def errors(self) -> int:
        return self.malformed + self.oversized + self.refused + self.unknown + self.bad_value


class RateLimitedLog:
    """At most `burst` warnings per `interval` seconds, then one summary of how many were suppressed.

    A fuzzer or a misconfigured controller can send thousands of bad packets a second; logging each would
    itself stall the show."""

    def __init__(self, logger: logging.Logger, interval: float = 5.0, burst: int = 5) -> None:
        self.logger, self.interval, self.burst = logger, interval, burst
        self._window_start = -math.inf
        self._in_window = 0
        self.suppressed = 0

    def warning(self, msg: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._window_start >= self.interval:
            if self.suppressed:
                self.logger.warning(
                    "OSC: %d more problems in the last %.0f s (not shown)", self.suppressed, self.interval
                )
            self._window_start, self._in_window, self.suppressed = now, 0, 0
        if self._in_window < self.burst:
            self._in_window += 1
            self.logger.warning(msg, *args)
        else:
            self.suppressed += 1


def _parse_allow(allow: Iterable[str] | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    if allow is None:
        return None
    nets = []
    for item in allow:
        try:
            nets.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError as exc:
            raise UserError(
                f"OSC allowlist: {item!r} is not an IP address or network (e.g. 192.168.1.20 or 192.168.1.0/24)"
            ) from exc
    return nets


Token = tuple[str, Any]
MAX_PATTERN_VARIANTS = 32


def _expand_braces(pattern: str) -> list[str]:
    """`/a/{x,y}/b` → [`/a/x/b`, `/a/y/b`], capped so a hostile pattern cannot explode."""
    start = pattern.find("{")
    if start < 0:
        return [pattern]
    end = pattern.find("}", start)
    if end < 0:
        raise ValueError("unclosed '{'")
    out: list[str] = []
    for alt in pattern[start + 1 : end].split(","):
        out.extend(_expand_braces(pattern[:start] + alt + pattern[end + 1 :]))
        if len(out) > MAX_PATTERN_VARIANTS:
            raise ValueError(f"more than {MAX_PATTERN_VARIANTS} alternatives")
    return out


def _tokens(segment: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(segment):
        c = segment[i]
        if c == "*":
            if not tokens or tokens[-1][0] != "*":
                tokens.append(("*", None))
        elif c == "?":
            tokens.append(("?", None))
        elif c == "[":
            end = segment.find("]", i + 1)
            if end < 0:
                raise ValueError("unclosed '['")
            body = segment[i + 1 : end]
            neg = body.startswith("!")
            body = body[1:] if neg else body
            if not body:
                raise ValueError("empty '[]'")
            ranges = []
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    ranges.append((body[j], body[j + 2]))
                    j += 3
                else:
                    ranges.append((body[j], body[j]))
                    j += 1
            tokens.append(("[", (neg, tuple(ranges))))
            i = end
        else:
            tokens.append(("=", c))
        i += 1
    return tokens


def _token_matches(tok: Token, ch: str) -> bool:
    kind, arg = tok
    if kind == "?":
        return True
    if kind == "=":
        return ch == arg
    neg, ranges = arg
    return any(lo <= ch <= hi for lo, hi in ranges) != neg


def _segment_match(tokens: list[Token], s: str) -> bool:
    """Glob match in O(len(tokens) * len(s)) (no backtracking, so no pathological patterns)."""
    reach = [False] * (len(s) + 1)  # reach[j]: tokens so far can consume exactly s[:j]
    reach[0] = True
    for tok in tokens:
        if tok[0] == "*":
            for j in range(1, len(s) + 1):
                reach[j] = reach[j] or reach[j - 1]
        else:
            for j in range(len(s), 0, -1):
                reach[j] = reach[j - 1] and _token_matches(tok, s[j - 1])
            reach[0] = False
    return reach[len(s)]


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> tuple[tuple[list[Token], ...], ...]:
    """An OSC 1.0 address pattern (`?`, `*`, `[a-z]`, `[!0-9]`, `{foo,bar}`) as per-segment token lists.
    Matched by a small automaton, never by `re`/`eval`, so network strings cannot inject anything."""
    return tuple(tuple(_tokens(seg) for seg in variant.split("/")) for variant in _expand_braces(pattern))


def pattern_matches(compiled: tuple[tuple[list[Token], ...], ...], address: str) -> bool:
    segments = address.split("/")
    return any(
        len(variant) == len(segments) and all(_segment_match(t, s) for t, s in zip(variant, segments, strict=True))
        for variant in compiled
    )


_PATTERN_CHARS = frozenset("*?[{")


class OscServer:
    """UDP OSC server on its own thread. `port=0` picks a free port (see `.port` after `start()`).

    `host` defaults to loopback; pass "0.0.0.0" explicitly to accept a tablet on the LAN, ideally with an
    `allow` list of sender IPs/networks. `learn` (an OscLearn) adds controller-specific aliases.
    """

    def __init__(
        self,
        registry: ParamRegistry,
        queue: ControlQueue,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        allow: Iterable[str] | None = None,
        learn: OscLearn | None = None,
        max_packet: int = MAX_PACKET,
        max_ahead: float = MAX_AHEAD,
        tcp: bool = False,
    ) -> None:
        self.registry, self.queue = registry, queue
        self.host, self.port = host, int(port)
        self.allow = _parse_allow(allow)
        self.learn = learn if learn is not None else OscLearn(registry)
        self.max_packet, self.max_ahead = max_packet, max_ahead
        self.stats = OscStats()
        self._log = RateLimitedLog(log)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._posted_cv = threading.Condition()
        self._handle_lock = threading.Lock()  # UDP and TCP threads share the stats and the learn state
        self.tcp = tcp
        self._tcp_sock: socket.socket | None = None
        self._tcp_threads: list[threading.Thread] = []
        self._tcp_conns: set[socket.socket] = set()

    # --- lifecycle ---
    def start(self) -> OscServer:
        if self._thread is not None:
            return self
        try:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # absorb bursts (fuzzers, bundles)
            sock.bind((self.host, self.port))
        except OSError as exc:
            raise UserError(
                f"cannot listen for OSC on {self.host}:{self.port}: {exc.strerror or exc}"
                " (port in use? pass another --osc-port; bad address? check --osc-host)"
            ) from exc
        sock.settimeout(0.1)  # wake up regularly to notice stop()
        self._sock = sock
        self.port = sock.getsockname()[1]
        if self.tcp:
            self._start_tcp(family)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="osc-in", daemon=True)
        self._thread.start()
        if self._tcp_sock is not None:
            t = threading.Thread(target=self._accept_loop, name="osc-in-tcp", daemon=True)
            t.start()
            self._tcp_threads.append(t)
        scope = "loopback only" if self.host in ("127.0.0.1", "::1", "localhost") else "network"
        log.info(
            "OSC listening on udp%s://%s:%d (%s%s)",
            "+tcp" if self.tcp else "",
            self.host,
            self.port,
            scope,
            ", allowlist on" if self.allow is not None else "",
        )
        if scope == "network" and self.allow is None:
            log.warning("OSC on %s accepts every sender that can reach it: pass --osc-allow with the "
                        "controller's IP (or network) to drop everyone else", self.host)
        return self

    def stop(self) -> None:
        self._stop.set()
        for conn in list(self._tcp_conns):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        for t in self._tcp_threads:
            t.join(timeout=2.0)
        self._tcp_threads.clear()
        for s in (self._sock, self._tcp_sock):
            if s is not None:
                s.close()
        self._sock = self._tcp_sock = None

    def __enter__(self) -> OscServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def wait_posted(self, count: int, timeout: float) -> bool:
        """Block until at least `count` messages were posted in total (tests, the app's latency probe)."""
        with self._posted_cv:
            return self._posted_cv.wait_for(lambda: self.stats.posted >= count, timeout)

    # --- receive loop ---
    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stop.is_set():
            try:
                data, sender = sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                if self._stop.is_set():
                    break
                self._log.warning("OSC socket error: %s", exc)
                time.sleep(0.01)
                continue
            self._handle_safely(data, sender[0])

    def _handle_safely(self, data: bytes, sender_ip: str) -> None:
        with self._handle_lock:
            try:
                self.handle_datagram(data, sender_ip)
            except Exception as exc:  # a bug here must never kill the server thread
                self.stats.malformed += 1
                self.stats.last_error = f"internal error: {exc!r}"
                log.exception("OSC: unexpected error while handling a packet")

    # --- TCP (optional): OSC 1.0 int32 length-prefixed frames, or OSC 1.1 SLIP frames ---
    def _start_tcp(self, family: int) -> None:
        try:
            tsock = socket.socket(family, socket.SOCK_STREAM)
            tsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tsock.bind((self.host, self.port))
            tsock.listen(MAX_TCP_CLIENTS)
        except OSError as exc:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            raise UserError(
                f"cannot listen for OSC over TCP on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        tsock.settimeout(0.1)
        self._tcp_sock = tsock

    def _accept_loop(self) -> None:
        tsock = self._tcp_sock
        assert tsock is not None
        while not self._stop.is_set():
            try:
                conn, sender = tsock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    break
                time.sleep(0.01)
                continue
            ip = sender[0]
            with self._handle_lock:
                refused = self.allow is not None and not self._allowed(ip)
                too_many = len(self._tcp_conns) >= MAX_TCP_CLIENTS
                if refused or too_many:
                    self.stats.packets += 1
                    self.stats.refused += 1
                    self._error(f"TCP connection from {ip} refused ({'allowlist' if refused else 'too many clients'})")
            if refused or too_many:
                conn.close()
                continue
            conn.settimeout(0.2)
            self._tcp_conns.add(conn)
            t = threading.Thread(target=self._tcp_client, args=(conn, ip), name=f"osc-tcp-{ip}", daemon=True)
            t.start()
            self._tcp_threads = [x for x in self._tcp_threads if x.is_alive()] + [t]

    def _tcp_client(self, conn: socket.socket, ip: str) -> None:
        buf = bytearray()
        slip: bool | None = None
        try:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                if slip is None:
                    slip = buf[0] == SLIP_END
                frames, ok = (_slip_frames if slip else _length_frames)(buf, self.max_packet)
                for frame in frames:
                    self._handle_safely(frame, ip)
                if not ok:  # a frame longer than max_packet: the stream cannot be trusted any more
                    with self._handle_lock:
                        self.stats.packets += 1
                        self.stats.oversized += 1
                        self._error(f"TCP frame from {ip} above {self.max_packet} bytes: connection closed")
                    break
        finally:
            self._tcp_conns.discard(conn)
            conn.close()

    def handle_datagram(self, data: bytes, sender_ip: str) -> None:
        """Validate one packet (a UDP datagram or a TCP frame) and post its messages."""
        st = self.stats
        st.packets += 1
        if self.allow is not None and not self._allowed(sender_ip):
            st.refused += 1
            self._error(f"packet from {sender_ip} refused (not in the OSC allowlist)")
            return
        if len(data) > self.max_packet:
            st.oversized += 1
            self._error(f"{len(data)}-byte packet from {sender_ip} dropped (limit {self.max_packet})")
            return
        try:
            messages = parse_packet(data)
        except OscParseError as exc:
            st.malformed += 1
            self._error(f"malformed packet from {sender_ip} ({len(data)} bytes): {exc}")
            return
        now_wall, now_perf = time.time(), time.perf_counter()
        dues = []
        for m in messages:
            due = 0.0
            if m.timetag != TIMETAG_IMMEDIATE:
                ahead = ntp_to_unix(m.timetag) - now_wall
                if ahead > self.max_ahead:
                    st.malformed += 1
                    self._error(f"bundle from {sender_ip} timed {ahead:.0f} s ahead (limit {self.max_ahead:.0f} s)")
                    return
                if ahead > 0:
                    due = now_perf + ahead
            dues.append(due)
        for m, due in zip(messages, dues, strict=True):
            st.messages += 1
            self._route(m, due, sender_ip)

    def _allowed(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in net for net in self.allow or ())

    def _route(self, m: WireMessage, due: float, sender_ip: str) -> None:
        st = self.stats
        if self.learn.observe(m.address) is not None:
            st.learned += 1
        binding = self.learn.route(m.address)
        if binding is not None:
            targets = [binding.target]
        elif self.registry.get(m.address) is not None:
            targets = [m.address]
        elif _PATTERN_CHARS.intersection(m.address):
            try:
                compiled = compile_pattern(m.address)
            except ValueError as exc:
                st.bad_value += 1
                self._error(f"bad OSC address pattern {m.address[:80]!r}: {exc}")
                return
            targets = [p.address for p in self.registry.params() if pattern_matches(compiled, p.address)]
        else:
            targets = []
        if not targets:
            st.unknown += 1
            self._error(f"unknown OSC address {m.address[:80]!r} from {sender_ip}")
            return
        for target in targets:
            param = self.registry.get(target)
            if param is None:
                st.unknown += 1
                continue
            try:
                value = self._value_for(param.kind, m.args, target)
                if value is None:  # trigger release
                    st.ignored += 1
                    continue
                if binding is not None:
                    value = binding.translate(value, self.registry)
                param.coerce(value)  # validation only: the queue clamps (and counts) on the render thread
            except ParamError as exc:
                st.bad_value += 1
                self._error(f"OSC {m.address[:80]}: {exc}")
                continue
            self.queue.post(ControlMessage(target, value, origin=f"osc:{sender_ip}", due=due))
            with self._posted_cv:
                st.posted += 1
                st.last_posted_at = time.perf_counter()
                self._posted_cv.notify_all()

    @staticmethod
    def _value_for(kind: str, args: tuple[Any, ...], address: str) -> Any:
        """The single value a parameter takes from an OSC argument list (None: nothing to do)."""
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

    def _error(self, text: str) -> None:
        self.stats.last_error = text
        self._log.warning("%s", text)
