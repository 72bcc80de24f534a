"""The analysis thread: reads hops from the source's ring, runs the analyzer, publishes Features.

An exception in the analyzer does not end the thread: the loop restarts after a back-off that doubles
up to a cap (a fault on every hop costs a few restarts a second, not a spinning core), and the restart
count, the last error and the age of the newest Features are in `stats` for the panel (and the log).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from vjgan.audio.analysis import OnlineAnalyzer
from vjgan.audio.base import RING_SECONDS, AudioSource
from vjgan.core.clock import ClockReading
from vjgan.core.features import FeatureBus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AudioStats:
    hops: int = 0
    overflows: int = 0  # ring blocks dropped because analysis fell behind the callback
    status_flags: int = 0  # PortAudio over/underflow reports
    skipped_hops: int = 0  # hops thrown away to catch up after a stall (keeps latency bounded)
    analysis_ms_p50: float = 0.0
    analysis_ms_p99: float = 0.0
    latency_ms: float = 0.0  # sample reaching our callback → its Features published (median)
    device_latency_ms: float = 0.0  # what the device/server buffers before the callback
    source: str = ""
    restarts: int = 0  # times the analysis loop died on an exception and was restarted
    last_error: str = ""  # the newest such exception, "Type: message"
    running: bool = False  # the analysis thread is alive
    features_age_s: float = 0.0  # since the newest Features were published (grows while frozen)

    @property
    def status(self) -> str:
        """One line for the panel: "ok", or what is wrong with the analysis."""
        if not self.running:
            return f"analysis stopped: {self.last_error}" if self.last_error else "analysis not running"
        stale = f"features frozen {self.features_age_s:.1f} s; " if self.features_age_s > STALE_S else ""
        if self.restarts:
            return f"{stale}analysis restarted {self.restarts}x (last: {self.last_error})"
        return stale.removesuffix("; ") or "ok"


@dataclass(frozen=True, slots=True)
class TempoCommand:
    """Render thread → analysis thread: the beat tracker belongs to the analysis thread alone."""

    kind: str  # "set" (bpm, beat at wall time `when`), "nudge" (bpm = delta), "auto" (release)
    bpm: float = 0.0
    when: float | None = None  # time.perf_counter() of the last tap


STALE_S = 0.5  # Features older than this while running: the analysis is not keeping up (or crashing)
RESTART_BACKOFF_S = (0.05, 2.0)  # wait before the first restart; the cap it doubles up to
HEALTHY_HOPS = 100  # a loop that ran this long (1 s) before crashing restarts from the shortest wait
TAP_RESET_S = 2.0  # a pause longer than this between taps starts a new tap sequence
TAP_KEEP = 8  # taps averaged (median interval)


class AudioEngine:
    """Owns the analysis thread for one source. start()/stop(); `stats` is a snapshot."""

    def __init__(
        self,
        source: AudioSource,
        bus: FeatureBus,
        analyzer: OnlineAnalyzer | None = None,
        max_backlog_s: float = 0.5,
        restart_backoff_s: tuple[float, float] = RESTART_BACKOFF_S,
    ) -> None:
        """`max_backlog_s`: after a stall longer than this the engine skips ahead (counted in
        `skipped_hops`) instead of running late for the rest of the show. `restart_backoff_s`: (first,
        cap) wait in s before the analysis loop restarts after an exception."""
        self.source = source
        self.max_backlog_s = min(max_backlog_s, 0.9 * RING_SECONDS)
        self.bus = bus
        self.analyzer = analyzer or OnlineAnalyzer(source.sample_rate)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cost: deque[float] = deque(maxlen=2000)
        self._lat: deque[float] = deque(maxlen=200)
        self._hops = 0
        self._skipped = 0
        self._started = time.perf_counter()
        self.restart_backoff_s = restart_backoff_s
        self.error: BaseException | None = None  # the newest exception of the analysis loop
        self.restarts = 0
        self.last_error = ""
        # bounded: a flood of taps/nudges while the analysis thread is down (or restarting) is refused
        self._tempo_cmds: queue.Queue[TempoCommand] = queue.Queue(maxsize=64)
        self.tempo_dropped = 0
        self._taps: deque[float] = deque(maxlen=TAP_KEEP)
        self._clock: ClockReading | None = None  # written by any thread, read by the analysis thread
        self._clock_changed = threading.Event()

    # ---- tap tempo / nudge (any thread; applied by the analysis thread before its next hop) ---------
    def tap(self, when: float | None = None) -> float | None:
        """One tap per beat. From the second tap on, the median tap interval becomes the held tempo and
        the last tap a beat. Returns the tapped BPM (None for the first tap of a sequence)."""
        now = time.perf_counter() if when is None else float(when)
        if self._taps and not 0 < now - self._taps[-1] <= TAP_RESET_S:
            self._taps.clear()
        self._taps.append(now)
        if len(self._taps) < 2:
            return None
        bpm = 60.0 / float(np.median(np.diff(np.asarray(self._taps))))
        self._post_tempo(TempoCommand("set", bpm, now))
        return bpm

    def nudge(self, bpm: float) -> None:
        """Shift the tempo by `bpm` (e.g. +2 / -2) and hold it."""
        self._post_tempo(TempoCommand("nudge", float(bpm)))

    def auto_tempo(self) -> None:
        """Drop a tapped/nudged tempo: the tracker's own estimate takes over again."""
        self._taps.clear()
        self._post_tempo(TempoCommand("auto"))

    def follow_clock(self, clock: ClockReading | None) -> None:
        """Tempo and phase from an external clock (any thread; the newest reading wins), None: from the
        audio again. Readings are latest-value, not queued: a clock read at 100 Hz never fills the queue."""
        self._clock = clock
        self._clock_changed.set()

    def _post_tempo(self, cmd: TempoCommand) -> None:
        try:
            self._tempo_cmds.put_nowait(cmd)
        except queue.Full:
            self.tempo_dropped += 1
            if self.tempo_dropped == 1 or self.tempo_dropped % 100 == 0:
                log.warning("tempo: %d commands refused (the analysis thread is not taking them)", self.tempo_dropped)

    def _apply_tempo_commands(self) -> None:
        tracker = self.analyzer.beats
        if self._clock_changed.is_set():
            self._clock_changed.clear()
            tracker.follow(self._clock)
        while True:
            try:
                cmd = self._tempo_cmds.get_nowait()
            except queue.Empty:
                return
            if cmd.kind == "set":
                ago = None if cmd.when is None else max(0.0, time.perf_counter() - cmd.when) * tracker.fps
                tracker.set_tempo(cmd.bpm, ago)
            elif cmd.kind == "nudge":
                tracker.nudge_tempo(cmd.bpm)
            elif cmd.kind == "auto":
                tracker.release_tempo()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._started = time.perf_counter()
        if self.analyzer.frame == 0:
            self.analyzer.warmup()
        self._thread = threading.Thread(target=self._run, name="audio-analysis", daemon=True)
        self._thread.start()
        self.source.start()
        log.info("audio: %s", self.source.describe())

    def stop(self) -> None:
        self._stop.set()
        try:
            self.source.stop()
        finally:
            if self._thread is not None:
                self._thread.join(timeout=2.0)
            self._thread = None

    def __enter__(self) -> AudioEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stats(self) -> AudioStats:
        cost = np.array(self._cost) if self._cost else np.zeros(1)
        return AudioStats(
            hops=self._hops,
            overflows=self.source.overflows,
            status_flags=self.source.status_flags,
            skipped_hops=self._skipped,
            analysis_ms_p50=float(np.median(cost)) * 1e3,
            analysis_ms_p99=float(np.percentile(cost, 99)) * 1e3,
            latency_ms=float(np.median(self._lat)) * 1e3 if self._lat else 0.0,
            device_latency_ms=self.source.device_latency * 1e3,
            source=self.source.describe(),
            restarts=self.restarts,
            last_error=self.last_error,
            running=self._thread is not None and self._thread.is_alive(),
            features_age_s=max(0.0, time.perf_counter() - (self.bus.latest.wall or self._started)),
        )

    @staticmethod
    def _raise_priority() -> None:
        """Best effort: a slightly higher priority for this thread, so a busy machine delays the
        analysis less (Linux: per-thread nice; needs CAP_SYS_NICE, silently skipped otherwise)."""
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -5)
        except (AttributeError, OSError):
            pass

    def _run(self) -> None:
        """Supervises the analysis loop: an exception is counted, logged and followed by a restart."""
        self._raise_priority()
        first, cap = self.restart_backoff_s
        wait = first
        while not self._stop.is_set():
            hops_before = self._hops
            try:
                self._loop()
                return
            except Exception as exc:  # noqa: BLE001 - keep the show going; counted, logged, shown
                self.error = exc
                self.restarts += 1
                repeat = f"{type(exc).__name__}: {exc}" == self.last_error
                self.last_error = f"{type(exc).__name__}: {exc}"
                if self._hops - hops_before >= HEALTHY_HOPS:
                    wait = first
                log.error("audio analysis failed (%s); restart %d in %.2f s", self.last_error, self.restarts, wait,
                          exc_info=not repeat)  # the traceback once per distinct error
                if self._stop.wait(wait):
                    return
                wait = min(2 * wait, cap)
            except BaseException as exc:  # SystemExit and the like: report, do not restart
                self.error = exc
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("audio analysis stopped")
                return

    def _loop(self) -> None:
        ring = self.source.ring
        hop = self.analyzer.hop_size
        sr = self.source.sample_rate
        max_backlog = int(self.max_backlog_s * sr)
        while not self._stop.is_set():
            if ring.available > max_backlog:
                self._skipped += ring.skip_to_latest(hop) // hop
            if not self._tempo_cmds.empty() or self._clock_changed.is_set():
                self._apply_tempo_commands()
            block = ring.read(hop)
            if block is None:
                # woken by the source's next block (a timeout only so stop() is seen)
                self.source.data_ready.wait(0.05)
                self.source.data_ready.clear()
                continue
            end = ring.frames_read  # stream index just past this hop
            t0 = time.perf_counter()
            f = self.analyzer.process(block[:, 0], time=end / sr)
            t1 = time.perf_counter()
            written, when = self.source.last_block
            arrived = when - max(written - end, 0) / sr  # when the hop's last sample reached us
            self.bus.publish(replace(f, wall=t1))
            self._cost.append(t1 - t0)
            self._lat.append(t1 - arrived)
            self._hops += 1
