"""OSC against the running app: a real liblo client steers a frame, features stream out, learn lives in presets."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.app.test_headless import click_track
from tests.conftest import require_tool
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.control.learn import Binding
from vjgan.control.peers import OscDump, free_udp_port, oscsend
from vjgan.mapping.presets import load_preset


@pytest.fixture()
def clicks(tmp_path: Path) -> Path:
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=3.0)
    return audio


def test_oscsend_is_applied_in_the_next_rendered_frame(clicks: Path, pulse_server: str) -> None:
    require_tool("oscsend"), require_tool("oscdump")
    in_port, out_port = free_udp_port(), free_udp_port()
    with OscDump(out_port) as dump:
        app = LiveApp(LiveConfig(audio=str(clicks), model="procedural", headless=True, size=(96, 54), fps=30.0,
                                 panel=False, osc_port=in_port, osc_out=[("127.0.0.1", out_port)]))
        app.start()
        try:
            for _ in range(3):
                app.step()
            assert app._last_params is not None
            assert app._last_params.shader.uniforms.get("color", {}).get("invert", 0.0) == 0.0
            before = app.chain.read().astype(np.float32)

            oscsend(app.osc.port, "/vjgan/target/shader.color.invert", 1.0)  # another process, liblo
            assert app.osc.wait_posted(1, timeout=5.0), app.osc.stats
            posted_at = app.osc.stats.last_posted_at
            frame_start = time.perf_counter()
            app.step()  # the first frame drained after the server posted the message
            assert frame_start > posted_at
            assert app._last_params.shader.uniforms["color"]["invert"] == pytest.approx(1.0)
            assert app.chain.value("color", "invert") == pytest.approx(1.0)
            after = app.chain.read().astype(np.float32)
            # the rendered pixels flipped (feedback keeps 20 % of the previous frame, so not exactly)
            assert np.abs(after - (255 - before)).mean() < np.abs(after - before).mean()

            # --osc-out: the feature stream reaches an independent receiver (oscdump)
            assert dump.wait_for(lambda ms: any(a == "/vjgan/out/rms" for a, _ in ms), timeout=5.0)
        finally:
            app.stop()


def test_learn_bindings_are_saved_in_and_loaded_from_presets(clicks: Path, tmp_path: Path,
                                                             pulse_server: str) -> None:
    app = LiveApp(LiveConfig(audio=str(clicks), model="procedural", headless=True, size=(64, 36), fps=30.0,
                             panel=False, osc_port=free_udp_port()))
    app.start()
    try:
        assert app.osc.learn is app.learn
        app.learn.arm("/vjgan/target/shader.color.invert")
        oscsend(app.osc.port, "/1/fader3", 0.25)  # a controller's own address: learned, then applied
        assert app.osc.wait_posted(1, timeout=5.0), app.osc.stats
        app.step()
        assert app.chain.value("color", "invert") == pytest.approx(0.25)

        saved = app.mapping.save(str(tmp_path / "with_osc.toml"))
        preset = load_preset(saved)
        assert preset.extra["osc"]["bindings"][0]["source"] == "/1/fader3"

        app.learn.unbind("/1/fader3")
        app.learn.bind(Binding("/2/other", "/vjgan/target/shader.color.hue"))
        app.mapping.load(preset)  # activating the preset replaces the bindings with the saved ones
        assert [b.source for b in app.learn.bindings()] == ["/1/fader3"]
    finally:
        app.stop()
