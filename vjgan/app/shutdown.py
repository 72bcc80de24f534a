"""Stop requests from outside (SIGTERM, Ctrl-C's SIGINT) become an orderly stop of the show.

Why: SIGTERM's default action ended the process on the spot (a recording without its moov atom, i.e.
unplayable, and leaked shared memory), and Ctrl-C raised KeyboardInterrupt wherever the main thread
was. Here the first signal only asks the render loop to end; the loop then runs `LiveApp.stop()` (the
recording finished, child processes ended, shared memory freed) and the process exits 0. A second
signal of the same kind gets its previous behaviour back at once, for a stop that hangs.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Context manager: while inside, the first SIGTERM / SIGINT calls `on_stop(signal name)` (on the main
    thread, between two bytecodes: it must only set a flag). Outside the main thread it does nothing:
    Python delivers signals to the main thread only."""

    def __init__(self, on_stop: Callable[[str], None], signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> None:
        self.on_stop = on_stop
        self.signals = signals
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.signals:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signal.Signals(signum).name
            self.on_stop(self.received)
            return
        # asked again while stopping: the previous behaviour (KeyboardInterrupt, or the default: exit now)
        previous = self._previous.get(signum, signal.SIG_DFL)
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        signal.raise_signal(signum)
