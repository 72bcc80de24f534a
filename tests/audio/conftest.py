"""Audio test helpers: generated signals with known truth, and the warmed-up PulseAudio server."""

from __future__ import annotations

import time

import numpy as np
import pytest

SR = 44100


@pytest.fixture(scope="session")
def pulse_ready(pulse_server: str) -> str:
    """The server after its silent keep-alive stream has pulled the null sink to low latency (~2 s)."""
    time.sleep(2.0)
    return pulse_server


def click_track(bpm: float, seconds: float, first: float = 0.5, sr: int = SR) -> tuple[np.ndarray, np.ndarray]:
    """Short 1 kHz clicks on every beat → (mono float32 signal, click times in s)."""
    y = np.zeros(int(seconds * sr), np.float32)
    t = np.arange(int(0.03 * sr)) / sr
    click = (0.8 * np.sin(2 * np.pi * 1000 * t) * np.exp(-t / 0.005)).astype(np.float32)
    times = np.arange(first, seconds - 0.05, 60.0 / bpm)
    for b in times:
        s = int(round(b * sr))
        y[s : s + len(click)] += click[: len(y) - s]
    return y, times


def tone(midi: float, seconds: float, sr: int = SR) -> np.ndarray:
    f = 440.0 * 2 ** ((midi - 69) / 12)
    t = np.arange(int(seconds * sr)) / sr
    return (np.sin(2 * np.pi * f * t) + 0.4 * np.sin(4 * np.pi * f * t) + 0.2 * np.sin(6 * np.pi * f * t)).astype(
        np.float32
    )


def run_analyzer(x: np.ndarray):  # noqa: ANN201
    from vjgan.audio.analysis import OnlineAnalyzer

    an = OnlineAnalyzer(SR)
    return an, an.process_array(x)
