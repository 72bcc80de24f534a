"""One compiled preset for one frame: sources → route outputs into target slots → latent → FrameParams.

Pure functions of a `Compiled` (whose route and latent state they advance) and the frame's inputs, so
the engine runs the same code for the running preset and, during a crossfade, for the one fading out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vjgan.core.features import Features
from vjgan.core.frame import FrameParams, GeneratorParams, ShaderParams
from vjgan.mapping import latents as lat
from vjgan.mapping.compile import Compiled
from vjgan.mapping.events import EVENTS
from vjgan.mapping.lfo import lfo_value
from vjgan.mapping.modifiers import process, rising
from vjgan.mapping.pca import PcaExplorer
from vjgan.mapping.slots import (
    MODEL_MIX,
    NOISE_ALL,
    NOISE_MASK_AMOUNT,
    SECTION,
    TRUNCATION,
    WALK_AMOUNT,
    WALK_SPEED,
)


@dataclass(frozen=True, slots=True)
class Clock:
    """The frame's time, shared by both presets of a crossfade."""

    dt: float  # seconds since the previous frame (clamped)
    beats: float  # beat_count + beat_phase
    bars: float  # bar-locked: latent loops wrap exactly on a bar line
    beat_s: float  # seconds per beat at the current tempo


def sources(c: Compiled, scalars: dict[str, float], beats: float) -> dict[str, float]:
    """Every source a route of `c` may read: Features scalars and events, plus its LFOs and user values."""
    if not (c.preset.lfos or c.user):
        return scalars
    src = dict(scalars)
    for name, spec in c.preset.lfos.items():
        src[f"lfo.{name}"] = lfo_value(spec, beats)
    for name, v in c.user.items():
        src[f"user.{name}"] = v
    return src


def target_values(c: Compiled, src: dict[str, float], clock: Clock) -> list[float]:
    """Each slot's value: its base, plus (or times) the output of every route to it, clamped to its range."""
    vals = c.slots.base.copy()
    for r in c.routes:
        spec = r.spec
        if not spec.enabled:
            continue
        x = spec.value if spec.source == "const" else src[spec.source]
        fire = False
        if spec.envelope is not None:
            trig = spec.envelope.trigger
            fire = src[trig] >= 0.5 if trig in EVENTS else rising(r.state, src[trig])
        y = process(spec, r.state, x, fire, clock.dt, clock.beat_s)
        s = r.slot
        vals[s] = vals[s] * y if spec.mode == "mul" else vals[s] + y
    lo, hi, neutral = c.slots.lo, c.slots.hi, c.slots.neutral
    for s in c.routed:  # base values entered in range (preset schema, registry); routes may leave it
        v = vals[s]
        if v < lo[s]:
            vals[s] = lo[s]
        elif v > hi[s]:
            vals[s] = hi[s]
        elif v != v:  # NaN (e.g. inf * 0 in a mul route)
            vals[s] = neutral[s]
    c.values = vals
    return vals


def latent(
    c: Compiled, vals: list[float], f: Features, clock: Clock, pca: PcaExplorer
) -> tuple[np.ndarray, np.ndarray | None]:
    """The W+ latent with the semantic edits added, and those edits apart (None: no edit this frame)."""
    out = lat.compose(c.bank, c.latent_state, f.chroma, f.bass_chroma, clock.bars, vals[SECTION],
                      vals[WALK_SPEED], vals[WALK_AMOUNT], clock.dt, clock.beat_s)
    offset = lat.direction_offset(c.bank, {name: vals[s] for name, s in c.slots.directions.items()})
    if c.slots.pca:
        amounts = {i: vals[s] for i, s in c.slots.pca.items()}
        if pca.directions is None:
            if any(amounts.values()) and not pca.error:
                pca.request()  # first use: computed once per generator, off this thread
        else:
            edit = pca.offset(amounts, out.shape)
            if edit is not None:
                offset = edit if offset is None else offset + edit
    if offset is not None:
        out += offset
    return out, offset


def frame_params(c: Compiled, vals: list[float], w: np.ndarray, offset: np.ndarray | None) -> FrameParams:
    """Slot values copied to where they go; bends at identity and rewrite scales of 1 are left out."""
    s = c.slots
    gp = GeneratorParams(latent=w, truncation=vals[TRUNCATION], noise_mask=c.preset.noise_mask,
                         noise_mask_amount=vals[NOISE_MASK_AMOUNT], model_mix=vals[MODEL_MIX])
    noise_all = vals[NOISE_ALL]
    strength = gp.noise_strength
    for layer, factors in s.noise.items():
        v = noise_all
        for k in factors:
            v *= vals[k]
        strength[layer] = v
    for (layer, transform), b in s.bends.items():
        v = vals[b.slot]
        if v != b.neutral:
            (gp.encoder_bends if b.encoder else gp.bends).setdefault(layer, {})[transform] = v
    for layer, k in s.rewrite.items():
        v = vals[k]
        if v != 1.0:
            gp.rewrite[layer] = v
    sp = ShaderParams(chain=c.preset.chain)
    for (effect, uniform), k in s.uniforms.items():
        sp.uniforms.setdefault(effect, {})[uniform] = vals[k]
    return FrameParams(gp, sp, latent_offset=offset)
