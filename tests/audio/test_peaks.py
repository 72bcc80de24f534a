"""The causal peak picker: rising-edge events (the live default) against confirmed peaks."""

from __future__ import annotations

import numpy as np

from vjgan.audio.peaks import OnlinePeakPicker


def events(picker: OnlinePeakPicker, values: list[float]) -> list[int]:
    return [i for i, v in enumerate(values) if picker.update(v)]


def test_rising_edge_fires_at_the_first_frame_above_threshold() -> None:
    hit = [0.0, 0.0, 0.3, 0.8, 0.95, 0.6, 0.2, 0.0]
    assert events(OnlinePeakPicker(0.25, post_max=0), hit) == [2]  # the rise, before the peak at 4
    assert events(OnlinePeakPicker(0.25, post_max=1), hit) == [5]  # the peak, confirmed one frame later


def test_a_slow_rise_fires_once_and_rearms_after_the_fall() -> None:
    # one hit rising over 6 frames (longer than `combine`), then a second hit after a dip
    values = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.5, 0.45, 0.9, 0.3, 0.1]
    assert events(OnlinePeakPicker(0.25, post_max=0, combine=3), values) == [1, 9]


def test_rising_edge_matches_peaks_on_noisy_hits() -> None:
    """Same hits found by both modes on a random hit train; rising-edge events are never later."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 0.1, 3000)
    starts = np.sort(rng.choice(np.arange(10, 2990, 15), 120, replace=False))
    for s in starts:  # attack over 1-3 frames, exponential decay
        rise = rng.integers(1, 4)
        peak = rng.uniform(0.4, 1.0)
        x[s : s + rise] += peak * np.arange(1, rise + 1) / rise
        x[s + rise : s + rise + 8] += peak * 0.5 ** np.arange(1, 9)
    rise_ev = np.array(events(OnlinePeakPicker(0.25, post_max=0), list(x)))
    peak_ev = np.array(events(OnlinePeakPicker(0.25, post_max=1), list(x)))
    assert len(rise_ev) == len(peak_ev) == len(starts)
    assert np.all(rise_ev - starts >= 0) and np.all(rise_ev - starts <= 2)
    assert np.all(peak_ev > rise_ev)
