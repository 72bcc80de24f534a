"""Frame → W+ latent, in its own thread: the VAE-GAN re-renders an incoming camera or video stream.

The thread encodes only the newest frame of a `VideoInput`/`VideoSource` (skipping frames it could
not keep up with) and publishes the newest `EncodedFrame`. The render thread puts `latent` (optionally
mixed with prototype directions) into `GeneratorParams.latent`, so bending, noise and the mapping
engine apply to the re-rendered stream exactly as to a StyleGAN2 latent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from vjgan.core.errors import UserError
from vjgan.core.latest import LatestThread

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class EncodedFrame:
    latent: np.ndarray  # (num_ws, w_dim) float32
    seq: int  # seq of the video frame it came from
    time: float  # stream time of that frame
    encode_ms: float


def encode_frame(model, frame: np.ndarray) -> np.ndarray:
    """One uint8 (H, W, 3) frame → (num_ws, w_dim) latent (centre-cropped to square, resized)."""
    if not hasattr(model, "encode_uint8"):
        raise UserError(f"{type(model).__name__} has no encoder: video re-rendering needs a VAE-GAN model")
    return model.encode_uint8(frame)[0]


class FrameEncoderThread(LatestThread[EncodedFrame]):
    """Encodes the newest frame of `source` (anything with `latest() -> VideoFrame | None`) continuously.

    The model is shared with the generator thread; encoding only reads weights and runs under
    torch.no_grad, so both may run at once.
    """

    thread_name = "frame-encoder"

    def __init__(self, source, model, max_fps: float = 60.0) -> None:
        if not hasattr(model, "encode_uint8"):
            raise UserError(f"{type(model).__name__} has no encoder: video re-rendering needs a VAE-GAN model")
        self.source, self.model = source, model
        self.min_interval = 1.0 / max_fps if max_fps > 0 else 0.0
        super().__init__()
        self._bends: dict[str, dict[str, float]] = {}  # enc.* layer -> transform -> value (latest wins)
        self._bends_version = 0
        self.encoded = 0
        self.errors = 0

    def set_bends(self, bends: dict[str, dict[str, float]]) -> None:
        """Bend what the encoder sees (`GeneratorParams.encoder_bends`, from the mapping engine; any
        thread). Applied by this thread before its next encode; a change re-encodes the current frame."""
        with self._lock:
            if bends != self._bends:
                self._bends = {k: dict(v) for k, v in bends.items()}
                self._bends_version += 1

    def _apply_bends(self, bender) -> tuple:
        """Hooks on the encoder exist only once a bend was asked for (a plain encode stays hook-free)."""
        with self._lock:
            bends, version = self._bends, self._bends_version
        if bender is None and bends:
            from vjgan.models.bending import Bender

            bender = Bender(self.model.encoder)
        if bender is not None:
            for problem in bender.set_bends(bends, strict=False):
                self.errors += 1
                if self.errors == 1 or self.errors % 100 == 0:
                    log.error("frame encoder: %s", problem)
        return bender, version

    def _run(self) -> None:
        last_key = None
        bender = None
        while not self._stop.is_set():
            frame = self.source.latest()
            bender, version = self._apply_bends(bender)
            key = None if frame is None else (id(frame), frame.seq, version)
            if frame is None or key == last_key:
                self._stop.wait(0.002)
                continue
            last_key = key
            t0 = time.perf_counter()
            try:
                with torch.no_grad():
                    latent = encode_frame(self.model, frame.image)
            except Exception as exc:  # keep the last latent; the show goes on
                self.errors += 1
                if self.errors == 1 or self.errors % 100 == 0:
                    log.error("frame encoder: %s (%d errors so far)", exc, self.errors)
                continue
            ms = (time.perf_counter() - t0) * 1000
            self._publish_latest(EncodedFrame(latent, frame.seq, frame.time, ms))
            self.encoded += 1
            rest = self.min_interval - (time.perf_counter() - t0)
            if rest > 0:
                self._stop.wait(rest)
