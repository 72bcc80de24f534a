"""Whole-track analysis on generated audio whose beats and sections are known exactly."""

from __future__ import annotations

import numpy as np

from vjgan.audio.trackanalysis import (
    RehearsalFeed,
    TrackAnalysis,
    analysis_cache_path,
    analyze_track,
    load_cached_analysis,
)
from vjgan.core.features import Features


def test_beats_on_click_track_within_30ms(click_wav) -> None:
    path, clicks = click_wav
    a = analyze_track(path, progress=False)
    assert len(a.beats) == len(clicks)
    assert np.max(np.abs(a.beats - clicks)) <= 0.030
    assert abs(a.tempo - 120.0) < 2.0
    # downbeats are tracked beats, one per bar of `beats_per_bar`
    assert a.beats_per_bar in (3, 4)
    assert set(np.round(a.downbeats, 3)) <= set(np.round(a.beats, 3))
    assert np.allclose(np.diff(a.downbeats), a.beats_per_bar * 0.5, atol=0.03)


def test_sections_of_two_halves_split_at_the_boundary(halves_wav) -> None:
    a = analyze_track(halves_wav, progress=False)
    assert len(a.sections) == 2, a.sections
    first, second = a.sections
    assert abs(first.end - 8.0) <= 1.0 and first.end == second.start
    assert (first.start, second.end) == (0.0, a.duration)
    assert first.label != second.label
    assert a.features_at(4.0).section == first.label and a.features_at(12.0).section == second.label
    # the parts differ the way the audio does: minor pad (A, C, E) then E major (E, G#, B)
    pc = np.array(a.matrices["chroma_harmonic"])
    early, late = pc[200:700].mean(axis=0), pc[900:1500].mean(axis=0)
    assert early[0] > late[0] and late[8] > early[8]  # C only in the first half, G# only in the second


def test_cache_roundtrip_without_pickle(click_wav) -> None:
    path, _ = click_wav
    a = analyze_track(path, progress=False)
    cached = analysis_cache_path(path)
    assert cached.exists()
    b = load_cached_analysis(path)
    assert isinstance(b, TrackAnalysis)
    assert np.array_equal(a.beats, b.beats) and a.sections == b.sections
    for k in a.curves:
        assert np.array_equal(a.curves[k], b.curves[k])
    # different parameters → a different cache entry, not a stale hit
    assert analysis_cache_path(path, n_sections=3) != cached


def test_a_new_analysis_version_never_reads_an_old_cache(click_wav, monkeypatch) -> None:
    """Bumping ANALYSIS_VERSION (the offline features changed) moves every file to a new cache entry."""
    from vjgan.audio import trackcache

    path, _ = click_wav
    analyze_track(path, progress=False)
    old = analysis_cache_path(path)
    monkeypatch.setattr(trackcache, "ANALYSIS_VERSION", trackcache.ANALYSIS_VERSION + 1)
    assert analysis_cache_path(path) != old and load_cached_analysis(path) is None


def test_each_beat_is_one_event_at_video_rate(click_wav) -> None:
    path, clicks = click_wav
    a = analyze_track(path, progress=False)
    fps = 30
    prev = None
    seen = []
    for i in range(int(a.duration * fps)):
        t = i / fps
        f = a.features_at(t, prev, frame=i)
        if f.beat_event:
            seen.append(t)
        prev = t
    assert len(seen) == len(a.beats)
    last = a.features_at(a.duration)
    assert last.beat_count == len(a.beats) and last.onset_count == len(a.events["onset_events"]) > 0
    assert np.max(np.abs(np.array(seen) - a.beats)) < 1.0 / fps
    mid = a.features_at(float(a.beats[3] + 0.25))  # half-way through a 0.5 s beat
    assert abs(mid.beat_phase - 0.5) < 0.03 and mid.beat_count == 4


def test_rehearsal_feed_uses_cache_and_wraps(click_wav) -> None:
    path, _ = click_wav
    analyze_track(path, progress=False)
    feed = RehearsalFeed(path)
    assert feed.ready
    live = Features(time=123.0)
    assert feed.features(1.0, live).time == 1.0
    d = feed.analysis.duration
    f = feed.features(d + 1.0, live)  # second time round the loop
    assert abs(f.time - 1.0) < 1e-6
    before = feed.features(d - 0.01, live)
    f = feed.features(d + 0.51, live)
    assert f.beat_event  # the beat at 0.5 s is seen again after the wrap
    assert f.beat_count > before.beat_count and f.onset_count > before.onset_count  # counters never go back


def test_rehearsal_feed_falls_back_to_live_without_cache(tmp_path) -> None:
    from tests.offline.synth import click_track, write_wav

    path = write_wav(tmp_path / "uncached.wav", click_track(2.0)[0] * 0.5)
    feed = RehearsalFeed(path)
    live = Features(time=42.0)
    assert not feed.ready and feed.features(1.0, live) is live
