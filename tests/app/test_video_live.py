"""`vjgan live --video`: a VAE-GAN re-renders a video file; a missing camera is a note, not the end of the show."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from vjgan.app.live import LiveApp, LiveConfig
from vjgan.core.errors import UserError


@pytest.fixture(scope="module")
def tiny_vaegan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vjgan.models.vaegan import VaeGan, VaeGanConfig, save_vaegan

    tmp = tmp_path_factory.mktemp("vaegan")
    return save_vaegan(VaeGan(VaeGanConfig(resolution=32, z_dim=16, w_dim=16, vae_dim=8, channel_base=256,
                                           channel_max=32, mapping_layers=2)), tmp / "tiny_vaegan")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s H.264 clip whose colour changes every frame (written with PyAV, like a camera recording)."""
    import av

    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(60):
            img = np.zeros((48, 64, 3), np.uint8)
            img[..., 0], img[..., 1] = (i * 4) % 256, 255 - (i * 4) % 256
            img[10:30, (i % 40) : (i % 40) + 20, 2] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _run(app: LiveApp, seconds: float) -> list:
    used = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.step()
        offset = app._last_params.latent_offset  # the mapping's semantic edits apply to the video latent too
        used.append((app.video_used, np.array(app.last_latent), offset))  # what went to the generator
        app._pace()
    return used


def test_video_file_latents_drive_the_generator(tiny_vaegan: Path, clip: Path, pulse_server: str) -> None:
    app = LiveApp(LiveConfig(audio=None, model=str(tiny_vaegan), headless=True, size=(48, 27), fps=30.0,
                             panel=False, video=str(clip)))
    app.start()
    try:
        used = _run(app, 2.5)
        encoded = [(enc, lat, off) for enc, lat, off in used if enc is not None]
        assert len(encoded) > 10, f"{app.video_encoder.encoded} frames encoded"
        for enc, latent, offset in encoded:  # mix 1: the encoded latent (+ the mapping's edits) is the latent
            np.testing.assert_array_equal(latent, enc.latent if offset is None else enc.latent + offset)
        assert len({enc.seq for enc, _, _ in encoded}) > 3  # it follows the video, frame after frame
        frame = app.gen_thread.latest()
        image = frame.image.cpu().numpy() if hasattr(frame.image, "cpu") else np.asarray(frame.image)
        assert image.astype(np.float32).std() > 0  # the generator rendered the video latents

        # an encoder layer is a mapping target: its bend reaches the encoder thread, not the generator
        app.queue.set("/vjgan/target/bend.enc.fromrgb.flip_x", 1.0)
        _run(app, 0.2)
        assert app._last_params.generator.encoder_bends == {"enc.fromrgb": {"flip_x": 1.0}}
        assert "enc.fromrgb" not in app._last_params.generator.bends
        assert app.video_encoder._bends == {"enc.fromrgb": {"flip_x": 1.0}}

        app.queue.set("/vjgan/app/video/mix", 0.0)  # back to the mapping's latents
        after = _run(app, 0.3)[-1]
        assert not np.array_equal(after[1], after[0].latent)
    finally:
        app.stop()


def test_missing_camera_is_a_note_and_the_show_goes_on(tiny_vaegan: Path, pulse_server: str) -> None:
    app = LiveApp(LiveConfig(audio=None, model=str(tiny_vaegan), headless=True, size=(48, 27), fps=30.0,
                             panel=False, video="/dev/video97"))
    app.start()
    try:
        assert any("camera /dev/video97 not found" in m for m in app.messages)
        used = _run(app, 0.5)
        assert len(used) > 5 and all(enc is None for enc, _, _ in used)  # mapped latents, not black re-rendered
        assert app.stats.frames == len(used)
    finally:
        app.stop()


def test_video_needs_a_model_with_an_encoder(pulse_server: str) -> None:
    with pytest.raises(UserError, match="no image encoder"):
        LiveApp(LiveConfig(audio=None, model="procedural", headless=True, size=(48, 27), panel=False,
                           video="black"))


def test_switching_the_video_source_opens_it_on_the_worker(tiny_vaegan: Path, clip: Path,
                                                          pulse_server: str) -> None:
    """/vjgan/app/video/source: opening the file and stopping the old source run off the render thread."""
    import threading

    from tests.app.test_actions import settle

    app = LiveApp(LiveConfig(audio=None, model=str(tiny_vaegan), headless=True, size=(48, 27), fps=30.0,
                             panel=False, video="black", media_dirs=[clip.parent]))
    app.start()
    try:
        app.queue.set("/vjgan/app/video/source", str(clip))
        settle(app)
        assert app.video.spec == str(clip.resolve())
        done = [d for d in app.worker.history if d.job.name == "video/source"]
        assert done and done[-1].value is True and done[-1].thread != threading.get_ident()
        assert any("video: re-rendering" in m and "clip.mp4" in m for m in app.messages)
    finally:
        app.stop()
