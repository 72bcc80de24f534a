"""Real music through the real PulseAudio server into LiveInput, against madmom's offline analysis."""

from __future__ import annotations

import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.conftest import require_tool
from vjgan.audio.decode import load_audio
from vjgan.audio.engine import AudioEngine
from vjgan.audio.sources import LiveInput
from vjgan.core.features import FeatureBus

EXCERPT = (5.0, 27.0)  # 22 s of Vibe Ace (130 BPM swing with drums, bass, vibraphone)


def _offline_reference(x: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    """madmom offline: bidirectional RNN onsets + peak picking, and RNN beat activation → tempo."""
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)
    from madmom.audio.signal import Signal
    from madmom.features.beats import RNNBeatProcessor
    from madmom.features.onsets import OnsetPeakPickingProcessor, RNNOnsetProcessor
    from madmom.features.tempo import TempoEstimationProcessor

    sig = Signal(x, sample_rate=sr)
    pick = OnsetPeakPickingProcessor(threshold=0.35, smooth=0.07, pre_max=0.01, post_max=0.01, combine=0.03, fps=100)
    onsets = pick(RNNOnsetProcessor()(sig))
    with warnings.catch_warnings():  # madmom 0.17 deprecates its own default `method` argument
        warnings.simplefilter("ignore", UserWarning)
        tempo = float(TempoEstimationProcessor(fps=100)(RNNBeatProcessor()(sig))[0, 0])
    return onsets, tempo


def _f_measure(det: np.ndarray, ref: np.ndarray, window: float = 0.05) -> float:
    """Onset F-measure with one-to-one matching inside ±window (as mir_eval / madmom count it)."""
    used = np.zeros(len(ref), bool)
    tp = 0
    for d in np.sort(det):
        cand = np.flatnonzero(~used & (np.abs(ref - d) <= window))
        if len(cand):
            used[cand[np.argmin(np.abs(ref[cand] - d))]] = True
            tp += 1
    if tp == 0:
        return 0.0
    p, r = tp / len(det), tp / len(ref)
    return 2 * p * r / (p + r)


def test_live_music_onsets_and_tempo_match_madmom_offline(shared_audio: Path, pulse_ready: str, tmp_path: Path) -> None:
    paplay = require_tool("paplay")
    data, sr = load_audio(shared_audio / "Kevin_MacLeod_-_Vibe_Ace.ogg")
    x = data[int(EXCERPT[0] * sr) : int(EXCERPT[1] * sr)]
    wav = tmp_path / "excerpt.wav"
    sf.write(wav, x, sr)
    mono = x.mean(axis=1)
    ref_onsets, ref_tempo = _offline_reference(mono, sr)

    bus = FeatureBus(history_seconds=60)
    # the default source is the monitor of vj_sink; a large buffer so a busy CI machine drops nothing
    source = LiveInput(None, latency=0.25)
    # a generous backlog: on a loaded CI machine the engine must not skip audio it is tested on
    engine = AudioEngine(source, bus, max_backlog_s=3.5)
    engine.start()
    try:
        time.sleep(0.3)
        subprocess.run([paplay, str(wav)], check=True, timeout=60)
        time.sleep(0.3)
    finally:
        engine.stop()
    assert engine.error is None
    stats = engine.stats
    assert stats.skipped_hops == 0 and stats.overflows == 0, stats
    frames = bus.history()
    t = np.array([f.time for f in frames])
    rms = np.array([f.rms for f in frames])

    # align the stream clock with the file by cross-correlating the RMS envelopes (server latency,
    # paplay start-up): the lag with the best correlation is where the file starts in the stream
    hop = 441
    n = len(mono) // hop
    file_rms = np.sqrt(np.convolve(mono**2, np.ones(2 * hop) / (2 * hop), "full")[hop * np.arange(1, n + 1) - 1])
    grid = t[0] + 0.01 * np.arange(len(t))
    assert np.allclose(grid, t, atol=1e-6), "frames must be contiguous"
    corr = [np.corrcoef(rms[k : k + n], file_rms)[0, 1] for k in range(len(rms) - n)]
    lag = int(np.argmax(corr))
    assert corr[lag] > 0.95, f"the live signal does not look like the file (corr {corr[lag]:.2f})"
    start = t[lag] - 0.01  # stream time of the file's first sample

    live_onsets = np.array([f.time for f in frames if f.onset_event]) - engine.analyzer.onset_delay - start
    live_onsets = live_onsets[(live_onsets > 0) & (live_onsets < len(mono) / sr)]
    f = _f_measure(live_onsets, ref_onsets)
    assert f >= 0.8, f"onset F-measure {f:.3f} ({len(live_onsets)} live vs {len(ref_onsets)} offline)"

    tempo = np.array([fr.tempo for fr in frames])[lag + 800 : lag + n]  # after 8 s of music
    live_tempo = float(np.median(tempo))
    assert abs(live_tempo / ref_tempo - 1) <= 0.04, f"live tempo {live_tempo:.1f} vs madmom offline {ref_tempo:.1f}"
    assert np.mean(np.abs(tempo / ref_tempo - 1) <= 0.04) > 0.9
