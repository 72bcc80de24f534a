"""v4l2 out: the output frame as a virtual camera (a v4l2loopback device) that browsers, OBS and video-call
apps open like a webcam, through pyvirtualcam.

Why check the device up front: without the kernel module there is no /dev/videoN, and pyvirtualcam would
only say so from the sender thread; the user gets the setup command at once instead, and the show goes on.
"""

from __future__ import annotations

import os
import stat
from typing import Any

import numpy as np

from vjgan.core.errors import UserError

SETUP = "sudo modprobe v4l2loopback devices=1 video_nr={n} card_label=vjgan exclusive_caps=1"


def check_device(device: str) -> None:
    """UserError with the setup command when `device` is no character device (no v4l2loopback loaded)."""
    if not device.startswith("/dev/video") or not device[len("/dev/video"):].isdigit():
        raise UserError(f"--out-v4l2 expects a device like /dev/video10 (got {device!r})")
    try:
        mode = os.stat(device).st_mode
    except OSError:
        mode = 0
    if not stat.S_ISCHR(mode):
        n = device[len("/dev/video"):]
        raise UserError(f"no v4l2loopback device at {device}: {SETUP.format(n=n)} "
                        "(apt install v4l2loopback-dkms; see docs/live.md, Outputs)")


class V4l2Sink:
    """A pyvirtualcam camera on `device`, RGB frames at the show's rate. Used from the output's sender thread."""

    def __init__(self, device: str, fps: float = 60.0) -> None:
        check_device(device)
        self.device = device
        self.fps = fps
        self._cam: Any = None

    def open(self, width: int, height: int) -> None:
        try:
            import pyvirtualcam
        except ImportError as exc:
            raise UserError(f"v4l2 out needs the pyvirtualcam package (pip install pyvirtualcam): {exc}") from exc
        self.close()
        self._cam = pyvirtualcam.Camera(width, height, self.fps, fmt=pyvirtualcam.PixelFormat.RGB,
                                        device=self.device, backend="v4l2loopback")

    def write(self, image: np.ndarray, time: float, seq: int) -> None:
        self._cam.send(np.ascontiguousarray(image))

    def close(self) -> None:
        if self._cam is not None:
            self._cam.close()
        self._cam = None
