"""Online tempo and beat-phase tracking on activation envelopes (100 frames/s).

madmom's online beat tracker (8-network RNN ensemble + DBN) costs 3-4 ms per 10 ms hop here, over the
2 ms budget, so the analyzer feeds this tracker its onset activation plus ONE of madmom's beat networks:
- tempo every 250 ms: autocorrelation of the last 6 s of the envelope, each period scored by the mean
  autocorrelation at its first 4 multiples, weighted by a broad log-normal prior around 125 BPM. A
  different tempo must win 4 updates in a row (1 s) to replace the current one, an octave jump (×2, ×½)
  12 in a row (3 s): music whose metre is ambiguous would otherwise flip between the two;
- phase: a second envelope (onsets + kick) folded at the beat period over the last 6 beats (recent beats
  weigh more) gives where the last beat was; a phase-locked loop nudges the predicted next beat towards
  it, and beats are emitted when the prediction is reached: predicted, not late reactions;
- downbeat: the beat slot (of 4) with the highest average accent (kick strength).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from vjgan.core.clock import ClockReading

_SMOOTH = np.hanning(7)[1:-1] / np.hanning(7)[1:-1].sum()


@dataclass(frozen=True, slots=True)
class BeatState:
    tempo: float
    beat_phase: float
    bar_phase: float
    beat_event: bool
    bar_event: bool
    beat_count: int
    locked: bool  # a tempo estimate exists (before that the beat fields are idle)


class BeatTracker:
    """Feed one envelope value (and an accent for downbeats) per frame; get the beat state back.

    `lead` (frames) is how late the envelope peaks after the audio onset it marks; beats are emitted that
    much earlier than the envelope predicts so that beat events line up with the audio itself.
    """

    def __init__(
        self,
        fps: float = 100.0,
        min_bpm: float = 60.0,
        max_bpm: float = 200.0,
        window_s: float = 6.0,
        update_every: int = 25,
        lead: float = 0.0,
        beats_per_bar: int = 4,
        prior_bpm: float = 125.0,
        prior_octaves: float = 0.8,
        octave_up: float | None = None,
        octave_hold: int = 12,
    ) -> None:
        self.fps = fps
        self.lead = lead
        self.octave_up = octave_up
        self.octave_hold = octave_hold
        self.beats_per_bar = beats_per_bar
        self._size = int(window_s * fps)
        self._ring = np.zeros(2 * self._size, dtype=np.float64)  # doubled: any window is contiguous
        self._phase_ring = np.zeros(2 * self._size, dtype=np.float64)
        self._t = -1  # index of the newest frame
        self._update_every = update_every
        self._lags = np.arange(fps * 60.0 / max_bpm, fps * 60.0 / min_bpm, 0.05)
        bpm = fps * 60.0 / self._lags
        self._prior = np.exp(-0.5 * (np.log2(bpm / prior_bpm) / prior_octaves) ** 2)
        self.period: float | None = None  # frames per beat
        self._pending: float | None = None
        self._pending_count = 0
        self._next: float | None = None  # envelope frame index of the next predicted beat
        self._beat_count = 0
        self._accent = np.zeros(beats_per_bar)
        self._accent_max = 0.0
        self._downbeat = 0
        self.manual = False  # tempo set by tap/nudge: held until release_tempo()
        self.clock: ClockReading | None = None  # an external clock replaces tempo and phase (follow())
        self._clock_beat: int | None = None  # the last whole clock beat emitted as an event

    # ---------------------------------------------------------------------------------------------
    def set_tempo(self, bpm: float, beat_frames_ago: float | None = None) -> None:
        """Hold this tempo (tap tempo, nudge): the estimator stops replacing it until `release_tempo()`.

        A VJ taps when the analysis has the wrong tempo (often the wrong octave), so the tap must win
        over the estimator, not be voted out a second later. `beat_frames_ago`: a beat happened that
        many frames before the newest one (the last tap), which also resets the phase.
        """
        lo, hi = self.fps * 60.0 / self._lags[-1], self.fps * 60.0 / self._lags[0]
        bpm = min(max(float(bpm), lo), hi)
        self.period = self.fps * 60.0 / bpm
        self.manual = True
        self._pending, self._pending_count = None, 0
        if beat_frames_ago is not None:
            self._next = self._t - float(beat_frames_ago) + self.period
            while self._next - self.lead < self._t:
                self._next += self.period

    def nudge_tempo(self, delta_bpm: float) -> None:
        """Shift the current tempo (120 BPM before any estimate) by `delta_bpm` and hold it."""
        bpm = 120.0 if self.period is None else self.fps * 60.0 / self.period
        self.set_tempo(bpm + float(delta_bpm))

    def release_tempo(self) -> None:
        """Back to the estimated tempo (it takes over at its next update)."""
        self.manual = False

    def follow(self, clock: ClockReading | None) -> None:
        """Take tempo and phase from an external clock (Link, MIDI clock, a leader); None: back to the
        analysis. The estimator keeps listening meanwhile, so switching back finds a current tempo."""
        if clock is None and self.clock is not None:
            self._next = None  # re-derive the phase from the audio
        elif clock is not None and (self.clock is None or clock.source != self.clock.source):
            self._clock_beat = None
        self.clock = clock

    def _follow_state(self, now: float) -> BeatState:
        clock = self.clock
        assert clock is not None
        beat = clock.beat_at(now)
        whole = math.floor(beat)
        event = self._clock_beat is not None and whole > self._clock_beat  # a jump ahead emits one beat
        if self._clock_beat is None or whole != self._clock_beat:
            self._clock_beat = whole  # a jump back (re-sync) waits for the next whole beat
        bpb = clock.beats_per_bar
        self.period = self.fps * 60.0 / clock.bpm
        self._beat_count = whole
        return BeatState(
            float(clock.bpm), beat - whole, (beat % bpb) / bpb, event, event and whole % bpb == 0, whole, True
        )

    # ---------------------------------------------------------------------------------------------
    def _window(self, n: int, ring: np.ndarray | None = None) -> np.ndarray:
        n = min(n, self._t + 1, self._size)
        end = self._t % self._size + self._size + 1
        return (self._ring if ring is None else ring)[end - n : end]

    def _estimate_period(self) -> float | None:
        e = self._window(self._size)
        n = len(e)
        if n < 2 * self._lags[-1] or not np.any(e > 0):
            return None
        # smoothing widens one-frame click peaks so fractional lags (e.g. 34.48 frames at 174 BPM)
        # are not penalised by the frame grid
        e = np.convolve(e - e.mean(), _SMOOTH, mode="same")
        nfft = 1 << int(np.ceil(np.log2(2 * n)))
        spec = np.fft.rfft(e, nfft)
        r = np.fft.irfft(spec * np.conj(spec), nfft)[:n]
        r = r / np.maximum(n - np.arange(n), 1)  # unbiased: long lags have fewer overlapping frames
        if r[0] <= 0:
            return None
        r = r / r[0]
        max_lag = 0.7 * n
        grid = np.arange(n)

        def comb(lags: np.ndarray) -> np.ndarray:
            score = np.zeros_like(lags)
            count = np.zeros_like(lags)
            for k in range(1, 5):
                ok = k * lags <= max_lag
                score[ok] += np.interp(k * lags[ok], grid, r)
                count[ok] += 1
            return np.where(count > 0, score / np.maximum(count, 1), -np.inf)

        score = comb(self._lags)
        weighted = np.where(score > 0, score * self._prior, score)
        best = int(np.argmax(weighted))
        if not np.isfinite(weighted[best]) or score[best] <= 0.02:
            return None
        lag = float(self._lags[best])
        # octave check: the prior leans slow, so take twice the tempo when the envelope supports it
        # as well (every second pulse of a fast click track also lines up at the slow period)
        if self.octave_up is not None and lag / 2 >= self._lags[0]:
            fine = lag / 2 + np.arange(-1.0, 1.0, 0.05)
            fast = comb(fine)
            j = int(np.argmax(fast))
            if fast[j] >= self.octave_up * score[best]:
                lag = float(fine[j])
        return lag

    def _update_tempo(self) -> None:
        if self.manual:
            return
        est = self._estimate_period()
        if est is None:
            return
        if self.period is None:
            self.period = est
            return
        if abs(est / self.period - 1.0) < 0.04:
            self.period += 0.3 * (est - self.period)
            self._pending, self._pending_count = None, 0
            return
        if self._pending is not None and abs(est / self._pending - 1.0) < 0.04:
            self._pending_count += 1
        else:
            self._pending, self._pending_count = est, 1
        ratio = self._pending / self.period
        octave = abs(ratio / 2 - 1) < 0.04 or abs(ratio * 2 - 1) < 0.04
        # a new tempo that held for ~1 s replaces the old one; an octave jump needs ~3 s (metrical
        # ambiguity flips between the two, and the show looks better staying on one)
        if self._pending_count >= (self.octave_hold if octave else 4):
            self.period = self._pending
            self._pending, self._pending_count = None, 0
            self._next = None

    def _last_beat(self) -> float:
        """Envelope frame index of the most recent beat, from the envelope folded at the period."""
        assert self.period is not None
        period = self.period
        beats = 6
        e = self._window(int(period * (beats + 1)) + 2, self._phase_ring)
        n = len(e)
        phis = np.arange(0.0, np.ceil(period))
        m = np.arange(beats)
        pos = (n - 1) - phis[:, None] - period * m[None, :]
        vals = np.interp(pos, np.arange(n), e, left=0.0)
        score = (vals * (0.75**m)[None, :]).sum(1)
        i = int(np.argmax(score))
        shift = 0.0
        if 0 < i < len(score) - 1:  # parabolic refinement to sub-frame phase
            a, b, c = score[i - 1], score[i], score[i + 1]
            den = a - 2 * b + c
            if den < 0:
                shift = 0.5 * (a - c) / den
        return self._t - (phis[i] + shift)

    # ---------------------------------------------------------------------------------------------
    def update(
        self, value: float, accent: float = 0.0, phase_value: float | None = None, now: float | None = None
    ) -> BeatState:
        """`value` drives the tempo; `phase_value` (default: value) places the beats, e.g. with the
        kick mixed in so that off-beat hi-hats do not pull the phase half a beat off. `now`: the
        perf_counter() time of this frame, for an external clock (default: the time of the call)."""
        self._t += 1
        t = self._t
        i = t % self._size
        self._ring[i] = self._ring[i + self._size] = value
        pv = value if phase_value is None else phase_value
        self._phase_ring[i] = self._phase_ring[i + self._size] = pv
        self._accent_max = max(self._accent_max, accent)
        if self.clock is not None:  # the rings above still fill, so the estimator is current on release
            return self._follow_state(time.perf_counter() if now is None else now)
        if t % self._update_every == 0 and t > 0:
            self._update_tempo()
        period = self.period
        if period is None:
            return BeatState(120.0, 0.0, 0.0, False, False, 0, False)
        if self.manual and not np.any(self._window(int(period * 7) + 2, self._phase_ring) > 0):
            last = self._next - period if self._next is not None else float(t)  # silence: free-run the tap
        else:
            last = self._last_beat()
        if self._next is None:
            self._next = last + period
            while self._next - self.lead < t:
                self._next += period
        else:  # phase-locked loop: move the prediction a little towards the observation
            k = np.round((self._next - last) / period)
            err = (last + k * period) - self._next
            if abs(err) < 0.35 * period:
                self._next += 0.08 * err
        beat = bar = False
        if t + 0.5 >= self._next - self.lead:
            beat = True
            slot = self._beat_count % self.beats_per_bar
            prev = (slot - 1) % self.beats_per_bar  # the accent seen since the last beat belongs to it
            self._accent[prev] = 0.8 * self._accent[prev] + 0.2 * self._accent_max
            self._accent_max = 0.0
            if self._accent.max() > 1.3 * self._accent[self._downbeat]:
                self._downbeat = int(np.argmax(self._accent))
            self._beat_count += 1
            bar = slot == self._downbeat
            self._next += period
        phase = 1.0 - (self._next - self.lead - t) / period
        phase = min(max(phase, 0.0), 0.999)
        k = self._beat_count - 1
        in_bar = (k - self._downbeat) % self.beats_per_bar if k >= 0 else 0
        bar_phase = (in_bar + phase) / self.beats_per_bar
        return BeatState(
            float(60.0 * self.fps / period), float(phase), float(bar_phase), beat, bar, self._beat_count, True
        )
