"""Three render stages on their own threads, joined by bounded queues, frames kept in order.

The offline render is generator (torch) → post-FX (GL) → encoder (libx264): each stage releases the GIL
in its heavy part, so running them concurrently overlaps their costs instead of adding them. Each
stage still sees the frames strictly in order (one thread per stage, FIFO queues), so the output is the
sequential render's, frame for frame. The middle stage runs on the calling thread: the GL context is
current there. An exception in any stage (or Ctrl-C on the caller) stops all three and is re-raised
by `run_stages` once the other threads have finished their current frame, so the caller can abort the
writer with nothing else touching it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

_END = object()  # sentinel: no more frames
DEPTH = 3  # frames in flight between two stages: enough to absorb jitter, little memory at 1080p


class _Stopped(Exception):
    """Another stage failed: leave quietly, its error is the one reported."""


def run_stages(
    items: Iterable[int],
    produce: Callable[[int], Any],
    draw: Callable[[Any], Any],
    consume: Callable[[Any], None],
    pipelined: bool = True,
    depth: int = DEPTH,
) -> None:
    """consume(draw(produce(i))) for every i, in order; `produce` and `consume` on threads of their own
    when `pipelined`, `draw` always on the calling thread."""
    if not pipelined:
        for i in items:
            consume(draw(produce(i)))
        return
    to_draw: queue.Queue = queue.Queue(depth)
    to_consume: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    errors: list[BaseException] = []

    def fail(exc: BaseException) -> None:
        errors.append(exc)
        stop.set()

    def put(q: queue.Queue, item: object) -> None:
        while True:
            if stop.is_set():
                raise _Stopped
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(q: queue.Queue) -> Any:
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                if stop.is_set():
                    raise _Stopped from None

    def producer() -> None:
        try:
            for i in items:
                put(to_draw, produce(i))
            put(to_draw, _END)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            fail(exc)

    def consumer() -> None:
        try:
            while (item := get(to_consume)) is not _END:
                consume(item)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            fail(exc)

    threads = [
        threading.Thread(target=producer, name="render-generator", daemon=True),
        threading.Thread(target=consumer, name="render-encoder", daemon=True),
    ]
    try:  # the starts too: a Ctrl-C between two of them must still stop and join the one already running,
        # or it is still inside torch when the interpreter exits (C++ then aborts the process)
        for t in threads:
            t.start()
        while (item := get(to_draw)) is not _END:
            put(to_consume, draw(item))
        put(to_consume, _END)
    except _Stopped:
        pass
    except BaseException as exc:  # Ctrl-C lands here, on the main thread
        fail(exc)
    finally:
        if errors:
            stop.set()
        for t in threads:
            if t.ident is not None:  # started
                t.join()
    if errors:
        raise errors[0]
