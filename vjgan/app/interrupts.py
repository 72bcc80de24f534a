"""Ctrl-C during a render reaches Python's main thread and no other thread.

A process-directed SIGINT is delivered to any thread that does not block it. Landing in one of llvmpipe's,
OpenMP's or libx264's threads it interrupts a system call that code never expects to fail with EINTR:
`vjgan render` died with SIGSEGV inside a shader compile or with "terminate called without an active
exception" at exit, in 3 of 16 Ctrl-Cs (#18's pipelined render). Blocked for the whole render, the signal
is taken by one watcher thread (`sigwait`) and handed to the main thread as a KeyboardInterrupt; every
thread created meanwhile inherits the blocked mask. The main thread sees the KeyboardInterrupt at its next
bytecode: its waits must poll (the render's queue waits time out every 0.1 s), not sleep for long.
"""

from __future__ import annotations

import _thread
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_SIGNALS = {signal.SIGINT}


@contextmanager
def interrupts_to_main() -> Iterator[None]:
    """Route SIGINT to the main thread as KeyboardInterrupt; a no-op off the main thread (tests, Ray)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) in (
        signal.SIG_IGN, signal.SIG_DFL, None,
    ):  # fmt: skip
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    done = threading.Event()

    def watch() -> None:
        while True:
            signal.sigwait(_SIGNALS)
            if done.is_set():
                return
            _thread.interrupt_main()

    watcher = threading.Thread(target=watch, name="sigint-watcher", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        signal.pthread_kill(watcher.ident, signal.SIGINT)  # wake its sigwait
        watcher.join()
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
