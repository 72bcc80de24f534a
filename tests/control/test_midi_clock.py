"""MIDI clock → tempo and beat, from tick timestamps (the timing over a real JACK server: test_midi_jack.py).

Timestamps are given, not waited for, so these hold on any machine under any load."""

from __future__ import annotations

import random
import time

import pytest

from vjgan.control.midi_clock import CLOCK, CONTINUE, SONG_POSITION, START, STOP, MidiClock


def ticks(clock: MidiClock, bpm: float, n: int, jitter: float = 0.0, seed: int = 1) -> float:
    """Feed `n` ticks that end now; each late by up to `jitter` seconds (a MIDI server's period)."""
    rng = random.Random(seed)
    interval = 60.0 / bpm / 24
    t0 = time.perf_counter() - n * interval
    for i in range(n):
        clock.feed([CLOCK], t0 + i * interval + rng.uniform(0.0, jitter))
    return t0


def test_tempo_within_a_tenth_of_a_percent_through_period_jitter() -> None:
    clock = MidiClock()
    clock.feed([START], 0.0)
    t0 = ticks(clock, 120.0, 96, jitter=256 / 48000)  # JACK's 5.3 ms blocks
    r = clock.read()
    assert r is not None and r.source == "midi"
    assert r.bpm == pytest.approx(120.0, rel=1e-3)
    assert r.beat == pytest.approx(95 / 24)  # the first tick after start is beat 0
    assert r.beat_at(t0) == pytest.approx(0.0, abs=0.02)  # the phase: beat 0 fell on the first tick


def test_a_single_late_tick_barely_moves_the_tempo() -> None:
    clock = MidiClock()
    interval = 60.0 / 128 / 24
    t0 = time.perf_counter() - 48 * interval
    for i in range(48):
        clock.feed([CLOCK], t0 + i * interval + (0.015 if i == 30 else 0.0))
    r = clock.read()
    assert r is not None and r.bpm == pytest.approx(128.0, rel=5e-3)


def test_tempo_change_is_followed_within_two_beats() -> None:
    clock = MidiClock()
    ticks(clock, 100.0, 96)
    assert clock.read().bpm == pytest.approx(100.0, rel=1e-3)
    interval = 60.0 / 140 / 24
    t0 = time.perf_counter() - 48 * interval
    for i in range(48):
        clock.feed([CLOCK], t0 + i * interval)
    assert clock.read().bpm == pytest.approx(140.0, rel=1e-3)


def test_stop_silence_and_song_position() -> None:
    clock = MidiClock()
    assert clock.read() is None  # nothing yet
    ticks(clock, 120.0, 3)
    assert clock.read() is None  # too few ticks for a tempo
    clock.feed([STOP], 0.0)
    ticks(clock, 120.0, 48)
    assert clock.read() is None  # stopped: ticks keep coming, the song does not move
    clock.feed([SONG_POSITION, 16, 0], 0.0)  # sixteenth 16 = beat 4
    clock.feed([CONTINUE], 0.0)
    ticks(clock, 120.0, 24)
    assert clock.read().beat == pytest.approx(4.0 + 23 / 24)
    clock2 = MidiClock()
    interval = 60.0 / 120 / 24
    t0 = time.perf_counter() - 2.0 - 24 * interval
    for i in range(24):
        clock2.feed([CLOCK], t0 + i * interval)
    assert clock2.read() is None  # the last tick is 2 s old: the sender went quiet
    assert clock.feed([0xFE], 0.0) is False  # active sensing is no clock message
