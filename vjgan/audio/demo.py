"""A generated demo track, so `vjgan live --demo` and the tests have music without shipping any.

40 s at 120 BPM in 4/4, 44.1 kHz stereo: kick on every beat (accented on the one, so bars
can be found), snare on 2 and 4, closed hats on eighths,
a bass line on the chord roots and a I–vi–IV–V progression in C (C, Am, F, G, one chord per bar).
Everything is computed from fixed seeds, so the file is identical on every machine; it is written once
into the cache directory (about 0.5 s to synthesise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vjgan.core.paths import cache_dir

SR = 44100
BPM = 120.0
BARS = 20  # 20 bars × 4 beats × 0.5 s = 40 s
VERSION = 2
CHORDS = ((48, 52, 55), (45, 48, 52), (41, 45, 48), (43, 47, 50))  # MIDI: C, Am, F, G
CHORD_NAMES = ("C", "Am", "F", "G")


def _midi_hz(m: float) -> float:
    return 440.0 * 2.0 ** ((m - 69) / 12.0)


def _place(track: np.ndarray, sound: np.ndarray, start: int, gain: float = 1.0) -> None:
    end = min(len(track), start + len(sound))
    track[start:end] += gain * sound[: end - start]


def synthesize(bars: int = BARS, bpm: float = BPM, sr: int = SR) -> np.ndarray:
    """The demo track as float32 [n, 2]."""
    rng = np.random.default_rng(20240611)
    beat = 60.0 / bpm
    n = int(round(bars * 4 * beat * sr))
    drums = np.zeros(n, np.float32)
    music = np.zeros(n, np.float32)

    t = np.arange(int(0.35 * sr)) / sr
    kick = np.sin(2 * np.pi * (45 * t + (110 / 30.0) * (1 - np.exp(-30 * t)))) * np.exp(-t / 0.12)
    ts = np.arange(int(0.2 * sr)) / sr
    snare = 0.6 * rng.standard_normal(len(ts)) * np.exp(-ts / 0.05) + 0.5 * np.sin(2 * np.pi * 190 * ts) * np.exp(
        -ts / 0.04
    )
    th = np.arange(int(0.05 * sr)) / sr
    hat = np.diff(rng.standard_normal(len(th) + 1)) * np.exp(-th / 0.012)

    bar_len = 4 * beat
    for b in range(bars):
        for k in range(4):
            s = int(round((b * 4 + k) * beat * sr))
            _place(drums, kick, s, 1.0 if k == 0 else 0.6)
            if k in (1, 3):
                _place(drums, snare, s, 0.45)
        for e in range(8):
            _place(drums, hat, int(round((b * 4 + e * 0.5) * beat * sr)), 0.18)
        chord = CHORDS[b % 4]
        s0 = int(round(b * bar_len * sr))
        tc = np.arange(int(bar_len * sr)) / sr
        env = np.minimum(1.0, tc / 0.02) * np.exp(-tc / 3.0)
        pad = np.zeros(len(tc))
        for m in chord:
            f = _midi_hz(m + 12)
            pad += (
                np.sin(2 * np.pi * f * tc) + 0.3 * np.sin(2 * np.pi * 2 * f * tc) + 0.1 * np.sin(2 * np.pi * 3 * f * tc)
            )
        _place(music, (0.12 * env * pad).astype(np.float32), s0)
        root = _midi_hz(chord[0] - 12)
        for k in range(4):  # bass: root on every beat, an octave jump on beat 3
            tb = np.arange(int(0.45 * sr)) / sr
            f = root * (2 if k == 2 else 1)
            tone = np.sin(2 * np.pi * f * tb) + 0.25 * np.sin(2 * np.pi * 2 * f * tb)
            _place(
                music,
                (0.25 * tone * np.minimum(1, tb / 0.005) * np.exp(-tb / 0.25)).astype(np.float32),
                s0 + int(round(k * beat * sr)),
            )
    left = drums + music
    right = 0.9 * drums + music
    out = np.stack([left, right], axis=1)
    out /= max(1.0, float(np.abs(out).max()) / 0.9)
    return out.astype(np.float32)


def demo_track_path(fmt: str = "flac") -> Path:
    """Path of the demo track in the cache, synthesised on first use (deterministic)."""
    path = cache_dir() / f"demo_{int(BPM)}bpm_v{VERSION}.{fmt}"
    if not path.exists():
        import soundfile as sf

        tmp = path.with_suffix(f".tmp.{fmt}")
        sf.write(str(tmp), synthesize(), SR, subtype="PCM_16")
        tmp.replace(path)
    return path
