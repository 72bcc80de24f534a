"""Targets resolved to slots at compile time: shared destinations, live targets and the app's by-name edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from vjgan.core.features import Features
from vjgan.core.registry import ControlQueue, ParamRegistry
from vjgan.mapping.engine import MappingEngine
from vjgan.mapping.presets import load_preset
from vjgan.mapping.slots import FIXED

PRESET = """\
[latents]
seeds = [1]

[targets]
"noise.all" = 2.0
"noise.b8.conv0" = 1.5
"bend.all.zoom" = 1.2
"bend.b8.conv0.zoom" = 1.0

[[routes]]
source = "const"
value = 0.25
target = "rewrite.#0"
"""


def engine(tmp_path: Path, gen, effects, registry: ParamRegistry | None = None) -> MappingEngine:
    path = tmp_path / "slots.toml"
    path.write_text(PRESET, encoding="utf-8")
    return MappingEngine(gen, load_preset(path, effects), registry, effects=effects, watch=False)


def test_shared_destinations_multiply_noise_and_the_later_bend_wins(tmp_path, gen, effects):
    eng = engine(tmp_path, gen, effects)
    assert eng.cur.slots.names[: len(FIXED)] == list(FIXED)
    gp = eng.step(Features(), now=0.0).generator
    assert gp.noise_strength == {layer: 3.0 if layer == "b8.conv0" else 2.0 for layer in gen.layer_names}
    # bend.b8.conv0.zoom (identity, named later) overrides bend.all.zoom on that layer: left out
    assert gp.bends == {layer: {"zoom": 1.2} for layer in gen.layer_names if layer != "b8.conv0"}
    assert gp.rewrite == {"b4.conv1": 1.25}


def test_live_targets_get_slots_and_routes_move(tmp_path, gen, effects):
    reg = ParamRegistry()
    q = ControlQueue(reg)
    eng = engine(tmp_path, gen, effects, reg)
    q.set("/vjgan/target/bend.b16.conv1.rotate", 30.0)  # not in the preset: a new slot
    q.set("/vjgan/route/0/target", "shader.bloom.amount")
    q.set("/vjgan/target/truncation", 5.0)  # the registry clamps to the target's range
    assert q.drain() == 3 and q.stats.clamped == 1
    fp = eng.step(Features(), now=0.0)
    assert fp.generator.bends["b16.conv1"] == {"zoom": 1.2, "rotate": 30.0}
    assert fp.generator.rewrite == {} and fp.shader.uniforms == {"bloom": {"amount": 0.5 + 0.25}}
    assert fp.generator.truncation == 2.0
    assert eng.target_values()["bend.b16.conv1.rotate"] == 30.0 and eng.target_values()["truncation"] == 2.0
    assert eng.snapshot().targets["bend.b16.conv1.rotate"] == 30.0


def test_base_values_edited_by_name_before_install_reach_the_frame(tmp_path, gen, effects):
    """The app carries live base values into a freshly compiled preset by name (app/actions.py)."""
    eng = engine(tmp_path, gen, effects)
    compiled = eng.compile(eng.snapshot())
    t = eng.parse_target("rewrite.b16.conv0")
    compiled.targets.setdefault(t.name, t)
    compiled.bases[t.name] = 0.5
    compiled.bases["truncation"] = 0.6
    eng.install(compiled, 0.0)
    gp = eng.step(Features(), now=0.0).generator
    assert gp.rewrite == {"b4.conv1": 1.25, "b16.conv0": 0.5} and gp.truncation == pytest.approx(0.6)
