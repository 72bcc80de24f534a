"""The MP4 recorder: wall-clock video timestamps and the live input's audio, through the real audio server."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from tests.conftest import require_tool
from vjgan.render.record import Recorder


def test_records_live_input_audio_with_the_frames(tmp_path: Path, pulse_server: str) -> None:
    paplay = require_tool("paplay")
    tone = tmp_path / "tone.wav"
    t = np.arange(int(4 * 44100)) / 44100
    sf.write(tone, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100)
    player = subprocess.Popen([paplay, str(tone)])
    try:
        time.sleep(0.5)
        rec = Recorder(tmp_path / "live.mp4", (64, 48), fps=30.0, live_device=None)
        start = time.perf_counter()
        frames = 0
        while time.perf_counter() - start < 2.0:
            img = np.full((48, 64, 3), (frames * 5) % 256, np.uint8)
            assert rec.add(img, audio_time=0.0)
            frames += 1
            time.sleep(1 / 15)  # the loop runs at half its nominal rate: timestamps must still be real time
        rec.close()
    finally:
        player.wait(timeout=10)
    assert rec.stats.error == "" and rec.stats.frames == frames
    with av.open(str(tmp_path / "live.mp4")) as c:
        video = c.streams.video[0]
        duration = float(video.duration * video.time_base)
        assert 1.7 < duration < 2.3  # wall-clock timing, not frames / 30
        audio = np.concatenate([f.to_ndarray().ravel() for f in c.decode(audio=0)])
    assert np.sqrt(np.mean(audio**2)) > 0.05  # the tone came through the server into the recording


def test_a_stalled_encoder_holds_at_most_the_live_buffer(tmp_path: Path, pulse_server: str) -> None:
    """No video frame for 1.5 s (the render loop stalled) while the live input keeps coming: the recorder
    keeps 0.25 s of it, drops and counts the rest, and still writes a playable file."""
    rec = Recorder(tmp_path / "stall.mp4", (64, 48), fps=30.0, live_device=None, live_buffer_s=0.25)
    assert rec.add(np.zeros((48, 64, 3), np.uint8), audio_time=0.0)  # starts the input
    time.sleep(1.5)
    assert rec.add(np.full((48, 64, 3), 128, np.uint8), audio_time=0.0)
    rec.close()
    assert rec.stats.error == "" and rec.stats.frames == 2
    sr = rec.sample_rate
    assert rec.stats.audio_dropped > 0.5 * sr  # about 1.25 s of the 1.5 s were refused, not queued
    with av.open(str(tmp_path / "stall.mp4")) as c:
        kept = sum(f.samples for f in c.decode(audio=0))
    assert kept <= 0.25 * sr + 4096  # what the ring held (plus codec padding): memory stayed bounded
