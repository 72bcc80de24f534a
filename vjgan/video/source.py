"""Video sources: a video file or a live camera, each decoded by PyAV in its own thread; latest frame wins.

The consumer (the encoder thread, the renderer) only ever asks for `latest()`: a slow consumer skips
frames instead of queueing them, and a stalled or unplugged source just stops updating, so nothing
downstream waits. Cameras are opened through FFmpeg's v4l2 demuxer (PyAV), so OpenCV is not needed.

`VideoInput` is what a show holds: it switches between sources by spec string and, when a new source
cannot be opened or the running one dies, logs a clear message and keeps showing the last good source
(or black when there never was one).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vjgan.core.errors import UserError
from vjgan.core.latest import LatestThread

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class VideoFrame:
    image: np.ndarray  # (H, W, 3) uint8 RGB, top row first
    seq: int  # increases by one per decoded frame of this source
    time: float  # presentation time in the stream, seconds
    wall: float  # perf_counter() when decoded


class VideoSource(LatestThread[VideoFrame]):
    """Base: a decoding thread that publishes the newest frame. Subclasses implement `_run`."""

    name = "video"

    def __init__(self) -> None:
        super().__init__()
        self.thread_name = f"video:{self.name}"
        self.error: str | None = None  # set when the thread ended because of a failure
        self.frames = 0

    def _publish(self, image: np.ndarray, t: float) -> None:
        self._publish_latest(VideoFrame(image, self.frames, t, time.perf_counter()))
        self.frames += 1

    def _thread_main(self) -> None:
        try:
            self._run()
        except Exception as exc:  # a dying source must never take the show down
            self.error = f"{self.name}: {type(exc).__name__}: {exc}"
            log.error("video source stopped: %s", self.error)

    def _run(self) -> None:
        raise NotImplementedError


class BlackSource(VideoSource):
    """A constant black frame: the fallback when no source is usable."""

    name = "black"

    def __init__(self, width: int = 256, height: int = 256) -> None:
        super().__init__()
        self._publish(np.zeros((height, width, 3), np.uint8), 0.0)

    def _run(self) -> None:
        self._stop.wait()


def _open_container(path: str, fmt: str | None = None, options: dict[str, str] | None = None):
    import av

    try:
        container = av.open(path, format=fmt, options=options or {}, timeout=5.0)
    except FileNotFoundError as exc:
        raise FileNotFoundError(path) from exc
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise UserError(f"cannot open {path}: {exc}") from None
    if not container.streams.video:
        container.close()
        raise UserError(f"{path} has no video stream")
    return container


class FileVideoSource(VideoSource):
    """A video file, decoded at its own frame rate (or as fast as possible), looping by default."""

    def __init__(self, path: str | Path, loop: bool = True, realtime: bool = True) -> None:
        super().__init__()
        self.path = str(path)
        self.name = Path(path).name
        self.loop, self.realtime = loop, realtime
        try:
            self._container = _open_container(self.path)
        except FileNotFoundError:
            raise UserError(f"video file not found: {self.path}") from None
        stream = self._container.streams.video[0]
        self.width, self.height = stream.codec_context.width, stream.codec_context.height
        self.fps = float(stream.average_rate or 30)

    def _run(self) -> None:
        container = self._container
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                n = 0
                for frame in container.decode(video=0):
                    if self._stop.is_set():
                        return
                    t = float(frame.time) if frame.time is not None else n / self.fps
                    if self.realtime:
                        delay = t0 + t - time.perf_counter()
                        if delay > 0 and self._stop.wait(delay):
                            return
                    self._publish(frame.to_ndarray(format="rgb24"), t)
                    n += 1
                if not self.loop or n == 0:
                    return
                container.seek(0)
        finally:
            container.close()


class CameraSource(VideoSource):
    """A V4L2 camera (/dev/videoN) read with PyAV; `size` (W, H) and `fps` are requests the driver may round."""

    def __init__(self, device: str | int = 0, size: tuple[int, int] | None = None, fps: float | None = None) -> None:
        super().__init__()
        self.device = f"/dev/video{device}" if isinstance(device, int) or str(device).isdigit() else str(device)
        self.name = self.device
        if not os.path.exists(self.device):
            present = sorted(str(p) for p in Path("/dev").glob("video*"))
            found = "cameras present: " + ", ".join(present) if present else "no cameras on this machine"
            raise UserError(f"camera {self.device} not found ({found}); "
                            "check the cable and permissions (group 'video'), or pick another with --camera")
        options: dict[str, str] = {}
        if size:
            options["video_size"] = f"{size[0]}x{size[1]}"
        if fps:
            options["framerate"] = f"{fps:g}"
        try:
            self._container = _open_container(self.device, "v4l2", options)
        except FileNotFoundError:
            raise UserError(f"camera {self.device} disappeared while opening it") from None

    def _run(self) -> None:
        try:
            for frame in self._container.decode(video=0):
                if self._stop.is_set():
                    return
                self._publish(frame.to_ndarray(format="rgb24"), float(frame.time or 0.0))
            raise UserError(f"camera {self.device} stopped sending frames (unplugged?)")
        finally:
            self._container.close()


def open_video_source(spec: str | int) -> VideoSource:
    """"camera" / "camera:N" / N / "/dev/videoN" → CameraSource; "black" → BlackSource; else a video file."""
    s = str(spec)
    if s == "black":
        return BlackSource()
    if s == "camera":
        return CameraSource(0)
    if s.startswith("camera:"):
        return CameraSource(s.split(":", 1)[1])
    if s.isdigit() or s.startswith("/dev/video"):
        return CameraSource(s)
    return FileVideoSource(s)


class VideoInput:
    """The show's current video source, switched by spec; failures fall back to the last good source."""

    def __init__(self, spec: str | int | None = None) -> None:
        self.source: VideoSource = BlackSource().start()
        self.spec = "black"
        self._previous: str | None = None
        self.last_error: str | None = None
        if spec is not None:
            self.select(spec)

    def select(self, spec: str | int) -> bool:
        """Switch to `spec`. On failure: log, remember the message, keep the current source; returns success."""
        try:
            new = open_video_source(spec)
        except UserError as exc:
            self.last_error = str(exc)
            log.error("video: %s — staying on %s", exc, self.spec)
            return False
        self.use(new, str(spec))
        return True

    def use(self, source: VideoSource, spec: str) -> None:
        """Switch to an already opened source (`spec` is how to reopen it when falling back)."""
        old = self.source
        self._previous, self.spec, self.source = self.spec, spec, source.start()
        old.stop(timeout=0.5)

    def latest(self) -> VideoFrame | None:
        """Newest frame of the current source. If that source died (camera unplugged), log once, and go
        back to the previous spec (or black) — its last frame keeps showing until the new one delivers."""
        src = self.source
        frame = src.latest()
        if not src.alive and src.error:
            self.last_error = src.error
            log.error("video: %s — falling back to %s", src.error, self._previous or "black")
            back = self._previous if self._previous not in (None, self.spec) else "black"
            self.source, self.spec = BlackSource().start(), "black"
            if back != "black":
                self.select(back)
            return frame
        return frame

    def stop(self) -> None:
        self.source.stop()
