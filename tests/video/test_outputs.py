"""`ThreadedOutput`: a receiver that stops reading (a real pipe nobody drains) never blocks `send`; the queue
drops the oldest frames and counts them; a backend that cannot start is reported once and the frames are
counted as dropped. The platform backends say clearly why they cannot run here."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import wait_for
from vjgan.core.errors import UserError
from vjgan.video.out_ndi import metadata, parse_metadata
from vjgan.video.out_v4l2 import V4l2Sink, check_device
from vjgan.video.outputs import ThreadedOutput

H, W = 36, 64
FRAMES = 200


class PipeSink:
    """Raw frames into a pipe: a receiver that reads when it likes (and blocks the writer when it does not)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.opened: list[tuple[int, int]] = []

    def open(self, width: int, height: int) -> None:
        self.opened.append((width, height))

    def write(self, image: np.ndarray, time: float, seq: int) -> None:
        data = memoryview(np.ascontiguousarray(image)).cast("B")
        while data:
            data = data[os.write(self.fd, data):]

    def close(self) -> None:
        os.close(self.fd)


class FileSink:
    """Frames appended to a file; its folder may not exist (a backend that cannot start)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = None

    def open(self, width: int, height: int) -> None:
        self.file = self.path.open("ab")

    def write(self, image: np.ndarray, time: float, seq: int) -> None:
        self.file.write(image.tobytes())

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def frame(seq: int) -> np.ndarray:
    """A frame that carries its number in its pixels (so the reader can tell which frames came through)."""
    return np.full((H, W, 3), seq % 256, np.uint8)


def _full_pipe() -> tuple[int, int, int]:
    """(read end, write end, bytes waiting): a pipe with a full buffer, as a receiver that stopped reading leaves it."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    filled = 0
    try:
        while True:
            filled += os.write(write_fd, b"\xff" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(write_fd, True)
    return read_fd, write_fd, filled


def test_a_receiver_that_stops_reading_costs_only_dropped_frames() -> None:
    read_fd, write_fd, filled = _full_pipe()
    out = ThreadedOutput("pipe", PipeSink(write_fd), queue_size=2)
    results: list[bool] = []
    sender = threading.Thread(target=lambda: results.extend(out.send(frame(i), i / 60) for i in range(FRAMES)))
    sender.start()
    sender.join(60)
    assert not sender.is_alive(), "send() blocked on a receiver that does not read"
    assert len(results) == FRAMES and out.offered == FRAMES
    # the receiver reads nothing: the sender thread is stuck in its first write, the queue holds the newest 2
    assert out.stats.sent == 0 and out.stats.errors == 0
    assert FRAMES - 3 <= out.stats.dropped <= FRAMES - 2
    assert results.count(False) == out.stats.dropped

    got: list[int] = []  # the receiver reads again

    def drain() -> None:
        size = H * W * 3
        buf = b""
        while chunk := os.read(read_fd, 65536):
            buf += chunk
        buf = buf[filled:]  # what was waiting before
        got.extend(buf[i] for i in range(0, len(buf) - size + 1, size))

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    assert wait_for(lambda: out.stats.sent + out.stats.dropped == FRAMES, timeout=30)
    out.close()  # closes the pipe's write end: the reader sees the end
    reader.join(10)
    os.close(read_fd)
    assert out.stats.errors == 0 and len(got) == out.stats.sent
    assert got == sorted(set(got))  # in order, none twice
    assert got[-2:] == [FRAMES - 2, FRAMES - 1]  # the oldest were dropped: the newest made it


def test_a_backend_that_cannot_start_is_reported_and_the_frames_dropped(tmp_path: Path) -> None:
    out = ThreadedOutput("file", FileSink(tmp_path / "missing" / "frames.raw"))
    out.send(frame(0), 0.0)
    assert wait_for(lambda: out.failed)
    assert out.stats.errors == 1 and "cannot start" in out.stats.error and "missing" in out.stats.error
    assert [out.send(frame(i), 0.0) for i in range(1, 6)] == [False] * 5
    assert out.stats.dropped == 5 and out.stats.sent == 0
    out.close()


def test_a_new_size_reopens_the_backend(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "frames.raw")
    opened: list[tuple[int, int]] = []
    open_file = sink.open
    sink.open = lambda w, h: (opened.append((w, h)), open_file(w, h))  # type: ignore[method-assign]
    out = ThreadedOutput("file", sink, queue_size=8)
    for image in (frame(1), frame(2), np.zeros((10, 20, 3), np.uint8)):
        out.send(image, 0.0)
    assert wait_for(lambda: out.stats.sent == 3)
    out.close()
    assert opened == [(W, H), (20, 10)]
    assert (tmp_path / "frames.raw").stat().st_size == 2 * H * W * 3 + 10 * 20 * 3


def test_v4l2_without_a_loopback_device_says_how_to_make_one() -> None:
    device = "/dev/video63"
    assert not os.path.exists(device)
    with pytest.raises(UserError, match=r"no v4l2loopback device at /dev/video63: sudo modprobe v4l2loopback"):
        V4l2Sink(device)
    with pytest.raises(UserError, match="expects a device like /dev/video10"):
        check_device("/tmp/camera")


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="the texture-sharing platforms themselves")
def test_syphon_and_spout_elsewhere_are_a_clear_error() -> None:
    from vjgan.video.out_spout import SpoutSink
    from vjgan.video.out_syphon import SyphonSink

    with pytest.raises(UserError, match="Syphon out works on macOS only"):
        SyphonSink("vjgan")
    with pytest.raises(UserError, match="Spout out works on Windows only"):
        SpoutSink("vjgan")


def test_ndi_metadata_round_trip() -> None:
    assert parse_metadata(metadata(42, 12.5)) == (42, 12.5)
    assert parse_metadata("<other/>") is None and parse_metadata(None) is None
