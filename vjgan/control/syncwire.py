"""The leader/follower sync protocol: small typed messages, encoded as OSC over UDP (no pickle).

Follower → leader: `Hello` (register, repeated as a keepalive), `Ping` (clock offset), `Bye`.
Leader → follower: `Pong`, `Clock` (tempo and beat position at the leader's send time, 20-50 Hz) and
`Change` (a control change the leader received, to apply when the follower's beat reaches `target_beat`).
Times are the sender's own `time.perf_counter()`, as OSC doubles (a float32 cannot hold a perf_counter
to the millisecond). `decode` is all-or-nothing: a packet is one valid message or a `SyncError`, which the
receiver counts and refuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vjgan.control.oscwire import OscParseError, encode_message, parse_packet

PREFIX = "/vjgan/sync/"
AT_ONCE = -1  # Change.target_beat: apply on arrival (quantise off, timed bundles)
PREPARE = -2  # Change.target_beat: a preset load the leader is compiling; its beat comes in a second Change
MAX_TARGET_AHEAD = 256  # beats: a change scheduled further ahead than this is refused as malformed


class SyncError(ValueError):
    """A packet that is not a valid sync message: counted and refused."""


@dataclass(frozen=True, slots=True)
class Hello:
    reply_port: int  # where the follower listens; 0 = the port the hello came from
    name: str = ""


@dataclass(frozen=True, slots=True)
class Bye:
    pass


@dataclass(frozen=True, slots=True)
class Ping:
    sent: float  # follower perf_counter()


@dataclass(frozen=True, slots=True)
class Pong:
    ping_sent: float  # the follower's time, echoed
    leader_time: float  # leader perf_counter() when answering


@dataclass(frozen=True, slots=True)
class Clock:
    session: int  # random per leader run: a restarted leader is a new beat origin and a new change sequence
    bpm: float
    beat: float  # beat_count + beat_phase at `at`
    at: float  # leader perf_counter()
    beats_per_bar: int = 4


@dataclass(frozen=True, slots=True)
class Change:
    session: int
    seq: int  # per session, increasing: a change repeated against loss is applied once
    target_beat: int  # apply when the beat count reaches it; AT_ONCE, or PREPARE (compile now, beat later)
    address: str
    value: Any  # float, int, bool, str (the registry coerces it on the follower, as any control message)
    origin: str = ""


SyncMessage = Hello | Bye | Ping | Pong | Clock | Change


def encode(msg: SyncMessage) -> bytes:
    args: list[Any]
    if isinstance(msg, Hello):
        return encode_message(PREFIX + "hello", [int(msg.reply_port), msg.name])
    if isinstance(msg, Bye):
        return encode_message(PREFIX + "bye", [])
    if isinstance(msg, Ping):
        return encode_message(PREFIX + "ping", [float(msg.sent)], doubles=True)
    if isinstance(msg, Pong):
        return encode_message(PREFIX + "pong", [float(msg.ping_sent), float(msg.leader_time)], doubles=True)
    if isinstance(msg, Clock):
        args = [msg.session, float(msg.bpm), float(msg.beat), float(msg.at), int(msg.beats_per_bar)]
        return encode_message(PREFIX + "clock", args, doubles=True)
    if isinstance(msg, Change):
        value = float(msg.value) if isinstance(msg.value, float) else msg.value
        args = [msg.session, msg.seq, msg.target_beat, msg.address, value, msg.origin]
        return encode_message(PREFIX + "change", args, doubles=True)
    raise TypeError(f"not a sync message: {type(msg).__name__}")


def _finite(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise SyncError(f"{what} must be a finite number, got {x!r}")
    return float(x)


def _int(x: Any, what: str, lo: int, hi: int) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or not lo <= x <= hi:
        raise SyncError(f"{what} must be an integer in {lo}..{hi}, got {x!r}")
    return int(x)


def _str(x: Any, what: str, limit: int = 256) -> str:
    if not isinstance(x, str) or len(x) > limit:
        raise SyncError(f"{what} must be a string of at most {limit} characters")
    return x


def _shape(args: tuple[Any, ...], n: int, address: str) -> None:
    if len(args) != n:
        raise SyncError(f"{address} expects {n} arguments, got {len(args)}")


def decode(data: bytes) -> SyncMessage:
    """One sync message from a datagram; SyncError for anything else (bundles, other addresses, bad values)."""
    if data.startswith(b"#bundle"):
        raise SyncError("a bundle: sync messages travel alone")
    try:
        messages = parse_packet(data)
    except OscParseError as exc:
        raise SyncError(f"not OSC: {exc}") from exc
    if len(messages) != 1:
        raise SyncError(f"expected one message, got {len(messages)}")
    m = messages[0]
    kind, args = m.address.removeprefix(PREFIX), m.args
    if not m.address.startswith(PREFIX):
        raise SyncError(f"not a sync address: {m.address[:80]!r}")
    if kind == "hello":
        _shape(args, 2, m.address)
        return Hello(_int(args[0], "reply port", 0, 65535), _str(args[1], "name", 64))
    if kind == "bye":
        _shape(args, 0, m.address)
        return Bye()
    if kind == "ping":
        _shape(args, 1, m.address)
        return Ping(_finite(args[0], "ping time"))
    if kind == "pong":
        _shape(args, 2, m.address)
        return Pong(_finite(args[0], "ping time"), _finite(args[1], "leader time"))
    if kind == "clock":
        _shape(args, 5, m.address)
        bpm = _finite(args[1], "bpm")
        if not 1.0 <= bpm <= 999.0:
            raise SyncError(f"tempo {bpm} BPM out of 1..999")
        return Clock(_int(args[0], "session", -(2**31), 2**31 - 1), bpm, _finite(args[2], "beat"),
                     _finite(args[3], "time"), _int(args[4], "beats per bar", 1, 64))
    if kind == "change":
        _shape(args, 6, m.address)
        value = args[4]
        if isinstance(value, float):
            value = _finite(value, "value")
        elif not isinstance(value, bool | int | str):
            raise SyncError(f"change value of type {type(value).__name__} refused")
        address = _str(args[3], "address")
        if not address.startswith("/vjgan/") or address.startswith(PREFIX):
            raise SyncError(f"change of {address[:80]!r} refused (not a vjgan control)")
        return Change(_int(args[0], "session", -(2**31), 2**31 - 1), _int(args[1], "seq", 0, 2**31 - 1),
                      _int(args[2], "target beat", PREPARE, 2**31 - 1), address, value, _str(args[5], "origin", 64))
    raise SyncError(f"unknown sync message {m.address[:80]!r}")
