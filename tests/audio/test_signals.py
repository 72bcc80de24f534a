"""The online analyzer on generated signals whose truth is known (arrays straight into the analyzer)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.audio.conftest import SR, click_track, run_analyzer, tone
from vjgan.core.features import PITCH_CLASSES


@pytest.mark.parametrize("bpm", [90, 120, 128, 174])
def test_click_track_tempo_and_beats(bpm: float) -> None:
    x, clicks = click_track(bpm, 10.0)
    _, frames = run_analyzer(x)
    t = np.array([f.time for f in frames])
    tempo = np.array([f.tempo for f in frames])
    settled = t > 4.0
    assert np.all(np.abs(tempo[settled] / bpm - 1) < 0.02), (
        f"tempo off: {tempo[settled].min():.1f}..{tempo[settled].max():.1f}"
    )
    beats = t[[f.beat_event for f in frames]]
    beats = beats[(beats > 4.0) & (beats < clicks[-1] + 0.1)]  # beyond the last click beats go on (predicted)
    err = np.array([np.min(np.abs(clicks - b)) for b in beats])
    assert np.all(err <= 0.030), f"beat errors (ms): {np.round(err * 1000)}"
    # every click after 4 s has its beat (no skipped beats)
    expected = clicks[(clicks > 4.0 + 0.03) & (clicks < t[-1] - 0.03)]
    missing = [c for c in expected if np.min(np.abs(beats - c)) > 0.030]
    assert not missing, f"no beat near clicks at {missing}"
    # beat phase ramps 0→1 between beats: just before a beat it is high, just after low
    phase = np.array([f.beat_phase for f in frames])
    idx = np.flatnonzero([f.beat_event for f in frames])
    idx = idx[(t[idx] > 4.0) & (idx > 2) & (idx < len(frames) - 3)]
    assert np.all(phase[idx - 2] > 0.8) and np.all(phase[idx + 2] < 0.2)


def test_click_onsets_are_on_time() -> None:
    x, clicks = click_track(120, 6.0)
    an, frames = run_analyzer(x)
    onsets = np.array([f.time for f in frames if f.onset_event]) - an.onset_delay
    assert len(onsets) == len(clicks)
    assert np.max(np.abs(onsets - clicks)) <= 0.011


def test_chord_progression_chroma_with_drums() -> None:
    """C, F, G, Am (2 s each) over kick/snare hits: the top three chroma bins are the chord's notes."""
    chords = {"C": (60, 64, 67), "F": (65, 69, 72), "G": (67, 71, 74), "Am": (57, 60, 64)}
    parts = [sum(tone(m, 2.0) for m in notes) * 0.1 for notes in chords.values()]
    x = np.concatenate(parts)
    rng = np.random.default_rng(1)
    for s in np.arange(0, len(x) - SR // 4, SR // 2):  # a drum hit every 0.5 s, as loud as the chords
        n = int(0.08 * SR)
        tt = np.arange(n) / SR
        hit = 0.5 * rng.standard_normal(n) * np.exp(-tt / 0.03) + 0.6 * np.sin(2 * np.pi * 60 * tt) * np.exp(-tt / 0.06)
        x[s : s + n] += hit.astype(np.float32)
    _, frames = run_analyzer(x)
    t = np.array([f.time for f in frames])
    chroma = np.array([f.chroma for f in frames])
    for i, (name, notes) in enumerate(chords.items()):
        sel = (t > 2.0 * i + 0.5) & (t < 2.0 * i + 1.95)
        want = {m % 12 for m in notes}
        top3 = np.argsort(chroma[sel], axis=1)[:, -3:]
        ok = np.mean([set(row) == want for row in top3])
        assert ok >= 0.9, f"{name}: top-3 pitch classes right in only {ok:.0%} of frames"
        names = {PITCH_CLASSES[int(k)] for k in np.argmax(chroma[sel], axis=1)}
        assert names <= {PITCH_CLASSES[m % 12] for m in notes}, f"{name}: argmax on {names}"
    # drums do not light all 12: the non-chord bins stay low even on the hits
    sel = (t > 0.5) & (t < 1.95)
    others = [k for k in range(12) if k not in {0, 4, 7}]
    assert chroma[sel][:, others].max() < 0.5


def test_bass_chroma_follows_the_root() -> None:
    x = np.concatenate([tone(m, 1.5) * 0.3 for m in (36, 41, 43, 45)])  # C2 F2 G2 A2
    _, frames = run_analyzer(x)
    t = np.array([f.time for f in frames])
    bc = np.array([f.bass_chroma for f in frames])
    for i, m in enumerate((36, 41, 43, 45)):
        sel = (t > 1.5 * i + 0.4) & (t < 1.5 * i + 1.45)
        assert np.mean(np.argmax(bc[sel], axis=1) == m % 12) > 0.9


def test_rms_follows_amplitude_envelope() -> None:
    seconds = 8.0
    tt = np.arange(int(seconds * SR)) / SR
    env = 0.05 + 0.45 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * tt)) * (tt < 6.0)  # slow swell, then quiet
    x = (np.sin(2 * np.pi * 440 * tt) * env).astype(np.float32)
    _, frames = run_analyzer(x)
    t = np.array([f.time for f in frames])
    rms = np.array([f.rms for f in frames])
    want = np.interp(t - 0.01, tt, env) / np.sqrt(2)  # RMS of a sine is amplitude/√2
    assert np.corrcoef(rms, want)[0, 1] > 0.99
    steady = (np.abs(t - 6.0) > 0.03) & (t > 0.03)  # the 20 ms RMS window straddles the start and the step
    assert np.max(np.abs(rms - want)[steady]) < 0.02
    smooth = np.array([f.rms_smooth for f in frames])
    assert smooth[t > 7.5].max() < smooth[(t > 2.0) & (t < 6.0)].max()  # smoothed level drops after the swell


def test_kick_and_snare_are_separated() -> None:
    """Low thumps → kick events only; high noise bursts → snare events only."""
    n = int(0.15 * SR)
    tt = np.arange(n) / SR
    kick = (np.sin(2 * np.pi * 55 * tt) * np.exp(-tt / 0.05)).astype(np.float32)
    rng = np.random.default_rng(0)
    snare = np.diff(rng.standard_normal(n + 1)).astype(np.float32) * np.exp(-tt / 0.03).astype(np.float32) * 0.4
    x = np.zeros(8 * SR, np.float32)
    kicks = np.arange(0.5, 8, 1.0)
    snares = kicks + 0.5
    for k in kicks:
        x[int(k * SR) : int(k * SR) + n] += kick
    for s in snares[:-1]:
        x[int(s * SR) : int(s * SR) + n] += snare
    _, frames = run_analyzer(x)
    kt = np.array([f.time for f in frames if f.kick_event])
    st = np.array([f.time for f in frames if f.snare_event])
    assert len(kt) >= len(kicks) - 1 and all(np.min(np.abs(kicks - k)) < 0.05 for k in kt)
    assert len(st) >= len(snares) - 2 and all(np.min(np.abs(snares - s)) < 0.05 for s in st)
