"""OSC in: the UDP (and optional TCP) server whose only job is to validate packets and post `ControlMessage`s.

The socket threads never touch the generator, the mapping engine or the GL context. This module owns the
sockets, their threads and the packet-level checks (sender allowlist, size, well-formed OSC, time tags);
each parsed message then goes to the `OscDispatcher` (oscdispatch.py), which checks it against the
`ParamRegistry` (learned alias, address or pattern; type; finite value) and posts it to the
`ControlQueue` that the render thread drains at the start of the next frame. Bundle time tags become
`ControlMessage.due`, so timed cues from Ableton or a sequencer land on their time tag.

Module map: oscwire.py (packet parsing/encoding, TCP framing), oscpattern.py (address patterns),
oscdispatch.py (routing), oscstats.py (counters, rate-limited log), learn.py (OSC learn), this file
(sockets). Hostile or broken input (random bytes, truncated packets, odd type tags, unknown addresses,
NaN) is counted in `OscServer.stats`, logged at a limited rate, and otherwise ignored. Nothing received is
ever evaluated as code. See docs/osc.md.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterable

from vjgan.control.feedback import OscFeedback
from vjgan.control.learn import OscLearn
from vjgan.control.oscdispatch import OscDispatcher
from vjgan.control.oscquery import OscQueries
from vjgan.control.oscstats import OscStats, RateLimitedLog
from vjgan.control.oscwire import (
    SLIP_END,
    TIMETAG_IMMEDIATE,
    OscParseError,
    length_frames,
    ntp_to_unix,
    parse_packet,
    slip_frames,
)
from vjgan.core.errors import UserError
from vjgan.core.registry import ControlQueue, ParamRegistry

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "MAX_AHEAD", "MAX_PACKET", "OscServer", "OscStats"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 9000
DEFAULT_HOST = "127.0.0.1"
MAX_PACKET = 16384  # bytes; bigger datagrams are dropped unparsed (controllers send tens of bytes)
MAX_AHEAD = 60.0  # s; bundles timed further ahead are refused so the queue cannot be filled with the far future
MAX_TCP_CLIENTS = 8


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


class OscServer:
    """UDP OSC server on its own thread. `port=0` picks a free port (see `.port` after `start()`).

    `host` defaults to loopback; pass "0.0.0.0" explicitly to accept a tablet on the LAN, ideally with an
    `allow` list of sender IPs/networks. `learn` (an OscLearn) adds controller-specific aliases. Value
    queries are answered from this socket (oscquery.py); `feedback` takes /vjgan/feedback/register.
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
        feedback: OscFeedback | None = None,
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
        self.dispatcher = OscDispatcher(registry, queue, self.learn, self.stats, lambda text: self._error(text))
        if feedback is not None and feedback.learn is None:
            feedback.learn = self.learn  # learned controller addresses get feedback too
        self.queries = OscQueries(registry, self.learn, self.stats, self.dispatcher.targets, self._reply,
                                  lambda text: self._error(text), feedback)
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
        return self.dispatcher.wait_posted(count, timeout)

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
            self._handle_safely(data, sender[0], sender[1])

    def _reply(self, data: bytes, address: tuple[str, int]) -> None:
        """Answers leave from the server's own port (controllers may filter on it); UDP only."""
        if self._sock is not None:
            self._sock.sendto(data, address)

    def _handle_safely(self, data: bytes, sender_ip: str, sender_port: int | None = None) -> None:
        with self._handle_lock:
            try:
                self.handle_datagram(data, sender_ip, sender_port)
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
                frames, ok = (slip_frames if slip else length_frames)(buf, self.max_packet)
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

    def handle_datagram(self, data: bytes, sender_ip: str, sender_port: int | None = None) -> None:
        """Validate one packet (a UDP datagram or a TCP frame) and post its messages, or answer its queries
        (to `sender_port`, the UDP source port; None over TCP)."""
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
            if not self.queries.handle(m, sender_ip, sender_port):
                self.dispatcher.dispatch(m, due, sender_ip, sender_port)

    def _allowed(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in net for net in self.allow or ())

    def _error(self, text: str) -> None:
        self.stats.last_error = text
        self._log.warning("%s", text)
