"""A small TOML writer for presets (the stdlib only reads TOML): tables, arrays of tables, scalars."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"TOML cannot hold {v}")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON escapes are valid TOML basic-string escapes
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _small(v: Any) -> bool:
    """A flat dict written inline (`envelope = { ... }`) inside an array-of-tables item, as people write it."""
    return isinstance(v, dict) and len(v) <= 6 and not any(isinstance(x, dict | list) for x in v.values())


def _table(lines: list[str], path: list[str], d: dict[str, Any], header: str | None) -> None:
    in_item = header is None and bool(path)
    scalars = {
        k: v for k, v in d.items() if (not isinstance(v, dict) or (in_item and _small(v))) and not _is_table_array(v)
    }
    if header is not None and (scalars or not d):
        lines.append("")
        lines.append(header)
    for k, v in scalars.items():
        lines.append(f"{key(k)} = {value(v)}")
    for k, v in d.items():
        sub = path + [key(k)]
        if k in scalars:
            continue
        if isinstance(v, dict):
            _table(lines, sub, v, "[" + ".".join(sub) + "]")
        elif _is_table_array(v):
            for item in v:
                lines.append("")
                lines.append("[[" + ".".join(sub) + "]]")
                _table(lines, sub, item, None)


def dumps(data: dict[str, Any], comment: str = "") -> str:
    """TOML text for nested dicts; `comment` lines go on top."""
    lines = [f"# {c}" for c in comment.splitlines()]
    _table(lines, [], data, None)
    return "\n".join(lines).lstrip("\n") + "\n"
