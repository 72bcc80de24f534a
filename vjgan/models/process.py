"""The generator in its own process, behind GeneratorThread's interface (`submit`, `latest`, `stats`).

Why: an eager PyTorch forward hands the GIL back and forth at every op, and in the live app it shares
the GIL with the audio analysis and the render loop, which run Python most of the time. Measured on the
project's 2-core machine, the default model's generator thread was busy only ~30 % of the time in the
app (waiting for the GIL the rest): 60-130 ms per frame in process, ~40 ms from a process of its own
beside the same app. So the child process runs an ordinary `GeneratorThread` on its own copy of the
model, params arrive over a pipe as small typed messages (latest wins, urgent preemption as in the
thread), and frames come back through shared memory (`FrameRing`: per-slot seqlocked headers, read
without waiting).

If the child dies (crash, out of memory) or hangs (its generator thread stops beating: a stuck forward,
a stopped process), the parent keeps showing the last frame, reports it in `stats.last_error`, kills
what is left and starts a new child: the show goes on. Nothing a caller does waits on the child: the
pipe is written by a sender thread per child (a child that stops reading blocks that thread only) and
`stop()` kills a child that has not ended within its grace time. The child runs only the methods in
`CALLS`, never whatever a message names.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing import shared_memory
from typing import Any

import torch

from vjgan.core.frame import GeneratedFrame, GeneratorParams
from vjgan.models.base import Generator
from vjgan.models.frame_ring import FrameRing, RingStats, ring_size
from vjgan.models.runner import GeneratorStats, GeneratorThread

log = logging.getLogger(__name__)
RESTART_S = 2.0  # at most one restart of a dead or hung child per this many seconds
HANG_S = 10.0  # a ready child whose generator thread has not beaten for this long is hung
STOP_GRACE_S = 1.0  # stop(): time the child gets to finish its frame and exit before it is killed


# -- messages (parent → child: Submit, Call, Stop; child → parent: ChildError) -------------------------
@dataclass(frozen=True, slots=True)
class Submit:
    params: GeneratorParams
    time: float
    urgent: bool


@dataclass(frozen=True, slots=True)
class Call:
    method: str  # a key of CALLS
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Stop:
    pass


@dataclass(frozen=True, slots=True)
class ChildError:
    text: str
    fatal: bool = False  # the model could not be loaded: no restarts


ToChild = Submit | Call | Stop

# What a Call may run in the child: an explicit table, so a message can never reach stop(), render() or
# anything else of the GeneratorThread.
CALLS: dict[str, Callable[..., None]] = {
    "set_widescreen": GeneratorThread.set_widescreen,
    "set_noise_mode": GeneratorThread.set_noise_mode,
    "set_mix_model": GeneratorThread.set_mix_model,  # a path from the command line, never from the network
}


ModelSpec = str | None | Callable[[str], Generator]


def load_model(spec: ModelSpec, device: str = "cpu") -> Generator:
    """`None`/"default" (embedded), "procedural", or a checkpoint path: what `vjgan live --model` takes;
    or a module-level factory `f(device) -> Generator` (picklable by name, so a child process can call it)."""
    if callable(spec):
        return spec(device)
    from vjgan.models.loaders import load_model as load_spec

    return load_spec(spec, device)


def _dispatch(th: GeneratorThread, msg: object) -> str | None:
    """Apply one message in the child; the problem as text if it is refused."""
    if isinstance(msg, Submit):
        th.submit(msg.params, msg.time, urgent=msg.urgent)
    elif isinstance(msg, Call):
        method = CALLS.get(msg.method)
        if method is None:
            return f"refused call {msg.method!r}: the generator process runs only {', '.join(CALLS)}"
        method(th, *msg.args)
    else:
        return f"refused message {type(msg).__name__}: not a generator process message"
    return None


def _child_main(spec: ModelSpec, device: str, threads: int, conn: Any, shm_name: str, slot_bytes: int) -> None:
    """The child: load the model, run a GeneratorThread, publish its frames and heartbeat into shared memory."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when this child ends
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(max(1, threads))
    shm = shared_memory.SharedMemory(name=shm_name)
    ring = FrameRing(shm.buf, slot_bytes)
    send_lock = threading.Lock()  # the generator thread (errors) and this thread (refusals) both send

    def report(text: str, fatal: bool = False) -> None:
        try:
            with send_lock:
                conn.send(ChildError(text, fatal))
        except OSError:
            pass  # the parent went away

    def publish(frame: GeneratedFrame) -> None:
        img = frame.image.detach().cpu().numpy() if isinstance(frame.image, torch.Tensor) else frame.image
        ring.publish(img, frame.seq, frame.time, frame.gen_ms)
        s = th.stats
        ring.set_stats(RingStats(s.frames, s.dropped, s.preempted, s.gen_ms_p50, s.gen_ms_p99, s.fps))

    try:
        th = GeneratorThread(load_model(spec, device), device=device, on_frame=publish, on_error=report,
                             on_beat=lambda: ring.beat(time.monotonic()))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which keeps the show going
        report(f"{type(exc).__name__}: {exc}", fatal=True)
        ring.release()
        shm.close()
        return
    th.start()
    ring.beat(time.monotonic())
    ring.set_ready(True)
    try:
        while not isinstance(msg := conn.recv(), Stop):
            if (problem := _dispatch(th, msg)) is not None:
                report(problem)
    except (EOFError, OSError):
        pass  # the parent went away
    finally:
        th.stop()
        ring.release()
        shm.close()
    # Skip the interpreter's teardown (torch: ~1 s on a loaded 2-core machine, nothing left to save): the
    # parent's stop() waits for this exit, and the app's stop must end within 2 s.
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


class _Link:
    """One child process and the pipe to it. Its sender thread does the writes, so a child that stops
    reading (hung) blocks that thread only, never a caller; the link is dropped with its child."""

    def __init__(self, ctx: Any, spec: ModelSpec, device: str, threads: int, shm_name: str, slot_bytes: int) -> None:
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child_main, name="vjgan-generator", daemon=True,
                                args=(spec, device, threads, child, shm_name, slot_bytes))
        self.proc.start()
        child.close()
        self.conn = parent
        self._cond = threading.Condition()
        self._outbox: deque[ToChild] = deque()  # bounded by post(): one Submit, one Call per method, a Stop
        self._ended = False
        self._sender = threading.Thread(target=self._send_loop, name="generator-send", daemon=True)
        self._sender.start()

    def post(self, msg: ToChild) -> None:
        """Queue `msg` for the child; never waits. Newer params replace queued ones (latest wins, and an
        urgent submission replaced by a routine one stays urgent), a newer call of a method its queued call:
        the outbox holds at most one Submit, one Call per method and a Stop, however long the child hangs."""
        with self._cond:
            if self._ended:
                return
            for i, old in enumerate(self._outbox):
                if isinstance(msg, Submit) and isinstance(old, Submit):
                    del self._outbox[i]
                    msg = replace(msg, urgent=msg.urgent or old.urgent)
                    break
                if isinstance(msg, Call) and isinstance(old, Call) and old.method == msg.method:
                    del self._outbox[i]  # calls set state: the newest of each wins
                    break
            self._outbox.append(msg)
            self._cond.notify()

    def _send_loop(self) -> None:
        while True:
            with self._cond:
                while not self._outbox:
                    self._cond.wait()
                msg = self._outbox.popleft()
            try:
                self.conn.send(msg)
            except (OSError, ValueError):
                return  # the child is gone: the parent's watchdog replaces this link
            if isinstance(msg, Stop):
                return

    def end(self, grace: float) -> None:
        """Ask the child to stop, give it `grace` s, then kill it: bounded whatever state the child is in."""
        with self._cond:
            self._outbox.clear()
            self._outbox.append(Stop())
            self._ended = True
            self._cond.notify()
        if grace > 0:
            self.proc.join(grace)
        if self.proc.is_alive():
            self.proc.kill()  # also ends a stopped (SIGSTOP) or hung process
            self.proc.join(1.0)
        self._sender.join(0.5)  # a send to the killed child fails at once (broken pipe)
        if not self._sender.is_alive():
            self.conn.close()  # never closed under a send in progress: its fd could be reused


class GeneratorProcess:
    """A `GeneratorThread` in a child process. `model`: the spec `load_model` takes (the child loads its
    own copy); `generator`: the parent's copy of the same model, for the frame size; `hang_s`: a ready
    child silent for this long is killed and replaced."""

    def __init__(self, model: ModelSpec, generator: Generator, device: str = "cpu", threads: int = 1,
                 hang_s: float = HANG_S) -> None:
        self.spec, self.device, self.threads, self.hang_s = model, device, threads, hang_s
        res = int(getattr(generator, "img_resolution", 256))
        w, h = getattr(generator, "output_size", (res, res))
        self.slot_bytes = max(2 * res * res, w * h) * 4  # room for widescreen (twice as wide) or a painting head
        self.stats = GeneratorStats()
        self._shm = shared_memory.SharedMemory(create=True, size=ring_size(self.slot_bytes))
        self._ring = FrameRing(self._shm.buf, self.slot_bytes)
        self._ring.clear()
        self._ctx = mp.get_context("spawn")  # no fork of a process holding GL contexts and threads
        self._link: _Link | None = None
        self._lock = threading.Lock()  # submit may come from any thread; the render thread swaps links
        self._number = 0  # publish number of the newest frame read
        self._latest: GeneratedFrame | None = None
        self._calls: dict[str, tuple[Any, ...]] = {}  # newest args of each call, replayed to a new child
        self._stopping = False
        self._closed = False
        self._last_start = 0.0
        self.restarts = 0
        self.failed = ""  # the child could not load the model: no restarts

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> GeneratorProcess:
        with self._lock:
            self._link = self._spawn()
        return self

    def _spawn(self) -> _Link:
        self._ring.set_ready(False)
        self._ring.beat(0.0)
        link = _Link(self._ctx, self.spec, self.device, self.threads, self._shm.name, self.slot_bytes)
        for method, args in self._calls.items():
            link.post(Call(method, args))
        self._last_start = time.monotonic()
        return link

    def stop(self, timeout: float = STOP_GRACE_S) -> None:
        """End the child (killed after `timeout` s) and free the shared memory; bounded, idempotent."""
        self._stopping = True
        with self._lock:
            link, self._link = self._link, None
        if link is not None:
            link.end(timeout)
        if not self._closed:
            self._closed = True
            self._ring.release()
            self._shm.close()
            self._shm.unlink()

    @property
    def pid(self) -> int | None:
        """The current child's process id (None while stopped)."""
        link = self._link
        return None if link is None else link.proc.pid

    @property
    def ready(self) -> bool:
        """The child has loaded its model and runs."""
        return not self._closed and self._ring.ready

    # -- caller side ----------------------------------------------------------------------------------
    def submit(self, params: GeneratorParams, time: float = 0.0, urgent: bool = False) -> None:
        self._post(Submit(params, time, urgent))

    def call(self, method: str, *args: Any) -> None:
        """Run `GeneratorThread.<method>(*args)` in the child (and in every child that replaces it); only
        the methods in CALLS."""
        if method not in CALLS:
            raise ValueError(f"generator process: no call {method!r}; calls: {', '.join(CALLS)}")
        self._calls[method] = args
        self._post(Call(method, args))

    def set_widescreen(self, mode: str | None) -> None:
        self.call("set_widescreen", mode)

    def set_noise_mode(self, mode: str) -> None:
        self.call("set_noise_mode", mode)

    def set_mix_model(self, path: str | None, layers: str = "") -> None:
        self.call("set_mix_model", path, layers)

    def _post(self, msg: ToChild) -> None:
        with self._lock:  # never held across a wait: post() only queues
            if self._link is not None and not self._stopping:
                self._link.post(msg)

    def latest(self) -> GeneratedFrame | None:
        """The newest frame (copied out of shared memory once per new frame); never waits."""
        if self._stopping:
            return self._latest
        self._watch()
        frame = self._ring.read(self._number)
        if frame is not None:
            self._number = frame.number
            self._latest = GeneratedFrame(image=torch.from_numpy(frame.image), seq=frame.seq, time=frame.time,
                                          gen_ms=frame.gen_ms, wall=time.perf_counter())
            s, r = self.stats, self._ring.stats()
            s.frames, s.dropped, s.preempted = r.frames, r.dropped, r.preempted
            s.gen_ms_p50, s.gen_ms_p99, s.fps = r.gen_ms_p50, r.gen_ms_p99, r.fps
        return self._latest

    # -- watchdog (on the caller of latest(), i.e. the render thread) --------------------------------
    def _watch(self) -> None:
        link = self._link
        if link is None:
            return
        try:
            while link.conn.poll():
                self._child_message(link.conn.recv())
        except (EOFError, OSError):
            self._replace(link, "exited")
            return
        if not link.proc.is_alive():
            self._replace(link, "exited")
        elif self._ring.ready and (silent := time.monotonic() - self._ring.heartbeat) > self.hang_s:
            self._replace(link, f"hung (no heartbeat for {silent:.1f} s)")

    def _child_message(self, msg: object) -> None:
        text = msg.text if isinstance(msg, ChildError) else f"unexpected message {type(msg).__name__}"
        self.stats.errors += 1
        self.stats.last_error = text
        if isinstance(msg, ChildError) and msg.fatal:
            self.failed = text
            log.error("generator process could not start: %s (the output keeps its last frame)", text)
        else:
            log.error("generator: %s", text)

    def _replace(self, link: _Link, what: str) -> None:
        """Keep the last frame on screen, say so, end what is left of the child and start a new one (not
        more often than RESTART_S)."""
        if self._stopping or self.failed or time.monotonic() - self._last_start < RESTART_S:
            return
        link.end(0.0)  # a dead child is reaped, a hung one killed
        code = f" (code {link.proc.exitcode})" if what == "exited" else ""
        self.stats.errors += 1
        self.stats.last_error = f"generator process {what}{code}; restarting it"
        log.error(self.stats.last_error)
        self.restarts += 1
        with self._lock:
            if self._link is link:
                self._link = self._spawn()
