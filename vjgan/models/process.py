"""The generator in its own process, behind GeneratorThread's interface (`submit`, `latest`, `stats`).

Why: an eager PyTorch forward hands the GIL back and forth at every op, and in the live app it shares
the GIL with the audio analysis and the render loop, which run Python most of the time. Measured on the
project's 2-core machine, the default model's generator thread was busy only ~30 % of the time in the
app (waiting for the GIL the rest): 60-130 ms per frame in process, ~40 ms from a process of its own
beside the same app. So the child process runs an ordinary `GeneratorThread` on its own copy of the
model, params arrive over a pipe (latest wins, urgent preemption as in the thread), and frames come
back through shared memory: a ring of RGBA slots plus a header the parent reads without waiting.

If the child dies (crash, out of memory), the parent keeps showing the last frame, reports it in
`stats.last_error` and starts a new child: the show goes on.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
import time
from multiprocessing import shared_memory
from typing import Any

import numpy as np
import torch

from vjgan.mapping.frame import GeneratorParams
from vjgan.models.base import GeneratedFrame, Generator
from vjgan.models.runner import GeneratorStats

log = logging.getLogger(__name__)
SLOTS = 3  # the child writes slot k+1 while the parent may still be copying slot k
# header: int64 fields, then float64 fields
_I_COUNT, _I_SLOT, _I_SEQ, _I_H, _I_W, _I_FRAMES, _I_DROPPED, _I_PREEMPTED, _I_READY = range(9)
_F_TIME, _F_GEN_MS, _F_P50, _F_P99, _F_FPS = range(5)
_N_INT, _N_FLOAT = 9, 5
_HEADER = 8 * (_N_INT + _N_FLOAT)
RESTART_S = 2.0  # at most one restart of a dead child per this many seconds


def load_model(spec: str | None, device: str = "cpu") -> Generator:
    """`None`/"default" (embedded), "procedural", or a checkpoint path: what `vjgan live --model` takes."""
    if spec == "procedural":
        from vjgan.render.procedural import ProceduralGenerator

        return ProceduralGenerator().to(device)
    if spec in (None, "default"):
        from vjgan.models.default import load_default_generator

        return load_default_generator(device)
    from vjgan.models.loaders import load_generator

    return load_generator(spec, device)


def _views(buf: memoryview, slot_bytes: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    ints = np.ndarray((_N_INT,), np.int64, buf, 0)
    floats = np.ndarray((_N_FLOAT,), np.float64, buf, 8 * _N_INT)
    slots = [np.ndarray((slot_bytes,), np.uint8, buf, _HEADER + k * slot_bytes) for k in range(SLOTS)]
    return ints, floats, slots


def _child_main(spec: str | None, device: str, threads: int, conn: Any, shm_name: str, slot_bytes: int) -> None:
    """The child: load the model, run a GeneratorThread, publish its frames into shared memory."""
    from vjgan.models.runner import GeneratorThread

    torch.set_num_threads(max(1, threads))
    shm = shared_memory.SharedMemory(name=shm_name)
    views = list(_views(shm.buf, slot_bytes))  # cleared before shm.close(): no exported buffers left

    def publish(frame: GeneratedFrame) -> None:
        ints, floats, slots = views
        img = frame.image.detach().cpu().numpy() if isinstance(frame.image, torch.Tensor) else frame.image
        h, w = img.shape[:2]
        if img.nbytes > slot_bytes:
            return  # cannot happen for the sizes the parent allocated; never write past a slot
        slot = (int(ints[_I_SLOT]) + 1) % SLOTS
        slots[slot][: img.nbytes] = img.reshape(-1)
        s = th.stats
        floats[_F_TIME], floats[_F_GEN_MS] = frame.time, frame.gen_ms
        floats[_F_P50], floats[_F_P99], floats[_F_FPS] = s.gen_ms_p50, s.gen_ms_p99, s.fps
        ints[_I_SEQ], ints[_I_H], ints[_I_W] = frame.seq, h, w
        ints[_I_FRAMES], ints[_I_DROPPED], ints[_I_PREEMPTED] = s.frames, s.dropped, s.preempted
        ints[_I_SLOT] = slot
        ints[_I_COUNT] += 1  # written last: the parent takes the slot once the count moved

    def report(msg: str) -> None:
        try:
            conn.send(("error", msg))
        except OSError:
            pass  # the parent went away

    try:
        th = GeneratorThread(load_model(spec, device), device=device, on_frame=publish, on_error=report)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which keeps the show going
        conn.send(("fatal", f"{type(exc).__name__}: {exc}"))
        views.clear()
        shm.close()
        return
    th.start()
    views[0][_I_READY] = 1
    try:
        while True:
            msg = conn.recv()
            if msg is None:
                break
            kind = msg[0]
            if kind == "params":
                th.submit(msg[1], msg[2], urgent=msg[3])
            elif kind == "call":
                getattr(th, msg[1])(*msg[2])
    except (EOFError, OSError):
        pass  # the parent went away
    finally:
        th.stop()
        views.clear()
        shm.close()


class GeneratorProcess:
    """A `GeneratorThread` in a child process. `model`: the spec `load_model` takes (the child loads its
    own copy); `generator`: the parent's copy of the same model, for the frame size."""

    def __init__(self, model: str | None, generator: Generator, device: str = "cpu", threads: int = 1) -> None:
        self.spec, self.device, self.threads = model, device, threads
        res = int(getattr(generator, "img_resolution", 256))
        w, h = getattr(generator, "output_size", (res, res))
        self.slot_bytes = max(2 * res * res, w * h) * 4  # room for widescreen (twice as wide) or a painting head
        self.stats = GeneratorStats()
        self._shm = shared_memory.SharedMemory(create=True, size=_HEADER + SLOTS * self.slot_bytes)
        self._ints, self._floats, self._slots = _views(self._shm.buf, self.slot_bytes)
        self._ints[:] = 0
        self._ctx = mp.get_context("spawn")  # no fork of a process holding GL contexts and threads
        self._proc: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()  # submit may come from any thread
        self._seen = 0
        self._latest: GeneratedFrame | None = None
        self._stopping = False
        self._last_start = 0.0
        self.restarts = 0
        self.failed = ""  # the child could not load the model: no restarts

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> GeneratorProcess:
        with self._lock:
            self._spawn()
        return self

    def _spawn(self) -> None:
        self._ints[_I_READY] = 0
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(
            target=_child_main, name="vjgan-generator", daemon=True,
            args=(self.spec, self.device, self.threads, child, self._shm.name, self.slot_bytes))
        self._proc.start()
        child.close()
        self._conn = parent
        self._last_start = time.perf_counter()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        with self._lock:
            if self._proc is not None:
                try:
                    self._conn.send(None)
                except OSError:
                    pass
                self._proc.join(timeout)
                if self._proc.is_alive():
                    self._proc.terminate()
                    self._proc.join(1.0)
                self._conn.close()
                self._proc = None
        del self._ints, self._floats, self._slots
        self._shm.close()
        self._shm.unlink()

    @property
    def ready(self) -> bool:
        """The child has loaded its model and runs."""
        return bool(self._ints[_I_READY])

    # -- caller side ----------------------------------------------------------------------------------
    def submit(self, params: GeneratorParams, time: float = 0.0, urgent: bool = False) -> None:
        self._send(("params", params, time, urgent))

    def set_widescreen(self, mode: str | None) -> None:
        self._send(("call", "set_widescreen", (mode,)))

    def set_noise_mode(self, mode: str) -> None:
        self._send(("call", "set_noise_mode", (mode,)))

    def _send(self, msg: tuple) -> None:
        with self._lock:
            if self._proc is None or self._stopping:
                return
            try:
                self._conn.send(msg)
            except (OSError, ValueError):
                self._child_died()

    def latest(self) -> GeneratedFrame | None:
        """The newest frame (copied out of shared memory once per new frame); never waits."""
        if self._stopping:
            return self._latest
        self._poll_messages()
        ints = self._ints
        count = int(ints[_I_COUNT])
        if count != self._seen:
            slot, h, w = int(ints[_I_SLOT]), int(ints[_I_H]), int(ints[_I_W])
            image = self._slots[slot][: h * w * 4].copy().reshape(h, w, 4)
            if int(ints[_I_COUNT]) - count < SLOTS - 1:  # the child did not lap the slot while we copied
                f = self._floats
                self._latest = GeneratedFrame(image=torch.from_numpy(image), seq=int(ints[_I_SEQ]),
                                              time=float(f[_F_TIME]), gen_ms=float(f[_F_GEN_MS]),
                                              wall=time.perf_counter())
                self._seen = count
                s = self.stats
                s.frames, s.dropped, s.preempted = int(ints[_I_FRAMES]), int(ints[_I_DROPPED]), int(ints[_I_PREEMPTED])
                s.gen_ms_p50, s.gen_ms_p99, s.fps = float(f[_F_P50]), float(f[_F_P99]), float(f[_F_FPS])
        return self._latest

    def _poll_messages(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            while conn.poll():
                kind, text = conn.recv()
                self.stats.errors += 1
                self.stats.last_error = text
                if kind == "fatal":
                    self.failed = text
                    log.error("generator process could not start: %s (the output keeps its last frame)", text)
                else:
                    log.error("generator: %s", text)
        except (EOFError, OSError):
            self._child_died()
        if self._proc is not None and not self._proc.is_alive() and not self._stopping:
            self._child_died()

    def _child_died(self) -> None:
        """Keep the last frame on screen, say so, and start a new child (not more often than RESTART_S)."""
        if self._stopping or self._proc is None or self.failed:
            return
        code = self._proc.exitcode
        if time.perf_counter() - self._last_start < RESTART_S:
            return
        self.stats.errors += 1
        self.stats.last_error = f"generator process exited (code {code}); restarting it"
        log.error(self.stats.last_error)
        self.restarts += 1
        try:
            self._conn.close()
        except OSError:
            pass
        self._spawn()
