"""`--record FILE`: the output frames (and the audio they were made from) into an MP4, off the render thread.

The render thread only hands over a frame it already read back; encoding (H.264 + AAC through PyAV)
happens on the recorder thread. If the encoder falls behind, frames are dropped and counted rather
than slowing the show. Audio: when playing a file, the slice of the file the frame's features came
from is muxed with each frame, so the video stays in sync across loops and seeks.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from vjgan.core.errors import UserError
from vjgan.core.ringbuffer import RingBuffer

log = logging.getLogger(__name__)


@dataclass
class RecorderStats:
    frames: int = 0
    dropped: int = 0  # video frames the full queue refused
    audio_dropped: int = 0  # live-input samples the full ring refused (the encoder fell 10 s behind)
    error: str = ""


class Recorder:
    def __init__(
        self,
        path: str | Path,
        size: tuple[int, int],
        fps: float,
        audio: np.ndarray | None = None,
        sample_rate: int = 44100,
        queue_size: int = 8,
        live_device: str | int | None | bool = False,
        live_buffer_s: float = 10.0,
    ) -> None:
        """`audio`: (n, channels) float32 of the file being played; or `live_device` (None = default input,
        False = none) to record the live input alongside."""
        import av

        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            raise UserError(f"cannot record to {self.path}: folder {self.path.parent} does not exist")
        self.fps = fps
        self.width, self.height = size[0] // 2 * 2, size[1] // 2 * 2  # H.264 4:2:0 needs even sizes
        self.audio = None if audio is None else np.ascontiguousarray(audio.reshape(len(audio), -1)[:, :2], np.float32)
        self.sample_rate = sample_rate
        self.stats = RecorderStats()
        self._queue: queue.Queue[tuple[np.ndarray, float, float] | None] = queue.Queue(maxsize=queue_size)
        try:
            self._container = av.open(str(self.path), mode="w")
        except (OSError, av.FFmpegError) as exc:
            raise UserError(f"cannot record to {self.path}: {exc}") from exc
        rate = Fraction(fps).limit_denominator(1000)
        self._video = self._container.add_stream("libx264", rate=rate)
        self._video.width, self._video.height = self.width, self.height
        self._video.pix_fmt = "yuv420p"
        self._video.options = {"crf": "20", "preset": "veryfast"}
        self._audio_stream = None
        # the live input's blocks wait here for the next video frame: a fixed ring, so the input callback
        # allocates nothing and a stalled encoder costs at most `live_buffer_s` of audio (dropped, counted)
        self._live_ring = RingBuffer(max(1, int(live_buffer_s * sample_rate)), channels=2)
        self._live = None
        if self.audio is not None:
            layout = "stereo" if self.audio.shape[1] == 2 else "mono"
            self._audio_stream = self._container.add_stream("aac", rate=sample_rate, layout=layout)
        elif live_device is not False:
            self._live = self._open_live(live_device)
            if self._live is not None:
                self._audio_stream = self._container.add_stream("aac", rate=sample_rate, layout="stereo")
        self._audio_pts = 0
        self._start_wall: float | None = None
        self._last_pts = -1
        self._prev: tuple[float, float] | None = None  # (audio time, wall) of the previous frame
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def _open_live(self, device: str | int | None) -> object | None:
        try:
            import sounddevice as sd

            stream = sd.InputStream(samplerate=self.sample_rate, channels=2, dtype="float32", device=device,
                                    callback=lambda data, frames, t, status: self._live_ring.write(data))
            return stream
        except Exception as exc:  # noqa: BLE001 - no input: record video only, and say so
            log.warning("recording without audio: cannot open the input for recording (%s)", exc)
            return None

    def add(self, image: np.ndarray, audio_time: float, wall: float | None = None) -> bool:
        """Queue one (H, W, 3) uint8 frame made at `audio_time`, shown at `wall` (perf_counter); False (and
        counted) when the queue is full."""
        import time

        wall = time.perf_counter() if wall is None else wall
        if self._start_wall is None:
            self._start_wall = wall
            if self._live is not None:
                self._live.start()
        try:
            self._queue.put_nowait((image, audio_time, wall))
            return True
        except queue.Full:
            self.stats.dropped += 1
            return False

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)
        if self._live is not None:
            self._live.stop()
            self._live.close()

    def _run(self) -> None:
        import av

        try:
            while True:
                item = self._queue.get()
                if item is None:
                    break
                image, audio_time, wall = item
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: self.height, : self.width]),
                                                   format="rgb24")
                pts = max(self._last_pts + 1, int(round((wall - (self._start_wall or wall)) * self.fps)))
                frame.pts = self._last_pts = pts
                self._container.mux(self._video.encode(frame))
                self._write_audio(audio_time, wall)
                self.stats.frames += 1
            self._container.mux(self._video.encode(None))
            if self._audio_stream is not None:
                self._container.mux(self._audio_stream.encode(None))
        except Exception as exc:  # the recorder must never take the show down
            self.stats.error = str(exc)
            log.error("recording to %s failed: %s", self.path, exc)
        finally:
            self._container.close()
            log.info("recorded %d frames to %s (%d dropped)", self.stats.frames, self.path, self.stats.dropped)

    def _write_audio(self, audio_time: float, wall: float) -> None:
        if self._audio_stream is None:
            return
        if self._live is not None:
            block = self._live_ring.read_available()
            if len(block):
                self._encode_audio(block)
            self.stats.audio_dropped = self._live_ring.dropped_frames
            return
        assert self.audio is not None
        prev, self._prev = self._prev, (audio_time, wall)
        if prev is None:
            return
        dt = audio_time - prev[0]
        if not 0.0 < dt < 1.0:  # a loop, seek or stall: keep the track's length true to the wall clock
            dt = min(max(wall - prev[1], 0.0), 1.0)
        n = int(round(dt * self.sample_rate))
        if n <= 0:
            return
        end = int(round(audio_time * self.sample_rate))
        idx = (end - n + np.arange(n)) % len(self.audio)
        self._encode_audio(self.audio[idx])

    def _encode_audio(self, block: np.ndarray) -> None:
        import av

        chunk = np.ascontiguousarray(block.T, dtype=np.float32)  # planar (channels, n)
        layout = "stereo" if chunk.shape[0] == 2 else "mono"
        af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        af.sample_rate = self.sample_rate
        af.pts = self._audio_pts
        self._audio_pts += chunk.shape[1]
        self._container.mux(self._audio_stream.encode(af))
