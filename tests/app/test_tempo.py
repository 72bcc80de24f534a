"""Tap tempo and nudge: /vjgan/tempo/tap and /vjgan/tempo/nudge from a real OSC client reach the beat tracker."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.app.test_headless import click_track
from tests.conftest import require_tool
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.audio.beat import BeatTracker
from vjgan.control.peers import free_udp_port, oscsend


def _step_until(app: LiveApp, done: threading.Event | None = None, seconds: float = 0.0) -> None:
    """Keep rendering (draining the control queue) while something else happens."""
    end = time.perf_counter() + seconds
    while (done is not None and not done.is_set()) or time.perf_counter() < end:
        app.step()
        time.sleep(0.002)


def test_tap_and_nudge_over_osc(tmp_path: Path, pulse_server: str) -> None:
    require_tool("oscsend")
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=6.0)  # clicks at 120 BPM: the tapped 100 BPM must win over the estimate
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(48, 27), fps=60.0,
                             panel=False, osc_port=free_udp_port()))
    app.start()
    try:
        port = app.osc.port
        sent = threading.Event()

        def taps() -> None:
            start = time.perf_counter()
            for k in range(4):  # 100 BPM: one tap every 0.6 s, from another process (liblo)
                time.sleep(max(0.0, start + 0.6 * k - time.perf_counter()))
                oscsend(port, "/vjgan/tempo/tap", 1, types="i")
            sent.set()

        threading.Thread(target=taps, daemon=True).start()
        _step_until(app, sent)
        _step_until(app, seconds=1.5)  # the estimator (120 BPM clicks) would have replaced it by now
        tapped = app.bus.latest.tempo
        assert tapped == pytest.approx(100.0, abs=5.0)

        oscsend(port, "/vjgan/tempo/nudge", 2.0)
        _step_until(app, seconds=0.3)
        assert app.bus.latest.tempo == pytest.approx(tapped + 2.0, abs=0.01)

        oscsend(port, "/vjgan/app/tempo/auto", 1, types="i")  # back to the audio's own tempo
        end = time.perf_counter() + 5.0  # the estimator takes over after ~1 s of agreeing updates
        while abs(app.bus.latest.tempo - 120.0) > 4.0 and time.perf_counter() < end:
            _step_until(app, seconds=0.1)
        assert app.bus.latest.tempo == pytest.approx(120.0, abs=4.0)
    finally:
        app.stop()


def test_engine_tap_intervals_and_tracker_hold(pulse_server: str) -> None:
    """Exact tap times: the median interval is the tempo; the held tempo survives a different envelope."""
    from vjgan.audio.engine import AudioEngine
    from vjgan.audio.sources import SilenceSource
    from vjgan.core.features import FeatureBus

    engine = AudioEngine(SilenceSource(), FeatureBus())
    t0 = time.perf_counter()
    assert engine.tap(t0) is None
    bpms = [engine.tap(t0 + 0.6 * k) for k in (1, 2, 3)]
    assert bpms[-1] == pytest.approx(100.0)
    assert engine.tap(t0 + 10.0) is None  # a long pause starts a new sequence

    tracker = BeatTracker(fps=100.0)
    env = np.zeros(1000)
    env[::50] = 1.0  # 120 BPM pulses
    tracker.set_tempo(100.0)
    states = [tracker.update(v) for v in env]
    assert states[-1].tempo == pytest.approx(100.0)
    tracker.nudge_tempo(-3.0)
    assert tracker.update(0.0).tempo == pytest.approx(97.0)
    tracker.release_tempo()
    states = [tracker.update(v) for v in np.tile(env, 2)]
    assert states[-1].tempo == pytest.approx(120.0, abs=3.0)
