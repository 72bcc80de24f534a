"""Video-out benchmark: what an output costs the render thread per frame (the readback + the enqueue), and
what the NDI sender thread spends per frame beside it, at 1280x720.

The post-FX chain (headless EGL, the shipped shaders) renders a generated frame each iteration, as the live
loop does. Three runs of --frames each: no output (render only), an NDI output on with no receiver, and an
NDI output with a receiver connected by address in this process (so NDI compresses every frame). Reports
per-frame p50/p99 of the render thread's readback (`chain.read()`) and enqueue (`ThreadedOutput.send`),
the NDI `send_video` time on the sender thread, and the sent/dropped counts; a receiver (same process)
also decodes, so the third run is the worst case for a 2-core machine.

Run: `.venv/bin/python scripts/bench_outputs.py [--frames 300] [--json out.json]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vjgan.core.frame import GeneratedFrame  # noqa: E402
from vjgan.render.postfx import FrameInputs, PostFXChain  # noqa: E402
from vjgan.render.upload import FrameUploader  # noqa: E402
from vjgan.video.out_ndi import NdiSink, load_ndi  # noqa: E402
from vjgan.video.outputs import ThreadedOutput  # noqa: E402

SIZE = (1280, 720)


class TimedSink(NdiSink):
    """The NDI sink, timing its send on the sender thread."""

    def __init__(self, name: str, fps: float) -> None:
        super().__init__(name, fps)
        self.ms: list[float] = []

    def write(self, image: np.ndarray, time_s: float, seq: int) -> None:
        t = time.perf_counter()
        super().write(image, time_s, seq)
        self.ms.append((time.perf_counter() - t) * 1000)


def own_listening_ports() -> set[int]:
    """TCP ports this process listens on (its sockets' inodes matched in /proc/net/tcp)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[3] == "0A" and f[9] in inodes:
            ports.add(int(f[1].split(":")[1], 16))
    return ports


def receive(ndi: object, address: str, stop: threading.Event, got: list[int]) -> None:
    create = ndi.RecvCreateV3()
    create.color_format = ndi.RECV_COLOR_FORMAT_RGBX_RGBA
    recv = ndi.recv_create_v3(create)
    src = ndi.Source()
    src.url_address = address
    ndi.recv_connect(recv, src)
    while not stop.is_set():
        kind, video, _, _ = ndi.recv_capture_v2(recv, 100)
        if kind == ndi.FRAME_TYPE_VIDEO:
            got.append(1)
            ndi.recv_free_video_v2(recv, video)
    ndi.recv_destroy(recv)


def pct(xs: list[float]) -> dict:
    a = np.asarray(xs) if xs else np.zeros(1)
    return {"p50": round(float(np.percentile(a, 50)), 3), "p99": round(float(np.percentile(a, 99)), 3)}


def run(frames: int, fps: float, output: str) -> dict:
    import moderngl

    ctx = moderngl.create_standalone_context(backend="egl")
    chain = PostFXChain(ctx, SIZE)
    up = FrameUploader(ctx)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (SIZE[1], SIZE[0], 4), dtype=np.uint8)
    img = np.ascontiguousarray(np.repeat(np.repeat(img[::16, ::16], 16, 0), 16, 1))  # blocks: a codec-friendly picture
    up.upload(GeneratedFrame(torch.from_numpy(img), seq=1, time=0.0, gen_ms=0.0, wall=0.0))
    out, sink, stop, got, receiver = None, None, threading.Event(), [], None
    if output != "none":
        sink = TimedSink(f"bench-{os.getpid()}-{output}", fps)
        out = ThreadedOutput("ndi bench", sink)
    render_ms, read_ms, send_ms = [], [], []
    interval = 1.0 / fps
    for i in range(frames):
        t0 = time.perf_counter()
        chain.render(up.current, None, 1.0, FrameInputs(time=i * interval, onset=0.0, beat_phase=0.0, rms=0.1))
        ctx.finish()
        t1 = time.perf_counter()
        if out is not None:
            image = chain.read()
            t2 = time.perf_counter()
            out.send(image, i * interval)
            t3 = time.perf_counter()
            read_ms.append((t2 - t1) * 1000)
            send_ms.append((t3 - t2) * 1000)
            if output == "ndi+receiver" and receiver is None and i > 5:
                ports = sorted(own_listening_ports() - {5960})
                if ports:
                    receiver = threading.Thread(target=receive, args=(load_ndi(), f"127.0.0.1:{ports[-1]}", stop, got),
                                                daemon=True)
                    receiver.start()
        render_ms.append((t1 - t0) * 1000)
        time.sleep(max(0.0, interval - (time.perf_counter() - t0)))
    result = {"output": output, "frames": frames, "render_ms": pct(render_ms)}
    if out is not None:
        out.close()
        stop.set()
        if receiver is not None:
            receiver.join(2)
        result.update({"readback_ms": pct(read_ms), "enqueue_ms": pct(send_ms),
                       "render_thread_ms": pct([a + b for a, b in zip(read_ms, send_ms, strict=True)]),
                       "ndi_send_ms (sender thread)": pct(sink.ms), "sent": out.stats.sent,
                       "dropped": out.stats.dropped, "errors": out.stats.errors, "received": len(got)})
    chain.release()
    ctx.release()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    runs = [run(args.frames, args.fps, o) for o in ("none", "ndi", "ndi+receiver")]
    report = {"size": f"{SIZE[0]}x{SIZE[1]}", "fps": args.fps, "machine": platform.processor() or platform.machine(),
              "cores": os.cpu_count(), "load": os.getloadavg(), "runs": runs}
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
