"""The panel's PCA explorer on a running app: GANSpace of the real default model computed off the
render thread, then an OSC message (a real liblo client) to the mapping target latent.pca.0 moves the
latent along component 0."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from tests.app.test_headless import click_track
from tests.conftest import require_tool
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.control.peers import free_udp_port, oscsend
from vjgan.mapping.ganspace import ganspace
from vjgan.mapping.pca import PCA_SAMPLES, PCA_SEED
from vjgan.mapping.targets import PCA_COMPONENTS as PCA_K
from vjgan.models.runner import GeneratorThread


def _frame_for(app: LiveApp, seq: int, timeout: float = 10.0) -> np.ndarray:
    """The generated frame made from params `seq` (the generator thread drops stale params)."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        f = app.gen_thread.latest()
        if f is not None and f.seq >= seq:
            assert f.seq == seq, "the loop submitted newer params meanwhile"
            return f.image.cpu().numpy().astype(np.float32)
        time.sleep(0.005)
    raise AssertionError(f"no frame for params {seq} within {timeout} s")


def test_pca_sliders_move_the_latent_along_the_components(tmp_path: Path, pulse_server: str) -> None:
    require_tool("oscsend")
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=3.0)
    preset = tmp_path / "pca.toml"  # no other latent edits: the offset is the PCA's alone
    preset.write_text('[latents]\nseeds = [7]\n[[routes]]\nsource = "rms"\ntarget = "shader.color.saturation"\n')
    app = LiveApp(LiveConfig(audio=str(audio), model=None, preset=str(preset), headless=True, size=(64, 36),
                             fps=30.0, panel=False, osc_port=free_udp_port()))
    addresses = {p.address for p in app.registry.params()}
    assert {f"/vjgan/target/latent.pca.{i}" for i in range(PCA_K)} | {"/vjgan/app/pca/compute"} <= addresses
    app.start()
    try:
        app.step()
        app.queue.set("/vjgan/app/pca/compute", 1)
        pca = app.mapping.pca
        t0 = time.perf_counter()
        while pca.directions is None and time.perf_counter() - t0 < 30:
            app.step()  # the show goes on while the worker computes
            app._pace()
        assert pca.directions is not None, list(app.messages)
        assert any("PCA explorer: 8 directions" in m for m in app.messages)
        assert pca.directions.shape == (PCA_K, app.generator.num_ws, app.generator.w_dim)
        gs = ganspace(app.generator, k=PCA_K, n_samples=PCA_SAMPLES, seed=PCA_SEED, batch=500)  # same axes
        d0 = gs.latent_direction(0, app.generator.num_ws)
        np.testing.assert_allclose(pca.directions[0], d0, rtol=1e-5, atol=1e-6)

        oscsend(app.osc.port, "/vjgan/target/latent.pca.0", 0.0)
        assert app.osc.wait_posted(1, timeout=5.0), app.osc.stats
        app.step()
        assert app._last_params.latent_offset is None  # amount 0: nothing added

        oscsend(app.osc.port, "/vjgan/target/latent.pca.0", 3.0)
        assert app.osc.wait_posted(2, timeout=5.0), app.osc.stats
        app.step()
        params = app._last_params
        mapped = params.generator
        assert app.mapping.target_values()["latent.pca.0"] == 3.0
        np.testing.assert_allclose(params.latent_offset, 3.0 * d0, rtol=1e-4, atol=1e-5)
        without_pca = mapped.latent - params.latent_offset
        shown = _frame_for(app, mapped.seq)
    finally:
        app.stop()

    # the generator's own renders (thread stopped): the shown frame is the moved latent's, not the mapped one's
    # the same model rendered here (the app's generator runs in its own process): same code, same pixels
    ref = GeneratorThread(app.generator)
    with_pca = ref.render(replace(mapped, seq=10**6)).image.cpu().numpy()
    without = ref.render(replace(mapped, latent=without_pca.astype(np.float32), seq=10**6 + 1))
    without = without.image.cpu().numpy().astype(np.float32)
    np.testing.assert_array_equal(shown, with_pca.astype(np.float32))
    assert np.abs(shown - without).mean() > 2.0  # 3 σ along the main component is a visible change
