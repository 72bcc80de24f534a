"""`vjgan live --headless`: the real CLI, real audio server, real EGL frames, a real MP4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from tests.conftest import require_tool

SR = 44100
FPS = 30
FRAMES = 150
CLICK_PERIOD = 0.5


def click_track(path: Path, seconds: float = 8.0) -> list[float]:
    """Short broadband clicks every CLICK_PERIOD s over silence: the known onsets."""
    t = np.zeros(int(seconds * SR), np.float32)
    rng = np.random.default_rng(1)
    times = list(np.arange(0.25, seconds, CLICK_PERIOD))
    n = int(0.02 * SR)
    burst = rng.uniform(-1, 1, n).astype(np.float32) * np.exp(-np.arange(n) / (0.004 * SR)).astype(np.float32)
    for c in times:
        i = int(c * SR)
        t[i : i + n] += 0.8 * burst
    sf.write(path, np.stack([t, t], 1), SR)
    return times


@pytest.fixture(scope="module")
def headless_run(tmp_path_factory: pytest.TempPathFactory, pulse_server: str) -> dict:
    tmp = tmp_path_factory.mktemp("live")
    audio = tmp / "clicks.wav"
    clicks = click_track(audio)
    out = tmp / "frames"
    cmd = [sys.executable, "-m", "vjgan.cli", "live", "--headless", "--frames", str(FRAMES), "--out", str(out),
           "--audio", str(audio), "--model", "procedural", "--size", "192x108", "--fps", str(FPS),
           "--record", str(tmp / "show.mp4")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"out": out, "clicks": clicks, "mp4": tmp / "show.mp4", "stderr": proc.stderr}


def test_headless_cli_writes_n_pngs(headless_run: dict) -> None:
    pngs = sorted(headless_run["out"].glob("frame_*.png"))
    assert len(pngs) == FRAMES
    first = np.asarray(Image.open(pngs[0]))
    assert first.shape == (108, 192, 3) and first.std() > 5  # a real image, not a blank frame
    meta = json.loads((headless_run["out"] / "frames.json").read_text())
    assert len(meta["frames"]) == FRAMES and meta["fps"] == FPS


def test_frames_change_with_the_onsets_of_a_click_track(headless_run: dict) -> None:
    out = headless_run["out"]
    meta = json.loads((out / "frames.json").read_text())["frames"]
    imgs = [np.asarray(Image.open(out / f"frame_{i:05d}.png"), dtype=np.float32) for i in range(FRAMES)]
    change = np.array([np.abs(b - a).mean() for a, b in zip(imgs, imgs[1:], strict=False)])
    # onset envelope of the known clicks at the audio time each frame was made from
    clicks = np.asarray(headless_run["clicks"])
    t = np.array([m["audio_time"] for m in meta[1:]])
    since = t[:, None] - clicks[None, :]
    since[since < 0] = np.inf
    envelope = np.exp(-since.min(axis=1) / 0.05)
    corr = max(np.corrcoef(change[lag:], envelope[: len(envelope) - lag])[0, 1] for lag in range(3))
    assert np.isfinite(corr) and corr > 0.5, f"frame change vs onset envelope correlation {corr:.2f}"


def test_recording_has_video_and_audio(headless_run: dict) -> None:
    ffprobe = require_tool("ffprobe")
    probe = subprocess.run([ffprobe, "-v", "error", "-show_entries", "stream=codec_type,codec_name,nb_frames",
                            "-of", "json", str(headless_run["mp4"])], capture_output=True, text=True, check=True)
    streams = {s["codec_type"]: s for s in json.loads(probe.stdout)["streams"]}
    assert streams["video"]["codec_name"] == "h264" and int(streams["video"]["nb_frames"]) >= FRAMES - 5
    assert streams["audio"]["codec_name"] == "aac"


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "vjgan.cli", "live", "--headless", "--frames", "1",
                           "--audio", str(tmp_path / "missing.wav")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "missing.wav" in proc.stderr and "Traceback" not in proc.stderr
