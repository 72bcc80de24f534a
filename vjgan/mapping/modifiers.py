"""Per-route signal processing, frame-rate independent: every time constant uses the real dt.

Exact exponentials (not per-frame factors) mean the same feature timeline gives the same curve at
30, 60 or 144 fps, which is what makes the attack/release tests deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vjgan.mapping.spec import RouteSpec


@dataclass(slots=True)
class RouteState:
    smooth: float = 0.0  # one-pole output
    env_level: float = 0.0
    env_start: float = 0.0  # level when the envelope was (re)triggered, for click-free retrigger
    env_peak: float = 0.0
    env_t: float = 1e9  # seconds since the last trigger
    trig_prev: float = 0.0
    out: float = 0.0  # last output (meters, dead-route checks)


def apply_curve(x: float, curve: str, k: float) -> float:
    if curve == "power":
        return math.copysign(abs(x) ** k, x)
    if curve == "exp":
        if abs(k) < 1e-6:
            return x
        return math.expm1(k * x) / math.expm1(k)  # maps 0→0 and 1→1
    return x


def rising(st: RouteState, trigger: float) -> bool:
    """Rising edge through 0.5 of a continuous trigger source (events use counters instead)."""
    fired = trigger >= 0.5 > st.trig_prev
    st.trig_prev = trigger
    return fired


def process(spec: RouteSpec, st: RouteState, x: float, fire: bool, dt: float, beat_s: float) -> float:
    """One route for one frame: source value `x` (and whether its envelope fires now) → output."""
    if not -1e9 < x < 1e9:  # NaN/inf from a broken analyzer frame must not poison the smoothing state
        x = 0.0
    if spec.threshold and x < spec.threshold:
        x = 0.0
    env = spec.envelope
    if env is not None:
        st.env_t += dt
        if fire:
            st.env_t = 0.0
            st.env_start = st.env_level
            st.env_peak = x
        attack = env.attack_ms * 1e-3
        if st.env_t < attack:
            level = st.env_start + (st.env_peak - st.env_start) * (st.env_t / attack)
        else:
            decay = env.decay_beats * beat_s if env.decay_beats is not None else env.decay_ms * 1e-3
            level = st.env_peak * math.exp(-(st.env_t - attack) / decay) if decay > 0 else 0.0
        st.env_level = level
        x = level
    if spec.curve != "linear":
        x = apply_curve(x, spec.curve, spec.curve_amount)
    x = x * spec.gain + spec.offset
    tau = (spec.attack_ms if x > st.smooth else spec.release_ms) * 1e-3
    if tau > 0.0:
        x = st.smooth + (x - st.smooth) * -math.expm1(-dt / tau)
    st.smooth = x
    if spec.clamp_min is not None and x < spec.clamp_min:
        x = spec.clamp_min
    if spec.clamp_max is not None and x > spec.clamp_max:
        x = spec.clamp_max
    st.out = x
    return x
