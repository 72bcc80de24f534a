"""Generated test audio with known ground truth (beat times, section boundary)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100


def click_track(duration: float, bpm: float = 120.0, first: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Short decaying clicks (accented every 4th) on a fixed grid; returns (samples, click times)."""
    x = np.zeros(int(SR * duration), dtype=np.float32)
    times = np.arange(first, duration - 0.05, 60.0 / bpm)
    n = int(0.03 * SR)
    env = np.exp(-np.arange(n) / (0.005 * SR))
    for k, t in enumerate(times):
        i = int(round(t * SR))
        f = 1760.0 if k % 4 == 0 else 880.0
        seg = (0.8 if k % 4 == 0 else 0.5) * np.sin(2 * np.pi * f * np.arange(n) / SR) * env
        x[i : i + n] += seg[: len(x) - i].astype(np.float32)
    return x, times


def two_halves(duration: float = 16.0, boundary: float = 8.0, bpm: float = 120.0) -> np.ndarray:
    """A steady beat under two clearly different halves: a soft low A-minor pad, then bright noisy E-major chords."""
    t = np.arange(int(SR * duration)) / SR
    rng = np.random.RandomState(1)
    first = sum(np.sin(2 * np.pi * f * t) for f in (110.0, 220.0, 261.63, 329.63)) * 0.12
    second = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in (329.63, 415.30, 493.88, 659.25)) * 0.08
    second = second + 0.15 * rng.randn(len(t)) * (0.5 + 0.5 * np.sin(2 * np.pi * 8 * t))
    x = np.where(t < boundary, first, second)
    clicks, _ = click_track(duration, bpm)
    return (x + clicks).astype(np.float32)


def write_wav(path: Path, x: np.ndarray, channels: int = 2) -> Path:
    data = np.repeat(x[:, None], channels, axis=1) if channels > 1 else x
    sf.write(str(path), data, SR, subtype="PCM_16")
    return path
