"""The mapping engine steered by a real OSC client (liblo's oscsend) through the real OscServer."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.mapping.test_presets import GOOD, write
from vjgan.core.features import Features
from vjgan.core.registry import ControlQueue, ParamRegistry
from vjgan.mapping.engine import MappingEngine
from vjgan.mapping.presets import load_preset


def test_oscsend_changes_route_target_user_and_loads_preset(tmp_path: Path, gen, effects):
    oscsend = require_tool("oscsend")
    from vjgan.control.osc import OscServer

    reg = ParamRegistry()
    queue = ControlQueue(reg)
    write(tmp_path, GOOD.replace('"good"', '"other"').replace("truncation = 0.7", "truncation = 0.2"), "other.toml")
    eng = MappingEngine(gen, load_preset(write(tmp_path, GOOD), effects), reg, effects=effects, presets_dir=tmp_path)
    server = OscServer(reg, queue, port=0).start()
    try:
        def send(*args: str) -> None:
            subprocess.run([oscsend, "127.0.0.1", str(server.port), *args], check=True, timeout=10)

        send("/vjgan/route/0/gain", "f", "3.0")
        send("/vjgan/target/bend.b8.conv0.zoom", "f", "1.5")
        send("/vjgan/user/drive", "f", "0.25")
        deadline = time.monotonic() + 10
        applied = 0
        while applied < 3 and time.monotonic() < deadline:
            applied += queue.drain()
            time.sleep(0.01)
        assert applied == 3
        fp = eng.step(Features(kick=0.5), now=0.0)
        assert fp.generator.noise_strength["b8.conv0"] == pytest.approx(1.0 + 0.5 * 3.0)
        assert fp.generator.bends["b8.conv0"]["zoom"] == pytest.approx(1.5)
        assert fp.shader.uniforms["bloom"]["amount"] == pytest.approx(0.4 + 0.25)

        send("/vjgan/preset/crossfade", "f", "0")
        send("/vjgan/preset/load", "s", "other")
        t = 0.0
        while eng.preset.name != "other":
            queue.drain()
            t += 0.01
            eng.step(Features(), now=t)  # the show goes on while the loader works
            assert time.monotonic() < deadline + 20, "preset load over OSC did not arrive"
            time.sleep(0.01)
        assert eng.step(Features(), now=t + 0.01).generator.truncation == pytest.approx(0.2)
    finally:
        server.stop()
        eng.stop_loader()


def test_oscsend_preset_paths_stay_inside_the_presets_folder(tmp_path: Path, gen, effects, caplog,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`/vjgan/preset/save` and `/load` from a real liblo client: absolute paths elsewhere, `..` escapes and a
    symlink that leads out write and read nothing; each refusal is logged; names inside presets/ still work."""
    oscsend = require_tool("oscsend")
    from vjgan.control.osc import OscServer

    presets, outside = tmp_path / "presets", tmp_path / "outside"
    presets.mkdir(), outside.mkdir(), (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # were relative paths taken from the working folder, they stay in tmp
    write(outside, GOOD.replace('"good"', '"foreign"'), "foreign.toml")
    (presets / "link.toml").symlink_to(outside / "linked.toml")  # dangling: saving through it would create it
    (presets / "sub").mkdir()
    reg = ParamRegistry()
    queue = ControlQueue(reg)
    eng = MappingEngine(gen, load_preset(write(presets, GOOD), effects), reg, effects=effects, presets_dir=presets)
    server = OscServer(reg, queue, port=0).start()
    bad_saves = [str(outside / "abs"), str(outside / "abs.toml"), "../outside/dots", "../../dots2",
                 "sub/../../outside/mixed", "link", "link.toml", "/"]
    bad_loads = [str(outside / "foreign.toml"), "../outside/foreign", "../outside/foreign.toml"]
    good = ["mine", "sub/nested", str(presets / "absolute_inside.toml")]
    try:
        def send(address: str, value: str) -> None:
            subprocess.run([oscsend, "127.0.0.1", str(server.port), address, "s", value], check=True, timeout=10)

        caplog.set_level("WARNING", logger="vjgan.core.registry")
        for text in bad_saves:
            send("/vjgan/preset/save", text)
        for text in bad_loads:
            send("/vjgan/preset/load", text)
        for text in good:
            send("/vjgan/preset/save", text)
        total = len(bad_saves) + len(bad_loads) + len(good)
        deadline = time.monotonic() + 10
        while queue.stats.applied + queue.stats.rejected < total and time.monotonic() < deadline:
            queue.drain()
            time.sleep(0.01)
        assert (queue.stats.applied, queue.stats.rejected) == (len(good), len(bad_saves) + len(bad_loads))
        refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert len(refusals) == len(bad_saves) + len(bad_loads)
        assert all("osc:127.0.0.1" in line for line in refusals), refusals
        assert sum("is outside" in line for line in refusals) == len(refusals) - 1  # all but "/" (not a file)
        assert sorted(p.name for p in outside.iterdir()) == ["foreign.toml"]  # nothing written outside
        assert not list(tmp_path.glob("*.toml")) and not list(tmp_path.parent.glob("dots2*"))
        assert (presets / "mine.toml").is_file() and (presets / "sub" / "nested.toml").is_file()
        assert (presets / "absolute_inside.toml").is_file()
        for t in range(30):  # the refused loads never reached the loader
            eng.step(Features(), now=t * 0.01)
            time.sleep(0.01)
        assert eng.preset.name == "good"
    finally:
        server.stop()
        eng.stop_loader()
