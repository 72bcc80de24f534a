"""A generator whose every pixel says which params it was made from, for the frame-ring tests.

The latent's first value is the params' seq (an integer, exact in float32); the image stamps it into
its pixels (the low byte everywhere, the three low bytes in the first pixel), so a frame whose image
does not match its `seq` is visible. Large on purpose: a 512² RGBA copy takes long enough for the
generator process to publish during it.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from vjgan.models.base import Generator

RES = int(os.environ.get("VJ_SEQ_RES", "512"))


class SeqGenerator(Generator):
    z_dim = w_dim = 4
    num_ws = 2
    layer_names = ()

    def __init__(self) -> None:
        super().__init__()
        self.img_resolution = RES
        self.anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)  # reports the device

    @property
    def w_avg(self) -> torch.Tensor:
        return torch.zeros(self.w_dim)

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        return z[:, None, :].expand(-1, self.num_ws, -1).contiguous()

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        seq = int(ws[0, 0, 0].item())
        low = torch.full((1, 3, RES, RES), float(seq & 0xFF))
        low[0, :, 0, 0] = torch.tensor([seq & 0xFF, (seq >> 8) & 0xFF, (seq >> 16) & 0xFF], dtype=torch.float32)
        return low / 127.5 - 1.0  # to_rgba maps this back to exactly these bytes


def make(device: str = "cpu") -> SeqGenerator:
    """The factory GeneratorProcess hands its child (a module-level function: spawn pickles it by name)."""
    return SeqGenerator().to(device)


def latent(seq: int) -> np.ndarray:
    out = np.zeros((SeqGenerator.num_ws, SeqGenerator.w_dim), np.float32)
    out[0, 0] = seq
    return out


def stamped_seq(image: np.ndarray) -> tuple[int, bool]:
    """(seq stamped in the first pixel, whether the whole image agrees with it)."""
    px = image[0, 0, :3].astype(np.int64)
    seq = int(px[0] | (px[1] << 8) | (px[2] << 16))
    body = image[..., :3].reshape(-1, 3)[1:]
    return seq, bool((body == (seq & 0xFF)).all())


def stamp(seq: int, res: int) -> np.ndarray:
    """The (res, res, 4) RGBA image SeqGenerator makes for `seq`, built directly in numpy."""
    img = np.full((res, res, 4), seq & 0xFF, np.uint8)
    img[..., 3] = 255
    img[0, 0, :3] = (seq & 0xFF, (seq >> 8) & 0xFF, (seq >> 16) & 0xFF)
    return img


def ring_writer(shm_name: str, slot_bytes: int, res: int, seconds: float) -> None:
    """A writer process: publish stamped frames into the ring as fast as it can for `seconds`."""
    import time
    from multiprocessing import shared_memory

    from vjgan.models.frame_ring import FrameRing

    shm = shared_memory.SharedMemory(name=shm_name)
    ring = FrameRing(shm.buf, slot_bytes)
    seq, end = 0, time.monotonic() + seconds
    ring.set_ready(True)
    while time.monotonic() < end:
        seq += 1
        ring.publish(stamp(seq, res), seq, float(seq), 0.0)
    ring.release()
    shm.close()
