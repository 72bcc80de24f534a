"""The mapping engine steered by a real OSC client (liblo's oscsend) through the real OscServer."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.mapping.test_presets import GOOD, write
from vjgan.audio.features import Features
from vjgan.control.registry import ControlQueue, ParamRegistry
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
