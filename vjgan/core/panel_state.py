"""What the control panel sees (`PanelState`) and the only way it acts (`PanelPort`).

Why: the panel draws on a thread of its own. It used to read the app's live objects from there (the
post-FX chain, the mapping's routes, the stats: all mutated in place by the render thread) and called
some of them, which also made control import app (a cycle). Now the app builds a frozen `PanelState` on
the render thread when the panel asks for one (once per panel frame, tens of microseconds) and hands it
over by reference: the panel keeps the newest and reads it without a lock. Every action goes through the
`PanelPort`: control messages onto the app's `ControlQueue` (the same path OSC takes), and the few calls
that are no parameter (OSC learn). The audio features come through the port too, straight from the
feature bus, which serves any thread: the meters stay live while the render loop stalls, and the render
thread copies no history for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from vjgan.core.bindings import Binding
from vjgan.core.features import Features
from vjgan.core.midi_binding import MidiBinding
from vjgan.core.registry import ControlMessage, Param, ParamRegistry
from vjgan.core.stats import LiveStats


@dataclass(frozen=True, slots=True)
class EffectView:
    name: str
    enabled: bool
    values: tuple[tuple[str, float], ...]  # (uniform, value the chain uses now)
    error: str


@dataclass(frozen=True, slots=True)
class RouteView:
    enabled: bool
    source: str
    target: str
    gain: float
    offset: float
    curve: str
    out: float


@dataclass(frozen=True, slots=True)
class AudioView:
    """The running audio engine's own figures (its `AudioStats`)."""

    analysis_ms_p50: float
    analysis_ms_p99: float
    latency_ms: float
    overflows: int
    status: str


@dataclass(frozen=True, slots=True)
class PcaView:
    """The GANSpace explorer of a generator that has a mapping network."""

    busy: bool  # a computation is running
    computed: bool  # the directions exist
    variance_ratio: tuple[float, ...] | None


@dataclass(frozen=True, slots=True)
class OscView:
    """The OSC server and OSC learn (shown only when the app listens for OSC)."""

    host: str
    port: int
    stats: str  # the server's counters, one line
    armed: str | None  # the target OSC learn waits a message for
    bindings: tuple[Binding, ...]
    feedback: tuple[str, ...] = ()  # one line per feedback peer: "HOST:PORT  sent N  errors N"
    feedback_stats: str = ""  # the feedback thread's counters, one line ("" when feedback is off)


@dataclass(frozen=True, slots=True)
class MidiView:
    """MIDI in and out, MIDI learn and the MIDI clock (shown only when the app has MIDI)."""

    in_port: str | None  # None: not opened
    out_port: str | None
    stats: str  # the input's counters, one line
    armed: str | None  # the target MIDI learn waits a control for
    bindings: tuple[MidiBinding, ...]
    clock: str  # the MIDI clock's state, one line


@dataclass(frozen=True, slots=True)
class OutputView:
    """One kind of video out (NDI, v4l2, Syphon, Spout) and its sender's counters."""

    kind: str  # "ndi", "v4l2", "syphon", "spout": /vjgan/output/<kind>/...
    what: str  # the kind in words
    target_word: str  # what the target is: "source name", "device"
    target: str
    running: bool
    sent: int
    dropped: int
    errors: int
    error: str  # why it is not running, or the newest send failure


@dataclass(frozen=True)
class ParamTable:
    """The registry's parameters at one version, sorted by address; rebuilt only when the registry changed,
    so a snapshot carries it by reference (the panel looks parameters up many times per frame)."""

    version: int
    params: tuple[Param, ...]
    by_address: Mapping[str, Param]

    @classmethod
    def of(cls, registry: ParamRegistry, previous: ParamTable | None = None) -> ParamTable:
        version = registry.version
        if previous is not None and previous.version == version:
            return previous
        params = tuple(registry.params())
        return cls(version, params, MappingProxyType({p.address: p for p in params}))

    def get(self, address: str) -> Param | None:
        return self.by_address.get(address)

    def under(self, prefix: str) -> list[Param]:
        return [p for p in self.params if p.address.startswith(prefix)]


@dataclass(frozen=True)
class PanelState:
    """Everything the panel shows but the audio features (`PanelPort.features`), copied on the render
    thread; never mutated after it is built."""

    stats: LiveStats  # a copy
    params: ParamTable
    effects: tuple[EffectView, ...]
    shaders_dir: str
    routes: tuple[RouteView, ...]
    mapping_error: str
    preset: str
    fade: float
    seeds: tuple[int, ...] | None
    groups: tuple[tuple[str, str], ...]
    messages: tuple[str, ...]  # the app's notes, oldest first
    applied: int
    rejected: int
    control_error: str
    tempo_held: bool
    audio_file: str | None  # the file playing on loop (None: live input)
    audio_source: str  # what the audio engine reads, in words
    audio: AudioView | None  # None: the audio engine reports no stats
    video: str | None  # the video source now (None: the app has no video input)
    video_note: str
    video_mix: float
    can_encode: bool  # the generator has an image encoder (VAE-GAN)
    layers: tuple[str, ...]  # bendable layers: the generator's, then its encoder's
    pca: PcaView | None  # None: no mapping network to analyse
    osc: OscView | None  # None: OSC is off
    outputs: tuple[OutputView, ...] = ()  # the video outs, one per kind
    tempo_source: str = "analysis"  # the clock the beat follows now (vjgan.core.clock.TEMPO_SOURCES)
    tempo_sources: tuple[str, ...] = ("analysis",)  # the enabled ones
    tempo_status: str = ""  # the selector's and each clock's state, one line
    midi: MidiView | None = None  # None: MIDI is off


class PanelPort(Protocol):
    """What the app provides to the panel. `post` may be called from any thread (the panel's, and the main
    thread's input callbacks); `snapshot` and `watch`/`unwatch` only on the render (main) thread."""

    def post(self, message: ControlMessage) -> None:
        """Queue a control message; the render loop applies it at its next frame."""

    def watch(self, listener: Callable[[ControlMessage], None]) -> None:
        """Call `listener` (render thread) with every message the render loop applies, from any origin."""

    def unwatch(self, listener: Callable[[ControlMessage], None]) -> None:
        """Stop calling a listener given to `watch`."""

    def snapshot(self) -> PanelState:
        """Build a fresh `PanelState` (render thread)."""

    def features(self, history: int) -> tuple[Features, list[Features]]:
        """The newest analysis frame and the last `history` ones, oldest first (any thread)."""

    def counters(self) -> tuple[int, int]:
        """(output frames presented, late output frames) now: plain ints, read from the panel thread."""

    def learn(self, address: str) -> None:
        """Arm OSC learn for a registry address: the next unknown OSC message binds to it. A bad address is
        a note for the user, not an error."""

    def cancel_learn(self) -> None:
        """Disarm OSC learn."""

    def unbind(self, source: str) -> None:
        """Remove the OSC learn binding of an incoming address."""

    def midi_learn(self, address: str, takeover: str = "jump", value: object = None) -> None:
        """Arm MIDI learn for a registry address: the next CC, note or pitch bend binds to it (a note sends
        `value` when given). A bad address is a note for the user, not an error; without MIDI, nothing."""

    def midi_cancel_learn(self) -> None:
        """Disarm MIDI learn."""

    def midi_unbind(self, source: str) -> None:
        """Remove the MIDI binding of a control (its `MidiBinding.source`, e.g. 'cc 7 ch 1')."""
