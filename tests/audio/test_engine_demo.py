"""The analysis thread end to end on the generated demo track, and `vjgan analyze` on it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    os.environ["VJGAN_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    from vjgan.audio.demo import demo_track_path

    t0 = time.perf_counter()
    path = demo_track_path()
    assert time.perf_counter() - t0 < 5.0  # generated quickly (≈1 s here; margin for a busy CI)
    return path


def test_demo_track_is_deterministic(demo: Path) -> None:
    import soundfile as sf

    from vjgan.audio.demo import synthesize

    info = sf.info(str(demo))
    assert info.samplerate == 44100 and info.channels == 2 and abs(info.duration - 40.0) < 0.01
    a = synthesize(bars=2)
    b = synthesize(bars=2)
    assert np.array_equal(a, b)
    stored, _ = sf.read(str(demo), dtype="float32", frames=len(a))
    assert np.max(np.abs(stored - a)) < 1e-4  # the file is that synthesis (16-bit)


def test_engine_publishes_features_from_a_file_at_100_fps(demo: Path) -> None:
    from vjgan.audio.engine import AudioEngine
    from vjgan.audio.sources import make_source
    from vjgan.core.features import FeatureBus

    src = make_source(demo, play=False)  # real-time clock, no audio device needed
    bus = FeatureBus(history_seconds=30)
    eng = AudioEngine(src, bus)
    eng.start()
    time.sleep(3.0)
    eng.stop()
    frames = bus.history()
    assert 250 <= len(frames) <= 330, len(frames)
    t = np.array([f.time for f in frames])
    assert np.allclose(np.diff(t), 0.01)
    st = eng.stats
    assert st.hops == len(frames) and st.overflows == 0 and st.analysis_ms_p50 > 0
    assert sum(f.onset_event for f in frames) >= 8  # eighth-note hats: ~4 per second
    assert all(len(f.chroma) == 12 for f in frames)


def test_analyze_command_plot_and_json(demo: Path, tmp_path: Path) -> None:
    png, js = tmp_path / "a.png", tmp_path / "a.json"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "vjgan.cli",
            "analyze",
            str(demo),
            "--duration",
            "12",
            "--plot",
            str(png),
            "--json",
            str(js),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "analyse" in out.stderr  # the tqdm progress bar
    d = json.loads(js.read_text())
    assert d["fps"] == 100.0
    assert abs(d["tempo"] - 120.0) / 120.0 < 0.02
    assert len(d["chroma"]) == len(d["rms"]) == 1200 and len(d["chroma"][0]) == 12
    beats = np.array(d["beats"])
    beats = beats[beats > 4.0]
    # the demo's beats are on multiples of 0.5 s
    assert len(beats) >= 14 and np.max(np.abs(beats - np.round(beats * 2) / 2)) <= 0.03
    # the kick is accented on the one: bars (every 2 s) are found once the accents have been heard
    downbeats = np.array(d["downbeats"])
    downbeats = downbeats[downbeats > 6.0]
    assert len(downbeats) >= 2 and np.max(np.abs(downbeats - np.round(downbeats / 2) * 2)) <= 0.03
    onsets = np.array(d["onsets"])
    assert np.median(np.abs(onsets - np.round(onsets * 4) / 4)) <= 0.015  # hats on eighths
    # chroma: the bars are C, Am, F, G (2 s each), so 4.5-5.8 s is F major → F, A, C strongest
    ch = np.array(d["chroma"])[450:580].mean(axis=0)
    assert set(np.argsort(ch)[-3:]) == {5, 9, 0}
    ch = np.array(d["chroma"])[850:980].mean(axis=0)  # 8.5-9.8 s: C major again
    assert set(np.argsort(ch)[-3:]) == {0, 4, 7}
    img = Image.open(png)
    assert img.size[0] > 800 and img.size[1] > 600
    px = np.asarray(img.convert("L"))
    assert px.std() > 20  # not blank
