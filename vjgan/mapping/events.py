"""One-frame events (onsets, kicks, snares, beats, bars) seen at the render rate without losing any.

The analyzer publishes 100 frames/s and marks an event in exactly one frame; the renderer samples the
latest frame at its own rate (e.g. 60 fps), so a plain boolean would be missed about 40 % of the time.
Features therefore carry event counters; an event fired for the renderer when its counter moved since
the previous rendered frame. Streams without counters (all zero) fall back to the boolean's rising edge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

from vjgan.core.features import Features

# event source → Features counter field (bar_event uses the engine's bar clock)
COUNTERS = {"onset_event": "onset_count", "kick_event": "kick_count", "snare_event": "snare_count",
            "beat_event": "beat_count"}
EVENTS = (*COUNTERS, "bar_event")


class EventTracker:
    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._flags: dict[str, bool] = {}
        self._bar: int | None = None

    def update(self, f: Features, bars: float) -> dict[str, float]:
        """1.0 for each event that happened since the previous call, else 0.0."""
        out: dict[str, float] = {}
        for name, counter in COUNTERS.items():
            count = getattr(f, counter)
            flag = bool(getattr(f, name))
            last = self._counts.get(name)
            if count or last:
                fired = last is not None and count != last
            else:  # no counters in this stream: rising edge of the boolean
                fired = flag and not self._flags.get(name, False)
            self._counts[name] = count
            self._flags[name] = flag
            out[name] = 1.0 if fired else 0.0
        bar = math.floor(bars + 1e-9)
        out["bar_event"] = 1.0 if (self._bar is not None and bar != self._bar) or (f.bar_event and self._bar is None) \
            else 0.0
        self._bar = bar
        return out


def count_events(features: Iterable[Features]) -> list[Features]:
    """Stamp onset/kick/snare counters on a timeline recorded without them (tests, old analysis files)."""
    out = []
    n = {"onset_count": 0, "kick_count": 0, "snare_count": 0}
    for f in features:
        n["onset_count"] += f.onset_event
        n["kick_count"] += f.kick_event
        n["snare_count"] += f.snare_event
        out.append(replace(f, **n))
    return out
