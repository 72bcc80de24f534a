"""External clocks (Link, MIDI clock, a leader) replace the beat tracker's tempo and phase while followed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.app.test_headless import click_track
from vjgan.audio.beat import BeatTracker
from vjgan.audio.engine import AudioEngine
from vjgan.audio.sources import make_source
from vjgan.core.clock import ClockReading
from vjgan.core.features import FeatureBus


def test_reading_validates_and_extrapolates() -> None:
    r = ClockReading("link", 120.0, beat=8.0, at=100.0)
    assert r.beat_at(101.0) == pytest.approx(10.0)
    assert r.time_of(12.0) == pytest.approx(102.0)
    for bad in (dict(source="analysis"), dict(bpm=float("nan")), dict(bpm=0.0), dict(beat=float("inf"))):
        with pytest.raises(ValueError):
            ClockReading(**{"source": "midi", "bpm": 120.0, "beat": 0.0, "at": 0.0, **bad})


def test_tracker_follows_clock_beats_bars_and_jumps() -> None:
    tracker = BeatTracker()
    clock = ClockReading("link", 150.0, beat=0.0, at=0.0, beats_per_bar=4)  # 0.4 s per beat
    tracker.follow(clock)
    states = [tracker.update(0.0, now=i / 100.0) for i in range(401)]  # 4 s = 10 beats, 10 ms frames
    beats = [i for i, s in enumerate(states) if s.beat_event]
    assert beats == [40 * k for k in range(1, 11)]  # one event per whole beat, on the frame it is reached
    assert [i for i, s in enumerate(states) if s.bar_event] == [160, 320]  # beats 4 and 8
    assert all(s.tempo == 150.0 and s.locked for s in states)
    assert states[60].beat_phase == pytest.approx(0.5) and states[60].bar_phase == pytest.approx(1.5 / 4)
    assert states[400].beat_count == 10
    # a re-synced clock jumping ahead emits one beat, jumping back waits for the next whole beat
    tracker.follow(ClockReading("link", 150.0, beat=20.5, at=4.0))
    assert tracker.update(0.0, now=4.0).beat_event and tracker.update(0.0, now=4.01).beat_event is False
    tracker.follow(ClockReading("link", 150.0, beat=3.5, at=4.02))
    assert not any(tracker.update(0.0, now=4.02 + i / 100.0).beat_event for i in range(19))
    assert tracker.update(0.0, now=4.22).beat_event  # beat 4.0
    tracker.follow(None)  # back to the audio: idle until the estimator finds a tempo again
    assert tracker.clock is None


def test_engine_follows_clock_over_a_real_track(tmp_path: Path) -> None:
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=6.0)  # the audio says 120 BPM; the clock says 90
    bus = FeatureBus()
    engine = AudioEngine(make_source(audio, play=False), bus)
    engine.start()
    try:
        engine.follow_clock(ClockReading("midi", 90.0, beat=0.0, at=time.perf_counter()))
        end = time.perf_counter() + 5.0
        while bus.latest is None or bus.latest.tempo != 90.0:
            assert time.perf_counter() < end, "the analysis never took the clock's tempo"
            time.sleep(0.01)
        time.sleep(0.8)  # more than one beat at 90 BPM
        f = bus.latest
        assert f.tempo == 90.0 and f.beat_count >= 1
        engine.follow_clock(None)
        end = time.perf_counter() + 5.0
        while bus.latest.tempo == 90.0:
            assert time.perf_counter() < end, "the analysis did not take the tempo back"
            time.sleep(0.01)
    finally:
        engine.stop()
