"""NDI out: the output frame as an NDI source other apps on the network can receive (OBS, Resolume, TouchDesigner).

Why ndi-python: its PyPI wheel carries the NDI runtime (libndi.so / the .dll / the .dylib) inside, so
`pip install` is all a machine needs (cyndilib's wheel carries it too, but needs a package with no wheel
for every platform). The NDI SDK licence allows shipping the runtime inside an application; its terms
travel with the wheel (NDIlib/libndi_licenses.txt) and are summarised in docs/live.md.

Frames go out as RGBX (no colour conversion on our side); NDI compresses them for the network (SpeedHQ),
so a receiver gets the picture within that codec's error, not bit-exact. Each frame carries its output
sequence number and audio time as NDI metadata, so a receiver can tell which rendered frame it got.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from vjgan.core.errors import UserError


def load_ndi() -> Any:
    """The NDIlib module, initialised (loads the runtime). UserError says what to install."""
    try:
        import NDIlib
    except ImportError as exc:
        raise UserError(f"NDI out needs the ndi-python package (pip install ndi-python): {exc}") from exc
    if not NDIlib.initialize():
        raise UserError("NDI out: the NDI runtime did not initialise (is this CPU supported by NDI?)")
    return NDIlib


def metadata(seq: int, time: float) -> str:
    """The per-frame NDI metadata (XML, as NDI requires)."""
    return f'<vjgan seq="{seq}" time="{time:.6f}"/>'


def parse_metadata(text: str | None) -> tuple[int, float] | None:
    """(seq, time) from a received frame's metadata; None when it carries none of ours."""
    import re

    m = re.search(r'<vjgan seq="(\d+)" time="([-0-9.eE+]+)"', text or "")
    return (int(m[1]), float(m[2])) if m else None


class NdiSink:
    """An NDI sender named `name` (receivers see "HOST (name)"). Used from the output's sender thread."""

    def __init__(self, name: str, fps: float = 60.0) -> None:
        if not name.strip():
            raise UserError("--out-ndi needs a source name, e.g. --out-ndi vjgan")
        self.name = name
        rate = Fraction(fps).limit_denominator(1001)
        self.rate = (rate.numerator, rate.denominator)
        self._ndi: Any = None
        self._send: Any = None
        self._rgbx: np.ndarray | None = None

    def open(self, width: int, height: int) -> None:
        """Also on a size change: the sender stays (receivers stay connected), only the buffer is new."""
        ndi = self._ndi = load_ndi()
        if self._send is None:
            # clock_video=False: the show sets the pace; NDI must not sleep to a rate of its own
            self._send = ndi.send_create(ndi.SendCreate(self.name, clock_video=False, clock_audio=False))
            if self._send is None:
                raise UserError(f"NDI out: cannot create the sender {self.name!r}")
        self._rgbx = np.full((height, width, 4), 255, np.uint8)

    def write(self, image: np.ndarray, time: float, seq: int) -> None:
        ndi, buf = self._ndi, self._rgbx
        assert buf is not None and ndi is not None
        buf[..., :3] = image  # RGB → RGBX: the one copy, off the render thread
        frame = ndi.VideoFrameV2()
        frame.FourCC = ndi.FOURCC_VIDEO_TYPE_RGBX
        frame.data = buf
        frame.frame_rate_N, frame.frame_rate_D = self.rate
        frame.timecode = int(round(time * 10_000_000))  # NDI timecodes count 100 ns
        frame.metadata = metadata(seq, time)
        ndi.send_send_video_v2(self._send, frame)  # synchronous: NDI is done with `buf` when it returns

    def connections(self) -> int:
        """Receivers connected now (0 when not started)."""
        if self._send is None or self._ndi is None:
            return 0
        return int(self._ndi.send_get_no_connections(self._send, 0))

    def close(self) -> None:
        if self._send is not None and self._ndi is not None:
            self._ndi.send_destroy(self._send)
        self._send = None
        self._rgbx = None
