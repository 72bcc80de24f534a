"""The MP4 writer on its own: valid files, byte-identical output, never a partial file under the name."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tests.offline.probe import check_mp4, decoded_frames
from vjgan.core.errors import UserError
from vjgan.render.video_writer import VideoWriter

W, H, FPS = 128, 72, 30


def _frames(n: int):
    for i in range(n):
        img = np.zeros((H, W, 3), np.uint8)
        img[..., 0] = (i * 7) % 256
        img[20:50, i % (W - 30) : i % (W - 30) + 30, 1] = 255
        yield img


def _audio(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 44100)) / 44100
    return np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1).astype(np.float32) * 0.3


def _write(path: Path, seconds: float = 2.0) -> Path:
    with VideoWriter(path, W, H, FPS, _audio(seconds)) as w:
        for img in _frames(int(seconds * FPS)):
            w.write(img)
    return path


def test_valid_mp4_with_audio(tmp_path: Path) -> None:
    out = _write(tmp_path / "a.mp4")
    check_mp4(out, (W, H), FPS, 2.0)
    frames = decoded_frames(out)
    assert abs(int(frames[10][..., 0].mean()) - 70) <= 3  # the content survives the round trip
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left over


def test_same_input_same_bytes(tmp_path: Path) -> None:
    a, b = _write(tmp_path / "a.mp4"), _write(tmp_path / "b.mp4")
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def test_failure_midway_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    out = tmp_path / "video.mp4"
    out.write_bytes(b"previous render")
    with pytest.raises(KeyboardInterrupt):
        with VideoWriter(out, W, H, FPS, _audio(2.0)) as w:
            for i, img in enumerate(_frames(60)):
                if i == 20:
                    raise KeyboardInterrupt  # Ctrl-C in the middle of a render
                w.write(img)
    assert out.read_bytes() == b"previous render"
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize("bad", ["missing-dir/out.mp4", "file.txt/out.mp4", "adir", "out.avi"])
def test_unwritable_output_is_a_user_error(tmp_path: Path, bad: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "adir.mp4").mkdir()
    target = tmp_path / (bad + ".mp4" if bad == "adir" else bad)
    with pytest.raises(UserError, match="cannot|must end"):
        VideoWriter(target, W, H, FPS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.mp4", "file.txt"]
