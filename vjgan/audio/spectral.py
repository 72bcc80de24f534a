"""Spectral features per 10 ms hop, live: bands, kick/snare flux, online HPSS, chroma.

The definitions (windows, bands, pitch-class weights, compression) are featuredefs.py's, shared with the
whole-track analysis; this class adds what only a live analyzer needs: the windows end at the newest
sample, the previous frame for the flux, and the ring of the last 25 pitch-window frames whose per-bin
median is the harmonic part. A drum hit occupies fewer than half of them, so it does not reach the median
and does not light up the chroma; what remains above the median is the percussive part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vjgan.audio.featuredefs import (
    HARMONIC_MEDIAN_FRAMES,
    LONG,
    SAMPLE_RATE,
    SHORT,
    DrumBands,
    PitchBands,
    log_magnitude,
)

__all__ = ["LONG", "SHORT", "SpectralAnalyzer", "SpectralFrame"]


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
    harmonic_fresh: bool = True  # False: the harmonic median was not recomputed this hop (it is every 2nd)


class SpectralAnalyzer:
    """Stateful per-hop spectral front end (a few hundred µs per hop)."""

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self.sr = sample_rate
        self._drums = DrumBands(sample_rate)
        self._pitch = PitchBands(sample_rate)
        self._hist = np.zeros((HARMONIC_MEDIAN_FRAMES, self._pitch.n_bins), dtype=np.float32)
        self._hi = 0
        self._harm: np.ndarray | None = None
        self._prev_log = np.zeros(len(self._drums.freqs), dtype=np.float32)  # silence before the first hop

    def process(self, window: np.ndarray) -> SpectralFrame:
        """`window`: the newest ≥ 4096 mono samples."""
        drums, pitch = self._drums, self._pitch
        s = drums.spectrum(window[-SHORT:])
        bass, mid, high = (float(v) for v in drums.energies(s))
        logs = log_magnitude(s)
        kick, snare = (float(v) for v in drums.flux(self._prev_log, logs))
        self._prev_log = logs

        mag = pitch.spectrum(window[-LONG:])
        self._hist[self._hi] = mag
        self._hi = (self._hi + 1) % HARMONIC_MEDIAN_FRAMES
        # the median is the costliest step; harmony moves slowly, so it is refreshed every 2nd hop
        fresh = self._hi % 2 == 0 or self._harm is None
        if fresh:
            self._harm = np.median(self._hist, axis=0)
        harm = self._harm
        assert harm is not None
        perc = pitch.percussive(mag, harm)
        return SpectralFrame(
            bass, mid, high, kick, snare,
            float(pitch.energy(perc)), float(pitch.energy(harm)),
            pitch.chroma(harm), pitch.bass_chroma(harm), fresh,
        )  # fmt: skip
