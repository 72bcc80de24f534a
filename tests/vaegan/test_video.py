"""Video sources on a real video file written with PyAV, a missing camera, and the encoder path."""

from __future__ import annotations

import copy
import logging
import time
from functools import partial

import av
import numpy as np
import pytest
import torch

from tests import conftest
from vjgan.core.errors import UserError
from vjgan.core.frame import GeneratorParams
from vjgan.models.frame_encoder import FrameEncoderThread, encode_frame
from vjgan.models.runner import GeneratorThread
from vjgan.video.source import CameraSource, FileVideoSource, VideoInput

N_FRAMES, FPS, W, H = 24, 24, 64, 48


def frame_colour(i: int) -> tuple[int, int, int]:
    return (10 * i % 256, 255 - 10 * i % 256, 128)


@pytest.fixture(scope="module")
def video_file(tmp_path_factory):
    """A 1 s H.264 clip whose frame i is a flat colour frame_colour(i), so a decoded frame tells its index."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": "10", "preset": "veryfast"}
        for i in range(N_FRAMES):
            img = np.empty((H, W, 3), np.uint8)
            img[:] = frame_colour(i)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


wait_for = partial(conftest.wait_for, timeout=10.0)


def test_file_source_decodes_paces_and_loops(video_file):
    src = FileVideoSource(video_file, loop=True, realtime=True)
    assert (src.width, src.height) == (W, H) and src.fps == pytest.approx(FPS)
    src.start()
    try:
        assert wait_for(lambda: src.latest() is not None)
        t0, n0 = time.perf_counter(), src.frames
        f = src.latest()
        assert f.image.shape == (H, W, 3) and f.image.dtype == np.uint8
        i = round(f.time * FPS)
        assert np.abs(f.image.astype(int).mean((0, 1)) - frame_colour(i)).max() < 12
        assert wait_for(lambda: src.frames >= N_FRAMES + 6, timeout=20)  # it came round the loop
        rate = (src.frames - n0) / (time.perf_counter() - t0)
        assert rate < 3 * FPS  # paced to the file's frame rate, not decoded flat out
        assert src.latest().seq == src.frames - 1  # latest wins: the newest frame is what consumers see
    finally:
        src.stop()
    assert not src.alive and src.error is None


def test_missing_camera_is_a_clear_error():
    with pytest.raises(UserError, match=r"camera /dev/video97 not found .*cable and permissions"):
        CameraSource(97)


def test_missing_camera_keeps_the_show_on_the_last_source(video_file, caplog):
    vin = VideoInput(str(video_file))
    try:
        assert wait_for(lambda: vin.latest() is not None)
        with caplog.at_level(logging.ERROR):
            assert vin.select("camera:97") is False
        assert "camera /dev/video97 not found" in caplog.text and "staying on" in caplog.text
        assert vin.spec == str(video_file) and "not found" in vin.last_error
        n = vin.source.frames
        assert wait_for(lambda: vin.source.frames > n + 3)  # the file keeps playing
        assert vin.select("/nonexistent/clip.mp4") is False
        assert vin.spec == str(video_file)
    finally:
        vin.stop()


def test_without_any_source_the_show_gets_black():
    vin = VideoInput("camera:97")
    try:
        f = vin.latest()
        assert vin.spec == "black" and f is not None and f.image.max() == 0
    finally:
        vin.stop()


class UnpluggedAfter(FileVideoSource):
    """A file source whose device "disappears" after a few frames, as an unplugged camera does (no camera
    can be unplugged on the test machine, so the failure is raised where PyAV would raise it)."""

    def __init__(self, path, frames: int) -> None:
        super().__init__(path, loop=True, realtime=True)
        self.limit = frames

    def _publish(self, image, t):
        if self.frames >= self.limit:
            raise OSError(5, "Input/output error: device disconnected")
        super()._publish(image, t)


def test_a_dying_source_falls_back_to_the_previous_one(video_file, caplog):
    vin = VideoInput(str(video_file))
    try:
        assert wait_for(lambda: vin.latest() is not None)
        vin.use(UnpluggedAfter(video_file, 5), "camera:0")
        assert wait_for(lambda: not vin.source.alive)
        with caplog.at_level(logging.ERROR):
            last = vin.latest()  # the dead source's last frame still shows this once
        assert last is not None and last.seq == 4
        assert "device disconnected" in caplog.text and "falling back to " + str(video_file) in caplog.text
        assert vin.spec == str(video_file)
        n = vin.source.frames
        assert wait_for(lambda: vin.source.frames > n + 2)  # the previous source is playing again
    finally:
        vin.stop()


@pytest.fixture(scope="module")
def shapes_clip(trained, tmp_path_factory):
    """An H.264 clip of the held-out shapes images (2× up, 64²): frames with content for the encoder path."""
    path = tmp_path_factory.mktemp("video") / "shapes.mp4"
    frames = trained.held_images[:N_FRAMES].repeat(2, axis=1).repeat(2, axis=2)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": "10", "preset": "veryfast"}
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_encoder_path_turns_frames_into_renderable_latents(shapes_clip, trained):
    m = trained.model
    one = encode_frame(m, np.full((H, W, 3), 90, np.uint8))
    assert one.shape == (m.num_ws, m.w_dim) and one.dtype == np.float32
    vin = VideoInput(str(shapes_clip))
    enc = FrameEncoderThread(vin, m).start()
    try:
        assert wait_for(lambda: enc.encoded >= 5, timeout=20)
        e = enc.latest()
        assert e.latent.shape == (m.num_ws, m.w_dim) and np.isfinite(e.latent).all() and e.encode_ms > 0
        # the generator thread renders it, with bending and noise from the same params as for StyleGAN2
        runner = GeneratorThread(copy.deepcopy(m))
        try:
            # zero half of the last layer's channels: that changes the picture whatever the frame, unlike a
            # bend that only moves or mirrors structure (an `invert` of a flat map is the same map);
            # the noise is the same in both renders, so the bend is all that differs
            quiet = {"b32.conv1": 0.0}
            plain = runner.render(GeneratorParams(latent=e.latent, seq=1, noise_strength=quiet))
            bent = runner.render(GeneratorParams(latent=e.latent, seq=2, bends={"b32.conv1": {"ablate": 0.5}},
                                                 noise_strength=quiet))
        finally:
            runner.bender.remove()
        r = m.img_resolution
        assert plain.image.shape == (r, r, 4) and plain.image.dtype == torch.uint8
        assert (plain.image.float() - bent.image.float()).abs().mean() > 1.0
    finally:
        enc.stop()
        vin.stop()
    assert enc.errors == 0


class _Still:
    """A source that always shows the same frame (a camera pointed at a still scene)."""

    def __init__(self, image: np.ndarray) -> None:
        from vjgan.video.source import VideoFrame

        self.frame = VideoFrame(image, 1, 0.0, time.perf_counter())

    def latest(self):
        return self.frame


def test_encoder_bends_from_the_mapping_reach_the_encoder_thread():
    """`GeneratorParams.encoder_bends` → FrameEncoderThread.set_bends: the still frame is re-encoded bent,
    exactly as encoding the mirrored image (fromrgb is 1×1), and neutral bends give the plain latent back."""
    from tests.vaegan.conftest import tiny_config
    from vjgan.models.vaegan import VaeGan

    torch.manual_seed(0)
    model = VaeGan(tiny_config()).eval()
    with torch.no_grad():
        for p in model.latent_map.parameters():
            p.normal_(0, 0.2)
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    plain = encode_frame(model, image)
    mirrored = encode_frame(model, image[:, ::-1].copy())
    enc = FrameEncoderThread(_Still(image), model).start()
    try:
        assert wait_for(lambda: enc.latest() is not None)
        np.testing.assert_array_equal(enc.latest().latent, plain)
        enc.set_bends({"enc.fromrgb": {"flip_x": 1.0}})
        assert wait_for(lambda: not np.array_equal(enc.latest().latent, plain))
        np.testing.assert_allclose(enc.latest().latent, mirrored, atol=1e-5, rtol=1e-4)
        enc.set_bends({})  # the hooks stay (nothing re-registered per frame) and compute the identity
        assert wait_for(lambda: np.allclose(enc.latest().latent, plain, atol=1e-5, rtol=1e-4))
        enc.set_bends({"enc.nope": {"zoom": 2.0}})  # unknown layer: counted and logged, the show goes on
        assert wait_for(lambda: enc.errors > 0)
        assert enc.latest() is not None
    finally:
        enc.stop()
