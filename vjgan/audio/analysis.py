"""The online analyzer: one 10 ms hop of samples in, one `Features` snapshot out.

Pure and single-threaded (no clock, no I/O), so the live engine and `vjgan analyze` get identical
results for identical samples. The whole-track analysis (trackdsp.py, offline render and rehearsal) shares
every spectral definition with it (featuredefs.py) but not its causal constraints; docs/audio.md says
which differences are deliberate. Onset strength is madmom's online RNN onset
activation (its 8 ONNX networks, ~0.6 ms per hop here, fed by a numpy re-implementation of madmom's
pre-processing that gives the same features at a quarter of the cost); everything else comes from two
FFTs per hop (spectral.py), one of madmom's 8 online beat LSTMs and an envelope-based beat tracker
(beat.py), because madmom's full online beat tracker costs 3-4 ms per hop.
"""

from __future__ import annotations

import numpy as np

from vjgan.audio.beat import BeatTracker
from vjgan.audio.featuredefs import LONG, RMS_WINDOW, SAMPLE_RATE, normalise_chroma
from vjgan.audio.peaks import OnlinePeakPicker
from vjgan.audio.spectral import SpectralAnalyzer
from vjgan.core.features import FPS, Features

ANALYSIS_RATE = SAMPLE_RATE  # 44.1 kHz: madmom's onset network was trained at this rate


class PeakNorm:
    """Maps a non-negative signal to ~0..1 by a slowly decaying running peak (adapts to the room level)."""

    def __init__(self, half_life_s: float = 10.0, floor: float = 1e-3, fps: float = FPS) -> None:
        self._decay = 0.5 ** (1.0 / (half_life_s * fps))
        self._peak = floor
        self._floor = floor

    def __call__(self, x: float) -> float:
        self._peak = max(x, self._peak * self._decay, self._floor)
        return x / self._peak

    @property
    def peak(self) -> float:
        return self._peak


class _SpecDiff:
    """madmom's online pre-processing (framed STFT → log filterbank → positive diff), in plain numpy.

    The same features as madmom's processor chain (float32 rounding: max difference ~1e-6), at about a
    quarter of its cost: madmom builds several wrapper arrays and Python objects per frame and size.
    """

    def __init__(
        self,
        frame_sizes: tuple[int, ...],
        num_bands: int,
        mul: float,
        diff_ratio: float,
        sample_rate: int,
        hop_size: int,
    ) -> None:
        from madmom.audio.filters import LogarithmicFilterbank
        from madmom.audio.spectrogram import _diff_frames
        from madmom.audio.stft import fft_frequencies

        self._mul = np.float32(mul)
        self._stages = []
        for fs in frame_sizes:
            fb = LogarithmicFilterbank(
                fft_frequencies(fs >> 1, sample_rate),
                num_bands=num_bands,
                fmin=30,
                fmax=17000,
                norm_filters=True,
                unique_filters=True,
            )
            fb = np.ascontiguousarray(fb, dtype=np.float32)
            # rows of the previous filtered spectra; inf until filled, so the first diffs are 0 like madmom's
            hist = np.full((_diff_frames(diff_ratio, hop_size, fs, np.hanning), fb.shape[1]), np.inf, np.float32)
            self._stages.append((fs, np.hanning(fs).astype(np.float32), fb, hist))
        self._pos = 0
        self.size = 2 * sum(fb.shape[1] for _, _, fb, _ in self._stages)

    def __call__(self, buf: np.ndarray) -> np.ndarray:
        out = np.empty((1, self.size), np.float32)
        i = 0
        for fs, win, fb, hist in self._stages:
            spec = np.abs(np.fft.rfft(buf[-fs:] * win)[: fs >> 1]).astype(np.float32)
            n = fb.shape[1]
            f = out[0, i : i + n]
            np.log10(self._mul * (spec @ fb) + 1.0, out=f)
            k = self._pos % len(hist)
            np.maximum(f - hist[k], 0.0, out=out[0, i + n : i + 2 * n])
            hist[k] = f
            i += 2 * n
        self._pos += 1
        return out


class _OnlineRNN:
    """Pre-processing plus the (averaged) networks of one madmom online RNN, one frame per call."""

    def __init__(self, nn_files: list, pre: _SpecDiff) -> None:
        import onnxruntime
        from madmom.ml.nn import NeuralNetwork

        onnxruntime.set_default_logger_severity(3)  # the exported models warn about shapes; harmless
        # one ONNX thread: per-frame LSTM steps are too small to split, and a 2-thread pool spins a second
        # core (costly on a busy 2-core machine)
        self._nets = [NeuralNetwork.load(f, intra_op_num_threads=1) for f in nn_files]
        self._pre = pre

    def __call__(self, buf: np.ndarray) -> float:
        x = self._pre(buf)
        s = 0.0
        for net in self._nets:
            s += float(np.ravel(net.process(x, reset=False))[-1])
        return s / len(self._nets)


def _onset_processor(sample_rate: int, hop_size: int) -> _OnlineRNN:
    from madmom.models import ONSETS_RNN

    # madmom's online onset RNN (RNNOnsetProcessor(online=True)): 8 networks over 3 frame sizes
    return _OnlineRNN(list(ONSETS_RNN), _SpecDiff((512, 1024, 2048), 6, 5.0, 0.25, sample_rate, hop_size))


def _beat_processor(sample_rate: int, hop_size: int) -> _OnlineRNN:
    from madmom.models import BEATS_LSTM

    # one network of madmom's online beat ensemble of 8 (RNNBeatProcessor(online=True)): ~0.3 ms per hop
    # instead of 3-4 ms, and its activation settles the tempo octave where onsets alone are ambiguous
    # (dotted or double-time feels)
    return _OnlineRNN([BEATS_LSTM[0]], _SpecDiff((2048,), 12, 1.0, 0.5, sample_rate, hop_size))


class OnlineAnalyzer:
    """100 frames/s analysis at 44.1 kHz. Feed `hop_size` samples per call (mono, or [n, ch] mixed down)."""

    ONSET_THRESHOLD = 0.25

    def __init__(self, sample_rate: int = ANALYSIS_RATE, fps: float = FPS, beat_rnn: bool = True) -> None:
        """`beat_rnn=False` saves ~0.25 ms per hop: tempo then comes from the onset activation alone."""
        if sample_rate != ANALYSIS_RATE:
            raise ValueError(f"the analyzer runs at {ANALYSIS_RATE} Hz, got {sample_rate} (resample first)")
        self.sample_rate = sample_rate
        self.fps = fps
        self.hop_size = int(round(sample_rate / fps))
        self._onsets = _onset_processor(sample_rate, self.hop_size)
        self._beat_rnn = _beat_processor(sample_rate, self.hop_size) if beat_rnn else None
        self._init_state()

    def _init_state(self) -> None:
        fps = self.fps
        self._buf = np.zeros(LONG, dtype=np.float32)
        self._spectral = SpectralAnalyzer(self.sample_rate)
        # events on the rising edge (post_max=0): 10 ms (onsets, kicks) to 20 ms (snares) sooner than
        # confirmed peaks, with the same onset F-measure against madmom offline on the shared tracks
        self._onset_peaks = OnlinePeakPicker(self.ONSET_THRESHOLD, pre_max=3, post_max=0, combine=3)
        self._kick_peaks = OnlinePeakPicker(0.3, pre_max=3, post_max=0, combine=8, adaptive=2.0)
        self._snare_peaks = OnlinePeakPicker(0.3, pre_max=3, post_max=0, combine=8, adaptive=2.0)
        # the onset activation peaks about one frame after the hit: emit beats that much earlier
        self._beats = BeatTracker(fps=fps, lead=1.0)
        self._norm = {k: PeakNorm(10.0, 0.5) for k in ("bass", "mid", "high", "percussive", "harmonic")}
        self._kick_norm = PeakNorm(5.0, 0.05)
        self._snare_norm = PeakNorm(5.0, 0.05)
        self._chroma_norm = PeakNorm(10.0, 1e-6)
        self._bass_chroma_norm = PeakNorm(10.0, 1e-6)
        self._rms_smooth = 0.0
        self._rms_alpha = 1.0 / fps  # ~1 s time constant
        self.frame = 0
        self.samples = 0
        self._counts = [0, 0, 0]  # onsets, kicks, snares since start (for consumers slower than 100 fps)

    def warmup(self, hops: int = 20) -> None:
        """Run silence through once so the first real hops are not slow (ONNX sessions start lazily)."""
        zeros = np.zeros(self.hop_size, dtype=np.float32)
        for _ in range(hops):
            self.process(zeros)
        self._init_state()

    @property
    def onset_delay(self) -> float:
        """Seconds from an onset to the `Features.time` of the frame reporting it.

        The activation rises about one frame after the onset (measured on click tracks); events fire on
        that rise (`post_max` = 0) or `post_max` frames after the peak.
        """
        return (self._onset_peaks.delay + 1) / self.fps

    def _chroma(self, c: np.ndarray, norm: PeakNorm) -> tuple[float, ...]:
        """Max-normalised, floored by the running chroma peak (before this frame raises it)."""
        out = normalise_chroma(c, norm.peak)
        norm(float(c.max()))
        return tuple(out.tolist())

    def process(self, hop: np.ndarray, time: float | None = None) -> Features:
        """Analyse the next hop. `time`: the source's audio time of the hop's end (default: samples seen)."""
        x = np.asarray(hop, dtype=np.float32)
        if x.ndim == 2:
            x = x.mean(axis=1)
        n = len(x)
        if n != self.hop_size:
            raise ValueError(f"expected {self.hop_size} samples per hop, got {n}")
        buf = self._buf
        buf[:-n] = buf[n:]
        buf[-n:] = x
        self.samples += n
        t = self.samples / self.sample_rate if time is None else time

        onset = self._onsets(buf)
        onset_event = self._onset_peaks.update(onset)

        sp = self._spectral.process(buf)
        kick = self._kick_norm(sp.kick_flux)
        snare = self._snare_norm(sp.snare_flux)
        kick_event = self._kick_peaks.update(kick)
        snare_event = self._snare_peaks.update(snare)

        last = buf[-RMS_WINDOW:]
        rms = float(np.sqrt(np.dot(last, last) / len(last)))
        self._rms_smooth += self._rms_alpha * (rms - self._rms_smooth)

        # tempo from the onset activation; phase with the kick mixed in (off-beat hats are onsets too)
        c = self._counts
        c[0] += onset_event
        c[1] += kick_event
        c[2] += snare_event
        # tempo from onset + beat activation; phase with the kick mixed in (off-beat hats are onsets too)
        tempo_env = onset
        if self._beat_rnn is not None:
            tempo_env = 0.5 * onset + self._beat_rnn(buf)
        beat = self._beats.update(tempo_env, kick, 0.5 * onset + 0.5 * min(kick, 1.0))
        nm = self._norm
        f = Features(
            time=t,
            frame=self.frame,
            rms=rms,
            rms_smooth=self._rms_smooth,
            onset=onset,
            onset_event=onset_event,
            percussive=nm["percussive"](sp.percussive),
            harmonic=nm["harmonic"](sp.harmonic),
            kick=min(kick, 1.0),
            kick_event=kick_event,
            snare=min(snare, 1.0),
            snare_event=snare_event,
            bass=nm["bass"](sp.bass),
            mid=nm["mid"](sp.mid),
            high=nm["high"](sp.high),
            chroma=self._chroma(sp.chroma, self._chroma_norm),
            bass_chroma=self._chroma(sp.bass_chroma, self._bass_chroma_norm),
            tempo=beat.tempo,
            beat_phase=beat.beat_phase,
            bar_phase=beat.bar_phase,
            beat_event=beat.beat_event,
            bar_event=beat.bar_event,
            beat_count=beat.beat_count,
            onset_count=c[0],
            kick_count=c[1],
            snare_count=c[2],
        )
        self.frame += 1
        return f

    @property
    def beats(self) -> BeatTracker:
        """The tempo/phase tracker, for tap tempo and nudges (applied on the analysis thread only)."""
        return self._beats

    def process_array(self, samples: np.ndarray, progress=None) -> list[Features]:  # noqa: ANN001
        """Every full hop of a mono array (faster than real time); `progress(n)` is told each hop."""
        out = []
        for i in range(len(samples) // self.hop_size):
            out.append(self.process(samples[i * self.hop_size : (i + 1) * self.hop_size]))
            if progress is not None:
                progress(1)
        return out
