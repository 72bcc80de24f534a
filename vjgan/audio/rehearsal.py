"""The rehearsal feed: a looped file's cached whole-track features, in step with the player.

Why: while rehearsing on a looped file, beats, bars and sections can be known ahead instead of estimated
live (no analysis latency, no tempo lock-in). The live app asks the feed every rendered frame with the
player's position; until an analysis exists it passes the live analyzer's features through.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

from vjgan.audio.trackcache import analyze_track, load_cached_analysis
from vjgan.audio.trackresult import TrackAnalysis
from vjgan.core.features import Features

log = logging.getLogger(__name__)


class RehearsalFeed:
    """Features of a looped file from its whole-track analysis, known ahead of time (no analysis latency).

    The live app creates one for the looped file and, every rendered frame, calls
    `features(player_position, fallback=bus.latest)`: while no analysis is available it returns the live
    analyzer's `fallback`; once one is (cached, or computed in the background when `analyze_if_missing`),
    it returns `TrackAnalysis.features_at(position mod duration)` with beat/bar/section events exact.
    """

    def __init__(self, path: str | Path, analyze_if_missing: bool = False, n_sections: int | None = None) -> None:
        self.path = Path(path)
        self.analysis: TrackAnalysis | None = load_cached_analysis(self.path, n_sections)
        self.error: str | None = None
        self._prev: float | None = None
        self._frame = 0
        self._loops = 0
        self._thread: threading.Thread | None = None
        if self.analysis is None and analyze_if_missing:
            self._thread = threading.Thread(
                target=self._analyse, args=(n_sections,), name="track-analysis", daemon=True
            )
            self._thread.start()

    @property
    def ready(self) -> bool:
        return self.analysis is not None

    def _analyse(self, n_sections: int | None) -> None:
        try:
            result = analyze_track(self.path, n_sections=n_sections, progress=False)
        except Exception as exc:  # a failed background analysis must not stop the show: stay on live analysis
            self.error = str(exc)
            log.warning("whole-track analysis of %s failed, staying on live analysis: %s", self.path, exc)
            return
        self.analysis = result  # a single reference assignment: the render thread sees old or new, never half
        log.info("whole-track analysis of %s ready: rehearsal features now come from it", self.path)

    def features(self, position: float, fallback: Features) -> Features:
        a = self.analysis
        if a is None:
            return fallback
        t = position % a.duration if a.duration > 0 else 0.0
        if self._prev is not None and t < self._prev:
            self._loops += 1  # wrapped: keep event counters increasing so no event fires twice or never
        out = a.features_at(t, self._prev, frame=self._frame)
        self._prev, self._frame = t, self._frame + 1
        if self._loops:
            n = self._loops
            out = replace(
                out,
                beat_count=out.beat_count + n * len(a.beats),
                onset_count=out.onset_count + n * len(a.events["onset_events"]),
                kick_count=out.kick_count + n * len(a.events["kick_events"]),
                snare_count=out.snare_count + n * len(a.events["snare_events"]),
            )
        return out
