"""Ableton Link: the session's tempo and beat as an external clock, and vjgan's tempo into the session.

Why a thread with its own asyncio loop: aalink's `Link` must be created inside a running loop (it delivers
its callbacks there), and neither the clock thread that calls `read()` nor the render loop may wait for
Link. That thread samples the session (tempo, beat at a perf_counter() time) every `poll_s` and commits
what `lead()` asked for; `read()` and `lead()` only swap one reference each, so they never block. A
reading extrapolates exactly between samples.

Link finds its peers by multicast on every interface (UDP 20808). Without aalink, or without a network that
carries multicast, Link is either off (a clear log line) or alone in its session: the show goes on.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from dataclasses import dataclass

from vjgan.core.clock import ClockReading

log = logging.getLogger(__name__)

AALINK_PIN = "aalink==0.2.3"  # requirements.txt
TEMPO_EPS_BPM = 0.05  # vjgan's tempo is pushed only when it differs from the session's by more
PHASE_EPS_BEATS = 0.1  # ... and its beat phase when off by more than this ...
PHASE_EVERY_S = 2.0  # ... at most this often (a forced beat moves every peer's timeline)
LONELY_S = 5.0  # no peer after this long: say so once (no other Link app, or no multicast)


@dataclass(frozen=True, slots=True)
class LeadRequest:
    """What vjgan wants the session to be when it leads: `bpm`, and beat `beat` at perf_counter() `at`
    (None: tempo only)."""

    bpm: float
    beat: float | None = None
    at: float = 0.0


class LinkClock:
    """One Link peer. `ExternalClock` "link" while followed; `lead()` while vjgan is the tempo source."""

    name = "link"

    def __init__(self, bpm: float = 120.0, quantum: int = 4, poll_s: float = 0.005) -> None:
        self.quantum = int(quantum)
        self.poll_s = float(poll_s)
        self._initial_bpm = float(bpm)
        self._reading: ClockReading | None = None
        self._lead: LeadRequest | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._last_phase_push = -math.inf
        self.peers = 0
        self.error = ""  # why Link is off ("" while it runs)
        self.tempo_pushes = 0  # session tempo changes vjgan made
        self.phase_pushes = 0  # forced beats vjgan made

    # ---- any thread -------------------------------------------------------------------------------
    def read(self) -> ClockReading | None:
        """The session's newest sample (None until Link runs): a plain attribute read."""
        return self._reading

    def lead(self, bpm: float, beat: float | None = None, at: float | None = None) -> None:
        """vjgan leads: bring the session to `bpm` (and beat `beat` at perf_counter() `at`, phase only:
        the session keeps its bar). Latest value wins; the Link thread commits it, rate-limited."""
        if not (math.isfinite(bpm) and 20.0 <= bpm <= 999.0):
            return
        self._lead = LeadRequest(float(bpm), beat, time.perf_counter() if at is None else float(at))

    @property
    def running(self) -> bool:
        return self._ready.is_set() and not self.error

    def status(self) -> str:
        """One line for the panel and the log."""
        if self.error:
            return f"Link off: {self.error}"
        r = self._reading
        if r is None:
            return "Link starting"
        return f"Link {r.bpm:.2f} BPM, {self.peers} peer{'s' if self.peers != 1 else ''}"

    # ---- lifetime ---------------------------------------------------------------------------------
    def start(self, timeout: float = 5.0) -> bool:
        """Join the Link session on a thread of its own; False (and `error`, logged) when Link cannot run."""
        if self._thread is not None:
            return self.running
        self._thread = threading.Thread(target=self._run, name="vjgan-link", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.error = f"Link did not start within {timeout:.0f} s"
            log.error("%s; following the analysis instead", self.error)
        return self.running

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._reading = None

    # ---- the Link thread --------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # noqa: BLE001 - Link must never end the show
            self._reading = None  # a stale reading would keep extrapolating a session that is gone
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("Link stopped: %s; following the analysis instead", self.error)
        finally:
            self._ready.set()

    async def _main(self) -> None:
        try:
            import aalink
        except ImportError as exc:
            self.error = f"the aalink package is missing ({exc}); install it with: pip install {AALINK_PIN}"
            log.error("Link off: %s. The show goes on with the other tempo sources", self.error)
            return
        link = aalink.Link(self._initial_bpm)
        link.quantum = self.quantum
        link.enabled = True
        link.set_num_peers_callback(self._peers_changed)
        log.info("Link on: %.2f BPM, quantum %d; peers are found by multicast on UDP 20808", link.tempo,
                 self.quantum)
        self._sample(link)
        self._ready.set()
        started, lonely_said = time.perf_counter(), False
        try:
            while not self._stopping.is_set():
                await asyncio.sleep(self.poll_s)  # the loop also delivers aalink's callbacks meanwhile
                self._commit_lead(link)
                self._sample(link)
                if not lonely_said and self.peers == 0 and time.perf_counter() - started > LONELY_S:
                    lonely_said = True
                    log.info("Link: no peers after %.0f s (no other Link app, or no multicast on this network); "
                             "the session runs on vjgan's own tempo", LONELY_S)
        finally:
            link.enabled = False

    def _peers_changed(self, n: int) -> None:
        self.peers = int(n)
        log.info("Link: %d peer%s", n, "" if n == 1 else "s")

    def _sample(self, link: object) -> None:
        t0 = time.perf_counter()
        beat = float(link.beat)  # type: ignore[attr-defined]  # the session's beat now (Link's clock)
        t1 = time.perf_counter()
        bpm = float(link.tempo)  # type: ignore[attr-defined]
        self._reading = ClockReading("link", bpm, beat, 0.5 * (t0 + t1), self.quantum)

    def _commit_lead(self, link: object) -> None:
        req, self._lead = self._lead, None
        cur = self._reading
        if req is None or cur is None:
            return
        if abs(req.bpm - cur.bpm) > TEMPO_EPS_BPM:
            link.tempo = req.bpm  # type: ignore[attr-defined]
            self.tempo_pushes += 1
            return  # the phase is compared at the new tempo, next time
        now = time.perf_counter()
        if req.beat is None or now - self._last_phase_push < PHASE_EVERY_S:
            return
        ours = req.beat + (now - req.at) * req.bpm / 60.0
        theirs = cur.beat_at(now)
        off = (ours - theirs + 0.5) % 1.0 - 0.5  # beats, the nearest way round
        if abs(off) > PHASE_EPS_BEATS:
            link.force_beat(float(link.beat) + off)  # type: ignore[attr-defined]
            self._last_phase_push = now
            self.phase_pushes += 1
