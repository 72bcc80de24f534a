"""Background preset loading and hot reload, so no rendered frame waits for disk or latent mapping.

One thread polls the running preset file's mtime (and size) a few times a second and serves load
requests; it parses, validates and compiles off the render thread, then posts a `LoadResult`. The
render thread picks results up in `MappingEngine.step` and swaps in one reference assignment.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

from vjgan.core.effects import EffectParam, available_effects
from vjgan.core.errors import UserError
from vjgan.core.generator import LatentModel
from vjgan.mapping.compile import Compiled, compile_preset
from vjgan.mapping.latents import WsCache
from vjgan.mapping.presets import find_preset, load_preset

log = logging.getLogger(__name__)
# loaders still running at interpreter exit are stopped and joined first: a daemon thread torn down
# during finalization next to torch's native threads can abort the process ("terminate called ...")
_LIVE: weakref.WeakSet[PresetLoader] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for loader in list(_LIVE):
        loader.stop()


@dataclass(frozen=True, slots=True)
class LoadResult:
    compiled: Compiled | None
    error: str | None
    crossfade_beats: float
    reload: bool  # came from the file watcher
    path: Path | None


@dataclass(frozen=True, slots=True)
class _Request:
    name: str
    crossfade_beats: float
    presets_dir: Path


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class PresetLoader(threading.Thread):
    def __init__(
        self,
        generator: LatentModel,
        effects: dict[str, dict[str, EffectParam]] | None,
        poll_s: float = 0.25,
        cache: WsCache | None = None,
    ) -> None:
        super().__init__(name="vjgan-preset-loader", daemon=True)
        self.generator = generator
        self.effects = effects
        self.cache = cache
        self.poll_s = poll_s
        # one waiting request, the newest: a flood of loads (OSC at any rate) costs one load after the one in
        # progress, and results stay one per load actually made
        self._pending: _Request | None = None
        self._pending_lock = threading.Lock()
        self._wake = threading.Event()
        self.superseded = 0  # requests replaced by a newer one before they were loaded
        self._results: queue.SimpleQueue[LoadResult] = queue.SimpleQueue()  # one per load made: bounded above
        self._halt = threading.Event()
        self._watch_lock = threading.Lock()
        self._watched: Path | None = None
        self._stamp: tuple[int, int] | None = None
        _LIVE.add(self)

    def watch(self, path: Path) -> None:
        """Watch this file from now on (the running preset); its current state is the baseline."""
        with self._watch_lock:
            if self._watched != path:
                self._watched, self._stamp = path, _stamp(path)

    def request(self, name: str, crossfade_beats: float, presets_dir: Path) -> None:
        with self._pending_lock:
            self.superseded += self._pending is not None
            self._pending = _Request(name, crossfade_beats, presets_dir)
        self._wake.set()

    def _take(self) -> _Request | None:
        with self._pending_lock:
            req, self._pending = self._pending, None
            return req

    def results(self) -> list[LoadResult]:
        out = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    def halt(self) -> None:
        """Ask the thread to end without waiting for it (safe from a finalizer)."""
        self._halt.set()
        self._wake.set()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout=5.0)

    def _load(self, path_or_name: str | Path, crossfade: float, reload: bool, presets_dir: Path) -> None:
        path: Path | None = None
        try:
            path = find_preset(path_or_name, presets_dir)
            effects = available_effects() if self.effects is None else self.effects
            preset = load_preset(path, effects)
            compiled = compile_preset(self.generator, preset, effects, self.cache)
            self._results.put(LoadResult(compiled, None, crossfade, reload, path))
        except UserError as exc:
            self._results.put(LoadResult(None, str(exc), crossfade, reload, path))
        except Exception as exc:  # noqa: BLE001 - a loader bug must not kill hot reload for the whole show
            log.exception("preset load failed")
            self._results.put(LoadResult(None, f"{path_or_name}: {exc}", crossfade, reload, path))

    def run(self) -> None:
        while not self._halt.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            req = self._take()
            if req is not None and not self._halt.is_set():
                self._load(req.name, req.crossfade_beats, False, req.presets_dir)
            with self._watch_lock:
                path, old = self._watched, self._stamp
            if path is None:
                continue
            new = _stamp(path)
            if new is not None and new != old:
                # an editor may still be writing: wait until the file stops changing, never read it empty
                settled = self._halt.wait(min(self.poll_s, 0.1))
                if settled or _stamp(path) != new or new[1] == 0:
                    continue
                with self._watch_lock:
                    if self._watched == path:
                        self._stamp = new
                log.info("preset file changed: %s", path)
                self._load(path, 0.0, True, path.parent)
