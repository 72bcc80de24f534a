"""Causal peak picking on a 100 fps detection function (onsets, kick, snare).

A frame is a peak when it is above the threshold, above its recent past and not below the next `post_max`
frames, so an event is confirmed `post_max` frames (10 ms each) after the peak itself. `post_max=0` fires
on the rising edge instead: at the first frame of a hit above the threshold, before its peak, which is
what a live show wants (the analyzer's default; ~10 ms sooner). A hit fires once: after an event the
picker re-arms only once the signal has fallen (below the threshold or by `rearm_drop` of its peak), and
`combine` frames must pass between events.
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
        rearm_drop: float = 0.3,
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
        self.rearm_drop = rearm_drop
        self._armed = True
        self._hit_max = 0.0  # the current hit's highest value since its event (for re-arming)

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
        if not self._armed:
            self._hit_max = max(self._hit_max, value)
            if value < thr or value <= (1.0 - self.rearm_drop) * self._hit_max:
                self._armed = True
        if len(self._hist) <= self.post_max:
            return False
        hist = self._hist
        cand = hist[-1 - self.post_max]
        if not self._armed or cand < thr or cand < max(hist) or cand <= 0.0:
            return False
        # strict against the past so a plateau fires once, at its start
        past = list(hist)[: -1 - self.post_max]
        if past and cand <= max(past):
            return False
        peak_frame = self._frame - self.post_max
        if peak_frame - self._last_peak <= self.combine:
            return False
        self._last_peak = peak_frame
        self._armed = False
        self._hit_max = max(hist)
        return True
