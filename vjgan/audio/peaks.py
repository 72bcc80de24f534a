"""Causal peak picking on a 100 fps detection function (onsets, kick, snare).

A frame is a peak when it is the maximum of its recent past and of the next `post_max` frames, so an
event is confirmed `post_max` frames (10 ms each) after the peak itself: the price of not firing on the
rising edge. `combine` suppresses double triggers on one hit.
"""

from __future__ import annotations

from collections import deque


class OnlinePeakPicker:
    """Fixed threshold plus an optional adaptive one (a multiple of the recent mean)."""

    def __init__(
        self,
        threshold: float,
        pre_max: int = 3,
        post_max: int = 1,
        combine: int = 3,
        adaptive: float = 0.0,
        adaptive_frames: int = 50,
    ) -> None:
        self.threshold = threshold
        self.pre_max = pre_max
        self.post_max = post_max
        self.combine = combine
        self.adaptive = adaptive
        self._hist: deque[float] = deque(maxlen=pre_max + post_max + 1)
        self._mean_len = adaptive_frames
        self._mean = 0.0
        self._frame = -1
        self._last_peak = -(10**9)

    @property
    def delay(self) -> int:
        """Frames between a peak and the frame that reports it."""
        return self.post_max

    def update(self, value: float) -> bool:
        """Feed one frame; True when the frame `delay` frames ago was a peak."""
        self._frame += 1
        self._hist.append(value)
        a = 1.0 / self._mean_len
        thr = self.threshold
        if self.adaptive:
            thr = max(thr, self.adaptive * self._mean)
        self._mean += a * (value - self._mean)
        if len(self._hist) <= self.post_max:
            return False
        hist = self._hist
        cand = hist[-1 - self.post_max]
        if cand < thr or cand < max(hist) or cand <= 0.0:
            return False
        # strict against the past so a plateau fires once, at its start
        past = list(hist)[: -1 - self.post_max]
        if past and cand <= max(past):
            return False
        peak_frame = self._frame - self.post_max
        if peak_frame - self._last_peak <= self.combine:
            return False
        self._last_peak = peak_frame
        return True
