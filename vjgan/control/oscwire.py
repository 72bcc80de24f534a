"""OSC wire format: a strict, bounded packet parser (built on python-osc's primitive readers), a small
encoder, and the two ways OSC packets are framed on a TCP stream (OSC 1.0 length prefix, OSC 1.1 SLIP).

Why not python-osc's `OscPacket`: it accepts unknown type tags with only a log line, pads truncated floats,
recurses without a depth limit into nested bundles and converts time tags to wall-clock floats. A server
that faces the network must reject all of that cleanly and count it, so parsing here is all-or-nothing:
a packet either yields a list of messages or raises `OscParseError`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pythonosc.parsing import osc_types

BUNDLE_PREFIX = b"#bundle\x00"
TIMETAG_IMMEDIATE = 1  # OSC: 63 zero bits then a one
NTP_UNIX_OFFSET = 2208988800  # seconds from 1900-01-01 (NTP epoch) to 1970-01-01 (Unix epoch)
MAX_BUNDLE_DEPTH = 8
MAX_MESSAGES_PER_PACKET = 256
MAX_ADDRESS_LENGTH = 256

# Type tags we accept; anything else (arrays, MIDI, RGBA, chars, time tags as arguments) is refused because
# no parameter uses them and refusing keeps the value path simple.
_SUPPORTED_TAGS = frozenset("ifdhsSbTFNI")


class OscParseError(ValueError):
    """A packet that is not valid OSC (or uses features this server refuses)."""


@dataclass(frozen=True, slots=True)
class WireMessage:
    address: str
    args: tuple[Any, ...]
    timetag: int  # raw 64-bit NTP time tag of the innermost enclosing bundle; 1 (immediate) for bare messages


def ntp_to_unix(timetag: int) -> float:
    return timetag / 2.0**32 - NTP_UNIX_OFFSET


def unix_to_ntp(seconds: float) -> int:
    return int((seconds + NTP_UNIX_OFFSET) * 2.0**32)


def parse_packet(dgram: bytes) -> list[WireMessage]:
    """Every message in a datagram (bundles flattened, each message keeps its bundle's time tag)."""
    out: list[WireMessage] = []
    try:
        _parse_element(dgram, TIMETAG_IMMEDIATE, 0, out)
    except OscParseError:
        raise
    except Exception as exc:  # python-osc's readers can raise IndexError, UnicodeDecodeError, struct.error...
        raise OscParseError(f"{type(exc).__name__}: {exc}") from exc
    return out


def _parse_element(dgram: bytes, timetag: int, depth: int, out: list[WireMessage]) -> None:
    if dgram.startswith(BUNDLE_PREFIX):
        _parse_bundle(dgram, depth, out)
    elif dgram.startswith(b"/"):
        out.append(_parse_message(dgram, timetag))
        if len(out) > MAX_MESSAGES_PER_PACKET:
            raise OscParseError(f"more than {MAX_MESSAGES_PER_PACKET} messages in one packet")
    else:
        raise OscParseError("neither an OSC message (starts with '/') nor a bundle ('#bundle')")


def _parse_bundle(dgram: bytes, depth: int, out: list[WireMessage]) -> None:
    if depth >= MAX_BUNDLE_DEPTH:
        raise OscParseError(f"bundles nested deeper than {MAX_BUNDLE_DEPTH}")
    if len(dgram) < 16:
        raise OscParseError("bundle shorter than its header")
    (timetag,) = struct.unpack_from(">Q", dgram, 8)
    index = 16
    while index < len(dgram):
        size, index = osc_types.get_int(dgram, index)
        if size <= 0 or size % 4 or index + size > len(dgram):
            raise OscParseError(f"bad bundle element size {size}")
        _parse_element(dgram[index : index + size], timetag, depth + 1, out)
        index += size


def _detail(exc: Exception) -> str:
    return str(exc) if isinstance(exc, OscParseError) else f"{type(exc).__name__}: {exc}"


def _parse_message(dgram: bytes, timetag: int) -> WireMessage:
    """One message; once its address is read, every error names it (the log says which control is wrong)."""
    try:
        address, index = osc_types.get_string(dgram, 0)
    except Exception as exc:
        raise OscParseError(f"unreadable address: {_detail(exc)}") from exc
    try:
        return _parse_arguments(dgram, address, index, timetag)
    except Exception as exc:
        raise OscParseError(f"{address[:80]!r}: {_detail(exc)}") from exc


def _parse_arguments(dgram: bytes, address: str, index: int, timetag: int) -> WireMessage:
    if len(address) > MAX_ADDRESS_LENGTH:
        raise OscParseError(f"address longer than {MAX_ADDRESS_LENGTH} characters")
    if index == len(dgram):  # OSC 1.0 allows a message with no type tag string at all
        return WireMessage(address, (), timetag)
    tags, index = osc_types.get_string(dgram, index)
    if not tags.startswith(","):
        raise OscParseError("type tag string does not start with ','")
    args: list[Any] = []
    for n, tag in enumerate(tags[1:], 1):
        if tag not in _SUPPORTED_TAGS:
            raise OscParseError(f"unsupported type tag {tag!r}")
        try:
            value, index = _read_argument(dgram, tag, index)
        except Exception as exc:
            raise OscParseError(f"argument {n} ({tag!r}): {_detail(exc)}") from exc
        if tag != "I":  # impulse ("bang"): carries no data; triggers treat it like no argument
            args.append(value)
    if index != len(dgram):
        raise OscParseError(f"{len(dgram) - index} stray bytes after the arguments")
    return WireMessage(address, tuple(args), timetag)


def _read_argument(dgram: bytes, tag: str, index: int) -> tuple[Any, int]:
    if tag == "i":
        return osc_types.get_int(dgram, index)
    if tag == "f":
        if index + 4 > len(dgram):  # python-osc pads truncated floats; a truncated packet is an error here
            raise OscParseError("truncated float")
        return osc_types.get_float(dgram, index)
    if tag == "d":
        return osc_types.get_double(dgram, index)
    if tag == "h":
        return osc_types.get_int64(dgram, index)
    if tag in "sS":
        return osc_types.get_string(dgram, index)
    if tag == "b":
        return osc_types.get_blob(dgram, index)
    return {"T": True, "F": False, "N": None, "I": None}[tag], index


# --- encoding (OSC out, tests) ---------------------------------------------------------------------------


def _pad(b: bytes) -> bytes:
    return b + b"\x00" * (4 - len(b) % 4)


def encode_message(address: str, args: Sequence[Any] = (), doubles: bool = False) -> bytes:
    """One OSC message; bool → T/F, int → i, float → f (d with `doubles`: times, beats), str → s, bytes → b."""
    tags = [","]
    data = []
    for a in args:
        if isinstance(a, bool):
            tags.append("T" if a else "F")
        elif isinstance(a, int):
            tags.append("i")
            data.append(struct.pack(">i", a))
        elif isinstance(a, float):
            tags.append("d" if doubles else "f")
            data.append(struct.pack(">d" if doubles else ">f", a))
        elif isinstance(a, str):
            tags.append("s")
            data.append(_pad(a.encode("utf-8")))
        elif isinstance(a, bytes):
            tags.append("b")
            data.append(struct.pack(">i", len(a)) + a + b"\x00" * (-len(a) % 4))
        else:
            raise TypeError(f"cannot encode {type(a).__name__} as an OSC argument")
    return _pad(address.encode("utf-8")) + _pad("".join(tags).encode()) + b"".join(data)


def encode_bundle(elements: Sequence[bytes], timetag: int = TIMETAG_IMMEDIATE) -> bytes:
    """A bundle of already-encoded messages/bundles."""
    parts = [BUNDLE_PREFIX, struct.pack(">Q", timetag)]
    for e in elements:
        parts.append(struct.pack(">i", len(e)))
        parts.append(e)
    return b"".join(parts)


# --- stream framing (OSC over TCP) -----------------------------------------------------------------------

SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD


def length_frames(buf: bytearray, limit: int) -> tuple[list[bytes], bool]:
    """Complete int32-length-prefixed frames (OSC 1.0) consumed from `buf`; False when a frame exceeds `limit`."""
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


def slip_frames(buf: bytearray, limit: int) -> tuple[list[bytes], bool]:
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
