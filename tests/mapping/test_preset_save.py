"""Saving the live state over a preset file keeps what the artist wrote in it: comments, layout, short forms."""

from __future__ import annotations

import shutil
from pathlib import Path

from vjgan.core.features import Features
from vjgan.core.registry import ControlQueue, ParamRegistry
from vjgan.mapping.engine import MappingEngine
from vjgan.mapping.presets import list_presets, load_preset, save_preset
from vjgan.mapping.spec import RouteSpec

COMMENTED = """\
# Warm-up set: kick pumps the noise, the drive fader opens the bloom.
[preset]
name = "commented"
crossfade_beats = 2  # half a bar at 4/4

[latents]
seeds = [1]

[targets]
# a calmer look than ψ = 1
truncation = 0.7   # lower = closer to the average face

[shader]
chain = ["bloom"]
[shader.uniforms.bloom]
amount = 0.4

[user]
drive = 0.5  # fader 3 on the tablet

# the pump
[[routes]]
source = "kick"
target = "noise.all"
gain = 2.0  # careful above 3
envelope = { trigger = "kick_event", decay_ms = 120 }

[[routes]]
source = "user.drive"
target = "shader.bloom.amount"
gain = 1.0  # spelled out on purpose
"""


def test_saving_the_live_state_over_a_commented_preset_keeps_the_comments(tmp_path, gen, effects):
    path = tmp_path / "commented.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    reg = ParamRegistry()
    q = ControlQueue(reg)
    eng = MappingEngine(gen, load_preset(path, effects), reg, effects=effects, presets_dir=tmp_path, watch=False)
    q.set("/vjgan/target/truncation", 0.9)
    q.set("/vjgan/route/0/gain", 3.5)
    q.set("/vjgan/route/0/envelope/decay_ms", 80.0)
    q.set("/vjgan/user/drive", 0.8)
    q.set("/vjgan/target/bend.b8.conv0.zoom", 1.25)  # a target the file does not have yet
    assert q.drain() == 5
    eng.step(Features(kick=0.5), now=0.0)
    q.set("/vjgan/preset/save", "commented")  # a bare name: presets/commented.toml, the file it came from
    q.drain()

    text = path.read_text(encoding="utf-8")
    for comment in ("# Warm-up set: kick pumps the noise, the drive fader opens the bloom.",
                    "crossfade_beats = 2  # half a bar at 4/4", "# a calmer look than ψ = 1",
                    "truncation = 0.9   # lower = closer to the average face", "drive = 0.8  # fader 3 on the tablet",
                    "# the pump", "gain = 3.5  # careful above 3", "gain = 1.0  # spelled out on purpose"):
        assert comment in text, f"{comment!r} lost:\n{text}"
    assert 'envelope = { trigger = "kick_event", decay_ms = 80.0 }' in text
    # only what changed changed: every other line is the artist's, in the artist's order
    changed = {"truncation", "gain = 2.0", "decay_ms", "drive"}
    kept = [line for line in COMMENTED.splitlines() if not any(c in line for c in changed)]
    assert [line for line in text.splitlines() if line in kept] == kept
    saved = load_preset(path, effects)
    assert saved.targets["truncation"] == 0.9 and saved.targets["bend.b8.conv0.zoom"] == 1.25
    assert saved.routes[0].gain == 3.5 and saved.routes[0].envelope.decay_ms == 80.0
    assert saved.user["drive"].value == 0.8 and saved.crossfade_beats == 2.0 and saved.chain == ("bloom",)


def test_routes_added_and_removed_keep_the_other_routes_comments(tmp_path, effects):
    path = tmp_path / "commented.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    p = load_preset(path, effects)
    p.routes = [p.routes[0], RouteSpec("rms", "latent.walk_amount", gain=0.5, attack_ms=20.0)]
    save_preset(p, path)
    text = path.read_text(encoding="utf-8")
    assert "gain = 2.0  # careful above 3" in text and "# the pump" in text
    assert "shader.bloom.amount" not in text.split("[[routes]]", 1)[1]
    again = load_preset(path, effects)
    assert again.routes == p.routes


def test_every_shipped_preset_saved_over_itself_is_unchanged(tmp_path):
    for path in list_presets():
        copy = shutil.copy(path, tmp_path / path.name)
        save_preset(load_preset(copy), copy)
        assert Path(copy).read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), path.name


def test_a_file_that_is_not_toml_is_written_anew(tmp_path, effects):
    path = tmp_path / "broken.toml"
    path.write_text("[preset\nname = ", encoding="utf-8")
    p = load_preset(save_preset(load_preset(_write(tmp_path), effects), path), effects)
    assert p.name == "commented" and path.read_text(encoding="utf-8").startswith("# vjgan preset 'commented'")


def _write(tmp_path: Path) -> Path:
    src = tmp_path / "src.toml"
    src.write_text(COMMENTED, encoding="utf-8")
    return src
