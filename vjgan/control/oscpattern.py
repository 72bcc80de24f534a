"""OSC 1.0 address patterns (`?`, `*`, `[a-z]`, `[!0-9]`, `{foo,bar}`), matched without `re` or `eval`.

Why its own automaton: a pattern arrives from the network, so it must not be able to inject a regular
expression or make matching slow. Braces are expanded into at most `MAX_PATTERN_VARIANTS` plain patterns,
each segment is compiled to a token list, and a segment is matched in O(tokens × characters), never by
backtracking.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

Token = tuple[str, Any]  # ("*", None), ("?", None), ("=", char) or ("[", (negated, ((lo, hi), ...)))
Compiled = tuple[tuple[list[Token], ...], ...]  # per brace variant, per address segment
MAX_PATTERN_VARIANTS = 32
PATTERN_CHARS = frozenset("*?[{")


def is_pattern(address: str) -> bool:
    """True when `address` uses pattern syntax (so it may address several parameters)."""
    return not PATTERN_CHARS.isdisjoint(address)


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


def _bracket(body: str) -> Token:
    """`[a-z]` / `[!0-9]` (the text between the brackets) as a character-class token."""
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
    return "[", (neg, tuple(ranges))


def _tokens(segment: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(segment):
        c = segment[i]
        if c == "*":
            if not tokens or tokens[-1][0] != "*":  # '**' is '*'
                tokens.append(("*", None))
        elif c == "?":
            tokens.append(("?", None))
        elif c == "[":
            end = segment.find("]", i + 1)
            if end < 0:
                raise ValueError("unclosed '['")
            tokens.append(_bracket(segment[i + 1 : end]))
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
def compile_pattern(pattern: str) -> Compiled:
    """A pattern as per-segment token lists (cached: controllers repeat the same few). ValueError if malformed."""
    return tuple(tuple(_tokens(seg) for seg in variant.split("/")) for variant in _expand_braces(pattern))


def pattern_matches(compiled: Compiled, address: str) -> bool:
    """Whether a compiled pattern matches a plain address, segment by segment (`*` never crosses a '/')."""
    segments = address.split("/")
    return any(
        len(variant) == len(segments) and all(_segment_match(t, s) for t, s in zip(variant, segments, strict=True))
        for variant in compiled
    )
