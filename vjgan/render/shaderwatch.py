"""Scanning shaders/*.frag for changes, off the render thread.

Globbing, stat-ing and reading the files every 0.25 s cost the render thread a directory listing and
a syscall per file each time (and a slow or network disk much more). `ShaderWatcher` does it on a
thread of its own and hands over `ShaderScan` messages with the changed files' sources; the render
thread only compiles them (GL calls must stay on the thread that owns the context).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ShaderFile:
    """A new or changed file: its text, or why it could not be read."""

    name: str
    path: Path
    mtime: float
    source: str | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class ShaderScan:
    changed: tuple[ShaderFile, ...]
    removed: tuple[str, ...]


def scan(folder: Path, known: dict[str, float]) -> ShaderScan | None:
    """Files in `folder` that are new, changed or gone since `known` (name → mtime; updated in place)."""
    found = {p.stem: p for p in sorted(folder.glob("*.frag"))}
    removed = tuple(n for n in known if n not in found)
    for name in removed:
        del known[name]
    changed = []
    for name, path in found.items():
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if known.get(name) == mtime:
            continue
        known[name] = mtime
        try:
            changed.append(ShaderFile(name, path, mtime, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            changed.append(ShaderFile(name, path, mtime, None, f"cannot read {path}: {exc}"))
    return ShaderScan(tuple(changed), removed) if changed or removed else None


class ShaderWatcher:
    """Scans `folder` every `interval` s on a daemon thread; `changes()` (render thread) takes the results."""

    def __init__(self, folder: Path, known: dict[str, float], interval: float = 0.25) -> None:
        self.folder = folder
        self.interval = interval
        self._known = dict(known)
        self._out: queue.Queue[ShaderScan] = queue.Queue(maxsize=16)
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shader-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._halt.wait(self.interval):
            try:
                found = scan(self.folder, self._known)
            except OSError:  # the folder went away: keep the effects, look again later
                continue
            while found is not None and not self._halt.is_set():
                try:  # a render loop that stopped taking results holds this thread, not memory
                    self._out.put(found, timeout=self.interval)
                    found = None
                except queue.Full:
                    continue

    def changes(self) -> list[ShaderScan]:
        out = []
        while True:
            try:
                out.append(self._out.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(timeout=2.0)
