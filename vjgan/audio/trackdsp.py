"""The offline DSP of the whole-track analysis: 44.1 kHz mono samples → `TrackAnalysis`.

Why offline: with the whole file at hand, every window can be centred on its frame and every decision
can look ahead (bidirectional networks, DBN beat tracking, whole-track normalisation, segmentation).
Caching is trackcache.py's job, playback in step with the player rehearsal.py's.

Analysis (100 frames/s like the live analyzer, frame i centred at i / 100 s):
- median-filter HPSS (Fitzgerald 2010) on the STFT magnitude → harmonic / percussive parts;
- onsets: madmom's RNN onset activation (as live); per part: spectral-flux onset strength and chroma;
  percussive low/high band flux → kick/snare;
- DBN beat tracking (madmom RNNBeatProcessor + DBNBeatTrackingProcessor) and downbeats
  (RNNDownBeatProcessor + DBNDownBeatTrackingProcessor, 3/4 or 4/4);
- sections: Laplacian segmentation (`vjgan.audio.segmentation`) on beat-synchronous timbre + chroma;
- RMS and ~1 s centred smoothed RMS, band energies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.fft import dct
from scipy.ndimage import maximum_filter1d, median_filter, uniform_filter1d

from vjgan.audio.segmentation import segment
from vjgan.audio.trackresult import TrackAnalysis
from vjgan.core.features import FPS

RNN_ONSET_THRESHOLD = 0.25  # the live analyzer's (OnlineAnalyzer.ONSET_THRESHOLD) on the same activation
ANALYSIS_VERSION = 3  # bump when the analysis changes: old cache entries are then ignored
SAMPLE_RATE = 44100
HOP = int(SAMPLE_RATE / FPS)  # 441 samples = 10 ms
N_FFT = 2048
MAX_BIN = 512  # ~11 kHz: enough for HPSS, chroma and bands, halves the median-filter cost


def load_mono(path: str | Path) -> np.ndarray:
    """Mono float32 at 44.1 kHz; UserError on unreadable or unsupported files."""
    from vjgan.audio.decode import load_audio

    samples, _ = load_audio(path, sample_rate=SAMPLE_RATE, mono=True)
    return np.ascontiguousarray(np.asarray(samples, dtype=np.float32).reshape(len(samples), -1).mean(axis=1))


def analyze_samples(mono: np.ndarray, n_sections: int | None = None, progress: bool = True) -> TrackAnalysis:
    """The analysis of 44.1 kHz mono samples (no cache)."""
    from tqdm import tqdm

    steps = ["spectrum", "HPSS", "features", "beats", "downbeats", "sections"]
    bar = tqdm(total=len(steps), desc="analysing track", unit="step", disable=not progress, leave=False)

    def step(name: str) -> None:
        bar.set_postfix_str(name)

    x = np.asarray(mono, dtype=np.float32)
    duration = len(x) / SAMPLE_RATE
    step("spectrum")
    mag = _stft_mag(x)  # (n, MAX_BIN)
    bar.update()
    step("HPSS")
    harm, perc = _hpss(mag)
    bar.update()
    step("features")
    curves, matrices, events = _frame_features(x, mag, harm, perc)
    bar.update()
    step("beats")
    beats, act = _beats(x)
    beats = _gate_silence(beats, curves["rms_raw"])
    bar.update()
    step("downbeats")
    downbeats, beats_per_bar = _downbeats(x, beats)
    bar.update()
    step("sections")
    frame_times = np.arange(mag.shape[0]) / FPS
    sections = segment(frame_times, matrices["timbre"], matrices["chroma_harmonic"], beats, duration, n_sections)
    bar.update()
    bar.close()
    del curves["rms_raw"]
    positions = _beat_positions(beats, downbeats, beats_per_bar)
    tempo = float(60.0 / np.median(np.diff(beats))) if len(beats) > 2 else 120.0
    return TrackAnalysis(
        duration=duration,
        tempo=tempo,
        beats_per_bar=beats_per_bar,
        beats=beats,
        beat_positions=positions,
        downbeats=downbeats,
        sections=sections,
        curves=curves,
        matrices=matrices,
        events=events,
    )


# -- analysis steps ----------------------------------------------------------------------------------
def _stft_mag(x: np.ndarray) -> np.ndarray:
    pad = np.pad(x, (N_FFT // 2, N_FFT // 2))
    n = 1 + len(x) // HOP
    need = (n - 1) * HOP + N_FFT
    if len(pad) < need:
        pad = np.pad(pad, (0, need - len(pad)))
    win = np.hanning(N_FFT).astype(np.float32)
    out = np.empty((n, MAX_BIN), dtype=np.float32)
    for a in range(0, n, 1024):  # chunks keep the framed copy small on long tracks
        idx = np.arange(a, min(n, a + 1024))[:, None] * HOP + np.arange(N_FFT)[None, :]
        out[a : a + len(idx)] = np.abs(np.fft.rfft(pad[idx] * win, axis=1)[:, :MAX_BIN])
    return out


def _hpss(mag: np.ndarray, kernel: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """Median-filter HPSS with soft (Wiener, power 2) masks: harmonic = smooth in time, percussive = in frequency."""
    h = median_filter(mag, size=(kernel, 1), mode="nearest")
    p = median_filter(mag, size=(1, kernel), mode="nearest")
    h2, p2 = h * h, p * p
    total = h2 + p2 + 1e-10
    return mag * (h2 / total), mag * (p2 / total)


def _norm(v: np.ndarray, pct: float = 99.0) -> np.ndarray:
    """Scale to 0..1 by a high percentile (robust to a single spike)."""
    ref = np.percentile(v, pct) if len(v) else 0.0
    return np.clip(v / ref, 0.0, 1.0).astype(np.float32) if ref > 1e-12 else np.zeros_like(v, dtype=np.float32)


def _flux(mag: np.ndarray) -> np.ndarray:
    lm = np.log1p(100.0 * mag)
    d = np.maximum(np.diff(lm, axis=0, prepend=lm[:1]), 0.0)
    return d.sum(axis=1)


def _peaks(curve: np.ndarray, threshold: float = 0.15, wait: int = 3) -> np.ndarray:
    """Peak picking: local max (±3 frames), above a moving mean + threshold, at least `wait` frames apart."""
    local_max = curve == maximum_filter1d(curve, 7, mode="nearest")
    mean = uniform_filter1d(curve, 21, mode="nearest")
    cand = np.flatnonzero(local_max & (curve >= mean + threshold) & (curve > threshold))
    out: list[int] = []
    for i in cand:
        if not out or i - out[-1] >= wait:
            out.append(int(i))
    return np.array(out, dtype=np.int64)


def _chroma(mag: np.ndarray, fmin: float, fmax: float) -> np.ndarray:
    freqs = np.arange(MAX_BIN) * SAMPLE_RATE / N_FFT
    sel = (freqs >= fmin) & (freqs <= fmax)
    pc = (np.round(12 * np.log2(freqs[sel] / 440.0)).astype(int) + 9) % 12  # A = 9
    proj = np.zeros((int(sel.sum()), 12), dtype=np.float32)
    proj[np.arange(len(pc)), pc] = 1.0
    c = (mag[:, sel] ** 2) @ proj
    return (c / (c.max(axis=1, keepdims=True) + 1e-10)).astype(np.float32)


def _timbre(mag: np.ndarray) -> np.ndarray:
    """MFCC-like: DCT of log energies in 40 log-spaced bands (40 Hz..11 kHz); 13 coefficients."""
    freqs = np.arange(MAX_BIN) * SAMPLE_RATE / N_FFT
    edges = np.geomspace(40.0, freqs[-1], 41)
    band = np.clip(np.searchsorted(edges, freqs) - 1, -1, 39)
    proj = np.zeros((MAX_BIN, 40), dtype=np.float32)
    ok = band >= 0
    proj[np.flatnonzero(ok), band[ok]] = 1.0
    return dct(np.log1p(100.0 * ((mag**2) @ proj)), axis=1, norm="ortho")[:, :13].astype(np.float32)


def _frame_features(x: np.ndarray, mag: np.ndarray, harm: np.ndarray, perc: np.ndarray):
    n = mag.shape[0]
    freqs = np.arange(MAX_BIN) * SAMPLE_RATE / N_FFT
    pad = np.pad(x, (N_FFT // 2, N_FFT // 2 + N_FFT))
    sq = np.concatenate([[0.0], np.cumsum(pad.astype(np.float64) ** 2)])
    starts = np.arange(n) * HOP
    rms_raw = np.sqrt(np.maximum(sq[starts + N_FFT] - sq[starts], 0.0) / N_FFT).astype(np.float32)

    def band_energy(m: np.ndarray, lo: float, hi: float) -> np.ndarray:
        sel = (freqs >= lo) & (freqs < hi)
        return np.log1p(100.0 * np.sqrt((m[:, sel] ** 2).mean(axis=1)))

    low = freqs < 150.0
    high = (freqs >= 2000.0) & (freqs < 8000.0)
    onset_p = _norm(_flux(perc))
    onset_h = _norm(_flux(harm))
    kick = _norm(_flux(perc[:, low]))
    snare = _norm(_flux(perc[:, high]))
    curves = {
        "rms_raw": rms_raw,
        "rms": np.clip(rms_raw, 0.0, 1.0),
        "rms_smooth": np.clip(uniform_filter1d(rms_raw, int(FPS), mode="nearest"), 0.0, 1.0).astype(np.float32),
        "onset": _rnn_onsets(x, n),
        "onset_harmonic": onset_h,
        "onset_percussive": onset_p,
        "percussive": _norm(np.sqrt((perc**2).mean(axis=1))),
        "harmonic": _norm(np.sqrt((harm**2).mean(axis=1))),
        "kick": kick,
        "snare": snare,
        "bass": _norm(band_energy(mag, 20.0, 250.0)),
        "mid": _norm(band_energy(mag, 250.0, 4000.0)),
        "high": _norm(band_energy(mag, 4000.0, 11025.0)),
    }
    matrices = {
        "chroma_harmonic": _chroma(harm, 55.0, 5000.0),
        "chroma_percussive": _chroma(perc, 55.0, 5000.0),
        "bass_chroma": _chroma(harm, 30.0, 250.0),
        "timbre": _timbre(mag),
    }
    events = {
        "onset_events": _peaks(curves["onset"], threshold=RNN_ONSET_THRESHOLD),
        "kick_events": _peaks(kick),
        "snare_events": _peaks(snare),
    }
    return curves, matrices, events


def _madmom_signal(x: np.ndarray):
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # harmless shape warnings otherwise flood the log
    from madmom.audio.signal import Signal

    return Signal(x, sample_rate=SAMPLE_RATE, num_channels=1)


def _rnn_onsets(x: np.ndarray, n: int) -> np.ndarray:
    """madmom's RNN onset activation, one value per frame: the network the live analyzer runs online
    (here bidirectional, as offline allows), so a render's hits land where a live show's do."""
    from madmom.features.onsets import RNNOnsetProcessor

    act = np.asarray(RNNOnsetProcessor()(_madmom_signal(x)), dtype=np.float32) if len(x) >= N_FFT else np.zeros(0)
    return np.pad(act[:n], (0, max(0, n - len(act)))).astype(np.float32)


def _beats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor

    if len(x) < SAMPLE_RATE:  # the DBN needs a few beats; shorter than 1 s has none worth tracking
        return np.zeros(0), np.zeros(0)
    act = RNNBeatProcessor()(_madmom_signal(x))
    beats = DBNBeatTrackingProcessor(fps=FPS)(act)
    return np.asarray(beats, dtype=np.float64), act


def _gate_silence(beats: np.ndarray, rms_raw: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """Drop beats the DBN extrapolates into silence (before the music starts / after it ends)."""
    if len(beats) == 0:
        return beats
    loud = maximum_filter1d(rms_raw, 11, mode="nearest") > floor
    idx = np.clip(np.round(beats * FPS).astype(int), 0, len(rms_raw) - 1)
    return beats[loud[idx]]


def _downbeats(x: np.ndarray, beats: np.ndarray) -> tuple[np.ndarray, int]:
    """Downbeats as every `beats_per_bar`-th tracked beat, at the phase the downbeat network likes best.

    The DBN downbeat tracker gives the meter (3 or 4) but runs its own beat grid, which may sit at double
    or half our tempo; so its meter is kept and the bar phase is chosen on *our* beats by the summed
    downbeat activation, which keeps bars an exact multiple of the beats everything else uses."""
    if len(beats) < 4:
        return beats[:1].copy(), 4
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor

    act = np.asarray(RNNDownBeatProcessor()(_madmom_signal(x)))  # (n, 2): beat, downbeat activation
    rows = np.asarray(DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=FPS)(act))
    bpb = int(rows[:, 1].max()) if len(rows) else 4
    idx = np.clip(np.round(beats * FPS).astype(int), 0, len(act) - 1)
    down = act[idx, 1]
    scores = [down[k::bpb].mean() for k in range(bpb)]
    return beats[int(np.argmax(scores)) :: bpb].copy(), bpb


def _beat_positions(beats: np.ndarray, downbeats: np.ndarray, bpb: int) -> np.ndarray:
    pos = np.zeros(len(beats), dtype=np.int64)
    first = np.searchsorted(beats, downbeats[0]) if len(downbeats) else 0
    for i in range(len(beats)):
        k = np.searchsorted(downbeats, beats[i] + 1e-6) - 1
        if k >= 0:
            pos[i] = (i - np.searchsorted(beats, downbeats[k] - 1e-6)) % bpb + 1
        else:
            pos[i] = (i - first) % bpb + 1
    return pos
