"""Syphon out (macOS): the output frame as a Syphon server (Metal) other Mac apps receive (Resolume, MadMapper,
VDMX, OBS with the Syphon plugin), through syphon-python.

Why behind the same interface as NDI: the sender thread copies each frame into a Metal texture and
publishes it; the render thread never waits. Not testable on the Linux machines this project runs on:
on another platform it is a clear error.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from vjgan.core.errors import UserError


class SyphonSink:
    """A SyphonMetalServer named `name`. Used from the output's sender thread."""

    def __init__(self, name: str) -> None:
        if sys.platform != "darwin":
            raise UserError(f"Syphon out works on macOS only (this is {sys.platform}): use --out-ndi instead")
        self.name = name
        self._server: Any = None
        self._texture: Any = None
        self._rgba: np.ndarray | None = None

    def open(self, width: int, height: int) -> None:
        try:
            import syphon
            from syphon.utils.raw import create_mtl_texture
        except ImportError as exc:
            raise UserError(f"Syphon out needs the syphon-python package (pip install syphon-python): {exc}") from exc
        if self._server is None:
            self._server = syphon.SyphonMetalServer(self.name)
        self._texture = create_mtl_texture(self._server.device, width, height)
        self._rgba = np.full((height, width, 4), 255, np.uint8)

    def write(self, image: np.ndarray, time: float, seq: int) -> None:
        from syphon.utils.numpy import copy_image_to_mtl_texture

        assert self._rgba is not None
        self._rgba[..., :3] = image
        copy_image_to_mtl_texture(self._rgba, self._texture)
        self._server.publish_frame_texture(self._texture, is_flipped=True)  # our rows are top first

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = self._texture = self._rgba = None
