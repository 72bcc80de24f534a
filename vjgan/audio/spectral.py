"""Spectral features per 10 ms hop: bands, kick/snare flux, online HPSS, chroma.

Two windows because the features want different trade-offs: 2048 samples (46 ms) keep drum hits sharp
for the band energies and kick/snare flux; 4096 samples (93 ms) resolve semitones well enough for
chroma. The harmonic part is the causal median over the last 25 frames (250 ms) of each frequency bin:
a drum hit occupies fewer than half of them, so it does not reach the median and does not light up
the chroma; what remains above the median is the percussive part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHORT = 2048
LONG = 4096
MEDIAN_FRAMES = 25


def _pitch_class_matrix(freqs: np.ndarray, fmin: float, fmax: float) -> np.ndarray:
    """12 × bins soft assignment of FFT bins to pitch classes (Gaussian in semitones, σ = 0.4)."""
    m = np.zeros((12, len(freqs)), dtype=np.float32)
    ok = (freqs >= fmin) & (freqs <= fmax)
    midi = 69.0 + 12.0 * np.log2(freqs[ok] / 440.0)
    for pc in range(12):
        d = (midi - pc) % 12.0
        d = np.minimum(d, 12.0 - d)
        m[pc, ok] = np.exp(-0.5 * (d / 0.4) ** 2)
    return m


@dataclass(frozen=True, slots=True)
class SpectralFrame:
    bass: float  # log band energies (un-normalised)
    mid: float
    high: float
    kick_flux: float
    snare_flux: float
    percussive: float  # log energies of the HPSS parts
    harmonic: float
    chroma: np.ndarray  # 12, harmonic part, un-normalised energy
    bass_chroma: np.ndarray


class SpectralAnalyzer:
    """Stateful per-hop spectral front end (a few hundred µs per hop)."""

    def __init__(self, sample_rate: int = 44100) -> None:
        self.sr = sample_rate
        self._win_s = np.hanning(SHORT).astype(np.float32)
        self._win_l = np.hanning(LONG).astype(np.float32)
        fs = np.fft.rfftfreq(SHORT, 1.0 / sample_rate)
        fl = np.fft.rfftfreq(LONG, 1.0 / sample_rate)
        self._bass = (fs >= 20) & (fs < 250)
        self._mid = (fs >= 250) & (fs < 4000)
        self._high = fs >= 4000
        self._kick = (fs >= 30) & (fs < 150)
        self._snare = (fs >= 2000) & (fs < 10000)
        # HPSS and chroma only need the range where pitches (and their first partials) live
        self._nl = int(np.searchsorted(fl, 3000.0))
        fl = fl[: self._nl]
        self._chroma_m = _pitch_class_matrix(fl, 110.0, 3000.0)
        self._bass_chroma_m = _pitch_class_matrix(fl, 40.0, 260.0)
        self._hist = np.zeros((MEDIAN_FRAMES, self._nl), dtype=np.float32)
        self._hi = 0
        self._harm: np.ndarray | None = None
        self._prev_short = np.zeros(len(fs), dtype=np.float32)
        self._scale_s = 2.0 / self._win_s.sum()
        self._scale_l = 2.0 / self._win_l.sum()

    def process(self, window: np.ndarray) -> SpectralFrame:
        """`window`: the newest ≥ 4096 mono samples."""
        s = np.abs(np.fft.rfft(window[-SHORT:] * self._win_s)) * self._scale_s
        p = s * s
        bass = float(np.log1p(1e3 * p[self._bass].sum()))
        mid = float(np.log1p(1e3 * p[self._mid].sum()))
        high = float(np.log1p(1e3 * p[self._high].sum()))
        logs = np.log1p(100.0 * s)
        diff = np.maximum(logs - self._prev_short, 0.0)
        self._prev_short = logs
        kick = float(diff[self._kick].mean())
        snare = float(diff[self._snare].mean())

        mag = (np.abs(np.fft.rfft(window[-LONG:] * self._win_l)) * self._scale_l)[: self._nl].astype(np.float32)
        self._hist[self._hi] = mag
        self._hi = (self._hi + 1) % MEDIAN_FRAMES
        # the median is the costliest step; harmony moves slowly, so it is refreshed every 2nd hop
        if self._hi % 2 == 0 or self._harm is None:
            self._harm = np.median(self._hist, axis=0)
        harm = self._harm
        perc = np.maximum(mag - harm, 0.0)
        harmonic = float(np.log1p(1e3 * float(np.dot(harm, harm))))
        percussive = float(np.log1p(1e3 * float(np.dot(perc, perc))))
        h2 = harm * harm
        chroma = self._chroma_m @ h2
        bass_chroma = self._bass_chroma_m @ h2
        return SpectralFrame(bass, mid, high, kick, snare, percussive, harmonic, chroma, bass_chroma)
