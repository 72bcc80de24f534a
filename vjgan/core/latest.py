"""A worker thread whose only output is its newest result: what every video stage is.

Sources decode, the encoder encodes; consumers only ever ask for `latest()`, so a slow consumer skips
results instead of queueing them and a stalled worker just stops updating; nothing downstream waits.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestThread(Generic[T]):
    """Subclasses implement `_run` (loop until `self._stop` is set) and call `_publish_latest(item)`."""

    thread_name = "latest"

    def __init__(self) -> None:
        self._latest: T | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self):  # -> Self
        if self._thread is None:
            self._thread = threading.Thread(target=self._thread_main, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest(self) -> T | None:
        with self._lock:
            return self._latest

    def _publish_latest(self, item: T) -> None:
        with self._lock:
            self._latest = item

    def _thread_main(self) -> None:
        self._run()

    def _run(self) -> None:
        raise NotImplementedError
