"""Generated frames → GL textures through pixel-buffer objects, keeping the two newest for crossfades.

The CPU path copies the frame into a PBO (orphaned first, so the driver never stalls on the previous
upload still reading it) and asks GL to fill the texture from the PBO, which lets the transfer overlap
with drawing. On CUDA the frame would stay on the device (see docs/live.md, "CUDA–GL interop").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import moderngl
import numpy as np
import torch

from vjgan.core.frame import GeneratedFrame


@dataclass
class UploadStats:
    uploads: int = 0
    last_ms: float = 0.0


class FrameUploader:
    """Owns two textures (previous, current) and a ring of PBOs; `upload` is called on the render thread."""

    def __init__(self, ctx: moderngl.Context, pbos: int = 2) -> None:
        self.ctx = ctx
        self._pbo_count = pbos
        self._pbos: list[moderngl.Buffer] = []
        self._next = 0
        self.size = (0, 0)
        self.textures: list[moderngl.Texture] = []
        self.current: moderngl.Texture | None = None
        self.previous: moderngl.Texture | None = None
        self.seq = -1
        self.frame_wall = 0.0  # perf_counter() when the current frame was uploaded (for crossfades)
        self.stats = UploadStats()
        # (x0, x1) in 0..1: only this horizontal slice of each frame is shown (one projector's half of a
        # panorama, see docs/live.md "Two projectors"); None = the whole frame
        self.region: tuple[float, float] | None = None

    def _ensure(self, w: int, h: int) -> None:
        if (w, h) == self.size:
            return
        for obj in (*self.textures, *self._pbos):
            obj.release()
        self.size = (w, h)
        self.textures = [self.ctx.texture((w, h), 4) for _ in range(2)]
        for t in self.textures:
            t.filter = (moderngl.LINEAR, moderngl.LINEAR)
            t.repeat_x = t.repeat_y = False
        self._pbos = [self.ctx.buffer(reserve=w * h * 4, dynamic=True) for _ in range(self._pbo_count)]
        self.current, self.previous = self.textures[0], None

    def upload(self, frame: GeneratedFrame) -> bool:
        """Upload `frame` unless it is the one already shown. Returns whether anything was uploaded."""
        if frame.seq == self.seq and self.current is not None:
            return False
        t0 = time.perf_counter()
        image = frame.image
        if isinstance(image, torch.Tensor):
            image = image.detach()
            if image.device.type != "cpu":
                image = image.cpu()
            image = image.numpy()
        if self.region is not None:
            w = image.shape[1]
            x0 = min(int(round(self.region[0] * w)), w - 1)
            image = image[:, x0 : max(int(round(self.region[1] * w)), x0 + 1)]
        image = np.ascontiguousarray(image, dtype=np.uint8)
        h, w = image.shape[:2]
        if image.ndim == 2 or image.shape[2] != 4:
            rgba = np.empty((h, w, 4), np.uint8)
            rgba[..., :3] = image.reshape(h, w, -1)[..., :3]
            rgba[..., 3] = 255
            image = rgba
        self._ensure(w, h)
        pbo = self._pbos[self._next]
        self._next = (self._next + 1) % len(self._pbos)
        pbo.orphan()
        pbo.write(image)
        target = self.textures[1] if self.current is self.textures[0] else self.textures[0]
        target.write(pbo)
        self.previous, self.current = self.current, target
        self.seq = frame.seq
        self.frame_wall = time.perf_counter()
        self.stats.uploads += 1
        self.stats.last_ms = (self.frame_wall - t0) * 1000.0
        return True

    def release(self) -> None:
        for obj in (*self.textures, *self._pbos):
            obj.release()
