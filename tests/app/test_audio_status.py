"""The show's stats (what the panel's header prints) report a crashed-and-restarted analysis thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.app.test_headless import click_track
from vjgan.app.live import LiveApp, LiveConfig


def test_analysis_fault_is_in_the_live_stats_and_features_move_on(tmp_path: Path, pulse_server: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VJGAN_CACHE", str(tmp_path / "cache"))
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=6.0)
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(48, 27), fps=30.0,
                             panel=False, rehearsal=False))
    analyzer = app.audio.analyzer
    real_process = analyzer.process

    armed = threading.Event()

    def process_with_fault(hop: np.ndarray, time: float | None = None):  # noqa: ANN202
        if armed.is_set():  # the real analyzer, with one bad block (a bug that hits one hop)
            analyzer.process = real_process
            raise ValueError("injected fault in one hop")
        return real_process(hop, time)

    analyzer.process = process_with_fault
    app.start()
    times: list[float] = []
    statuses: list[str] = []

    def play(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.step()
            times.append(app.features.time)
            statuses.append(app.stats.audio_status)
            time.sleep(1 / 30)

    try:
        play(1.0)
        assert statuses[-1] == "ok", statuses[-1]
        at_fault = times[-1]
        armed.set()
        play(2.0)
    finally:
        app.stop()
    assert statuses[-1] == "analysis restarted 1x (last: ValueError: injected fault in one hop)"
    assert times[-1] > at_fault + 1.5, f"the features stopped at {times[-1]:.2f} s of audio"
