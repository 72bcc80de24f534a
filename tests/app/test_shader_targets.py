"""A shader hot reload that adds a `@param` gives it a mapping target and an OSC address at once, not at the
next preset load (#15: shader parameters had two parsers and two lifetimes)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import vjgan.app.live as live
from tests.app.test_headless import click_track
from vjgan.app.live import LiveApp, LiveConfig

REPO = Path(__file__).resolve().parents[2]


def test_a_new_param_is_a_target_after_hot_reload(tmp_path: Path, pulse_server: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    shaders = tmp_path / "shaders"
    shutil.copytree(REPO / "shaders", shaders)
    click_track(tmp_path / "clicks.wav", seconds=3.0)
    monkeypatch.setattr(live, "PRESETS_DIR", tmp_path)
    app = LiveApp(LiveConfig(audio=str(tmp_path / "clicks.wav"), model="procedural", headless=True, size=(64, 36),
                             fps=30.0, panel=False, shaders_dir=shaders))
    address = "/vjgan/target/shader.vignette.tint"
    app.start()
    try:
        app.step()
        assert app.registry.get(address) is None
        source = (shaders / "vignette.frag").read_text()
        source = source.replace("uniform float radius;",
                                "uniform float tint; // @param 0 2 0 a new one\nuniform float radius;")
        source = source.replace("f_color = vec4(rgb * v, 1.0);", "f_color = vec4(rgb * v + vec3(0.01 * tint), 1.0);")
        (shaders / "vignette.frag").write_text(source)
        deadline = time.monotonic() + 20
        while app.registry.get(address) is None and time.monotonic() < deadline:
            app.step()
            time.sleep(0.02)
        assert app.registry.get(address) is not None, "the new @param got no address after the reload"
        app.queue.set(address, 1.25, origin="osc")
        for _ in range(3):
            app.step()
        assert app._last_params.shader.uniforms["vignette"]["tint"] == pytest.approx(1.25)
        assert app.chain.value("vignette", "tint") == pytest.approx(1.25)  # what the uniform gets
    finally:
        app.stop()
