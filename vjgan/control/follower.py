"""The follower's side: register with a leader, follow its clock, receive its mirrored changes.

An `ExternalClock` named "leader" (vjgan.core.clock). The leader stamps each `Clock` with its own
perf_counter(); to turn that into this machine's time the follower estimates the offset between the two
clocks NTP-style: a `Ping` carries our send time t0, the `Pong` the leader's time tl, it arrives at t1;
offset = tl - (t0 + t1) / 2, exact to within half the round trip, so the sample with the smallest round
trip of the last few wins. Readings are then smoothed: each predicts the beat at the newest reading's time
at its own tempo, and the median prediction is the phase (a leader's frame jitter does not reach the
follower's beat); readings far off the prediction start afresh once three in a row agree (a seek, a
re-sync, a new leader), a lone one is ignored.

Leader lost (no clock for `lost_after` s): `read()` keeps returning the last reading, so the follower's
beat free-runs at the last tempo; hellos go on, and a leader that comes back is followed again.
Packets not from the leader's address, or not valid sync messages, are counted and refused.
"""

from __future__ import annotations

import logging
import select
import socket
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass

from vjgan.control.oscstats import RateLimitedLog
from vjgan.control.syncwire import MAX_TARGET_AHEAD, Bye, Change, Clock, Hello, Ping, Pong, SyncError, decode, encode
from vjgan.core.clock import ClockReading
from vjgan.core.errors import UserError

log = logging.getLogger(__name__)

_OFFSET_SAMPLES = 16  # pings remembered for the offset (min round trip wins)
_FIT_WINDOW = 1.0  # s of clock readings the phase is the median of
_JUMP_BEATS = 0.15  # a reading this far off the prediction is a jump, once _CONFIRM readings agree on it
_CONFIRM = 3


@dataclass
class FollowerStats:
    state: str = "connecting"  # "connecting" (no clock yet), "following", "lost"
    packets: int = 0
    malformed: int = 0  # not a valid sync message: refused
    refused: int = 0  # not from the leader's address
    clocks: int = 0
    changes: int = 0
    duplicates: int = 0  # repeats of a change already received
    offset_ms: float = 0.0  # leader clock minus ours
    rtt_ms: float = 0.0  # smallest round trip of the recent pings
    lost_count: int = 0  # times the leader went silent
    last_error: str = ""


class OffsetEstimator:
    """Leader-minus-follower clock offset from ping/pong round trips: the minimum-RTT sample of the last few."""

    def __init__(self, keep: int = _OFFSET_SAMPLES) -> None:
        self.samples: deque[tuple[float, float]] = deque(maxlen=keep)  # (rtt, offset)

    def add(self, sent: float, leader_time: float, received: float) -> None:
        if received >= sent:
            self.samples.append((received - sent, leader_time - (sent + received) / 2.0))

    @property
    def best(self) -> tuple[float, float] | None:
        """(rtt, offset) of the sample with the smallest round trip."""
        return min(self.samples) if self.samples else None


class BeatFit:
    """The leader's beat on our clock, smoothed over the last `window` seconds of readings. A reading off the
    prediction is held back until `_CONFIRM` in a row agree on the new position (a seek, a re-sync, a new
    leader): a single hiccup of the leader's analysis does not move the follower's beat."""

    def __init__(self, window: float = _FIT_WINDOW) -> None:
        self.window = window
        self._points: deque[tuple[float, float, float]] = deque(maxlen=256)  # (local time, beat, bpm)
        self._off: deque[tuple[float, float, float]] = deque(maxlen=_CONFIRM)  # readings off the prediction

    def add(self, at: float, beat: float, bpm: float) -> None:
        point = (at, beat, bpm)
        if self._points and at < self._points[-1][0]:
            self._points.clear()  # time went back: a new leader or a new offset estimate
        if self._points and abs(self.predict(at) - beat) > _JUMP_BEATS:
            self._off.append(point)
            spread = [b + (at - t) * tempo / 60.0 for t, b, tempo in self._off]
            if len(self._off) == _CONFIRM and max(spread) - min(spread) <= _JUMP_BEATS:
                self._points = deque(self._off, maxlen=256)  # the jump is real: start afresh from it
                self._off.clear()
            return
        self._off.clear()
        self._points.append(point)
        while self._points and at - self._points[0][0] > self.window:
            self._points.popleft()

    def predict(self, when: float) -> float:
        return statistics.median(b + (when - t) * bpm / 60.0 for t, b, bpm in self._points)

    def reading(self, beats_per_bar: int) -> ClockReading | None:
        if not self._points:
            return None
        at, _, bpm = self._points[-1]
        return ClockReading("leader", bpm, self.predict(at), at, beats_per_bar)


class FollowerLink:
    """Follows the leader at `host:port`. `read()` (any thread) is the ExternalClock; `changes()` (the render
    thread) takes the mirrored changes received since the last call."""

    name = "leader"

    def __init__(self, host: str, port: int, bind_host: str = "", lost_after: float = 1.5,
                 hello_every: float = 1.0, ping_every: float = 0.5, label: str = "") -> None:
        self.host, self.port = host, int(port)
        self.bind_host = bind_host
        self.lost_after, self.hello_every, self.ping_every = lost_after, hello_every, ping_every
        self.label = label or socket.gethostname()
        self.stats = FollowerStats()
        self.offset = OffsetEstimator()
        self._fit = BeatFit()
        self._session: int | None = None
        self._seen: deque[int] = deque(maxlen=512)
        self._reading: ClockReading | None = None  # latest value for read()
        self._inbox: deque[Change] = deque(maxlen=1024)
        self._leader: tuple[str, int] | None = None
        self._last_clock = 0.0
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._log = RateLimitedLog(log)

    def start(self) -> FollowerLink:
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
        except OSError as exc:
            raise UserError(f"--follow {self.host}:{self.port}: cannot resolve {self.host} ({exc})") from exc
        family, _, _, _, addr = infos[0]
        self._leader = (str(addr[0]), int(addr[1]))
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((self.bind_host, 0))
        except OSError as exc:
            sock.close()
            raise UserError(f"--follow: cannot open a UDP socket: {exc}") from exc
        sock.setblocking(False)
        self._sock = sock
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sync-follower", daemon=True)
        self._thread.start()
        log.info("following the leader at %s:%d", self.host, self.port)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._send(encode(Bye()))
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def local_port(self) -> int:
        return self._sock.getsockname()[1] if self._sock is not None else 0

    # ---- ExternalClock, mirrored changes --------------------------------------------------------------
    def read(self) -> ClockReading | None:
        """The leader's clock on our time; None before its first beat; the last reading while it is lost."""
        return self._reading

    def changes(self) -> list[Change]:
        out = []
        while self._inbox:
            out.append(self._inbox.popleft())
        return out

    def status(self) -> str:
        """One line for the panel / the tempo-source selector."""
        st, r = self.stats, self._reading
        if st.state == "lost":
            return f"leader lost {self.silent_for:.0f} s: free-running at {r.bpm if r else 0.0:.1f} BPM"
        if st.state == "following":
            return (f"following {self.host}:{self.port} (offset {st.offset_ms:.2f} ms, "
                    f"round trip {st.rtt_ms:.2f} ms)")
        return f"waiting for the leader at {self.host}:{self.port}"

    @property
    def silent_for(self) -> float:
        return time.perf_counter() - self._last_clock if self._last_clock else 0.0

    # ---- the thread -----------------------------------------------------------------------------------
    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        next_hello = next_ping = time.perf_counter()
        pings = 0
        while not self._stop.is_set():
            now = time.perf_counter()
            if now >= next_hello:
                self._send(encode(Hello(0, self.label[:64])))
                next_hello = now + self.hello_every
            if now >= next_ping:
                self._send(encode(Ping(time.perf_counter())))
                pings += 1
                next_ping = now + (0.05 if pings < 8 else self.ping_every)  # a quick first estimate
            self._check_lost(now)
            wait = max(0.0, min(next_hello, next_ping, now + 0.1) - time.perf_counter())
            try:
                ready, _, _ = select.select([sock], [], [], wait)
            except (OSError, ValueError):
                break
            if ready:
                self._receive(sock)

    def _receive(self, sock: socket.socket) -> None:
        for _ in range(64):
            try:
                data, sender = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. ECONNREFUSED after a send to a leader that is not there (yet)
                self.stats.last_error = f"sync socket: {exc}"
                return
            received = time.perf_counter()
            self.stats.packets += 1
            if (sender[0], sender[1]) != self._leader:
                self.stats.refused += 1
                self._error(f"sync packet from {sender[0]}:{sender[1]} refused: not the leader")
                continue
            try:
                self._handle(decode(data), received)
            except SyncError as exc:
                self.stats.malformed += 1
                self._error(f"sync packet from the leader refused: {exc}")
            except Exception as exc:  # a bug here must not end the thread (and the following)
                self.stats.malformed += 1
                log.exception("sync: unexpected error on a packet")
                self.stats.last_error = f"internal error: {exc!r}"

    def _handle(self, msg: object, received: float) -> None:
        if isinstance(msg, Pong):
            self.offset.add(msg.ping_sent, msg.leader_time, received)
            best = self.offset.best
            if best is not None:
                self.stats.rtt_ms, self.stats.offset_ms = best[0] * 1000.0, best[1] * 1000.0
        elif isinstance(msg, Clock):
            self._clock(msg, received)
        elif isinstance(msg, Change):
            if msg.target_beat > 0 and self._reading is not None and \
                    msg.target_beat > self._reading.beat_at(received) + MAX_TARGET_AHEAD:
                raise SyncError(f"change scheduled {msg.target_beat} beats ahead: refused")
            if msg.session != self._session:
                self._session = msg.session
                self._seen.clear()
            if msg.seq in self._seen:
                self.stats.duplicates += 1
                return
            self._seen.append(msg.seq)
            self.stats.changes += 1
            self._inbox.append(msg)
        else:
            raise SyncError(f"{type(msg).__name__} is not for a follower")

    def _clock(self, msg: Clock, received: float) -> None:
        best = self.offset.best
        if best is None:
            return  # no offset yet: the first pongs are a few ms away
        if msg.session != self._session:
            self._session = msg.session
            self._seen.clear()
        self._fit.add(msg.at - best[1], msg.beat, msg.bpm)
        reading = self._fit.reading(msg.beats_per_bar)
        self._reading = reading
        self._last_clock = received
        self.stats.clocks += 1
        if self.stats.state != "following":
            was = self.stats.state
            self.stats.state = "following"
            log.info("%s the leader at %s:%d (%.1f BPM, offset %.2f ms, round trip %.2f ms)",
                     "rejoined" if was == "lost" else "following", self.host, self.port,
                     msg.bpm, self.stats.offset_ms, self.stats.rtt_ms)

    def _check_lost(self, now: float) -> None:
        if self.stats.state == "following" and now - self._last_clock > self.lost_after:
            self.stats.state = "lost"
            self.stats.lost_count += 1
            r = self._reading
            log.warning("leader %s:%d silent for %.1f s: free-running at %.1f BPM until it returns",
                        self.host, self.port, now - self._last_clock, r.bpm if r else 0.0)

    def _error(self, text: str) -> None:
        self.stats.last_error = text
        self._log.warning("%s", text)

    def _send(self, data: bytes) -> None:
        if self._sock is None or self._leader is None:
            return
        try:
            self._sock.sendto(data, self._leader)
        except OSError as exc:
            self.stats.last_error = f"sync send: {exc}"
