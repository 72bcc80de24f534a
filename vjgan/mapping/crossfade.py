"""Crossfades between presets: how far a fade is, and the blend of the two presets' FrameParams.

Both presets run during a fade and their messages are blended field by field; a destination only one side
sets counts as neutral on the other (a bend at identity, a rewrite scale of 1, a uniform's default), and
the chain and noise mask switch at the halfway point. Blending the messages, not the presets, means the
two compiled presets need no common layout of targets.
"""

from __future__ import annotations

from dataclasses import dataclass

from vjgan.core.frame import FrameParams, GeneratorParams, ShaderParams
from vjgan.core.vocab import BEND_TRANSFORMS

DONE = 1.0 - 1e-6  # float beat clocks land a hair short of the bar line


@dataclass(slots=True)
class FadeClock:
    """Progress of one fade: max(beats since its first frame / N, seconds / (N × beat length)), so a fade
    also completes when the beat tracker stalls."""

    beats: float  # N
    start: tuple[float, float] | None = None  # (beats, now) at the fade's first frame

    def progress(self, beats: float, now: float, beat_s: float) -> float:
        if self.start is None:
            self.start = (beats, now)
        b0, t0 = self.start
        p = min(1.0, max((beats - b0) / self.beats, (now - t0) / (self.beats * beat_s), 0.0))
        return 1.0 if p >= DONE else p


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def _lerp_keys(a: dict, b: dict, t: float, neutral) -> dict:
    """Blend two flat dicts; a key missing on one side is `neutral(key)` there."""
    out = {}
    for k in a.keys() | b.keys():
        n = neutral(k)
        out[k] = _lerp(a.get(k, n), b.get(k, n), t)
    return out


def _lerp_bends(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]], t: float) -> dict:
    out: dict[str, dict[str, float]] = {}
    for layer in a.keys() | b.keys():
        for transform, v in _lerp_keys(a.get(layer, {}), b.get(layer, {}), t, _bend_neutral).items():
            if v != _bend_neutral(transform):
                out.setdefault(layer, {})[transform] = v
    return out


def _bend_neutral(transform: str) -> float:
    return BEND_TRANSFORMS[transform][2]


def blend(a: FrameParams, b: FrameParams, t: float, uniform_neutral: dict[tuple[str, str], float]) -> FrameParams:
    """`a` (fading out) → `b` at progress `t`; `uniform_neutral`: (effect, uniform) -> default, both sides'."""
    ga, gb = a.generator, b.generator
    late = t >= 0.5
    gp = GeneratorParams(
        latent=ga.latent + (gb.latent - ga.latent) * t,
        truncation=_lerp(ga.truncation, gb.truncation, t),
        noise_strength=_lerp_keys(ga.noise_strength, gb.noise_strength, t, lambda _: 1.0),
        noise_mask=gb.noise_mask if late else ga.noise_mask,
        noise_mask_amount=_lerp(ga.noise_mask_amount, gb.noise_mask_amount, t),
        bends=_lerp_bends(ga.bends, gb.bends, t),
        rewrite={k: v for k, v in _lerp_keys(ga.rewrite, gb.rewrite, t, lambda _: 1.0).items() if v != 1.0},
        encoder_bends=_lerp_bends(ga.encoder_bends, gb.encoder_bends, t),
        model_mix=_lerp(ga.model_mix, gb.model_mix, t),
    )
    ua, ub = a.shader.uniforms, b.shader.uniforms
    uniforms = {
        effect: _lerp_keys(ua.get(effect, {}), ub.get(effect, {}), t, lambda u, e=effect: uniform_neutral[e, u])
        for effect in ua.keys() | ub.keys()
    }
    sp = ShaderParams(uniforms, b.shader.chain if late else a.shader.chain)
    if a.latent_offset is None and b.latent_offset is None:
        offset = None
    else:
        oa = a.latent_offset if a.latent_offset is not None else 0.0
        ob = b.latent_offset if b.latent_offset is not None else 0.0
        offset = oa + (ob - oa) * t
    return FrameParams(gp, sp, b.time, offset)
