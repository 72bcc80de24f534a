"""One worker thread for the render loop's slow actions (decode, hash, network, file writes).

The render thread must never wait on I/O or model work (issue #14): an action submits a `Job` whose
`work` runs here, and the result comes back as a `JobDone` that the render loop applies (cheaply, with
`apply`) when it drains the results at the start of its next frame. Jobs run one at a time, in order,
so actions that build on each other (preset edits, audio switches) keep their order. The job queue is
bounded: a flood of requests is refused (a rejected control message), never queued without end.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vjgan.core.registry import ParamError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    work: Callable[[], Any]  # runs on the worker thread
    apply: Callable[[Any], None] | None = None  # runs on the render thread with work's result
    failed: Callable[[BaseException], None] | None = None  # runs on the render thread with work's exception


@dataclass(frozen=True, slots=True)
class JobDone:
    """What came back from one job: the render thread applies it; tests and benchmarks read `history`."""

    job: Job
    value: Any
    error: BaseException | None
    thread: int  # threading.get_ident() of the thread `work` ran on
    ms: float  # how long `work` took


class WorkerBusy(ParamError):
    """The job queue is full: the request is refused (counted as a rejected control message)."""


class Worker:
    """A single daemon thread with a bounded job queue and a results queue drained by the render loop."""

    def __init__(self, name: str = "vjgan-worker", maxsize: int = 16) -> None:
        self.maxsize = maxsize
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=maxsize)
        self._done: queue.SimpleQueue[JobDone] = queue.SimpleQueue()  # bounded: submit() counts unapplied results
        self.history: deque[JobDone] = deque(maxlen=64)  # applied results, newest last
        self._pending = 0  # submitted, not yet applied (render thread only)
        self.stopping = False  # set by stop(): a job in progress should not start anything new
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet applied by `drain` (render thread)."""
        return self._pending

    def submit(self, name: str, work: Callable[[], Any], apply: Callable[[Any], None] | None = None,
               failed: Callable[[BaseException], None] | None = None) -> None:
        busy = self._pending >= self.maxsize  # counts finished results not yet applied too: both queues bounded
        if not busy:
            try:
                self._jobs.put_nowait(Job(name, work, apply, failed))
            except queue.Full:
                busy = True
        if busy:
            raise WorkerBusy(f"{name}: {self.maxsize} actions are already waiting; try again")
        self._pending += 1

    def drain(self) -> int:
        """Apply every finished job's result (render thread). Returns how many were applied."""
        n = 0
        while True:
            try:
                done = self._done.get_nowait()
            except queue.Empty:
                return n
            n += 1
            self._pending -= 1
            self.history.append(done)
            try:
                if done.error is not None:
                    if done.job.failed is not None:
                        done.job.failed(done.error)
                    else:
                        log.warning("%s failed: %s", done.job.name, done.error)
                elif done.job.apply is not None:
                    done.job.apply(done.value)
            except Exception:  # noqa: BLE001 - an apply bug must not end the show
                log.exception("applying %s failed", done.job.name)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            t = time.perf_counter()
            value, error = None, None
            try:
                value = job.work()
            except Exception as exc:  # noqa: BLE001 - reported on the render thread
                error = exc
            self._done.put(JobDone(job, value, error, threading.get_ident(), (time.perf_counter() - t) * 1000))

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the job in progress (queued ones are dropped), then end the thread."""
        self.stopping = True
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        self._jobs.put(None)
        self._thread.join(timeout)
