"""Whole-track analysis, the public entry: everything the live analyzer estimates causally, computed once
with hindsight.

Why: when the whole track is known (rehearsal with a looped file, offline music-video render) beats,
downbeats and sections can be known *ahead* of time — no analysis latency, no tempo lock-in, and section
labels that a live analyzer cannot produce. This module only gathers the public names; the work is split
by responsibility:

- trackdsp.py: the offline DSP (samples → `TrackAnalysis`), with the live analyzer's spectral definitions
  (featuredefs.py) on centred windows;
- trackresult.py: `TrackAnalysis`, its `.npz` storage and `features_at(t)` (the same `Features` the live
  analyzer publishes);
- trackcache.py: the per-file cache (`analyze_track`, `load_cached_analysis`);
- rehearsal.py: `RehearsalFeed`, cached features in step with the file player.
"""

from __future__ import annotations

from vjgan.audio.rehearsal import RehearsalFeed
from vjgan.audio.trackcache import analysis_cache_path, analyze_track, load_cached_analysis
from vjgan.audio.trackdsp import ANALYSIS_VERSION, SAMPLE_RATE, analyze_samples, load_mono
from vjgan.audio.trackresult import CURVES, EVENTS, MATRICES, TrackAnalysis

__all__ = [
    "ANALYSIS_VERSION",
    "CURVES",
    "EVENTS",
    "MATRICES",
    "SAMPLE_RATE",
    "RehearsalFeed",
    "TrackAnalysis",
    "analysis_cache_path",
    "analyze_samples",
    "analyze_track",
    "load_cached_analysis",
    "load_mono",
]
