"""H.264 + AAC MP4 writer (PyAV) that never leaves a partial file under the output name.

Frames go to a hidden temporary file next to the output (same filesystem, so the final rename is
atomic); `close()` renames it into place only after the container is finalised. Any exception, or
Ctrl-C, removes the temporary file instead. Audio is interleaved with the video as frames arrive,
so the file is well-formed for streaming players too.
"""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from vjgan.core.errors import UserError

AUDIO_FRAME = 1024  # AAC frame size


def check_output_path(path: str | Path) -> Path:
    """Fail early (before any analysis or rendering) when the output cannot be written."""
    out = Path(path)
    if out.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        raise UserError(f"output {out} must end in .mp4 (H.264 + AAC in an MP4 container)")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"cannot write {out}: folder {parent} does not exist")
    if out.is_dir():
        raise UserError(f"cannot write {out}: it is a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {out}: folder {parent} is not writable")
    if out.exists() and not os.access(out, os.W_OK):
        raise UserError(f"cannot overwrite {out}: file is read-only")
    return out


class AudioTrack:
    """The clip's audio as an AAC stream of `container`, fed in step with the video (`feed(until)`)."""

    def __init__(self, container, audio: np.ndarray, sample_rate: int) -> None:
        a = np.asarray(audio, dtype=np.float32)
        a = a.reshape(len(a), -1)
        if a.shape[1] == 1:
            a = np.repeat(a, 2, axis=1)
        self._data = np.ascontiguousarray(a[:, :2].T)  # planar (2, n) for fltp
        self._container = container
        self.stream = container.add_stream("aac", rate=sample_rate)
        self.stream.layout = "stereo"
        self.stream.codec_context.options = {"b": "192k"}
        self._rate = sample_rate
        self._pos = 0

    def feed(self, until: float | None) -> None:
        """Encode audio up to time `until` (None: all of it, then flush), in whole AAC frames."""
        import av

        total = self._data.shape[1]
        end = total if until is None else min(total, int(until * self._rate))
        while self._pos < end and (until is None or end - self._pos >= AUDIO_FRAME):
            chunk = self._data[:, self._pos : self._pos + AUDIO_FRAME]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="stereo")
            frame.sample_rate = self._rate
            frame.pts = self._pos
            frame.time_base = Fraction(1, self._rate)
            for packet in self.stream.encode(frame):
                self._container.mux(packet)
            self._pos += chunk.shape[1]
        if until is None:
            for packet in self.stream.encode(None):
                self._container.mux(packet)


def temp_path_for(path: Path) -> Path:
    """A hidden temporary file next to `path` (same filesystem: the final rename is atomic)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def publish(tmp: Path, path: Path) -> None:
    """Give the finished temporary file ordinary permissions and rename it onto `path`."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp made it private; a video is an ordinary file
    os.replace(tmp, path)


class VideoWriter:
    """Write RGB frames (H×W×3 uint8) and the matching audio into an MP4, atomically.

    `audio` is float32 (n, channels) at `sample_rate`, already trimmed to the video's time span; it is
    muxed as AAC and fed in step with the video. Use as a context manager.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: int,
        audio: np.ndarray | None = None,
        sample_rate: int = 44100,
        crf: int = 18,
        preset: str = "medium",
        threads: int = 2,
    ) -> None:
        import av

        if width % 2 or height % 2 or width < 16 or height < 16:
            raise UserError(f"video size {width}x{height}: width and height must be even and at least 16")
        self.path = check_output_path(path)
        self.width, self.height, self.fps = width, height, int(fps)
        self._tmp = temp_path_for(self.path)
        self._closed = False
        self.frames_written = 0
        try:
            # no creation_time or encoder tag that varies: same frames + audio → same bytes
            self._container = av.open(str(self._tmp), mode="w", format="mp4", options={"fflags": "+bitexact"})
            vs = self._container.add_stream("libx264", rate=self.fps)
            vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
            vs.time_base = Fraction(1, self.fps)
            vs.codec_context.options = {"crf": str(crf), "preset": preset}
            vs.codec_context.thread_count = threads  # fixed: x264 output is deterministic per thread count
            self._video = vs
            self._audio = AudioTrack(self._container, audio, sample_rate) if audio is not None and len(audio) else None
        except BaseException:  # Ctrl-C while opening too: never leave the temporary file behind
            self._discard()
            raise

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, rgb: np.ndarray) -> None:
        import av

        if rgb.shape != (self.height, self.width, 3) or rgb.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 {(self.height, self.width, 3)}, got {rgb.dtype} {rgb.shape}")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.frames_written
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1
        if self._audio is not None:
            self._audio.feed(self.frames_written / self.fps)

    def close(self) -> Path:
        """Finish the streams and rename the file into place; returns the output path."""
        if self._closed:
            return self.path
        try:
            for packet in self._video.encode(None):
                self._container.mux(packet)
            if self._audio is not None:
                self._audio.feed(None)
            self._container.close()
            publish(self._tmp, self.path)
        except BaseException:
            self._discard()
            raise
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Drop everything written so far; the output name is left untouched."""
        self._discard()

    def _discard(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            container = getattr(self, "_container", None)
            if container is not None:
                container.close()
        except Exception:  # closing a half-written container may fail; the file is deleted anyway
            pass
        self._tmp.unlink(missing_ok=True)
