"""Model mixing live: `vjgan live --mix-model B`, then an OSC message (a real liblo client) to the
mapping target model.mix blends the running generator process's weights toward B between frames."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.app.test_headless import click_track
from tests.app.test_pca_live import _frame_for
from tests.conftest import require_tool
from tests.models.test_mixing import _variant
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.control.peers import free_udp_port, oscsend
from vjgan.core.errors import UserError
from vjgan.models.default import load_default_generator
from vjgan.models.loaders import load_generator
from vjgan.models.runner import GeneratorThread


def _config(tmp_path: Path, mix_model: str) -> LiveConfig:
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=3.0)
    preset = tmp_path / "one.toml"
    preset.write_text('[latents]\nseeds = [7]\n[[routes]]\nsource = "rms"\ntarget = "shader.color.saturation"\n')
    return LiveConfig(audio=str(audio), model=None, preset=str(preset), headless=True, size=(64, 36), fps=30.0,
                      panel=False, osc_port=free_udp_port(), mix_model=mix_model)  # fmt: skip


def test_osc_moves_the_running_model_toward_the_mix_model(tmp_path: Path, pulse_server: str) -> None:
    require_tool("oscsend")
    b_path = _variant(tmp_path)
    app = LiveApp(_config(tmp_path, str(b_path)))
    assert "/vjgan/target/model.mix" in {p.address for p in app.registry.params()}
    app.start()
    shown = {}
    try:
        for n, value in enumerate((1.0, 0.0), start=1):
            oscsend(app.osc.port, "/vjgan/target/model.mix", value)
            assert app.osc.wait_posted(n, timeout=5.0), app.osc.stats
            app.step()
            mapped = app._last_params.generator
            assert mapped.model_mix == value
            shown[value] = (mapped, _frame_for(app, mapped.seq, timeout=30.0))
    finally:
        app.stop()
    # the same params rendered here by each model on its own: 1 shows B, 0 shows the default model again
    for value, model in ((1.0, load_generator(b_path)), (0.0, load_default_generator())):
        mapped, frame = shown[value]
        ref = GeneratorThread(model).render(replace(mapped, model_mix=0.0, seq=10**6)).image.cpu().numpy()
        assert np.abs(frame - ref.astype(np.float32)).max() <= 2, value  # B up to float rounding; A exactly
    assert np.abs(shown[1.0][1] - shown[0.0][1]).mean() > 2.0  # a visible change


def test_a_wrong_mix_model_fails_the_start_with_a_clear_error(tmp_path: Path, pulse_server: str) -> None:
    with pytest.raises(UserError, match="nope.safetensors"):
        LiveApp(_config(tmp_path, str(tmp_path / "nope.safetensors")))
