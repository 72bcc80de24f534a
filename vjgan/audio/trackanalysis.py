"""Whole-file analysis: everything the live analyzer estimates causally, computed once with hindsight.

Why: when the whole track is known (rehearsal with a looped file, offline music-video render) beats,
downbeats and sections can be known *ahead* of time — no analysis latency, no tempo lock-in, and
section labels that a live analyzer cannot produce. The result is cached per file (content hash +
parameters) in `vjgan.core.paths.cache_dir()/analysis/` as a plain .npz (no pickle), and turned into the
same `Features` the live analyzer publishes via `TrackAnalysis.features_at(t)`.

Analysis (44.1 kHz mono, 100 frames/s like the live analyzer):
- median-filter HPSS (Fitzgerald 2010) on the STFT magnitude → harmonic / percussive parts;
- onsets: madmom's RNN onset activation (as live); per part: spectral-flux onset strength and chroma;
  percussive low/high band flux → kick/snare;
- DBN beat tracking (madmom RNNBeatProcessor + DBNBeatTrackingProcessor) and downbeats
  (RNNDownBeatProcessor + DBNDownBeatTrackingProcessor, 3/4 or 4/4);
- sections: Laplacian segmentation (`vjgan.audio.segmentation`) on beat-synchronous timbre + chroma;
- RMS and ~1 s centred smoothed RMS, band energies.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.fft import dct
from scipy.ndimage import maximum_filter1d, median_filter, uniform_filter1d

from vjgan.audio.segmentation import Section, segment
from vjgan.core.errors import UserError
from vjgan.core.features import FPS, Features
from vjgan.core.paths import cache_dir

log = logging.getLogger(__name__)

RNN_ONSET_THRESHOLD = 0.25  # the live analyzer's (OnlineAnalyzer.ONSET_THRESHOLD) on the same activation
ANALYSIS_VERSION = 3  # bump when the analysis changes: old cache entries are then ignored
SAMPLE_RATE = 44100
HOP = int(SAMPLE_RATE / FPS)  # 441 samples = 10 ms
N_FFT = 2048
MAX_BIN = 512  # ~11 kHz: enough for HPSS, chroma and bands, halves the median-filter cost
CURVES = (
    "rms", "rms_smooth", "onset", "onset_harmonic", "onset_percussive", "percussive", "harmonic",
    "kick", "snare", "bass", "mid", "high",
)  # fmt: skip
MATRICES = ("chroma_harmonic", "chroma_percussive", "bass_chroma", "timbre")
EVENTS = ("onset_events", "kick_events", "snare_events")


@dataclass
class TrackAnalysis:
    """The whole-track analysis; arrays at `fps` frames per second, frame i centred at i / fps seconds."""

    duration: float
    tempo: float  # BPM, median over the track
    beats_per_bar: int
    beats: np.ndarray  # beat times (s)
    beat_positions: np.ndarray  # position of each beat in its bar, 1 = downbeat
    downbeats: np.ndarray  # downbeat times (s), a subset of `beats`
    sections: list[Section]
    curves: dict[str, np.ndarray]  # name in CURVES → (n,) float32, 0..1
    matrices: dict[str, np.ndarray]  # name in MATRICES → (n, d) float32
    events: dict[str, np.ndarray]  # name in EVENTS → frame indices (int)
    fps: float = FPS
    meta: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return len(self.curves["rms"])

    def section_at(self, t: float) -> tuple[int, float, Section]:
        """(index in `sections`, phase 0..1 within it, the section) at time t (clamped to the track)."""
        starts = np.array([s.start for s in self.sections])
        i = int(np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(self.sections) - 1))
        s = self.sections[i]
        phase = float(np.clip((t - s.start) / max(s.end - s.start, 1e-6), 0.0, 1.0))
        return i, phase, s

    def features_at(self, t: float, prev_t: float | None = None, frame: int = 0, wall: float | None = None) -> Features:
        """The `Features` at audio time t. Events (beat, bar, onset, kick, snare) are true when one falls in
        (prev_t, t] — pass the previous frame's time so a 30 fps render sees every 100 fps event once.
        prev_t > t means the loop wrapped (rehearsal): the window is (prev_t, end] ∪ [0, t]."""
        lo = t - 1.0 / self.fps if prev_t is None else prev_t
        i = int(np.clip(round(t * self.fps), 0, self.n_frames - 1))
        c = {k: float(v[i]) for k, v in self.curves.items()}
        m = self.matrices

        def hit_times(times: np.ndarray) -> bool:
            return bool(_in_window(times, lo, t, self.duration))

        def hit_frames(name: str) -> bool:
            return hit_times(self.events[name] / self.fps)

        def count(name: str) -> int:  # events so far: the mapping engine fires on a changed count
            return int(np.searchsorted(self.events[name], t * self.fps + 1e-6, side="right"))

        period = 60.0 / max(self.tempo, 1e-3)
        j, beat_phase, beat_period = _grid_phase(self.beats, t, period)
        _, bar_phase, _ = _grid_phase(self.downbeats, t, period * self.beats_per_bar)
        sec_i, sec_phase, sec = self.section_at(t)
        return Features(
            time=float(t),
            frame=frame,
            wall=time.perf_counter() if wall is None else wall,
            rms=c["rms"],
            rms_smooth=c["rms_smooth"],
            onset=c["onset"],
            onset_event=hit_frames("onset_events"),
            percussive=c["percussive"],
            harmonic=c["harmonic"],
            kick=c["kick"],
            kick_event=hit_frames("kick_events"),
            snare=c["snare"],
            snare_event=hit_frames("snare_events"),
            bass=c["bass"],
            mid=c["mid"],
            high=c["high"],
            chroma=tuple(float(x) for x in m["chroma_harmonic"][i]),
            bass_chroma=tuple(float(x) for x in m["bass_chroma"][i]),
            tempo=float(60.0 / beat_period),
            beat_phase=beat_phase,
            bar_phase=bar_phase,
            beat_event=hit_times(self.beats),
            bar_event=hit_times(self.downbeats),
            beat_count=max(0, j + 1),
            onset_count=count("onset_events"),
            kick_count=count("kick_events"),
            snare_count=count("snare_events"),
            section=sec.label,
            section_phase=sec_phase,
        )

    # -- storage: plain arrays only, loaded with allow_pickle=False -------------------------------------
    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {
            "beats": self.beats,
            "beat_positions": self.beat_positions,
            "downbeats": self.downbeats,
            "section_table": np.array([[s.start, s.end, s.label] for s in self.sections], dtype=np.float64),
        }
        arrays.update({f"curve_{k}": v for k, v in self.curves.items()})
        arrays.update({f"matrix_{k}": v for k, v in self.matrices.items()})
        arrays.update({f"event_{k}": v for k, v in self.events.items()})
        header = {
            "duration": self.duration, "tempo": self.tempo, "beats_per_bar": self.beats_per_bar,
            "fps": self.fps, "meta": self.meta,
        }  # fmt: skip
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        _atomic_write(path, lambda f: np.savez_compressed(f, **arrays))

    @classmethod
    def load(cls, path: Path) -> TrackAnalysis:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            return cls(
                duration=float(header["duration"]),
                tempo=float(header["tempo"]),
                beats_per_bar=int(header["beats_per_bar"]),
                beats=z["beats"],
                beat_positions=z["beat_positions"],
                downbeats=z["downbeats"],
                sections=[Section(float(a), float(b), int(c)) for a, b, c in z["section_table"]],
                curves={k: z[f"curve_{k}"] for k in CURVES},
                matrices={k: z[f"matrix_{k}"] for k in MATRICES},
                events={k: z[f"event_{k}"] for k in EVENTS},
                fps=float(header["fps"]),
                meta=header.get("meta", {}),
            )


# -- public entry points -----------------------------------------------------------------------------
def analysis_cache_path(path: str | Path, n_sections: int | None = None) -> Path:
    """Where the analysis of this file's content with these parameters is cached."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise UserError(f"cannot read audio file {path}: {exc.strerror or exc}") from exc
    params = {"v": ANALYSIS_VERSION, "sr": SAMPLE_RATE, "fps": FPS, "n_fft": N_FFT, "n_sections": n_sections}
    h.update(json.dumps(params, sort_keys=True).encode())
    return cache_dir() / "analysis" / f"{h.hexdigest()[:32]}.npz"


def load_cached_analysis(path: str | Path, n_sections: int | None = None) -> TrackAnalysis | None:
    """The cached analysis of this file, or None when there is none (never analyses: cheap, for the live app)."""
    try:
        cached = analysis_cache_path(path, n_sections)
    except UserError:
        return None
    if not cached.exists():
        return None
    try:
        return TrackAnalysis.load(cached)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring unreadable analysis cache %s: %s", cached, exc)
        return None


def analyze_track(
    path: str | Path, n_sections: int | None = None, use_cache: bool = True, progress: bool = True
) -> TrackAnalysis:
    """Analyse a whole audio file (cached). UserError when the file cannot be read or decoded."""
    cached = analysis_cache_path(path, n_sections)
    if use_cache and cached.exists():
        found = load_cached_analysis(path, n_sections)
        if found is not None:
            log.info("using cached analysis %s", cached)
            return found
    mono = load_mono(path)
    result = analyze_samples(mono, n_sections=n_sections, progress=progress)
    result.meta["source"] = str(path)
    if use_cache:
        result.save(cached)
    return result


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


# -- helpers -----------------------------------------------------------------------------------------
def _grid_phase(grid: np.ndarray, t: float, default_period: float) -> tuple[int, float, float]:
    """(index of the last grid point ≤ t, phase 0..1 to the next one, current period), extrapolating outside."""
    if len(grid) < 2:
        return int(t // default_period), float((t / default_period) % 1.0), default_period
    j = int(np.searchsorted(grid, t, side="right") - 1)
    if j < 0:
        period = float(grid[1] - grid[0])
        return -1, float(1.0 - ((grid[0] - t) / period) % 1.0) % 1.0, period
    if j >= len(grid) - 1:
        period = float(grid[-1] - grid[-2])
        return j, float(((t - grid[-1]) / period) % 1.0), period
    period = float(grid[j + 1] - grid[j])
    return j, float((t - grid[j]) / period), period


def _in_window(times: np.ndarray, lo: float, hi: float, duration: float) -> bool:
    if len(times) == 0:
        return False
    if lo <= hi:
        return bool(np.any((times > lo) & (times <= hi)))
    return bool(np.any(times > lo) or np.any((times >= 0) & (times <= hi)))  # loop wrapped


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- rehearsal ---------------------------------------------------------------------------------------
class RehearsalFeed:
    """Features of a looped file from its whole-track analysis, known ahead of time (no analysis latency).

    The live app creates one for the looped file and, every rendered frame, calls
    `features(player_position, fallback=bus.latest)`: while no analysis is available it returns the live
    analyzer's `fallback`; once one is (cached, or computed in the background when `analyze_if_missing`),
    it returns `TrackAnalysis.features_at(position mod duration)` with beat/bar/section events exact.
    """

    def __init__(self, path: str | Path, analyze_if_missing: bool = False, n_sections: int | None = None) -> None:
        self.path = Path(path)
        self.analysis: TrackAnalysis | None = load_cached_analysis(self.path, n_sections)
        self.error: str | None = None
        self._prev: float | None = None
        self._frame = 0
        self._loops = 0
        self._thread: threading.Thread | None = None
        if self.analysis is None and analyze_if_missing:
            self._thread = threading.Thread(
                target=self._analyse, args=(n_sections,), name="track-analysis", daemon=True
            )
            self._thread.start()

    @property
    def ready(self) -> bool:
        return self.analysis is not None

    def _analyse(self, n_sections: int | None) -> None:
        try:
            result = analyze_track(self.path, n_sections=n_sections, progress=False)
        except Exception as exc:  # a failed background analysis must not stop the show: stay on live analysis
            self.error = str(exc)
            log.warning("whole-track analysis of %s failed, staying on live analysis: %s", self.path, exc)
            return
        self.analysis = result  # a single reference assignment: the render thread sees old or new, never half
        log.info("whole-track analysis of %s ready: rehearsal features now come from it", self.path)

    def features(self, position: float, fallback: Features) -> Features:
        a = self.analysis
        if a is None:
            return fallback
        t = position % a.duration if a.duration > 0 else 0.0
        if self._prev is not None and t < self._prev:
            self._loops += 1  # wrapped: keep event counters increasing so no event fires twice or never
        out = a.features_at(t, self._prev, frame=self._frame)
        self._prev, self._frame = t, self._frame + 1
        if self._loops:
            n = self._loops
            out = replace(
                out,
                beat_count=out.beat_count + n * len(a.beats),
                onset_count=out.onset_count + n * len(a.events["onset_events"]),
                kick_count=out.kick_count + n * len(a.events["kick_events"]),
                snare_count=out.snare_count + n * len(a.events["snare_events"]),
            )
        return out
