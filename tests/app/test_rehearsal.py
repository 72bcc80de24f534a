"""Rehearsal: a looped file's beats come from its cached whole-track analysis (`vjgan live --analyze`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.app.test_headless import click_track
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.audio.trackanalysis import analysis_cache_path, load_cached_analysis


def _config(audio: Path, **kw: object) -> LiveConfig:
    return LiveConfig(audio=str(audio), model="procedural", headless=True, size=(48, 27), fps=30.0, panel=False,
                      **kw)


def test_cli_analyze_then_features_on_the_cached_beats(tmp_path: Path, pulse_server: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("VJGAN_CACHE", str(cache))
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=5.0)  # clicks every 0.5 s from 0.25 s: 120 BPM

    # no cache yet: the app says so and runs on the live analyzer
    app = LiveApp(_config(audio))
    try:
        assert app.rehearsal is not None and not app.rehearsal.ready
        assert any("no cached analysis" in m for m in app.messages)
    finally:
        app.stop()
    assert not analysis_cache_path(audio).exists()

    # the real CLI analyses first (progress bar on stderr), then plays a few frames
    cmd = [sys.executable, "-m", "vjgan.cli", "live", "--headless", "--frames", "5", "--audio", str(audio),
           "--model", "procedural", "--size", "48x27", "--analyze"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "analysing track" in proc.stderr  # the progress bar
    analysis = load_cached_analysis(audio)
    assert analysis is not None and len(analysis.beats) >= 6
    assert np.abs(analysis.beats[:, None] - (0.25 + 0.5 * np.arange(10))[None, :]).min(axis=1).max() < 0.05

    app = LiveApp(_config(audio))
    app.start()
    seen: list[tuple[float, bool, float]] = []
    try:
        assert app.rehearsal.ready
        end = time.perf_counter() + 2.5
        while time.perf_counter() < end:
            app.step()
            f = app.features
            seen.append((f.time, f.beat_event, f.tempo))
            time.sleep(1 / 60)
    finally:
        app.stop()
    times = np.array([s[0] for s in seen])
    events = np.array([s[1] for s in seen])
    assert len(seen) > 20 and np.all(np.diff(times) >= 0)  # a file position, no loop in 2.5 s
    beats = analysis.beats
    for i in range(1, len(seen)):  # a beat event exactly in the frames whose interval holds a cached beat
        holds = bool(np.any((beats > times[i - 1]) & (beats <= times[i])))
        assert events[i] == holds, f"frame {i}: t={times[i - 1]:.3f}..{times[i]:.3f} beat_event={events[i]}"
    assert events.sum() >= 3
    assert np.median([s[2] for s in seen]) == pytest.approx(120.0, abs=2.0)


def test_no_rehearsal_uses_the_live_analyzer(tmp_path: Path, pulse_server: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VJGAN_CACHE", str(tmp_path / "cache"))
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=2.0)
    app = LiveApp(_config(audio, rehearsal=False))
    try:
        assert app.rehearsal is None
    finally:
        app.stop()
