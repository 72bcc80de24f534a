"""The post-FX chain on real Mesa (EGL): known input → expected pixels, hot reload, broken shaders."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import moderngl
import numpy as np
import pytest
import torch

from vjgan.core.effects import available_effects
from vjgan.core.frame import GeneratedFrame, ShaderParams
from vjgan.core.paths import SHADERS_DIR
from vjgan.core.registry import ControlQueue, ParamRegistry
from vjgan.render.postfx import FrameInputs, PostFXChain
from vjgan.render.upload import FrameUploader

W, H = 64, 32


@pytest.fixture(scope="module")
def ctx() -> moderngl.Context:
    ctx = moderngl.create_standalone_context(backend="egl")
    yield ctx
    ctx.release()


@pytest.fixture()
def shaders(tmp_path: Path) -> Path:
    """A private copy of the shipped shaders, so tests can edit and break files."""
    d = tmp_path / "shaders"
    shutil.copytree(SHADERS_DIR, d)
    return d


def red_blue() -> GeneratedFrame:
    """Left half pure red, right half pure blue, top row first."""
    img = np.zeros((H, W, 4), np.uint8)
    img[:, : W // 2, 0] = 255
    img[:, W // 2 :, 2] = 255
    img[..., 3] = 255
    return GeneratedFrame(torch.from_numpy(img), seq=1, time=0.0, gen_ms=0.0, wall=0.0)


def only(chain: PostFXChain, *names: str) -> None:
    for n, e in chain.effects.items():
        e.enabled = n in names


def render(chain: PostFXChain, up: FrameUploader) -> np.ndarray:
    chain.render(up.current)
    return chain.read().astype(int)


def test_shipped_effects_compile_and_declare_params(ctx: moderngl.Context) -> None:
    chain = PostFXChain(ctx, (W, H))
    assert chain.errors == {}
    needed = {"feedback", "mirror", "color", "chromatic", "strobe", "vignette"}
    assert needed <= set(chain.order)
    effects = available_effects()
    assert effects["color"]["hue"].maximum == 1.0 and effects["feedback"]["amount"].default == 0.0


def test_known_input_gives_expected_pixels(ctx: moderngl.Context, shaders: Path) -> None:
    chain = PostFXChain(ctx, (W, H), shaders)
    up = FrameUploader(ctx)
    up.upload(red_blue())
    only(chain)
    out = render(chain, up)
    assert (out[:, : W // 2] == [255, 0, 0]).all() and (out[:, W // 2 :] == [0, 0, 255]).all()

    only(chain, "color")
    chain.set_param("color", "invert", 1.0)
    out = render(chain, up)
    assert (out[:, : W // 2] == [0, 255, 255]).all() and (out[:, W // 2 :] == [255, 255, 0]).all()

    chain.set_param("color", "invert", 0.0)
    chain.set_param("color", "hue", 1 / 3)  # red → green, blue → red
    out = render(chain, up)
    assert np.abs(out[H // 2, 4] - [0, 255, 0]).max() <= 2
    assert np.abs(out[H // 2, W - 4] - [255, 0, 0]).max() <= 2

    only(chain, "mirror")
    chain.set_param("mirror", "mode", 1)  # left half onto the right
    out = render(chain, up)
    assert (out[:, 2:-2] == [255, 0, 0]).all()

    only(chain, "vignette")
    out = render(chain, up)
    assert out[H // 2, 8, 0] > out[0, 0, 0]  # corners darker than the middle


def test_mapping_values_override_and_strobe_follows_onset(ctx: moderngl.Context, shaders: Path) -> None:
    chain = PostFXChain(ctx, (W, H), shaders)
    up = FrameUploader(ctx)
    up.upload(red_blue())
    only(chain, "strobe", "color")
    chain.set_uniforms(ShaderParams({"color": {"invert": 1.0}}))
    chain.render(up.current, inputs=FrameInputs(onset=0.0))
    assert (chain.read()[:, 0] == [0, 255, 255]).all()
    chain.set_param("strobe", "amount", 1.0)
    chain.render(up.current, inputs=FrameInputs(onset=1.0))
    assert (chain.read() == 255).all()  # full flash on a full-strength onset


def test_feedback_keeps_trails(ctx: moderngl.Context, shaders: Path) -> None:
    chain = PostFXChain(ctx, (W, H), shaders)
    up = FrameUploader(ctx)
    only(chain, "feedback")
    chain.set_param("feedback", "amount", 0.9)
    chain.set_param("feedback", "zoom", 1.0)
    up.upload(red_blue())
    chain.render(up.current)
    black = np.zeros((H, W, 4), np.uint8)
    up.upload(GeneratedFrame(torch.from_numpy(black), seq=2, time=0, gen_ms=0, wall=0))
    chain.render(up.current)
    out = chain.read().astype(int)
    assert 200 < out[H // 2, 4, 0] < 240  # the red half fades (×0.9) instead of vanishing


def test_broken_shader_is_reported_and_last_good_keeps_running(ctx: moderngl.Context, shaders: Path) -> None:
    chain = PostFXChain(ctx, (W, H), shaders)
    up = FrameUploader(ctx)
    up.upload(red_blue())
    only(chain, "color")
    chain.set_param("color", "invert", 1.0)
    good = render(chain, up)
    path = shaders / "color.frag"
    path.write_text(path.read_text().replace("f_color = vec4(clamp", "f_color = vec4(clamp_typo"))
    os.utime(path, (time.time() + 1, time.time() + 1))
    assert "color" in chain.poll(force=True)
    assert "color" in chain.errors and "clamp_typo" in chain.errors["color"]
    assert (render(chain, up) == good).all()  # still inverting with the last good program

    path.write_text(path.read_text().replace("clamp_typo", "clamp").replace("1.0 - rgb, invert", "rgb, invert"))
    os.utime(path, (time.time() + 2, time.time() + 2))
    chain.poll(force=True)
    assert chain.errors == {} and chain.reloads == 1
    assert (render(chain, up)[:, 0] == [255, 0, 0]).all()  # the fixed file (invert disabled) runs


def test_hot_reload_new_and_changed_files(ctx: moderngl.Context, shaders: Path) -> None:
    chain = PostFXChain(ctx, (W, H), shaders, poll_interval=0.0)
    up = FrameUploader(ctx)
    up.upload(red_blue())
    only(chain)
    (shaders / "zz_green.frag").write_text(
        "#version 330\nin vec2 v_uv;\nout vec4 f_color;\nuniform sampler2D u_input;\n"
        "uniform float level; // @param 0 1 1 green level\n"
        "void main() { f_color = vec4(0.0, level, 0.0, 1.0); }\n"
    )
    assert "zz_green" in chain.poll()
    assert chain.order[-1] == "zz_green" and chain.effects["zz_green"].enabled
    assert (render(chain, up) == [0, 255, 0]).all()
    reg = ParamRegistry()
    chain.register(reg)
    q = ControlQueue(reg)
    q.set("/vjgan/shader/zz_green/level", 0.5, origin="test")
    q.drain()
    assert abs(render(chain, up)[0, 0, 1] - 128) <= 1
    (shaders / "zz_green.frag").unlink()
    assert "zz_green" in chain.poll()
    assert (render(chain, up)[:, 0] == [255, 0, 0]).all()


def test_pbo_upload_roundtrip_and_crossfade(ctx: moderngl.Context, shaders: Path) -> None:
    chain = PostFXChain(ctx, (W, H), shaders)
    only(chain)
    up = FrameUploader(ctx)
    rng = np.random.default_rng(0)
    imgs = []
    for seq in range(1, 4):
        img = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
        imgs.append(img)
        assert up.upload(GeneratedFrame(torch.from_numpy(img), seq=seq, time=0, gen_ms=0, wall=0))
        chain.render(up.current)
        assert (chain.read() == img[..., :3]).all()
    assert not up.upload(GeneratedFrame(torch.from_numpy(imgs[-1]), seq=3, time=0, gen_ms=0, wall=0))
    chain.render(up.previous, up.current, 0.5)
    half = (imgs[1][..., :3].astype(int) + imgs[2][..., :3]) / 2
    assert np.abs(chain.read() - half).max() <= 1.5


def test_watcher_reads_files_off_the_render_thread(ctx: moderngl.Context, shaders: Path) -> None:
    """A shader file that blocks on read (a FIFO with no writer yet) stalls only the watcher thread: the
    render thread's poll() returns without it, and compiles it once the watcher has read it."""
    import threading

    chain = PostFXChain(ctx, (W, H), shaders, poll_interval=0.01)
    chain.watch()
    try:
        fifo = shaders / "zz_slow.frag"
        os.mkfifo(fifo)
        polled = threading.Event()

        def writer() -> None:
            polled.wait(2.0)  # old code: poll() itself blocks in the read, this opens it after 2 s
            with open(fifo, "w") as f:
                f.write("#version 330\nin vec2 v_uv;\nout vec4 f_color;\nuniform sampler2D u_input;\n"
                        "void main() { f_color = vec4(0.0, 1.0, 0.0, 1.0); }\n")

        threading.Thread(target=writer, daemon=True).start()
        time.sleep(0.1)  # the watcher has found the FIFO and waits in its read
        assert "zz_slow" not in chain.poll() and "zz_slow" not in chain.effects
        polled.set()
        end = time.monotonic() + 10
        while "zz_slow" not in chain.effects and time.monotonic() < end:
            chain.poll()
            time.sleep(0.01)
        assert chain.effects["zz_slow"].program is not None and chain.order[-1] == "zz_slow"
    finally:
        chain.release()


def test_the_source_pass_magnifies_edges_crisply_without_halos(ctx: moderngl.Context, shaders: Path) -> None:
    """A 16-px-wide frame with a hard black/white edge, magnified 8×: Lanczos-2 (the default) makes the
    edge's steepest step steeper than bilinear's even ramp (`plain`, what --no-fx uses) and, thanks to its
    clamp, never over- or undershoots (no ringing halo); both keep the flat areas exact."""
    from vjgan.render.upload import FrameUploader

    img = np.zeros((8, 16, 4), np.uint8)
    img[:, 8:, :3] = 255
    img[..., 3] = 255
    up = FrameUploader(ctx)
    up.upload(GeneratedFrame(torch.from_numpy(img), seq=1, time=0.0, gen_ms=0.0, wall=0.0))
    chain = PostFXChain(ctx, (128, 64), shaders)
    only(chain)
    rows = {}
    for plain in (False, True):
        chain.plain = plain
        rows[plain] = render(chain, up)[32, :, 0]
    for row in rows.values():
        assert row.min() >= 0 and row.max() <= 255
        assert (row[:40] == 0).all() and (row[-40:] == 255).all()

    lanczos, bilinear = (int(np.diff(rows[p]).max()) for p in (False, True))
    assert lanczos >= bilinear + 3, (rows[False][56:72], rows[True][56:72])
