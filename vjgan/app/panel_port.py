"""The app's side of the control panel: it builds the panel's `PanelState` and is the panel's `PanelPort`.

Why here: only the app may read every stage (the post-FX chain, the mapping, the audio engine, the OSC
server); the panel (control) sees them only through this snapshot, built on the render thread when the
panel asks for one (once per panel frame), and acts only through this port (see vjgan/core/panel_state.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from vjgan.core.errors import UserError
from vjgan.core.features import FeatureBus, Features
from vjgan.core.panel_state import AudioView, EffectView, OscView, PanelState, ParamTable, PcaView, RouteView
from vjgan.core.registry import ControlMessage, ControlQueue, ParamRegistry
from vjgan.core.stats import LiveStats


class LiveParts(Protocol):
    """What the port reads of `LiveApp` (a protocol: live.py imports this module, not the other way)."""

    registry: ParamRegistry
    queue: ControlQueue
    bus: FeatureBus
    stats: LiveStats
    messages: deque[str]
    chain: Any  # PostFXChain
    mapping: Any  # MappingEngine
    audio: Any  # AudioEngine
    audio_file: str | None
    generator: Any
    video: Any  # VideoInput or None
    video_mix: float
    osc: Any  # OscServer or None
    learn: Any  # OscLearn

    def note(self, text: str) -> None: ...


class LivePanelPort:
    """`PanelPort` of a running `LiveApp`. `snapshot` runs on the render thread (the panel calls it from
    `ControlPanel.sync`); the registry's parameter table is rebuilt only when the registry changed."""

    def __init__(self, app: LiveParts) -> None:
        self.app = app
        self._params: ParamTable | None = None

    def post(self, message: ControlMessage) -> None:
        self.app.queue.post(message)

    def watch(self, listener: Callable[[ControlMessage], None]) -> None:
        self.app.queue.listeners.append(listener)

    def unwatch(self, listener: Callable[[ControlMessage], None]) -> None:
        if listener in self.app.queue.listeners:
            self.app.queue.listeners.remove(listener)

    def features(self, history: int) -> tuple[Features, list[Features]]:
        bus = self.app.bus  # single writer (the analysis thread); `latest` is a plain read, history a locked copy
        return bus.latest, bus.history(history)

    def counters(self) -> tuple[int, int]:
        stats = self.app.stats
        return stats.frames, stats.late_frames

    def learn(self, address: str) -> None:
        try:
            self.app.learn.arm(address)  # OscLearn is locked; no GL or generator state involved
        except UserError as exc:
            self.app.note(str(exc))

    def cancel_learn(self) -> None:
        self.app.learn.cancel()

    def unbind(self, source: str) -> None:
        self.app.learn.unbind(source)

    def midi_learn(self, address: str, takeover: str = "jump", value: object = None) -> None:
        midi = getattr(self.app, "midi", None)
        if midi is None:
            self.app.note("MIDI is off: start with --midi-in PORT|virtual (see docs/live.md)")
            return
        midi.arm(address, takeover, value)

    def midi_cancel_learn(self) -> None:
        midi = getattr(self.app, "midi", None)
        if midi is not None:
            midi.learn.cancel()

    def midi_unbind(self, source: str) -> None:
        midi = getattr(self.app, "midi", None)
        if midi is not None:
            midi.router.unbind(source)

    def snapshot(self) -> PanelState:
        self._params = ParamTable.of(self.app.registry, self._params)
        return build_panel_state(self.app, self._params)


def build_panel_state(app: LiveParts, params: ParamTable) -> PanelState:
    """Render thread: copy what the panel shows from the app's state (tens of microseconds)."""
    chain, m, q = app.chain, app.mapping, app.queue
    effects = []
    for name in list(chain.order):
        e = chain.effects.get(name)
        if e is not None:
            values = tuple((p, chain.value(name, p)) for p in e.params)
            effects.append(EffectView(name, bool(e.enabled), values, e.error))
    cur = getattr(m, "cur", None)
    outs = m.route_outputs() if cur is not None else []
    routes = tuple(
        RouteView(bool(r.spec.enabled), r.spec.source, r.spec.target, float(r.spec.gain), float(r.spec.offset),
                  str(r.spec.curve), float(outs[i]) if i < len(outs) else 0.0)
        for i, r in enumerate(getattr(cur, "routes", []))
    )
    spec = getattr(getattr(cur, "preset", None), "latents", None)
    beats = getattr(getattr(app.audio, "analyzer", None), "beats", None)
    video, note = getattr(app, "video", None), ""
    if video is not None:
        note = next((x for x in reversed(app.messages) if " video: " in x), "")
    astats = getattr(app.audio, "stats", None)
    gen = app.generator
    sources = getattr(app, "tempo_sources", None)
    return PanelState(
        stats=app.stats.copy(),
        params=params,
        effects=tuple(effects),
        shaders_dir=str(chain.shaders_dir),
        routes=routes,
        mapping_error=str(getattr(m, "last_error", "") or ""),
        preset=str(getattr(getattr(m, "preset", None), "name", "")),
        fade=float(getattr(m, "fade", 1.0)),
        seeds=tuple(int(s) for s in spec.seeds) if spec is not None else None,
        groups=tuple((str(g), str(d)) for g, d in spec.groups.items()) if spec is not None else (),
        messages=tuple(app.messages),
        applied=q.stats.applied,
        rejected=q.stats.rejected,
        control_error=q.stats.last_error,
        tempo_held=bool(getattr(beats, "manual", False)),
        audio_file=app.audio_file,
        audio_source=str(getattr(astats, "source", "") or app.audio_file or "live input"),
        audio=_audio_view(astats),
        video=None if video is None else str(video.spec),
        video_note=note,
        video_mix=float(getattr(app, "video_mix", 1.0)),
        can_encode=hasattr(gen, "encode_uint8"),
        layers=tuple(getattr(gen, "layer_names", ())) + tuple(getattr(gen, "encoder_layer_names", ())),
        pca=_pca_view(getattr(m, "pca", None)),
        osc=_osc_view(getattr(app, "osc", None), getattr(app, "feedback", None)),
        outputs=app.outputs.views() if getattr(app, "outputs", None) is not None else (),
        tempo_source=str(getattr(sources, "source", "analysis")),
        tempo_sources=sources.available() if sources is not None else ("analysis",),
        tempo_status=sources.status() if sources is not None else "",
        midi=app.midi.view() if getattr(app, "midi", None) is not None else None,
    )


def _audio_view(stats: Any) -> AudioView | None:
    if stats is None:
        return None
    return AudioView(float(stats.analysis_ms_p50), float(stats.analysis_ms_p99), float(stats.latency_ms),
                     int(stats.overflows), str(stats.status))


def _pca_view(pca: Any) -> PcaView | None:
    if pca is None or not pca.available:
        return None
    ratio = pca.variance_ratio
    return PcaView(bool(pca.busy), pca.directions is not None,
                   None if ratio is None else tuple(float(x) for x in ratio))


def _counters(st: Any) -> str:
    return "  ".join(f"{k} {v}" for k, v in vars(st).items() if isinstance(v, int)) if hasattr(st, "__dict__") \
        else str(st)


def _osc_view(osc: Any, feedback: Any = None) -> OscView | None:
    if osc is None:
        return None
    learn = osc.learn
    peers = tuple(f"{h}:{p}  sent {n}  errors {e}" for h, p, n, e in feedback.peers()) if feedback else ()
    return OscView(str(osc.host), int(osc.port), _counters(osc.stats), learn.armed, tuple(learn.bindings()),
                   peers, _counters(feedback.stats) if feedback else "")


class PanelHost:
    """The app's handle on its panel window (main thread): open it, service it once per output frame, and
    finish a closed one, whose thread may still be drawing its last frame, at a later frame."""

    def __init__(self, port: LivePanelPort) -> None:
        self.port = port
        self.panel: Any = None  # the open ControlPanel
        self._closing: Any = None  # a closed ControlPanel whose thread is still finishing its frame

    def open(self) -> None:
        """Open the panel window; without a display it is a note, and the show runs without it."""
        from vjgan.control.panel import ControlPanel

        try:
            self.panel = ControlPanel(self.port)  # no shared objects: its context lives on its own thread
        except UserError as exc:
            self.port.app.note(f"panel not opened: {exc}")

    def service(self, costs: deque[float]) -> None:
        """Once per output frame, after its present: the panel window's close flag, a state copy when the
        panel asked for one, and its frame costs (appended to `costs`). Nothing waits for a panel frame."""
        panel = self.panel
        if panel is not None and panel.wants_close():
            why = f" ({panel.error})" if panel.error else ""
            panel.close(wait=False)  # the thread ends after its current frame; the window goes then
            self._closing, self.panel, panel = panel, None, None
            self.port.app.note(f"panel closed{why}; the output keeps running")
        if panel is not None:
            panel.sync()
            while panel.costs:
                costs.append(panel.costs.popleft())
        if self._closing is not None and self._closing.close(wait=False):
            self._closing = None

    def take_all(self) -> list[Any]:
        """The open and the closing panel, forgotten here: the app's stop() closes each (joins its thread)."""
        panels = [p for p in (self.panel, self._closing) if p is not None]
        self.panel = self._closing = None
        return panels
