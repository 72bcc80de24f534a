"""Cost of the source pass that magnifies the generator's frame: Lanczos-2 (the default) vs bilinear (--no-fx).

    .venv/bin/python scripts/bench_upscale.py [--frames 60] [--src 456x256]

Headless EGL (Mesa llvmpipe on a CPU box): the chain with no effects, so only the source pass runs;
each render is followed by ctx.finish(), and the median wall time of --frames renders is reported per
output size and filter, as JSON.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from vjgan.render.postfx import PostFXChain
from vjgan.render.window import headless_context


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--src", default="456x256", help="generator frame size (the default model's)")
    a = ap.parse_args()
    sw, sh = (int(v) for v in a.src.split("x"))
    ctx = headless_context()
    rng = np.random.default_rng(0)
    src = ctx.texture((sw, sh), 4, rng.integers(0, 256, (sh, sw, 4), np.uint8).tobytes())
    out = {"renderer": ctx.info.get("GL_RENDERER", "?"), "src": a.src, "ms": {}}
    for size in ((1280, 720), (1920, 1080)):
        chain = PostFXChain(ctx, size)
        for name in chain.effects:
            chain.set_enabled(name, False)
        for plain in (False, True):
            chain.plain = plain
            times = []
            for _ in range(a.frames):
                t0 = time.perf_counter()
                chain.render(src)
                ctx.finish()
                times.append((time.perf_counter() - t0) * 1000)
            out["ms"][f"{size[0]}x{size[1]} {'bilinear' if plain else 'lanczos2'}"] = round(float(np.median(times)), 2)
        chain.release()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
