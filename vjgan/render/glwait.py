"""Wait for software GL with the GIL released.

moderngl keeps the GIL inside every GL call, and on Mesa's llvmpipe a draw that samples the texture the
previous pass rendered, a blit or a readback blocks in the driver until the rasterizer threads are done:
a full-screen pass at 720p is several ms during which no other Python thread of the process can run
(the offline render's generator and encoder threads, the live app's analysis). Measured with a Python
thread counting beside a 1080p post-FX loop on one llvmpipe thread: it ran at 17 % of its idle rate;
with `glFinish` called through ctypes (which releases the GIL) after each pass, at 94 %.

On a hardware driver the same glFinish would stall the GPU pipeline every pass, so it is only used
where the renderer is software (llvmpipe, softpipe, swrast), where each of those calls waits anyway, and
only by the offline render (`PostFXChain.gil_free_waits`): the live render loop ran slower with it
(headless 1280x720 demo: 14-18 fps against 20-24), since there its own work overlapped the passes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

import moderngl

log = logging.getLogger(__name__)
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast")


def _gl_finish() -> Callable[[], None] | None:
    """glFinish from the GL dispatch library (glvnd: the calling thread's current context, EGL or GLX)."""
    for name in ("libOpenGL.so.0", "libGL.so.1", ctypes.util.find_library("GL")):
        if not name:
            continue
        try:
            fn = ctypes.CDLL(name).glFinish  # CDLL: the GIL is released during the call
        except (OSError, AttributeError):
            continue
        fn.restype, fn.argtypes = None, []
        return fn
    return None


def gil_free_wait(ctx: moderngl.Context) -> Callable[[], None]:
    """A function that waits for `ctx`'s queued work without the GIL on software GL; a no-op otherwise."""
    renderer = str(ctx.info.get("GL_RENDERER", "")).lower()
    if not any(s in renderer for s in SOFTWARE_RENDERERS):
        return lambda: None
    finish = _gl_finish()
    if finish is None:
        log.debug("software GL without a loadable glFinish: GL waits keep the GIL")
        return lambda: None
    return finish
