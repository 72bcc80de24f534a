"""Live and whole-track analysis compute each spectral feature the same way (vjgan/audio/featuredefs.py).

The same 20 s of real music go through the live `SpectralAnalyzer` (hop by hop, as the live analyzer runs
it) and the offline `spectral_track` (all frames at once). Their only differences are the deliberate ones
of docs/audio.md: a live window ends at its hop while an offline one is centred on its frame (the live
input is delayed here so the windows coincide), the live harmonic median covers the last 25 frames while
the offline one is centred (a fixed shift of 12 frames), and live refreshes that median every 2nd hop.
With those accounted for, the values agree to float32 rounding (measured ≤ 1.2e-6); the tolerances leave
two orders of magnitude of margin and are far below any real difference (the old offline chroma and snare
band were off by tenths).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vjgan.audio.decode import load_audio
from vjgan.audio.featuredefs import LONG, SHORT, PitchBands, normalise_chroma
from vjgan.audio.spectral import SpectralAnalyzer, SpectralFrame
from vjgan.audio.trackdsp import HOP, spectral_track

TOL_LOG = 1e-4  # log energies and flux (values up to ~6 and ~1)
TOL_CHROMA = 1e-4  # max-normalised chroma (0..1)
SHORT_SHIFT = 3  # live hop j's drum window is offline frame j + 1 - SHORT_SHIFT once delayed (below)
LONG_SHIFT = 5
MEDIAN_LAG = 12  # the live median of the last 25 frames is centred 12 frames back


@pytest.fixture(scope="module")
def music(shared_audio: Path) -> np.ndarray:
    x, sr = load_audio(shared_audio / "Kevin_MacLeod_-_Vibe_Ace.ogg", mono=True)
    assert sr == 44100
    return np.ascontiguousarray(x.reshape(len(x), -1).mean(axis=1)[30 * sr : 50 * sr], dtype=np.float32)


def run_live(x: np.ndarray, shift: int, size: int) -> list[SpectralFrame]:
    """The live front end hop by hop, on `x` delayed so that its `size` windows end where the offline
    windows centred on frame j + 1 - shift end."""
    delay = shift * HOP - size // 2
    stream = np.concatenate([np.zeros(LONG + delay, np.float32), x, np.zeros(4 * LONG, np.float32)])
    sp = SpectralAnalyzer()
    return [sp.process(stream[: LONG + (j + 1) * HOP]) for j in range((len(stream) - LONG) // HOP)]


def test_bands_and_drum_flux_agree(music: np.ndarray) -> None:
    off = spectral_track(music)
    live = run_live(music, SHORT_SHIFT, SHORT)[SHORT_SHIFT - 1 :][: off.n_frames]
    bands = np.array([[f.bass, f.mid, f.high] for f in live])
    flux = np.array([[f.kick_flux, f.snare_flux] for f in live])
    assert off.bands.max() > 3.0 and off.flux.max() > 0.3  # real music, not silence
    assert np.abs(bands - off.bands).max() < TOL_LOG
    assert np.abs(flux - off.flux).max() < TOL_LOG


def test_hpss_and_chroma_agree(music: np.ndarray) -> None:
    off = spectral_track(music)
    pitch = PitchBands()
    n = off.n_frames
    lag = LONG_SHIFT - 1 + MEDIAN_LAG  # live hop j's harmonic part is offline frame j - lag's
    live = run_live(music, LONG_SHIFT, LONG)
    # a stale live median (odd hops) is the previous hop's: compare it with the previous offline frame
    src = np.array([j - lag - (0 if live[j].harmonic_fresh else 1) for j in range(len(live))])
    sel = np.flatnonzero((src >= MEDIAN_LAG) & (src < n - MEDIAN_LAG - 1))  # away from the clip's edges
    assert len(sel) > 1900 and 0.3 < np.mean([live[j].harmonic_fresh for j in sel]) < 0.7
    ref = float(np.percentile(pitch.chroma(off.harmonic).max(axis=1), 99))
    for name, get in (("chroma", pitch.chroma), ("bass_chroma", pitch.bass_chroma)):
        want = normalise_chroma(get(off.harmonic[src[sel]]), ref)
        got = normalise_chroma(np.array([getattr(live[j], name) for j in sel]), ref)
        assert want.max(axis=1).mean() > 0.5, name  # harmony present in most frames
        assert np.abs(got - want).max() < TOL_CHROMA, name
    harmonic = np.array([live[j].harmonic for j in sel])
    assert np.abs(harmonic - pitch.energy(off.harmonic[src[sel]])).max() < TOL_LOG
    # live percussive = this hop's spectrum above the (lagging) median: same definition, other median
    frame = sel - (LONG_SHIFT - 1)
    perc = pitch.energy(pitch.percussive(off.pitch[frame], off.harmonic[src[sel]]))
    assert np.abs(np.array([live[j].percussive for j in sel]) - perc).max() < TOL_LOG
