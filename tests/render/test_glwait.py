"""Software GL waits without the GIL (render/glwait.py), on real Mesa llvmpipe through EGL."""

from __future__ import annotations

import ctypes

import moderngl
import numpy as np
import pytest

from vjgan.render.glwait import gil_free_wait
from vjgan.render.postfx import FrameInputs, PostFXChain


@pytest.fixture(scope="module")
def ctx() -> moderngl.Context:
    ctx = moderngl.create_standalone_context(backend="egl")
    yield ctx
    ctx.release()


def _source(ctx: moderngl.Context) -> moderngl.Texture:
    rng = np.random.default_rng(0)
    return ctx.texture((96, 54), 4, data=rng.integers(0, 256, (54, 96, 4), np.uint8).tobytes())


def test_on_llvmpipe_the_chain_waits_in_gl_finish_without_the_gil(ctx: moderngl.Context) -> None:
    """The wait is libGL's glFinish called through ctypes.CDLL, which releases the GIL during the call (a
    PyDLL function would keep it), once after every pass. How much that lets other threads run is a
    timing, measured in scripts/bench_render_offline.py, not asserted here."""
    assert "llvmpipe" in ctx.info["GL_RENDERER"].lower()  # what CI and this machine render with
    wait = gil_free_wait(ctx)
    assert getattr(wait, "__name__", "") == "glFinish"  # the ctypes function, not the no-op
    assert not wait._flags_ & ctypes._FUNCFLAG_PYTHONAPI  # CDLL: GIL released
    chain = PostFXChain(ctx, (192, 108))
    assert getattr(chain._wait, "__name__", "") != "glFinish"  # live: off (the loop's own work overlaps GL)
    chain.gil_free_waits()  # what the offline render turns on
    assert getattr(chain._wait, "__name__", "") == "glFinish"
    calls: list[int] = []
    chain._wait = lambda: (calls.append(1), wait())
    chain.set_enabled("vignette", True)
    chain.render(_source(ctx), None, 1.0, FrameInputs(onset=1.0))
    common = {"u_onset": 1.0, "u_rms": 0.0, "u_beat_phase": 0.0}
    effects = [chain.effects[n] for n in chain.order]
    passes = 1 + sum(1 for e in effects if e.enabled and not (e.bypass and chain._bypassed(e, common)))
    assert passes >= 2  # the source pass and at least one effect
    assert len(calls) == passes + 1  # each pass, and the history copy
    chain.release()


def test_the_waits_do_not_change_the_pixels(ctx: moderngl.Context) -> None:
    src = _source(ctx)
    out = []
    for waits in (True, False):
        chain = PostFXChain(ctx, (320, 180))
        chain.gil_free_waits(waits)
        chain.render(src, None, 1.0, FrameInputs(onset=1.0, rms=0.5))
        out.append(chain.read().copy())
        chain.release()
    assert (out[0] == out[1]).all()
