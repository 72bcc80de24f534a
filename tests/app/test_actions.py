"""Panel/OSC actions of the app (group "app") applied through the real ControlQueue on a headless loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import vjgan.app.live as live
from tests.app.test_headless import click_track
from vjgan.app.live import LiveApp, LiveConfig


@pytest.fixture()
def app(tmp_path: Path, pulse_server: str, monkeypatch: pytest.MonkeyPatch) -> LiveApp:
    monkeypatch.setattr(live, "PRESETS_DIR", tmp_path)  # prototypes are written here
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=3.0)
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(64, 36), fps=30.0,
                             panel=False))
    app.start()
    yield app
    app.stop()


def settle(app: LiveApp, timeout: float = 20.0) -> int:
    """Step the loop until the worker's results are all applied; returns the frames it took."""
    import time

    end, frames = time.perf_counter() + timeout, 0
    app.step()
    frames += 1
    while app.worker.pending and time.perf_counter() < end:
        time.sleep(0.005)
        app.step()
        frames += 1
    assert not app.worker.pending, "worker did not finish"
    return frames


def test_route_seed_and_prototype_actions(app: LiveApp, tmp_path: Path) -> None:
    routes = len(app.mapping.cur.routes)
    app.queue.set("/vjgan/app/route/add", "onset -> shader.color.invert")
    settle(app)
    assert len(app.mapping.cur.routes) == routes + 1
    assert app.mapping.cur.routes[-1].spec.target == "shader.color.invert"
    assert f"/vjgan/route/{routes}/gain" in {p.address for p in app.registry.params()}

    rejected = app.queue.stats.rejected
    app.queue.set("/vjgan/app/route/add", "no arrow here")
    app.queue.set("/vjgan/app/route/add", "onset -> no.such.target")
    app.queue.set("/vjgan/app/route/remove", 999)
    settle(app)
    assert app.queue.stats.rejected == rejected + 3 and len(app.mapping.cur.routes) == routes + 1

    app.queue.set("/vjgan/app/route/remove", routes)
    settle(app)
    assert len(app.mapping.cur.routes) == routes

    app.queue.set("/vjgan/app/latent/seeds", ",".join(str(s) for s in range(12)))
    settle(app)
    assert app.mapping.preset.latents.seeds == tuple(range(12))

    app.queue.set("/vjgan/app/latent/save_prototype", "bright")
    settle(app)
    saved = np.load(tmp_path / "prototypes" / "bright.npy")
    assert saved.shape == (app.generator.num_ws, app.generator.w_dim)
    app.queue.set("/vjgan/app/latent/save_prototype", "../escape")
    settle(app)
    assert not (tmp_path / "escape.npy").exists()

    # interpolation: set B = the saved prototype, then the latent.section fader morphs every latent to it
    app.queue.set("/vjgan/target/latent.walk_amount", 0.0)
    app.queue.set("/vjgan/app/latent/morph_to", "bright")
    app.queue.set("/vjgan/target/latent.section", 1.0)
    settle(app)
    assert app.mapping.preset.latents.file_b.name == "bright.npy"
    params = app._last_params
    edits = params.latent_offset if params.latent_offset is not None else 0.0
    np.testing.assert_allclose(params.generator.latent - edits, saved, atol=1e-5)
    app.queue.set("/vjgan/app/latent/morph_to", "7")  # one seed: every latent of set A morphs to w(7)
    settle(app)
    params = app._last_params
    edits = params.latent_offset if params.latent_offset is not None else 0.0
    w7 = app.generator.seeds_to_ws([7], app.mapping.preset.latents.psi)[0]
    np.testing.assert_allclose(params.generator.latent - edits, w7, atol=1e-5)
    rejected = app.queue.stats.rejected
    app.queue.set("/vjgan/app/latent/morph_to", "no-such-prototype")
    settle(app)
    assert app.queue.stats.rejected == rejected + 1

    app.queue.set("/vjgan/shader/color/enabled", 0)
    app.queue.set("/vjgan/app/crossfade_ms", 5000)  # clamped to 1000
    settle(app)
    assert not app.chain.effects["color"].enabled and app.crossfade_ms == 1000


def test_encode_images_into_a_prototype(tmp_path: Path, pulse_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A (small, untrained) VAE-GAN saved and loaded through the real loaders; the app encodes a folder."""
    import time

    from PIL import Image

    from vjgan.models.vaegan import VaeGan, VaeGanConfig, save_vaegan

    monkeypatch.setattr(live, "PRESETS_DIR", tmp_path)
    model = save_vaegan(VaeGan(VaeGanConfig(resolution=32, z_dim=16, w_dim=16, vae_dim=8, channel_base=256,
                                            channel_max=32, mapping_layers=2)), tmp_path / "tiny_vaegan")
    images, outside = tmp_path / "images", tmp_path / "outside"
    images.mkdir(), outside.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(images / f"{i}.png")
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(outside / f"{i}.png")
    linked = tmp_path / "linked"  # a folder of links into `outside`
    linked.mkdir()
    (linked / "0.png").symlink_to(outside / "0.png")
    app = LiveApp(LiveConfig(audio=None, model=str(model), headless=True, size=(64, 36), fps=30.0, panel=False,
                             video="black", media_dirs=[images, linked]))
    app.start()
    try:
        app.queue.set("/vjgan/app/latent/encode_prototype", f"noise={images}")
        app.queue.set("/vjgan/app/latent/encode_prototype", f"bad={images / 'nothing_here'}")
        # outside the media folders: an absolute path, a .. escape, links that lead out; a video file elsewhere
        app.queue.set("/vjgan/app/latent/encode_prototype", f"abs={outside}")
        app.queue.set("/vjgan/app/latent/encode_prototype", "dots=../outside")
        app.queue.set("/vjgan/app/latent/encode_prototype", f"link={linked}")
        app.queue.set("/vjgan/app/video/source", str(outside / "0.png"))
        end = time.perf_counter() + 20
        out = tmp_path / "prototypes" / "noise.npy"
        while not out.exists() and time.perf_counter() < end:
            app.step()  # the loop keeps running while the worker encodes
            app._pace()
        assert out.exists() and app.queue.stats.rejected == 5
        assert np.load(out).shape == (app.generator.num_ws, app.generator.w_dim)
        assert sorted(p.name for p in out.parent.iterdir()) == ["noise.npy"] and app.video.spec == "black"
        assert sum("is outside" in m for m in app.messages) == 4, list(app.messages)
    finally:
        app.stop()
