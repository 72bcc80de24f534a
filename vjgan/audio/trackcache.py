"""The analysis cache: one .npz per (file content, analysis parameters) in `cache_dir()/analysis/`.

Why: a whole-track analysis takes tens of seconds (madmom's networks); rehearsal and repeated renders of
the same file must not pay it twice. The key hashes the file's bytes with the parameters and
`ANALYSIS_VERSION`, so an edited file, other `--sections` or a changed analysis never hit a stale entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from vjgan.audio.trackdsp import ANALYSIS_VERSION, N_FFT, SAMPLE_RATE, analyze_samples, load_mono
from vjgan.audio.trackresult import TrackAnalysis
from vjgan.core.errors import UserError
from vjgan.core.features import FPS
from vjgan.core.paths import cache_dir

log = logging.getLogger(__name__)


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
