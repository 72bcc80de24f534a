"""Spout out (Windows): the output frame as a Spout sender other Windows apps receive (Resolume, TouchDesigner,
OBS with the Spout plugin), through SpoutGL.

Why behind the same interface as NDI: the sender thread hands each frame to Spout (`sendImage`, which
uploads it to the shared texture); the render thread never waits. Not testable on the Linux machines this
project runs on: on another platform it is a clear error.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from vjgan.core.errors import UserError

_GL_RGB = 0x1907  # OpenGL's GL_RGB: the pixel layout of our frames


class SpoutSink:
    """A SpoutGL sender named `name`. Used from the output's sender thread."""

    def __init__(self, name: str) -> None:
        if sys.platform != "win32":
            raise UserError(f"Spout out works on Windows only (this is {sys.platform}): use --out-ndi instead")
        self.name = name
        self._sender: Any = None

    def open(self, width: int, height: int) -> None:
        try:
            import SpoutGL
        except ImportError as exc:
            raise UserError(f"Spout out needs the SpoutGL package (pip install SpoutGL): {exc}") from exc
        if self._sender is None:
            self._sender = SpoutGL.SpoutSender()
            self._sender.setSenderName(self.name)

    def write(self, image: np.ndarray, time: float, seq: int) -> None:
        h, w = image.shape[:2]
        if not self._sender.sendImage(np.ascontiguousarray(image), w, h, _GL_RGB, False, 0):
            raise RuntimeError("Spout refused the frame")

    def close(self) -> None:
        if self._sender is not None:
            self._sender.releaseSender()
        self._sender = None
