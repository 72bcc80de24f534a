"""Bad input: clear errors that name the problem, and the show going on where it can."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REPO
from vjgan.audio.decode import load_audio
from vjgan.audio.sources import LiveInput, make_source
from vjgan.core.errors import UserError


def test_unknown_device_name_lists_the_devices(pulse_server: str) -> None:
    with pytest.raises(UserError) as err:
        LiveInput("no-such-soundcard-xyz")
    msg = str(err.value)
    assert "no-such-soundcard-xyz" in msg and "available input devices" in msg
    assert "default" in msg or "pulse" in msg  # the real devices PortAudio sees through the server


def test_unknown_device_index_lists_the_devices(pulse_server: str) -> None:
    with pytest.raises(UserError, match="available input devices"):
        LiveInput(999)


def test_bad_channel_is_an_error(pulse_server: str) -> None:
    with pytest.raises(UserError, match="channel 99"):
        LiveInput(None, channel=99)


def test_no_input_device_falls_back_to_silence_and_says_so(tmp_path: Path) -> None:
    """No audio server reachable at all: make_source returns silence and logs why; analysis still ticks."""
    code = """
import logging, time
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
from vjgan.audio.sources import make_source
from vjgan.audio.engine import AudioEngine
from vjgan.core.features import FeatureBus
src = make_source(None)
print("SOURCE", type(src).__name__)
bus = FeatureBus()
with AudioEngine(src, bus):
    time.sleep(0.6)
print("FRAMES", bus.latest.frame)
"""
    env = dict(os.environ, PULSE_SERVER=f"unix:{tmp_path}/nobody-listens-here.sock", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "SOURCE SilenceSource" in out.stdout
    assert "continuing on silence" in out.stderr
    frames = int(out.stdout.split("FRAMES")[1])
    assert frames > 20  # the show goes on: features are still published at the analysis rate


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    garbage = tmp_path / "broken.wav"
    garbage.write_bytes(b"RIFF\x00\x00not really a wave file" * 10)
    with pytest.raises(UserError, match="broken.wav: cannot decode"):
        load_audio(garbage)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="unsupported audio format '.txt'; use one of .wav"):
        load_audio(tmp_path / "notes.txt")
    with pytest.raises(UserError, match="not found"):
        load_audio(tmp_path / "missing.flac")
    fake_mp3 = tmp_path / "fake.mp3"
    fake_mp3.write_bytes(os.urandom(4096))
    with pytest.raises(UserError, match="fake.mp3"):
        load_audio(fake_mp3)
    with pytest.raises(UserError, match="broken.wav"):
        make_source(garbage, play=False)


def test_decodes_every_supported_kind(tmp_path: Path, shared_audio: Path) -> None:
    x = (0.5 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)).astype(np.float32)
    for ext in ("wav", "flac"):
        sf.write(tmp_path / f"a.{ext}", x, 22050)
        y, sr = load_audio(tmp_path / f"a.{ext}")
        assert sr == 44100 and y.shape == (44100, 1)
    ogg, sr = load_audio(shared_audio / "Kevin_MacLeod_-_Vibe_Ace.ogg", mono=True)
    assert sr == 44100 and 60 < len(ogg) / sr < 63
    mp3 = tmp_path / "a.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(tmp_path / "a.wav"), str(mp3)], check=True)
    y, sr = load_audio(mp3)
    assert sr == 44100 and abs(len(y) - 44100) < 3000 and np.abs(y).max() > 0.3


def test_analyze_command_reports_bad_file_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"fLaC" + b"\x00" * 50)
    out = subprocess.run(
        [sys.executable, "-m", "vjgan.cli", "analyze", str(bad)], capture_output=True, text=True, timeout=90, cwd=REPO
    )
    assert out.returncode == 2
    assert "vjgan analyze: error:" in out.stderr and "broken.flac" in out.stderr
    assert "Traceback" not in out.stderr
