"""What vjgan sends back to controllers: a parameter's value as OSC arguments, at its own address or at the
controller's learned address, packed into datagrams no bigger than a safe UDP size.

Shared by queries (oscquery.py, answered on the OSC thread) and feedback (feedback.py, its own thread), so
a controller sees the same message whether it asked for a value or was told it changed.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from typing import Any

from vjgan.control.oscwire import encode_bundle, encode_message
from vjgan.core.bindings import Binding
from vjgan.core.registry import Param, ParamRegistry

# Ethernet MTU 1500 - IPv4/IPv6 + UDP headers, with a margin: a reply is never fragmented on a LAN or Wi-Fi
SAFE_DATAGRAM = 1400
ERROR_ADDRESS = "/vjgan/error"
_INT32 = (-(2**31), 2**31 - 1)


def wire_args(param: Param, value: Any) -> list[Any] | None:
    """A value as the OSC arguments a controller shows it with (None: nothing to send).

    bool → float 1.0/0.0 (what TouchOSC toggles send and display), int → i, float → f, str → s."""
    if value is None or param.kind == "trigger":
        return None
    if param.kind == "str":
        return [str(value)]
    if param.kind == "bool":
        return [1.0 if value else 0.0]
    if param.kind == "int":
        return [min(max(int(value), _INT32[0]), _INT32[1])]
    x = float(value)
    return [x] if math.isfinite(x) else None


def source_value(binding: Binding, value: Any, registry: ParamRegistry) -> Any:
    """The value a learned controller address shows for the target's `value`: `Binding.translate` inverted."""
    if not binding.scale or isinstance(value, bool | str) or value is None:
        return value
    param = registry.get(binding.target)
    if param is None or param.minimum is None or param.maximum is None or param.maximum == param.minimum:
        return value
    t = (float(value) - param.minimum) / (param.maximum - param.minimum)
    return float(binding.in_min + t * (binding.in_max - binding.in_min))


def value_messages(
    registry: ParamRegistry, bindings: Iterable[Binding], address: str, value: Any
) -> list[tuple[str, list[Any]]]:
    """(address, args) for a parameter's value: at its own address and at every learned address bound to it."""
    param = registry.get(address)
    if param is None:
        return []
    out = []
    args = wire_args(param, value)
    if args is not None:
        out.append((address, args))
    for b in bindings:
        if b.target != address:
            continue
        shown = source_value(b, value, registry)
        if b.scale and param.kind in ("float", "int") and isinstance(shown, float) and math.isfinite(shown):
            out.append((b.source, [shown]))  # the controller's own range (TouchOSC: 0..1)
        elif args is not None:
            out.append((b.source, args))
    return out


def pack(messages: Iterable[bytes], limit: int = SAFE_DATAGRAM) -> list[bytes]:
    """Datagrams for encoded messages: one message alone, several in bundles of at most `limit` bytes.
    A single message above `limit` still goes alone (OSC cannot split it)."""
    groups: list[list[bytes]] = []
    size = limit + 1
    for m in messages:
        if size + 4 + len(m) > limit:
            groups.append([])
            size = 16  # "#bundle\0" + time tag
        groups[-1].append(m)
        size += 4 + len(m)
    return [g[0] if len(g) == 1 else encode_bundle(g) for g in groups]


def encode_all(items: Iterable[tuple[str, list[Any]]], limit: int = SAFE_DATAGRAM) -> list[bytes]:
    """Encoded and packed (address, args) pairs; an argument OSC cannot carry drops only its message."""
    encoded = []
    for address, args in items:
        try:
            encoded.append(encode_message(address, args))
        except (TypeError, struct.error, UnicodeEncodeError):
            continue
    return pack(encoded, limit)


def error_message(text: str) -> bytes:
    """`/vjgan/error s`: why a query or a feedback request was refused (text capped so it fits any datagram)."""
    return encode_message(ERROR_ADDRESS, [text[:300]])
