"""Preset files: validation errors (file, line, field), the running preset surviving them, hot reload,
crossfades, saving the live state, and the registry parameters."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.mapping.conftest import timeline
from vjgan.core.errors import UserError
from vjgan.core.features import Features
from vjgan.core.registry import ControlQueue, ParamRegistry
from vjgan.mapping.engine import MappingEngine
from vjgan.mapping.presets import load_preset, save_preset

GOOD = """\
[preset]
name = "good"
crossfade_beats = 2

[latents]
seeds = [1]

[targets]
truncation = 0.7

[shader]
chain = ["bloom"]
[shader.uniforms.bloom]
amount = 0.4

[user]
drive = 0.5

[[routes]]
source = "kick"
target = "noise.all"
gain = 2.0

[[routes]]
source = "user.drive"
target = "shader.bloom.amount"
"""


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


BAD = [
    # (what, replace this, with this, field named, line marker)
    ("unknown source", 'source = "kick"', 'source = "kik"', "routes[0].source", 'source = "kik"'),
    ("unknown target", 'target = "noise.all"', 'target = "noize.all"', "routes[0].target", "noize"),
    ("unknown shader uniform", 'target = "shader.bloom.amount"', 'target = "shader.bloom.amt"',
     "routes[1].target", "bloom.amt"),
    ("wrong type", "gain = 2.0", 'gain = "loud"', "routes[0].gain", "gain ="),
    ("out of range", "truncation = 0.7", "truncation = 7.5", "targets.truncation", "truncation ="),
    ("negative time", "gain = 2.0", "attack_ms = -5", "routes[0].attack_ms", "attack_ms"),
    ("unknown field", "gain = 2.0", "gian = 2.0", "routes[0].gian", "gian"),
    ("unknown effect", 'chain = ["bloom"]', 'chain = ["blom"]', "shader.chain", "chain ="),
]


@pytest.mark.parametrize("what,old,new,field,marker", BAD, ids=[b[0] for b in BAD])
def test_invalid_preset_names_file_line_field_and_keeps_running(tmp_path, gen, effects, what, old, new, field,
                                                                marker):
    eng = MappingEngine(gen, load_preset(write(tmp_path, GOOD, "good.toml"), effects), effects=effects)
    before = eng.step(Features(kick=0.5), now=0.0)
    text = GOOD.replace(old, new)
    path = write(tmp_path, text, "bad.toml")
    with pytest.raises(UserError) as exc:
        eng.load(load_preset(path, effects))
    msg = str(exc.value)
    assert f"{path}:{line_of(text, marker)}: {field}:" in msg, msg
    assert eng.preset.name == "good"
    after = eng.step(Features(kick=0.5), now=0.01)
    np.testing.assert_array_equal(before.generator.latent, after.generator.latent)
    assert after.generator.noise_strength == before.generator.noise_strength == {
        n: 2.0 for n in gen.layer_names}


def test_toml_syntax_error_and_unknown_layer(tmp_path, gen, effects):
    text = GOOD.replace("gain = 2.0", "gain = = 2")
    path = write(tmp_path, text, "syntax.toml")
    with pytest.raises(UserError, match=rf"{path}:{line_of(text, 'gain = =')}: TOML syntax error: Invalid value"):
        load_preset(path, effects)
    # layer names can only be checked against the model: the engine names the line too
    eng = MappingEngine(gen, load_preset(write(tmp_path, GOOD, "good.toml"), effects), effects=effects)
    text = GOOD.replace('target = "noise.all"', 'target = "bend.b1024.conv0.zoom"')
    path = write(tmp_path, text, "layer.toml")
    with pytest.raises(UserError, match=rf"layer.toml:{line_of(text, 'b1024')}: routes\[0\].target: unknown layer"):
        eng.load(load_preset(path, effects))
    assert eng.preset.name == "good"


def test_many_problems_reported_at_once(tmp_path, effects):
    text = GOOD.replace('source = "kick"', 'source = "nope"').replace("truncation = 0.7", 'truncation = "x"')
    with pytest.raises(UserError, match=r"2 problems") as exc:
        load_preset(write(tmp_path, text), effects)
    assert "routes[0].source" in str(exc.value) and "targets.truncation" in str(exc.value)


def test_hot_reload_picks_up_a_change_and_survives_a_broken_save(tmp_path, gen, effects):
    path = write(tmp_path, GOOD, "live.toml")
    eng = MappingEngine(gen, load_preset(path, effects), effects=effects)
    eng.start_loader(watch=True, poll_s=0.02)
    try:
        assert eng.step(Features(), now=0.0).generator.truncation == pytest.approx(0.7)

        def wait(cond, what: str) -> None:
            deadline = time.monotonic() + 20.0
            t = 0.0
            while not cond():
                t += 0.01
                eng.step(Features(), now=t)  # frames keep coming while the loader works
                assert time.monotonic() < deadline, f"hot reload did not {what}"
                time.sleep(0.01)

        time.sleep(0.05)
        path.write_text(GOOD.replace("truncation = 0.7", "truncation = 0.4"), encoding="utf-8")
        wait(lambda: eng.reloads >= 1, "pick up the change")
        assert eng.step(Features(), now=30.0).generator.truncation == pytest.approx(0.4)
        # a broken save: reported, the running preset stays
        path.write_text(GOOD.replace("truncation = 0.7", "truncation = [1"), encoding="utf-8")
        wait(lambda: eng.last_error != "", "report the error")
        assert "TOML syntax error" in eng.last_error and str(path) in eng.last_error
        assert eng.step(Features(), now=31.0).generator.truncation == pytest.approx(0.4)
    finally:
        eng.stop_loader()


def test_crossfade_reaches_new_preset_after_n_beats(tmp_path, gen, effects):
    a = load_preset(write(tmp_path, GOOD, "a.toml"), effects)
    b_text = GOOD.replace("seeds = [1]", "seeds = [2]").replace("truncation = 0.7", "truncation = 0.3")
    b = load_preset(write(tmp_path, b_text, "b.toml"), effects)
    eng = MappingEngine(gen, a, effects=effects)
    ref = MappingEngine(gen, b, effects=effects)
    frames = list(timeline(4.0, fps=100))  # 120 BPM: 4 beats = 2 s
    eng.step(frames[0][1], now=0.0)
    eng.load(b, crossfade_beats=4)
    outs = []
    for t, f in frames[1:]:
        fp, rp = eng.step(f, now=t), ref.step(f, now=t)
        outs.append((t, fp, rp, eng.fade))
    by_t = {round(t, 2): (fp, rp, fade) for t, fp, rp, fade in outs}
    fp, rp, fade = by_t[1.01]  # 2 beats into the fade (started at t=0.01): halfway
    assert fade == pytest.approx(0.5, abs=0.01)
    assert fp.generator.truncation == pytest.approx(0.5, abs=0.01)
    fp, rp, fade = by_t[2.01]  # after 4 beats: exactly the new preset
    assert fade == 1.0
    np.testing.assert_allclose(fp.generator.latent, rp.generator.latent, atol=1e-6)
    assert fp.generator.truncation == rp.generator.truncation == pytest.approx(0.3)
    fp, rp, fade = by_t[1.99]
    assert fade < 1.0 and not np.allclose(fp.generator.latent, rp.generator.latent, atol=1e-6)


def test_save_live_state_round_trips(tmp_path, gen, effects):
    reg = ParamRegistry()
    q = ControlQueue(reg)
    eng = MappingEngine(gen, load_preset(write(tmp_path, GOOD), effects), reg, effects=effects, presets_dir=tmp_path)
    q.set("/vjgan/route/0/gain", 3.0)
    q.set("/vjgan/target/truncation", 0.9)
    q.set("/vjgan/user/drive", 0.8)
    q.set("/vjgan/route/1/envelope/decay_ms", 10.0)  # route 1 has no envelope: rejected, counted
    assert q.drain() == 3 and q.stats.rejected == 1
    fp = eng.step(Features(kick=0.5), now=0.0)
    assert fp.generator.noise_strength["b4.conv1"] == pytest.approx(2.5)
    assert fp.shader.uniforms["bloom"]["amount"] == pytest.approx(0.4 + 0.8)
    q.set("/vjgan/preset/save", "mine")
    q.drain()
    saved = load_preset(tmp_path / "mine.toml", effects)
    assert saved.name == "mine" and saved.routes[0].gain == 3.0 and saved.targets["truncation"] == 0.9
    assert saved.user["drive"].value == 0.8 and saved.chain == ("bloom",)
    again = MappingEngine(gen, saved, effects=effects)
    fp2 = again.step(Features(kick=0.5), now=0.0)
    assert fp2.generator.noise_strength == fp.generator.noise_strength
    assert fp2.shader.uniforms == fp.shader.uniforms
    # save_preset writes what load_preset reads back, field for field
    path = save_preset(saved, tmp_path / "copy.toml")
    assert load_preset(path, effects).routes == saved.routes


def test_registry_has_route_target_user_preset_addresses(tmp_path, gen, effects):
    reg = ParamRegistry()
    MappingEngine(gen, load_preset(write(tmp_path, GOOD), effects), reg, effects=effects)
    addresses = {p.address for p in reg.params() if p.group == "mapping"}
    for a in ("/vjgan/route/0/gain", "/vjgan/route/1/attack_ms", "/vjgan/route/0/source", "/vjgan/target/truncation",
              "/vjgan/target/bend.b8.conv0.zoom", "/vjgan/target/shader.bloom.amount", "/vjgan/user/drive",
              "/vjgan/preset/load", "/vjgan/preset/save", "/vjgan/preset/crossfade", "/vjgan/latent/reseed"):
        assert a in addresses, a
    assert reg.get("/vjgan/target/truncation").default == 0.7


def test_osc_style_load_runs_in_background_and_crossfades(tmp_path, gen, effects):
    reg = ParamRegistry()
    q = ControlQueue(reg)
    write(tmp_path, GOOD.replace("truncation = 0.7", "truncation = 0.2").replace('"good"', '"other"'), "other.toml")
    eng = MappingEngine(gen, load_preset(write(tmp_path, GOOD), effects), reg, effects=effects, presets_dir=tmp_path)
    try:
        q.set("/vjgan/preset/load", "nope")
        q.set("/vjgan/preset/load", "other")
        q.drain()
        deadline = time.monotonic() + 20
        t = 0.0
        while eng.preset.name != "other":
            t += 0.01
            eng.step(Features(), now=t)
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert "preset 'nope' not found" in eng.last_error or eng.last_error == ""
        assert eng.prev is not None  # crossfading (2 beats from the running preset's crossfade_beats)
        fp = eng.step(Features(), now=t + 5.0)  # beat clock stalled: time still completes the fade
        assert eng.prev is None and fp.generator.truncation == pytest.approx(0.2)
    finally:
        eng.stop_loader()


def test_osc_bindings_table_kept_validated_and_saved(tmp_path, gen, effects):
    text = GOOD + """
[[osc.bindings]]
source = "/1/fader3"
target = "/vjgan/route/0/gain"
scale = true
in_min = 0.0
in_max = 1.0
"""
    preset = load_preset(write(tmp_path, text), effects)
    assert preset.extra["osc"]["bindings"][0]["source"] == "/1/fader3"
    seen = []
    eng = MappingEngine(gen, preset, effects=effects, presets_dir=tmp_path)
    eng.on_activate.append(seen.append)
    eng.extra_providers["osc"] = lambda: {"bindings": [{"source": "/2/x", "target": "/vjgan/user/drive",
                                                        "scale": False, "in_min": 0.0, "in_max": 1.0}]}
    saved = load_preset(eng.save("withosc"), effects)
    assert saved.extra["osc"]["bindings"][0]["source"] == "/2/x"
    eng.load(saved)
    assert seen and seen[-1].name == "withosc"
    bad = text.replace('source = "/1/fader3"', 'source = "fader3"')
    with pytest.raises(UserError, match=r"osc.bindings\[0\]"):
        load_preset(write(tmp_path, bad, "bad.toml"), effects)


def test_bend_transforms_and_noise_masks_match_the_models_stage(tmp_path, effects):
    from vjgan.mapping.targets import BEND_TRANSFORMS
    from vjgan.models import bending

    assert set(BEND_TRANSFORMS) == set(bending.TRANSFORMS)
    assert {t: BEND_TRANSFORMS[t][2] for t in BEND_TRANSFORMS} == bending.NEUTRAL
    text = GOOD + '\n[generator]\nnoise_mask = "radiall"\n'
    with pytest.raises(UserError, match=r"generator.noise_mask: unknown noise mask 'radiall'"):
        load_preset(write(tmp_path, text), effects)
    assert load_preset(write(tmp_path, text.replace("radiall", "rings")), effects).noise_mask == "rings"


def test_every_shipped_preset_round_trips_through_save(tmp_path):
    from vjgan.mapping.presets import list_presets

    for path in list_presets():
        p = load_preset(path)
        q = load_preset(save_preset(p, tmp_path / path.name))
        for f in ("name", "crossfade_beats", "latents", "targets", "noise_mask", "chain", "lfos", "user", "routes",
                  "extra"):
            assert getattr(q, f) == getattr(p, f), (path.name, f)
