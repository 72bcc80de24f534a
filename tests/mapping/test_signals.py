"""Deterministic signal behaviour on feature timelines: chroma weighting, smoothing, envelopes, LFOs, loops."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.mapping.conftest import chroma_of, timeline
from vjgan.core.features import Features
from vjgan.mapping.engine import MappingEngine
from vjgan.mapping.latents import loop_position
from vjgan.mapping.lfo import LfoSpec, lfo_value
from vjgan.mapping.presets import load_preset

SEEDS = list(range(100, 112))


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def engine_for(tmp_path: Path, gen, effects, text: str) -> MappingEngine:
    return MappingEngine(gen, load_preset(write(tmp_path, text), effects), effects=effects)


def test_chroma_all_on_c_gives_latent_c(tmp_path, gen, effects):
    eng = engine_for(tmp_path, gen, effects, f"""
[latents]
seeds = {SEEDS}
[latents.groups]
coarse = "bass_chroma"
middle = "chroma"
fine = "chroma"
""")
    c = chroma_of("C")
    latent_c = gen.seeds_to_ws([SEEDS[0]])[0]
    out = eng.step(Features(chroma=c, bass_chroma=c), now=0.0).generator.latent
    np.testing.assert_allclose(out, latent_c, rtol=0, atol=1e-5)
    # bass on G moves only the coarse group (shape); chords stay on C for middle/fine (colour, detail)
    out = eng.step(Features(chroma=c, bass_chroma=chroma_of("G")), now=0.01).generator.latent
    latent_g = gen.seeds_to_ws([SEEDS[7]])[0]
    np.testing.assert_allclose(out[0:2], latent_g[0:2], atol=1e-5)
    np.testing.assert_allclose(out[2:6], latent_c[2:6], atol=1e-5)
    # a C major triad weights C, E and G equally
    triad = tuple(1.0 if p in ("C", "E", "G") else 0.0 for p in ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#",
                                                                   "A", "A#", "B"))
    out = eng.step(Features(chroma=triad, bass_chroma=c), now=0.02).generator.latent
    expect = gen.seeds_to_ws([SEEDS[0], SEEDS[4], SEEDS[7]]).mean(axis=0)
    np.testing.assert_allclose(out[2:6], expect[2:6], atol=1e-5)


def test_attack_release_smoothing_within_5_percent(tmp_path, gen, effects):
    eng = engine_for(tmp_path, gen, effects, """
[[routes]]
source = "onset"
target = "noise.all"
attack_ms = 50
release_ms = 200
""")
    got: dict[float, float] = {}
    for t, _f in timeline(1.0, fps=100):
        on = 1.0 if t < 0.3 - 1e-9 else 0.0  # onset held for 300 ms, then gone
        eng.step(Features(time=t, onset=on), now=t)
        got[round(t, 2)] = eng.route_outputs()[0]
    # rise: 1 - exp(-t / 50 ms) from the first frame of the pulse
    for t in (0.05, 0.1, 0.15):
        expect = 1 - math.exp(-t / 0.05)
        assert abs(got[t] - expect) <= 0.05 * expect, (t, got[t], expect)
    peak = got[0.29]
    for t in (0.5, 0.7, 0.9):  # release from the value at 290 ms (the last frame at 1.0)
        expect = peak * math.exp(-(t - 0.29) / 0.2)
        assert abs(got[t] - expect) <= 0.05 * expect, (t, got[t], expect)
    # the target really carries it: noise strength = 1 (base) + route
    fp = eng.step(Features(time=1.01), now=1.01)
    assert all(abs(v - (1 + eng.route_outputs()[0])) < 1e-9 for v in fp.generator.noise_strength.values())


def test_onset_impulse_envelope_rises_and_decays(tmp_path, gen, effects):
    eng = engine_for(tmp_path, gen, effects, """
[[routes]]
source = "const"
target = "bend.all.zoom"
gain = 0.5
envelope = { trigger = "onset_event", attack_ms = 40, decay_ms = 150 }
""")
    got: dict[float, float] = {}
    zoom: dict[float, float] = {}
    for t, _f in timeline(0.8, fps=100):
        fp = eng.step(Features(time=t, onset_event=abs(t - 0.1) < 1e-6), now=t)
        got[round(t, 2)] = eng.route_outputs()[0]
        zoom[round(t, 2)] = fp.generator.bends.get("b8.conv0", {}).get("zoom", 1.0)
    assert got[0.09] == 0.0
    assert abs(got[0.12] - 0.5 * 0.5) < 0.05 * 0.25  # halfway up the 40 ms attack
    assert abs(got[0.14] - 0.5) < 0.05 * 0.5  # peak
    for dt in (0.15, 0.3, 0.45):  # then e^-t/τ
        expect = 0.5 * math.exp(-dt / 0.15)
        assert abs(got[round(0.14 + dt, 2)] - expect) <= 0.05 * expect
    assert abs(zoom[0.14] - 1.5) < 0.03  # reaches every layer's zoom


def test_lfo_of_one_bar_completes_one_cycle_per_bar_at_120_bpm(tmp_path, gen, effects):
    eng = engine_for(tmp_path, gen, effects, """
[lfos.bar]
shape = "saw"
beats = 4
[lfos.wave]
shape = "sine"
beats = 4
[[routes]]
source = "lfo.bar"
target = "latent.walk_amount"
[[routes]]
source = "lfo.wave"
target = "noise_mask.amount"
""")
    saw, sine, times = [], [], []
    for t, f in timeline(8.0, fps=100):  # 4 bars at 120 BPM (2 s each)
        eng.step(f, now=t)
        outs = eng.route_outputs()
        saw.append(outs[0])
        sine.append(outs[1])
        times.append(t)
    saw_a = np.array(saw)
    wraps = np.flatnonzero(np.diff(saw_a) < -0.5) + 1
    assert [times[i] for i in wraps] == [2.0, 4.0, 6.0, 8.0]  # exactly on each bar line
    assert abs(sine[100] - 1.0) < 1e-9 and abs(sine[200]) < 1e-9  # peak mid-bar, back at the bar line
    assert abs(sine[50] - 0.5) < 1e-9
    assert lfo_value(LfoSpec("square", 4.0), 1.9) == 1.0 and lfo_value(LfoSpec("square", 4.0), 2.1) == 0.0
    rnd = LfoSpec("random", 4.0, seed=3)
    assert lfo_value(rnd, 0.1) == lfo_value(rnd, 3.9) != lfo_value(rnd, 4.1)  # holds for a cycle


def test_loop_position_wraps_on_the_bar(tmp_path, gen, effects):
    assert loop_position(3.999, 4) > 0.99 and loop_position(4.0, 4) == 0.0 and loop_position(6.0, 4) == 0.5
    eng = engine_for(tmp_path, gen, effects, """
[latents]
seeds = [1, 2, 3, 4]
loop_bars = 4
[latents.groups]
coarse = "loop"
middle = "loop"
fine = "loop"
""")
    keys = gen.seeds_to_ws([1, 2, 3, 4])
    lat = {}
    for t, f in timeline(10.0, fps=50):
        lat[round(t, 2)] = eng.step(f, now=t).generator.latent
    # 4 keyframes over 4 bars (2 s each at 120 BPM): keyframe i sits on bar line i, and bar 4 = keyframe 0
    for t, k in ((0.0, 0), (2.0, 1), (4.0, 2), (6.0, 3), (8.0, 0)):
        np.testing.assert_allclose(lat[t], keys[k], atol=1e-5)
    # smooth across the wrap: the step just before bar 4 is as small as any other step
    steps = [float(np.abs(lat[round(t + 0.02, 2)] - lat[round(t, 2)]).max()) for t in np.arange(0, 9.9, 0.02)]
    i_wrap = int(round(7.98 / 0.02))
    assert steps[i_wrap] < 3 * float(np.median(steps))


def test_sections_mix_two_sets_by_smoothed_rms(tmp_path, gen, effects):
    eng = engine_for(tmp_path, gen, effects, """
[latents]
seeds = [5]
seeds_b = [6]
[[routes]]
source = "rms_smooth"
target = "latent.section"
gain = 2.0
""")
    a, b = gen.seeds_to_ws([5])[0], gen.seeds_to_ws([6])[0]
    np.testing.assert_allclose(eng.step(Features(rms_smooth=0.0), now=0).generator.latent, a, atol=1e-5)
    np.testing.assert_allclose(eng.step(Features(rms_smooth=0.25), now=0.01).generator.latent, (a + b) / 2,
                               atol=1e-5)
    np.testing.assert_allclose(eng.step(Features(rms_smooth=0.9), now=0.02).generator.latent, b, atol=1e-5)


def test_no_event_lost_at_a_slower_render_rate(tmp_path, gen, effects):
    """Kicks marked in single 100 fps analysis frames all fire envelopes when rendering at 60 fps."""
    from vjgan.mapping.events import count_events

    eng = engine_for(tmp_path, gen, effects, """
[[routes]]
source = "const"
target = "noise.all"
envelope = { trigger = "kick_event", decay_ms = 5 }
""")
    frames = [Features(time=i / 100, frame=i, kick_event=i % 50 == 1) for i in range(500)]  # a kick every 0.5 s
    frames = count_events(frames)
    fired = 0
    for k in range(300):  # 60 fps over 5 s
        t = k / 60
        eng.step(frames[min(int(t * 100), 499)], now=t)
        fired += eng.route_outputs()[0] > 0.9
    assert fired == 10


def test_broken_feature_values_never_reach_the_generator(tmp_path, gen, effects):
    """NaN/inf in a feature frame: the frame's params stay finite and the next frames recover."""
    eng = engine_for(tmp_path, gen, effects, f"""
[latents]
seeds = {SEEDS}
chroma_smoothing_ms = 100
[latents.groups]
fine = "chroma"
[[routes]]
source = "rms"
target = "truncation"
attack_ms = 50
release_ms = 50
""")
    nan = float("nan")
    bad = Features(rms=nan, chroma=(nan,) * 12, onset=float("inf"))
    for i, f in enumerate([Features(rms=0.2), bad, Features(rms=0.2)]):
        fp = eng.step(f, now=i * 0.02)
        assert np.isfinite(fp.generator.latent).all() and math.isfinite(fp.generator.truncation)


def test_prototype_and_ganspace_directions_from_files(tmp_path, gen, effects):
    """Directions from the models stage's files: named prototypes (.npz, `pos-neg`) and stacked rows."""
    rng = np.random.default_rng(1)
    smile, neutral = rng.standard_normal((6, 16)).astype(np.float32), rng.standard_normal((6, 16)).astype(np.float32)
    np.savez(tmp_path / "protos.npz", smile=smile, neutral=neutral)
    stacked = rng.standard_normal((5, 16)).astype(np.float32)
    np.save(tmp_path / "pcs.npy", stacked)
    eng = engine_for(tmp_path, gen, effects, """
[latents]
seeds = [3]
[latents.directions.smile]
file = "protos.npz"
key = "smile-neutral"
groups = ["fine"]
[latents.directions.pc2]
file = "pcs.npy"
index = 2
[targets]
"latent.direction.smile" = 0.5
"latent.direction.pc2" = -1.0
""")
    base = gen.seeds_to_ws([3])[0]
    expect = base - stacked[2][None]
    expect[4:6] += 0.5 * (smile - neutral)[4:6]
    np.testing.assert_allclose(eng.step(Features(), now=0.0).generator.latent, expect, atol=1e-5)


def test_gate_curve_gain_clamp_and_mul_mode(tmp_path, gen, effects):
    eng = engine_for(tmp_path, gen, effects, """
[targets]
"rewrite.#0" = 1.0
[[routes]]
source = "mid"
target = "noise.all"
threshold = 0.3
curve = "power"
curve_amount = 2.0
gain = 2.0
offset = 0.5
clamp = [0.0, 1.5]
[[routes]]
source = "high"
target = "noise_mask.amount"
curve = "exp"
curve_amount = 3.0
[[routes]]
source = "bass"
target = "rewrite.#0"
mode = "mul"
gain = 2.0
""")
    fp = eng.step(Features(mid=0.2, high=0.5, bass=0.75), now=0.0)
    assert eng.route_outputs()[0] == 0.5  # gated: 0 * 2 + 0.5
    assert eng.route_outputs()[1] == pytest.approx(math.expm1(1.5) / math.expm1(3.0))
    assert fp.generator.rewrite["b4.conv1"] == pytest.approx(1.5)  # base 1 × (0.75 × 2)
    eng.step(Features(mid=0.6), now=0.01)
    assert eng.route_outputs()[0] == pytest.approx(0.6**2 * 2 + 0.5)
    eng.step(Features(mid=0.9), now=0.02)
    assert eng.route_outputs()[0] == 1.5  # clamped


def test_morph_between_two_saved_prototypes(tmp_path, gen, effects):
    """Prototypes saved as one W+ latent each (num_ws, w_dim) are sets A and B; latent.section morphs."""
    rng = np.random.default_rng(2)
    calm, storm = (rng.standard_normal((gen.num_ws, gen.w_dim)).astype(np.float32) for _ in range(2))
    (tmp_path / "prototypes").mkdir()
    np.save(tmp_path / "prototypes" / "calm.npy", calm)
    np.save(tmp_path / "prototypes" / "storm.npy", storm)
    eng = engine_for(tmp_path, gen, effects, """
[latents]
file = "prototypes/calm.npy"
file_b = "prototypes/storm.npy"
[[routes]]
source = "rms"
target = "latent.section"
""")
    np.testing.assert_allclose(eng.step(Features(rms=0.0), now=0.0).generator.latent, calm, atol=1e-6)
    np.testing.assert_allclose(eng.step(Features(rms=0.25), now=0.01).generator.latent,
                               0.75 * calm + 0.25 * storm, atol=1e-5)
    np.testing.assert_allclose(eng.step(Features(rms=1.0), now=0.02).generator.latent, storm, atol=1e-5)
