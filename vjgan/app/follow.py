"""Several outputs in step (`vjgan live --lead PORT` / `--follow HOST:PORT`): the app's side.

The leader holds every mirrored control change that reaches its `ControlQueue` (OSC, panel, MIDI) until
the next beat or bar (`quantise`), applies it there, and sends it at once to its followers with that target
beat; each follower, whose beat count follows the leader's clock, applies it when its own beat count
reaches the target. Both decide on their own frames' `Features.beat_count`, so the change lands on the
same beat on every output, not on arrival. A preset load is compiled first, everywhere at once (the app's
worker); the leader picks its beat when its own compile is done, so a slow load does not make it late.

What is mirrored: the groups in `MIRROR_GROUPS`; everything else (transport, tempo taps, audio and video
sources, saves, the sync itself) stays local and unquantised. A follower can ignore groups (`--follow-ignore
preset,params`) to run its own preset. The follower's clock is the tempo source "leader" of the app's
tempo-source selector (app/tempo_source.py), selected at start.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from vjgan.control.syncwire import AT_ONCE, PREPARE
from vjgan.core.clock import ClockReading
from vjgan.core.errors import UserError
from vjgan.core.features import Features
from vjgan.core.registry import ControlMessage

log = logging.getLogger(__name__)

QUANTISE = ("beat", "bar", "off")
LEAD_MARGIN_S = 0.08  # a beat closer than this is too near for the followers to hear of it: the next one
PRESET_MARGIN_S = 0.5  # a compiled preset load: room for a slower follower to finish its compile
PRESET_LOAD = "/vjgan/preset/load"
SYNC_ORIGIN = "sync"  # origin prefix of released changes: the gate lets them through

# address prefixes per group of mirrored changes
MIRROR_GROUPS: dict[str, tuple[str, ...]] = {
    "preset": (PRESET_LOAD, "/vjgan/preset/reload"),
    "params": ("/vjgan/target/", "/vjgan/user/", "/vjgan/route/", "/vjgan/shader/", "/vjgan/preset/crossfade",
               "/vjgan/app/crossfade_ms", "/vjgan/app/route/"),
    "latents": ("/vjgan/latent/", "/vjgan/app/latent/seeds", "/vjgan/app/latent/morph_to"),
}


def mirrored(address: str, groups: dict[str, tuple[str, ...]] = MIRROR_GROUPS) -> bool:
    return any(address.startswith(p) for prefixes in groups.values() for p in prefixes)


def ignore_prefixes(items: list[str] | None) -> tuple[str, ...]:
    """`--follow-ignore` values (group names or /vjgan/... address prefixes, comma separated) → prefixes."""
    out: list[str] = []
    for item in (x.strip() for text in items or [] for x in text.split(",")):
        if not item:
            continue
        if item in MIRROR_GROUPS:
            out.extend(MIRROR_GROUPS[item])
        elif item.startswith("/vjgan/"):
            out.append(item)
        else:
            raise UserError(f"--follow-ignore {item!r}: expected {', '.join(MIRROR_GROUPS)} or an address "
                            "prefix such as /vjgan/target/shader.")
    return tuple(out)


def next_target(features: Features, quantise: str, beats_per_bar: int = 4, margin_s: float = LEAD_MARGIN_S,
                now: float | None = None) -> int:
    """The beat count a change received `now` lands on: the next beat (or bar line) at least `margin_s` away.
    The features' beat is carried forward from their analysis time to `now` at their tempo."""
    bpm = features.tempo if features.tempo > 0 else 120.0
    beat = features.beat_count + min(max(features.beat_phase, 0.0), 0.999)
    if now is not None and 0.0 < features.wall <= now:
        beat += min(now - features.wall, 2.0) * bpm / 60.0  # a stalled analysis is not extrapolated for ever
    step = beats_per_bar if quantise == "bar" else 1
    target = (math.floor(beat / step) + 1) * step
    if (target - beat) * 60.0 / bpm < margin_s:
        target += step
    return int(target)


NOT_YET = 2**62  # the target of a change held until something else (its compile) decides its beat


@dataclass
class _Held:
    target: int
    message: ControlMessage
    compiled: Any = None  # a prefetched preset
    state: str = ""  # "" (not a prefetched load), "loading", "ready", "failed"
    due: bool = False  # the beat came while the preset was still loading
    on_ready: Callable[[_Held], None] | None = None  # the leader: choose the beat once compiled
    entry: dict[str, Any] | None = None  # its line in BeatSchedule.log


class BeatSchedule:
    """Changes held until a beat count (render thread). The same on the leader and its followers.

    A preset load is compiled first (the app's worker): the leader holds it until its own compile is done,
    then picks the beat and sends it; the followers start compiling when the leader starts (`prepare`, on
    the leader's first word), so they have the leader's compile time plus the margin to be ready."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.held: list[_Held] = []
        self.prepared: dict[str, _Held] = {}  # follower: preset loads compiling before their beat is known
        self.applied = 0
        self.late = 0  # applied after their beat: arrived late, or a preset still loading at the beat
        # arrival beat, target and address of the newest held changes (tests, the bench)
        self.log: deque[dict[str, Any]] = deque(maxlen=256)

    def hold(self, target: int, message: ControlMessage, beat_now: int,
             on_ready: Callable[[_Held], None] | None = None) -> _Held:
        """Hold `message` until beat `target`; with `on_ready` (the leader's preset loads) the beat is chosen
        by `on_ready` once the preset is compiled."""
        h = self.prepared.pop(str(message.value), None) if message.address == PRESET_LOAD else None
        if h is None:
            h = _Held(target, message, on_ready=on_ready)
            if message.address == PRESET_LOAD and self._prefetch(h):
                h.state = "loading"
        h.message, h.target = message, NOT_YET if on_ready is not None else target
        h.entry = {"address": message.address, "arrival_beat": beat_now,
                   "target": None if on_ready is not None else target}
        self.log.append(h.entry)
        if h.state != "failed":
            self.held.append(h)
        if on_ready is not None and h.state != "loading":  # no compile to wait for (the worker was busy)
            on_ready(h)
        return h

    def prepare(self, message: ControlMessage) -> None:
        """Follower: the leader started compiling this preset; compile it here too, its beat comes later."""
        name = str(message.value)
        if message.address != PRESET_LOAD or name in self.prepared:
            return
        h = _Held(NOT_YET, message)
        if self._prefetch(h):
            h.state = "loading"
            self.prepared[name] = h
            while len(self.prepared) > 8:  # never committed (the leader's compile failed): forgotten
                self.prepared.pop(next(iter(self.prepared)))

    def release(self, beat_count: int) -> bool:
        """Apply what is due at `beat_count`; True when messages were posted (the caller drains the queue)."""
        posted = False
        for h in [h for h in self.held if h.target <= beat_count]:
            self.held.remove(h)
            posted |= self._apply(h)
        return posted

    def _apply(self, h: _Held) -> bool:
        self.applied += 1
        if h.state == "loading":  # the beat came first: installed as soon as the worker is done
            log.info("preset %s still compiling at beat %d: installed when ready (late)", h.message.value, h.target)
            h.due, h.target = True, NOT_YET  # kept, never released by a beat again
            self.late += 1
            self.held.append(h)
            return False
        if h.state == "ready":
            self._install(h.compiled)
            return False
        if h.state == "failed":
            return False
        self.app.queue.post(replace(h.message, origin=f"{SYNC_ORIGIN}:{h.message.origin}", due=0.0))
        return True

    def _prefetch(self, h: _Held) -> bool:
        """Compile the preset now on the worker; False when that cannot start (then it loads at the beat)."""
        from vjgan.app.workers import WorkerBusy
        from vjgan.core.paths import PathRefused, confine
        from vjgan.mapping.presets import find_preset, load_preset

        mapping = self.app.mapping
        name = str(h.message.value)

        def work() -> Any:
            try:
                path = confine(name, [mapping.presets_dir], "preset", ".toml")
            except PathRefused as exc:
                raise UserError(str(exc)) from exc
            return mapping.compile(load_preset(find_preset(path, mapping.presets_dir), mapping.effects))

        def done(compiled: Any) -> None:
            h.compiled, h.state = compiled, "ready"
            if h.on_ready is not None and h.target == NOT_YET and not h.due and any(x is h for x in self.held):
                h.on_ready(h)  # the leader: now the beat
            if h.due:
                self.held = [x for x in self.held if x is not h]
                self._install(compiled)

        def failed(exc: BaseException) -> None:
            h.state = "failed"
            self.held = [x for x in self.held if x is not h]
            if self.prepared.get(name) is h:
                del self.prepared[name]
            self.app.note(f"preset {name} not loaded: {exc}")

        try:
            self.app.worker.submit(f"preset {name}", work, done, failed)
        except WorkerBusy:
            return False
        return True

    def _install(self, compiled: Any) -> None:
        mapping = self.app.mapping
        mapping.install(compiled, mapping.cur.value("preset.crossfade_beats"))


class SyncHub:
    """Leader and/or follower of one LiveApp: the links, the beat schedule, the status line. An instance that
    both follows and leads (a chain) passes its leader's changes on with their beats; its own followers
    follow its beat, which is its leader's."""

    def __init__(self, app: Any, lead: tuple[str, int] | None, follow: tuple[str, int] | None,
                 quantise: str = "beat", ignore: tuple[str, ...] = (), lost_after: float = 1.5,
                 allow: list[str] | None = None) -> None:
        if quantise not in QUANTISE:
            raise UserError(f"--quantise {quantise!r}: expected one of {', '.join(QUANTISE)}")
        self.app, self.quantise, self.ignore = app, quantise, ignore
        self.schedule = BeatSchedule(app)
        self.leader: Any = None
        self.follower: Any = None
        self.ignored = 0  # mirrored changes a follower's filter dropped
        self._features: Features | None = None
        self._state: tuple[Any, Any] = (None, None)
        if lead is not None:
            from vjgan.control.leader import LeaderLink

            self.leader = LeaderLink(lead[0], lead[1], allow=allow)
            app.queue.gate = self._gate
        if follow is not None:
            from vjgan.control.follower import FollowerLink

            self.follower = FollowerLink(follow[0], follow[1], lost_after=lost_after)

    def start(self) -> None:
        if self.leader is not None:
            self.leader.start()
        if self.follower is not None:
            self.follower.start()

    def stop(self) -> None:
        for link in (self.follower, self.leader):
            if link is not None:
                link.stop()

    # ---- render thread ------------------------------------------------------------------------------
    def frame(self, features: Features, now: float) -> bool:
        """Once per frame, after the features: publish the leader's beat, take the follower's changes,
        release what is due. True when control messages were posted (drain the queue again)."""
        self._features = features
        posted = False
        if self.leader is not None and features.tempo >= 1.0:
            at = features.wall if 0.0 < now - features.wall < 0.5 else now
            try:
                self.leader.publish(ClockReading("leader", features.tempo,
                                                 features.beat_count + min(max(features.beat_phase, 0.0), 0.999), at))
            except ValueError:
                pass  # no usable tempo this frame: the followers keep the last one
        if self.follower is not None:
            for change in self.follower.changes():
                if self.leader is not None:  # a chain: on to our own followers, same beat numbers
                    self.leader.mirror(change.target_beat, change.address, change.value, change.origin)
                if any(change.address.startswith(p) for p in self.ignore):
                    self.ignored += change.target_beat != PREPARE  # one per change, not per announcement
                    continue
                message = ControlMessage(change.address, change.value, origin=f"leader:{change.origin}")
                if change.target_beat == PREPARE:
                    self.schedule.prepare(message)
                    continue
                if change.target_beat < 0:
                    self.app.queue.post(replace(message, origin=f"{SYNC_ORIGIN}:{message.origin}"))
                    posted = True
                    continue
                if change.target_beat <= features.beat_count:
                    self.schedule.late += 1  # arrived after its beat: at once (counted)
                    log.info("%s for beat %d arrived at beat %d: applied at once (late)", change.address,
                             change.target_beat, features.beat_count)
                self.schedule.hold(change.target_beat, message, features.beat_count)
        posted |= self.schedule.release(features.beat_count)
        self._status()
        return posted

    def _gate(self, m: ControlMessage) -> bool:
        """The leader's ControlQueue gate: hold a mirrored change until its beat and send it to the followers."""
        if m.origin.startswith(SYNC_ORIGIN) or not mirrored(m.address):
            return False
        try:
            if self.quantise == "off" or m.due > 0 or self._features is None:  # timed bundles keep their time
                self.leader.mirror(AT_ONCE, m.address, m.value, m.origin)
                return False
            f = self._features
            if m.address == PRESET_LOAD:  # followers compile now; its beat is chosen once it is compiled here
                self.leader.mirror(PREPARE, m.address, m.value, m.origin)
                self.schedule.hold(NOT_YET, m, f.beat_count, on_ready=self._commit)
                return True
            target = next_target(f, self.quantise, now=time.perf_counter())
            self.leader.mirror(target, m.address, m.value, m.origin)
            self.schedule.hold(target, m, f.beat_count)
            return True
        except Exception:  # noqa: BLE001 - the gate must never stop the queue: apply it unquantised
            log.exception("sync gate failed on %s", m.address)
            return False

    def _commit(self, h: Any) -> None:
        """The leader's preset load is compiled (render thread): its beat, here and on every follower."""
        f = self._features
        target = next_target(f, self.quantise, now=time.perf_counter(), margin_s=PRESET_MARGIN_S) if f else AT_ONCE
        h.target = target
        if h.entry is not None:
            h.entry["target"] = target
        self.leader.mirror(target, h.message.address, h.message.value, h.message.origin)

    def _status(self) -> None:
        parts = []
        if self.leader is not None:
            st = self.leader.stats
            parts.append(f"leading :{self.leader.port}, {st.followers} follower{'s' * (st.followers != 1)}, "
                         f"quantise {self.quantise}")
        if self.follower is not None:
            parts.append(self.follower.status())
        bad = sum(link.stats.malformed + link.stats.refused for link in (self.leader, self.follower) if link)
        if bad:
            parts.append(f"{bad} sync packet{'s' * (bad != 1)} refused")
        text = "; ".join(parts)
        key = (self.leader.stats.followers if self.leader is not None else None,
               self.follower.stats.state if self.follower is not None else None)
        if key != self._state:
            self._state = key
            self.app.note(f"sync: {text}")
        self.app.stats.sync = text
