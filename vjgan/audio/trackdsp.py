"""The offline DSP of the whole-track analysis: 44.1 kHz mono samples → `TrackAnalysis`.

Why offline: with the whole file at hand, every window can be centred on its frame and every decision
can look ahead (bidirectional networks, DBN beat tracking, whole-track normalisation, segmentation).
Caching is trackcache.py's job, playback in step with the player rehearsal.py's.

Analysis (100 frames/s like the live analyzer, frame i centred at i / 100 s):
- bands, kick/snare flux, HPSS parts and chroma: the live analyzer's definitions (featuredefs.py) on
  windows centred on each frame, the harmonic part being the median of the 25 pitch-window frames
  *centred* on it; normalised over the whole track (99th percentile) instead of by a running peak;
- onsets: madmom's RNN onset activation (bidirectional here, online live);
- DBN beat tracking (madmom RNNBeatProcessor + DBNBeatTrackingProcessor) and downbeats
  (RNNDownBeatProcessor + DBNDownBeatTrackingProcessor, 3/4 or 4/4);
- sections: Laplacian segmentation (`vjgan.audio.segmentation`) on beat-synchronous timbre + chroma;
- RMS of 20 ms (as live) and its centred 1 s average.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.fft import dct
from scipy.ndimage import maximum_filter1d, median_filter, uniform_filter1d

from vjgan.audio.featuredefs import (
    HARMONIC_MEDIAN_FRAMES,
    LONG,
    RMS_WINDOW,
    SAMPLE_RATE,
    SHORT,
    DrumBands,
    PitchBands,
    log_magnitude,
    normalise_chroma,
)
from vjgan.audio.segmentation import segment
from vjgan.audio.trackresult import TrackAnalysis
from vjgan.core.features import FPS

__all__ = ["ANALYSIS_VERSION", "N_FFT", "SAMPLE_RATE", "SpectralTrack", "analyze_samples", "load_mono",
           "spectral_track"]  # fmt: skip

RNN_ONSET_THRESHOLD = 0.25  # the live analyzer's (OnlineAnalyzer.ONSET_THRESHOLD) on the same activation
# bump when the analysis changes: old cache entries are then ignored. 4: bands, kick/snare, HPSS, chroma
# and RMS by the live analyzer's definitions (featuredefs.py)
ANALYSIS_VERSION = 4
HOP = int(SAMPLE_RATE / FPS)  # 441 samples = 10 ms
N_FFT = SHORT  # the drum window (part of the cache key)
MAX_BIN = 512  # timbre: the drum window's bins up to ~11 kHz
CHUNK = 1024  # frames framed at once: keeps the framed copy small on long tracks
PERCENTILE = 99.0  # whole-track normalisation reference (robust to a single spike)


def load_mono(path: str | Path) -> np.ndarray:
    """Mono float32 at 44.1 kHz; UserError on unreadable or unsupported files."""
    from vjgan.audio.decode import load_audio

    samples, _ = load_audio(path, sample_rate=SAMPLE_RATE, mono=True)
    return np.ascontiguousarray(np.asarray(samples, dtype=np.float32).reshape(len(samples), -1).mean(axis=1))


def analyze_samples(mono: np.ndarray, n_sections: int | None = None, progress: bool = True) -> TrackAnalysis:
    """The analysis of 44.1 kHz mono samples (no cache)."""
    from tqdm import tqdm

    steps = ["spectrum", "features", "onsets", "beats", "downbeats", "sections"]
    bar = tqdm(total=len(steps), desc="analysing track", unit="step", disable=not progress, leave=False)

    def step(name: str) -> None:
        bar.set_postfix_str(name)

    x = np.asarray(mono, dtype=np.float32)
    duration = len(x) / SAMPLE_RATE
    step("spectrum")
    sp = spectral_track(x)
    bar.update()
    step("features")
    curves, matrices = _curves(sp), _matrices(sp)
    bar.update()
    step("onsets")
    curves["onset"] = _rnn_onsets(x, sp.n_frames)
    events = {
        "onset_events": _peaks(curves["onset"], threshold=RNN_ONSET_THRESHOLD),
        "kick_events": _peaks(curves["kick"]),
        "snare_events": _peaks(curves["snare"]),
    }
    bar.update()
    step("beats")
    beats = _gate_silence(_beats(x), sp.rms)
    bar.update()
    step("downbeats")
    downbeats, beats_per_bar = _downbeats(x, beats)
    bar.update()
    step("sections")
    frame_times = np.arange(sp.n_frames) / FPS
    sections = segment(frame_times, matrices["timbre"], matrices["chroma_harmonic"], beats, duration, n_sections)
    bar.update()
    bar.close()
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


# -- spectral features: featuredefs.py's definitions on centred windows ------------------------------------
@dataclass
class SpectralTrack:
    """Raw (un-normalised) per-frame features of a whole track, frame i centred at i * HOP samples: the
    same quantities the live `SpectralAnalyzer` reports per hop, so the two can be compared directly."""

    bands: np.ndarray  # (n, 3) log energy in BASS, MID, HIGH
    flux: np.ndarray  # (n, 2) KICK, SNARE flux of the mix
    pitch: np.ndarray  # (n, bins) LONG magnitude up to PITCH_MAX_HZ
    harmonic: np.ndarray  # (n, bins) centred median of `pitch` over HARMONIC_MEDIAN_FRAMES
    percussive: np.ndarray  # (n, bins) what each frame has above it
    timbre: np.ndarray  # (n, 13) offline only: for segmentation
    rms: np.ndarray  # (n,) RMS of the RMS_WINDOW centred on the frame

    @property
    def n_frames(self) -> int:
        return len(self.rms)


def _frames(pad: np.ndarray, offset: int, size: int, a: int, b: int) -> np.ndarray:
    """Frames a..b-1 of `size` samples centred at i * HOP, from the signal padded by `offset` in front."""
    start = offset - size // 2
    idx = (np.arange(a, b)[:, None] * HOP + start) + np.arange(size)[None, :]
    return pad[idx]


def spectral_track(x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> SpectralTrack:
    """Bands, flux, HPSS parts, timbre and RMS of every frame (windows centred; silence outside the file)."""
    x = np.asarray(x, dtype=np.float32)
    n = 1 + len(x) // HOP
    half = LONG // 2  # the largest half-window: zeros before and after the file
    pad = np.pad(x, (half, half + LONG))
    drums, pitch_bands = DrumBands(sample_rate), PitchBands(sample_rate)
    bands = np.empty((n, 3), np.float32)
    flux = np.empty((n, 2), np.float32)
    timbre = np.empty((n, 13), np.float32)
    pitch = np.empty((n, pitch_bands.n_bins), np.float32)
    prev = log_magnitude(drums.spectrum(_frames(pad, half, SHORT, -1, 0)))  # frame -1: flux has a "before"
    for a in range(0, n, CHUNK):
        b = min(n, a + CHUNK)
        s = drums.spectrum(_frames(pad, half, SHORT, a, b))
        bands[a:b] = drums.energies(s)
        logs = log_magnitude(s)
        flux[a:b] = drums.flux(np.concatenate([prev, logs[:-1]]), logs)
        prev = logs[-1:]
        timbre[a:b] = _timbre(s[:, :MAX_BIN], drums.window)
        pitch[a:b] = pitch_bands.spectrum(_frames(pad, half, LONG, a, b))
    # centred: frame i's harmonic part is the median of frames i-12 .. i+12 (live: the last 25)
    harmonic = median_filter(pitch, size=(HARMONIC_MEDIAN_FRAMES, 1), mode="constant", cval=0.0)
    sq = np.concatenate([[0.0], np.cumsum(pad.astype(np.float64) ** 2)])
    starts = np.arange(n) * HOP + half - RMS_WINDOW // 2
    rms = np.sqrt(np.maximum(sq[starts + RMS_WINDOW] - sq[starts], 0.0) / RMS_WINDOW).astype(np.float32)
    return SpectralTrack(bands, flux, pitch, harmonic, pitch_bands.percussive(pitch, harmonic), timbre, rms)


def _norm(v: np.ndarray, pct: float = PERCENTILE) -> np.ndarray:
    """Scale to 0..1 by a high percentile over the whole track (live: a running peak)."""
    ref = np.percentile(v, pct) if len(v) else 0.0
    return np.clip(v / ref, 0.0, 1.0).astype(np.float32) if ref > 1e-12 else np.zeros_like(v, dtype=np.float32)


def _chroma(raw: np.ndarray) -> np.ndarray:
    """`normalise_chroma` with the track's typical chroma peak as the floor's reference (live: a running one)."""
    reference = np.percentile(raw.max(axis=1), PERCENTILE) if len(raw) else 0.0
    return normalise_chroma(raw, reference).astype(np.float32)


def _part_flux(part: np.ndarray) -> np.ndarray:
    """Offline only: mean positive change of an HPSS part's log magnitude (onset strength per part)."""
    lm = log_magnitude(part)
    return np.maximum(np.diff(lm, axis=0, prepend=np.zeros_like(lm[:1])), 0.0).mean(axis=1)


def _curves(sp: SpectralTrack) -> dict[str, np.ndarray]:
    pitch_energy = PitchBands.energy
    return {
        "rms": np.clip(sp.rms, 0.0, 1.0),
        "rms_smooth": np.clip(uniform_filter1d(sp.rms, int(FPS), mode="nearest"), 0.0, 1.0).astype(np.float32),
        "onset_harmonic": _norm(_part_flux(sp.harmonic)),
        "onset_percussive": _norm(_part_flux(sp.percussive)),
        "percussive": _norm(pitch_energy(sp.percussive)),
        "harmonic": _norm(pitch_energy(sp.harmonic)),
        "kick": _norm(sp.flux[:, 0]),
        "snare": _norm(sp.flux[:, 1]),
        "bass": _norm(sp.bands[:, 0]),
        "mid": _norm(sp.bands[:, 1]),
        "high": _norm(sp.bands[:, 2]),
    }


def _matrices(sp: SpectralTrack) -> dict[str, np.ndarray]:
    pitch_bands = PitchBands()
    return {
        "chroma_harmonic": _chroma(pitch_bands.chroma(sp.harmonic)),
        "chroma_percussive": _chroma(pitch_bands.chroma(sp.percussive)),
        "bass_chroma": _chroma(pitch_bands.bass_chroma(sp.harmonic)),
        "timbre": sp.timbre,
    }


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


def _timbre(mag: np.ndarray, window: np.ndarray) -> np.ndarray:
    """MFCC-like: DCT of log energies in 40 log-spaced bands (40 Hz..11 kHz); 13 coefficients.

    `mag` is featuredefs-scaled; the gain undoes that scaling so the values (and sections) are what they were
    on the raw FFT."""
    freqs = np.arange(mag.shape[1]) * SAMPLE_RATE / SHORT
    edges = np.geomspace(40.0, freqs[-1], 41)
    band = np.clip(np.searchsorted(edges, freqs) - 1, -1, 39)
    proj = np.zeros((mag.shape[1], 40), dtype=np.float32)
    ok = band >= 0
    proj[np.flatnonzero(ok), band[ok]] = 1.0
    gain = 100.0 * (float(window.sum()) / 2.0) ** 2
    return dct(np.log1p(gain * ((mag**2) @ proj)), axis=1, norm="ortho")[:, :13].astype(np.float32)


def _madmom_signal(x: np.ndarray):
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # harmless shape warnings otherwise flood the log
    from madmom.audio.signal import Signal

    return Signal(x, sample_rate=SAMPLE_RATE, num_channels=1)


def _rnn_onsets(x: np.ndarray, n: int) -> np.ndarray:
    """madmom's RNN onset activation, one value per frame: the network the live analyzer runs online
    (here bidirectional, as offline allows), so a render's hits land where a live show's do."""
    from madmom.features.onsets import RNNOnsetProcessor

    act = np.asarray(RNNOnsetProcessor()(_madmom_signal(x)), dtype=np.float32) if len(x) >= SHORT else np.zeros(0)
    return np.pad(act[:n], (0, max(0, n - len(act)))).astype(np.float32)


def _beats(x: np.ndarray) -> np.ndarray:
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor

    if len(x) < SAMPLE_RATE:  # the DBN needs a few beats; shorter than 1 s has none worth tracking
        return np.zeros(0)
    act = RNNBeatProcessor()(_madmom_signal(x))
    return np.asarray(DBNBeatTrackingProcessor(fps=FPS)(act), dtype=np.float64)


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
