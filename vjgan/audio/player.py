"""Rehearsal file player: plays a track out loud and feeds the analyzer exactly what it plays.

Both happen in the output callback from one rendered block, so the images follow what the audience
hears (no second clock that could drift). The loop region A–B wraps inside a block by concatenation,
so the loop point is sample-continuous: no gap, no extra fade, no click beyond what the music has.
Control (pause, seek, loop region) is requested from other threads by plain attribute writes that the
callback picks up at the next block. The loop region is one immutable `(start, end)` tuple replaced in a
single assignment: two separate stores would let a block read a new start with an old end (a region
that is not one the user set; start ≥ end made the callback spin). The callback renders into buffers
allocated once, so a block costs no allocation on the audio thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from vjgan.audio.base import AudioSource, ClockFeeder
from vjgan.audio.decode import load_audio
from vjgan.core.errors import UserError

log = logging.getLogger(__name__)


class FilePlayer(AudioSource):
    """wav/flac/ogg/mp3 player with loop region, pause and seek.

    play=True plays through an sd.OutputStream (`device`: output index/name, default device); play=False
    renders at real-time rate from a clock thread, for machines without an audio server.
    `latency` (s): the output buffer; 60 ms survives a busy machine without underruns. The analyzer
    gets each block when it is rendered, i.e. `device_latency` before it is heard.
    `data` ([n, ch] float32 at `sample_rate`) bypasses decoding `path` (generated material, tests).
    """

    def __init__(
        self,
        path: str | Path,
        loop: bool = True,
        loop_region: tuple[float, float] | None = None,
        play: bool = True,
        device: str | int | None = None,
        sample_rate: int = 44100,
        blocksize: int = 441,
        latency: float | str = 0.06,
        data: np.ndarray | None = None,
    ) -> None:
        super().__init__(sample_rate)
        self.path = Path(path)
        if data is None:
            data, _ = load_audio(self.path, sample_rate=sample_rate)
        self.data = np.ascontiguousarray(data if data.ndim == 2 else data[:, None], dtype=np.float32)
        self.out_channels = 2 if self.data.shape[1] >= 2 else 1
        if self.data.shape[1] > 2:
            self.data = self.data[:, :2]
        self.loop = loop
        self._region: tuple[int, int] = (0, len(self.data))  # (start, end) samples: replaced, never mutated
        if loop_region is not None:
            self.set_loop_region(*loop_region)
        self._pos = self._region[0] if loop_region is not None else 0
        self._alloc_blocks(blocksize)
        self._seek: int | None = None
        self.paused = False
        self.finished = False
        self.loops = 0  # times the loop point was crossed
        self.play = play
        self._stream = None
        self._clock: ClockFeeder | None = None
        if play:
            import sounddevice as sd

            try:
                self._stream = sd.OutputStream(
                    device=device,
                    channels=2,
                    samplerate=sample_rate,
                    dtype="float32",
                    blocksize=blocksize,
                    latency=latency,
                    callback=self._callback,
                )
            except Exception as exc:  # noqa: BLE001 - PortAudio errors
                raise UserError(f"cannot open audio output for {self.path.name}: {exc}") from exc
            self.device_latency = float(self._stream.latency)
        else:
            self._clock = ClockFeeder(sample_rate, self._render_to_ring, blocksize)

    # control (any thread) ------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        return len(self.data) / self.sample_rate

    @property
    def file_position(self) -> float:
        """Where in the file playback is (s)."""
        return self._pos / self.sample_rate

    def set_loop_region(self, a: float, b: float) -> None:
        """Loop between A and B seconds (clamped to the file; B ≤ A is an error)."""
        n = len(self.data)
        ia = min(max(int(round(a * self.sample_rate)), 0), n - 1)
        ib = min(max(int(round(b * self.sample_rate)), 0), n)
        if ib - ia < self.sample_rate // 100:
            raise UserError(
                f"loop region {a:.3f}-{b:.3f} s is empty or shorter than 10 ms (file is {self.duration:.2f} s)"
            )
        self._region = (ia, ib)  # one store: the callback sees the old region or the new one, never a mix

    def clear_loop_region(self) -> None:
        self._region = (0, len(self.data))

    @property
    def loop_region(self) -> tuple[float, float]:
        """The loop region (start, end) in seconds (the whole file when none is set)."""
        a, b = self._region
        return a / self.sample_rate, b / self.sample_rate

    def seek(self, seconds: float) -> None:
        self._seek = min(max(int(round(seconds * self.sample_rate)), 0), len(self.data) - 1)

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    # rendering (audio thread) --------------------------------------------------------------------
    def _alloc_blocks(self, frames: int) -> None:
        """Block buffers for up to `frames` samples; only a larger block than ever before reallocates."""
        self._block = np.zeros((frames, self.data.shape[1]), dtype=np.float32)
        self._mono_block = np.zeros(frames, dtype=np.float32)

    def render(self, frames: int) -> np.ndarray:
        """The next `frames` samples [frames, ch] (a copy) and advance; loops wrap sample-continuously."""
        return self._render_block(frames).copy()

    def _render_block(self, frames: int) -> np.ndarray:
        """As render(), into the preallocated block: a view, valid until the next call."""
        if frames > len(self._block):
            self._alloc_blocks(frames)
        out = self._block[:frames]
        if self._seek is not None:
            self._pos, self._seek = self._seek, None
            self.finished = False
        if self.paused or self.finished:
            out.fill(0.0)
            return out
        filled = 0
        a, b = self._region  # one read of one tuple: a consistent region for the whole block
        pos = self._pos
        if self.loop and not a <= pos < b:
            pos = a
        while filled < frames:
            end = b if self.loop else len(self.data)
            take = min(frames - filled, end - pos)
            if take > 0:
                out[filled : filled + take] = self.data[pos : pos + take]
                filled += take
                pos += take
            if pos >= end:
                if not self.loop:
                    self.finished = True
                    out[filled:].fill(0.0)
                    break
                pos = a
                self.loops += 1
        self._pos = pos
        return out

    def _mono_of(self, block: np.ndarray) -> np.ndarray:
        """What the analyzer gets: the channel, or the mean of two, in the preallocated mono buffer."""
        if block.shape[1] == 1:
            return block[:, 0]
        mono = self._mono_block[: len(block)]
        np.add(block[:, 0], block[:, 1], out=mono)
        mono *= 0.5
        return mono

    def _render_to_ring(self, frames: int) -> None:
        self._push(self._mono_of(self._render_block(frames)))

    def _callback(self, outdata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        if status:
            self.status_flags += 1
        block = self._render_block(frames)
        outdata[:] = block  # mono broadcasts to both output channels
        self.ring.write(self._mono_of(block))
        self._noted()

    def start(self) -> None:
        if self._stream is not None:
            self._stream.start()
        elif self._clock is not None:
            self._clock.start()

    def stop(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
            finally:
                self._stream.close()
            self._stream = None
        if self._clock is not None:
            self._clock.stop()

    def describe(self) -> str:
        mode = "playing" if self.play else "silent (no output)"
        return f"file {self.path.name} ({mode}, loop={'on' if self.loop else 'off'})"
