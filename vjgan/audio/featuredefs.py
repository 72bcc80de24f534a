"""One definition of each spectral feature, shared by the live analyzer and the whole-track analysis.

Why: the two paths used to compute chroma and the drum bands each their own way (chroma 110–3000 Hz soft
vs 55–5000 Hz hard, snare 2–10 kHz vs 2–8 kHz, ...), so a render and a live show of the same music saw
different values. Now both call these functions and constants: the live analyzer (spectral.py) on one
frame (1-D arrays), the offline DSP (trackdsp.py) on a stack of frames (frames × bins). What still
differs is deliberate and written down in docs/audio.md ("Live and offline: one definition of each
feature"): where a window sits (ending at the frame's time live, centred on it offline), where the
harmonic median sits (the last 25 frames live, centred offline), and how values are normalised (running
peak live, whole track offline).
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 44100
SHORT = 2048  # drum window (46 ms): band energies and kick/snare flux keep hits sharp
LONG = 4096  # pitch window (93 ms): 10.8 Hz bins resolve semitones for HPSS and chroma
PITCH_MAX_HZ = 3000.0  # HPSS and chroma use the LONG spectrum up to here (pitches and first partials)
HARMONIC_MEDIAN_FRAMES = 25  # 250 ms: a drum hit fills fewer than half of them, so never reaches the median
RMS_WINDOW = 882  # samples (20 ms, two hops)

Band = tuple[float, float]  # [low, high) in Hz
BASS: Band = (20.0, 250.0)
MID: Band = (250.0, 4000.0)
HIGH: Band = (4000.0, np.inf)
KICK: Band = (30.0, 150.0)
SNARE: Band = (2000.0, 10000.0)
CHROMA: Band = (110.0, PITCH_MAX_HZ)  # below ~110 Hz the 10.8 Hz bins are wider than a semitone
BASS_CHROMA: Band = (40.0, 260.0)  # roots; coarse in the lowest octave, the partials help
CHROMA_SIGMA = 0.4  # semitones: each bin's weight on a pitch class is a Gaussian of its distance
CHROMA_FLOOR = 0.05  # chroma is divided by at least this fraction of a reference chroma peak


def band_mask(freqs: np.ndarray, band: Band) -> np.ndarray:
    return (freqs >= band[0]) & (freqs < band[1])


def pitch_class_matrix(freqs: np.ndarray, band: Band, sigma: float = CHROMA_SIGMA) -> np.ndarray:
    """bins × 12 soft assignment of FFT bins (inside `band`, ends included) to pitch classes C..B."""
    m = np.zeros((len(freqs), 12), dtype=np.float32)
    ok = (freqs >= band[0]) & (freqs <= band[1])
    midi = 69.0 + 12.0 * np.log2(freqs[ok] / 440.0)
    for pc in range(12):
        d = (midi - pc) % 12.0
        d = np.minimum(d, 12.0 - d)
        m[ok, pc] = np.exp(-0.5 * (d / sigma) ** 2)
    return m


class _Window:
    """|FFT| of windowed frames (last axis), scaled by 2 / sum(window) so a full-scale sine peaks near 1;
    scale and bin count fixed once (the live path calls it every hop)."""

    def __init__(self, window: np.ndarray, n_bins: int | None = None) -> None:
        self.window, self.n_bins = window, n_bins
        self.scale = 2.0 / float(window.sum())

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        s = np.abs(np.fft.rfft(frames * self.window, axis=-1))
        if self.n_bins is not None:
            s = s[..., : self.n_bins]
        return (s * self.scale).astype(np.float32, copy=False)


def _mask_matrix(masks: list[np.ndarray], mean: bool = False) -> np.ndarray:
    """bins × len(masks) 0/1 columns (or 1/count for a mean): a band sum as one matrix product."""
    m = np.stack(masks, axis=1).astype(np.float32)
    return m / m.sum(axis=0, keepdims=True) if mean else m


def log_magnitude(mag: np.ndarray) -> np.ndarray:
    """The log compression the flux is taken on (it follows relative rather than absolute level changes)."""
    return np.log1p(100.0 * mag)


def log_energy(power_sum: np.ndarray) -> np.ndarray:
    """Log energy of a band's summed power (what bass/mid/high and harmonic/percussive report raw)."""
    return np.log1p(1e3 * power_sum)


class DrumBands:
    """Bass/mid/high energies and kick/snare flux of the SHORT spectrum (one frame or a stack of frames)."""

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self.window = np.hanning(SHORT).astype(np.float32)
        self._spectrum = _Window(self.window)
        self.freqs = np.fft.rfftfreq(SHORT, 1.0 / sample_rate)
        self._energy = _mask_matrix([band_mask(self.freqs, b) for b in (BASS, MID, HIGH)])
        self._flux = _mask_matrix([band_mask(self.freqs, b) for b in (KICK, SNARE)], mean=True)

    def spectrum(self, frames: np.ndarray) -> np.ndarray:
        return self._spectrum(frames)

    def energies(self, mag: np.ndarray) -> np.ndarray:
        """(..., 3): log energy in BASS, MID, HIGH."""
        return log_energy((mag * mag) @ self._energy)

    def flux(self, log_prev: np.ndarray, log_now: np.ndarray) -> np.ndarray:
        """(..., 2): mean positive change of `log_magnitude` in KICK and SNARE since the previous frame."""
        return np.maximum(log_now - log_prev, 0.0) @ self._flux


class PitchBands:
    """HPSS parts, their energies and chroma of the LONG spectrum up to PITCH_MAX_HZ.

    The harmonic part of a frame is the per-bin median of HARMONIC_MEDIAN_FRAMES magnitude frames (which
    ones is the caller's: the last ones live, centred offline); the percussive part is what the frame has
    above it."""

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self.window = np.hanning(LONG).astype(np.float32)
        freqs = np.fft.rfftfreq(LONG, 1.0 / sample_rate)
        self.n_bins = int(np.searchsorted(freqs, PITCH_MAX_HZ))
        self._spectrum = _Window(self.window, self.n_bins)
        self.freqs = freqs[: self.n_bins]
        self.chroma_matrix = pitch_class_matrix(self.freqs, CHROMA)
        self.bass_chroma_matrix = pitch_class_matrix(self.freqs, BASS_CHROMA)

    def spectrum(self, frames: np.ndarray) -> np.ndarray:
        return self._spectrum(frames)

    @staticmethod
    def percussive(mag: np.ndarray, harmonic: np.ndarray) -> np.ndarray:
        return np.maximum(mag - harmonic, 0.0)

    @staticmethod
    def energy(part: np.ndarray) -> np.ndarray:
        return log_energy(np.einsum("...i,...i->...", part, part))

    def chroma(self, part: np.ndarray) -> np.ndarray:
        """(..., 12) un-normalised pitch-class energy of an HPSS part (CHROMA range)."""
        return (part * part) @ self.chroma_matrix

    def bass_chroma(self, part: np.ndarray) -> np.ndarray:
        return (part * part) @ self.bass_chroma_matrix


def normalise_chroma(chroma: np.ndarray, reference: float | np.ndarray) -> np.ndarray:
    """Max-normalised chroma, but divided by at least CHROMA_FLOOR × `reference` (a recent or typical chroma
    peak), so near-silent harmony (or drums only) does not light all 12 pitch classes."""
    c = np.asarray(chroma, dtype=np.float64)
    den = np.maximum(c.max(axis=-1, keepdims=True), CHROMA_FLOOR * np.asarray(reference, dtype=np.float64))
    return np.divide(c, den, out=np.zeros_like(c), where=den > 0)
