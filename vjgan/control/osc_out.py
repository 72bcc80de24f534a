"""OSC out: stream the analysed features to TouchOSC meters, Max for Live, TouchDesigner...

Its own thread samples `FeatureBus.latest` at up to 100 Hz (the analysis rate) and sends one OSC bundle
(or separate messages) per tick to every target, only when a new analysis frame exists. Events that
happened between two ticks (onsets, beats, bars) are collected from the bus history so none is lost when
the rate is below 100 Hz. Sending never blocks the analysis or the render loop; unreachable targets are
counted and logged at a limited rate. Address list: `OUT_ADDRESSES` (documented in docs/osc.md).
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from vjgan.control.oscwire import encode_bundle, encode_message
from vjgan.core.errors import UserError
from vjgan.core.features import PITCH_CLASSES, FeatureBus, Features

log = logging.getLogger(__name__)

PREFIX = "/vjgan/out"
MAX_RATE_HZ = 100.0
# OSC address parts may not contain '#': sharps are spelled with 's' (C, Cs, D, Ds, ...).
CHROMA_NAMES = tuple(n.replace("#", "s") for n in PITCH_CLASSES)

_SCALARS: tuple[tuple[str, str], ...] = (
    ("onset", "onset strength 0..1"),
    ("rms", "instantaneous RMS, linear (full scale 1)"),
    ("rms_smooth", "RMS smoothed over ~1 s"),
    ("bass", "low band energy 0..1"),
    ("mid", "mid band energy 0..1"),
    ("high", "high band energy 0..1"),
    ("kick", "low-band percussive onset strength 0..1"),
    ("snare", "high-band percussive onset strength 0..1"),
    ("percussive", "percussive energy (HPSS) 0..1"),
    ("harmonic", "harmonic energy (HPSS) 0..1"),
    ("beat_phase", "0..1 position within the current beat"),
    ("bar_phase", "0..1 position within the current bar (4 beats)"),
    ("tempo", "tempo in BPM"),
    ("section_phase", "0..1 progress through the current section (whole-track analysis only, else 0)"),
)
_EVENTS: tuple[tuple[str, str], ...] = (
    ("onset", "i 1 when an onset was detected"),
    ("kick", "i 1 on a kick"),
    ("snare", "i 1 on a snare"),
    ("beat", "i beat_count on every beat"),
    ("bar", "i bar number (beat_count // 4) on every downbeat"),
)

# (address, OSC type tags, description): the full OSC-out address space, used for docs and the TouchOSC layout
OUT_ADDRESSES: tuple[tuple[str, str, str], ...] = (
    *((f"{PREFIX}/{name}", "f", doc) for name, doc in _SCALARS),
    (f"{PREFIX}/section", "i", "section label 0..k-1 (whole-track analysis only, else 0)"),
    (f"{PREFIX}/bands", "fff", "bass, mid, high in one message"),
    (f"{PREFIX}/chroma", "f" * 12, "12 chroma values C..B (harmonic part, max-normalised)"),
    *((f"{PREFIX}/chroma/{n}", "f", f"chroma {p} 0..1") for n, p in zip(CHROMA_NAMES, PITCH_CLASSES, strict=True)),
    *((f"{PREFIX}/event/{name}", "i", doc) for name, doc in _EVENTS),
)


def _f(address: str) -> bytes:
    """Pre-encoded address + ',f' type tag; the float is appended per tick (cheap at 100 Hz)."""
    return encode_message(address, [0.0])[:-4]


_SCALAR_PREFIX = {name: _f(f"{PREFIX}/{name}") for name, _ in _SCALARS}
_CHROMA_PREFIX = [_f(f"{PREFIX}/chroma/{n}") for n in CHROMA_NAMES]
_SECTION_PREFIX = encode_message(f"{PREFIX}/section", [0])[:-4]
_BANDS_PREFIX = encode_message(f"{PREFIX}/bands", [0.0, 0.0, 0.0])[:-12]
_CHROMA_ALL_PREFIX = encode_message(f"{PREFIX}/chroma", [0.0] * 12)[:-48]


def encode_features(f: Features, events: dict[str, int] | None = None) -> list[bytes]:
    """The OSC messages for one snapshot (+ events collected since the previous tick)."""
    pack = struct.Struct(">f").pack
    msgs = [pre + pack(float(getattr(f, name, 0.0))) for name, pre in _SCALAR_PREFIX.items()]
    msgs.append(_SECTION_PREFIX + struct.pack(">i", int(getattr(f, "section", 0))))
    msgs.append(_BANDS_PREFIX + struct.pack(">3f", f.bass, f.mid, f.high))
    chroma = tuple(float(x) for x in f.chroma)
    msgs.append(_CHROMA_ALL_PREFIX + struct.pack(">12f", *chroma))
    msgs.extend(pre + pack(x) for pre, x in zip(_CHROMA_PREFIX, chroma, strict=True))
    for name, value in (events or {}).items():
        msgs.append(encode_message(f"{PREFIX}/event/{name}", [int(value)]))
    return msgs


def collect_events(frames: Iterable[Features]) -> dict[str, int]:
    """Events in a run of analysis frames, so a tick at < 100 Hz still reports every beat and onset."""
    ev: dict[str, int] = {}
    for f in frames:
        if f.onset_event:
            ev["onset"] = 1
        if f.kick_event:
            ev["kick"] = 1
        if f.snare_event:
            ev["snare"] = 1
        if f.beat_event:
            ev["beat"] = f.beat_count
        if f.bar_event:
            ev["bar"] = f.beat_count // 4
    return ev


@dataclass
class OscOutStats:
    ticks: int = 0  # ticks that had a new analysis frame to send
    packets: int = 0  # datagrams sent (all targets)
    send_errors: int = 0
    events: int = 0


def parse_target(text: str) -> tuple[str, int]:
    """'host:port' or 'port' (→ 127.0.0.1) from a flag or a preset; UserError otherwise."""
    host, _, port = text.strip().rpartition(":")
    try:
        p = int(port)
        if not 0 < p < 65536:
            raise ValueError
    except ValueError:
        raise UserError(f"OSC out target {text!r}: expected HOST:PORT (e.g. 192.168.1.30:9001) or PORT") from None
    return (host or "127.0.0.1"), p


class OscOut:
    """Feature streamer. `targets`: [(host, port)]; `bundle=False` sends one datagram per message
    (for receivers that do not understand bundles)."""

    def __init__(
        self,
        bus: FeatureBus,
        targets: list[tuple[str, int]],
        rate_hz: float = 60.0,
        bundle: bool = True,
    ) -> None:
        if not 0 < rate_hz:
            raise UserError(f"OSC out rate must be positive, got {rate_hz}")
        self.bus = bus
        self.rate_hz = min(float(rate_hz), MAX_RATE_HZ)
        self.bundle = bundle
        self.stats = OscOutStats()
        self._targets: list[tuple[str, int]] = []
        for host, port in targets:
            try:
                info = socket.getaddrinfo(host, int(port), socket.AF_INET, socket.SOCK_DGRAM)
            except (OSError, ValueError) as exc:
                raise UserError(f"OSC out target {host}:{port}: cannot resolve ({exc})") from exc
            self._targets.append(info[0][4][:2])
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_error_log = 0.0

    @property
    def targets(self) -> list[tuple[str, int]]:
        return list(self._targets)

    def start(self) -> OscOut:
        if self._thread is None:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._sock.setblocking(False)  # a full send buffer drops a tick instead of stalling the thread
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="osc-out", daemon=True)
            self._thread.start()
            log.info("OSC out → %s at %.0f Hz", ", ".join(f"{h}:{p}" for h, p in self._targets), self.rate_hz)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> OscOut:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        period = 1.0 / self.rate_hz
        last_frame = self.bus.latest.frame
        next_t = time.perf_counter()
        while not self._stop.is_set():
            next_t += period
            delay = next_t - time.perf_counter()
            if delay < -period:  # fell behind (machine busy): resynchronise instead of bursting
                next_t = time.perf_counter()
            elif delay > 0 and self._stop.wait(delay):
                break
            latest = self.bus.latest
            if latest.frame == last_frame:
                continue
            if latest.frame - last_frame == 1 or latest.frame < last_frame:  # (< : a new analyzer restarted at 0)
                frames = [latest]
            else:
                frames = [f for f in self.bus.history(int(latest.frame - last_frame)) if f.frame > last_frame]
            last_frame = latest.frame
            events = collect_events(frames)
            try:
                self.send(encode_features(latest, events))
            except Exception:  # never let a bad value kill the streamer
                log.exception("OSC out: could not encode features")
                continue
            self.stats.ticks += 1
            self.stats.events += len(events)

    def send(self, messages: list[bytes]) -> None:
        sock = self._sock
        if sock is None:
            return
        packets = [encode_bundle(messages)] if self.bundle else messages
        for target in self._targets:
            for p in packets:
                try:
                    sock.sendto(p, target)
                    self.stats.packets += 1
                except OSError as exc:  # refused / unreachable / buffer full: the show goes on
                    self.stats.send_errors += 1
                    now = time.monotonic()
                    if now - self._last_error_log > 5.0:
                        self._last_error_log = now
                        log.warning("OSC out to %s:%d failed: %s", target[0], target[1], exc)
