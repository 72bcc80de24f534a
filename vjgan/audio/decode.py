"""Reading audio files into float32 arrays at the analysis rate, with errors a user can act on."""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from vjgan.core.errors import UserError

SOUNDFILE_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif")
AV_SUFFIXES = (".mp3", ".m4a", ".aac", ".opus", ".webm", ".mp4")
SUPPORTED = SOUNDFILE_SUFFIXES + AV_SUFFIXES


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return data, int(sr)


def _read_av(path: Path) -> tuple[np.ndarray, int]:
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise UserError(f"{path}: the file has no audio stream")
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels or 1
        resampler = av.AudioResampler(format="flt", layout="stereo" if channels > 1 else "mono")
        chunks: list[np.ndarray] = []
        sr = 0
        for frame in container.decode(stream):
            sr = frame.sample_rate
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1, 2 if channels > 1 else 1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1, 2 if channels > 1 else 1))
    if not chunks or not sr:
        raise UserError(f"{path}: no audio could be decoded")
    return np.concatenate(chunks).astype(np.float32, copy=False), int(sr)


def resample(data: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling along axis 0 (exact ratio, no drift over long tracks)."""
    if sr_in == sr_out:
        return data
    from scipy.signal import resample_poly

    g = gcd(sr_in, sr_out)
    return resample_poly(data, sr_out // g, sr_in // g, axis=0).astype(np.float32)


def load_audio(path: str | Path, sample_rate: int | None = 44100, mono: bool = False) -> tuple[np.ndarray, int]:
    """Decode a wav/flac/ogg (libsndfile) or mp3/m4a (FFmpeg via PyAV) file → float32 `[n, ch]`, rate.

    Resamples to `sample_rate` (None keeps the file's rate) because the analyzer and the output device
    run at one fixed rate. Any failure becomes a UserError naming the file and what to do.
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"audio file not found: {p}")
    if p.is_dir():
        raise UserError(f"{p} is a directory, not an audio file")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED:
        raise UserError(f"{p}: unsupported audio format '{suffix or '(none)'}'; use one of {', '.join(SUPPORTED)}")
    try:
        if suffix in SOUNDFILE_SUFFIXES:
            try:
                data, sr = _read_soundfile(p)
            except Exception:  # libsndfile lacks some codecs (e.g. opus in .ogg): try FFmpeg
                data, sr = _read_av(p)
        else:
            data, sr = _read_av(p)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(
            f"{p}: cannot decode audio ({type(exc).__name__}: {exc}); is it a valid {suffix[1:]} file?"
        ) from exc
    if data.size == 0:
        raise UserError(f"{p}: the file contains no audio samples")
    if not np.all(np.isfinite(data)):
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    if mono and data.shape[1] > 1:
        data = data.mean(axis=1, keepdims=True)
    if sample_rate is not None and sr != sample_rate:
        data = resample(data, sr, sample_rate)
        sr = sample_rate
    return np.ascontiguousarray(data, dtype=np.float32), sr
