"""Reading rendered MP4s back with both ffprobe and PyAV."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from tests.conftest import require_tool


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        [require_tool("ffprobe"), "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def decoded_frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def check_mp4(path: Path, size: tuple[int, int], fps: int, duration: float) -> None:
    """Valid H.264 + AAC MP4 with the given size, rate and duration (± 1 frame), by ffprobe and PyAV."""
    import av

    info = ffprobe(path)
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(video) == 1 and len(audio) == 1, info["streams"]
    v, a = video[0], audio[0]
    assert v["codec_name"] == "h264" and a["codec_name"] == "aac"
    assert (v["width"], v["height"]) == size
    assert v["r_frame_rate"] == f"{fps}/1"
    assert abs(float(v["duration"]) - duration) <= 1.0 / fps
    assert abs(float(a["duration"]) - duration) <= 1.0 / fps
    assert abs(float(info["format"]["duration"]) - duration) <= 1.0 / fps
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        assert (vs.codec_context.width, vs.codec_context.height) == size
        assert vs.average_rate == fps
        assert len(c.streams.audio) == 1 and c.streams.audio[0].codec_context.name == "aac"
        n = sum(1 for _ in c.decode(video=0))
    assert abs(n / fps - duration) <= 1.0 / fps
