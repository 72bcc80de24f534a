"""Tempo-synced LFOs: their phase comes from the beat clock, so they stay locked to the music.

The phase is `beats / rate + phase` where `beats = Features.beat_count + Features.beat_phase`:
no free-running oscillator, so an LFO never drifts against the beat and the same feature timeline
always gives the same values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SHAPES = ("sine", "saw", "square", "triangle", "random")


@dataclass(slots=True)
class LfoSpec:
    shape: str = "sine"
    beats: float = 4.0  # length of one cycle in beats (4 = one bar)
    phase: float = 0.0  # offset in cycles (0..1)
    bipolar: bool = False  # -1..1 instead of 0..1
    seed: int = 0  # for `random` (sample-and-hold, one value per cycle)


def _hash01(seed: int, n: int) -> float:
    """Deterministic uniform value for (seed, cycle): a cheap integer hash, no RNG state to carry."""
    x = (seed * 0x9E3779B1 + n * 0x85EBCA77 + 0x165667B1) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    x = (x * 0x297A2D39) & 0xFFFFFFFF
    x ^= x >> 15
    return x / 0xFFFFFFFF


def lfo_value(spec: LfoSpec, beats: float) -> float:
    """Value of the LFO at a beat position (0..1, or -1..1 when bipolar)."""
    pos = beats / spec.beats + spec.phase
    cycle = math.floor(pos)
    p = pos - cycle
    shape = spec.shape
    if shape == "sine":
        v = 0.5 - 0.5 * math.cos(2.0 * math.pi * p)  # starts at 0 on the downbeat, peaks mid-cycle
    elif shape == "saw":
        v = p
    elif shape == "square":
        v = 1.0 if p < 0.5 else 0.0
    elif shape == "triangle":
        v = 2.0 * p if p < 0.5 else 2.0 - 2.0 * p
    else:  # random: sample and hold
        v = _hash01(spec.seed, cycle)
    return 2.0 * v - 1.0 if spec.bipolar else v
