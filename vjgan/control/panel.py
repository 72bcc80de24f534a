"""The ImGui control panel: a second glfw window drawn by its own thread, with its own GL context.

It only reads state and turns every user action into a `ControlMessage` on the app's queue, which the
render loop applies at the next frame — the same path OSC takes, so the panel can never race the
generator or the output's GL context. What the render thread owns and mutates (the post-FX chain, the
mapping's routes, the stats, the notes) reaches the panel as a `PanelState` copy that the render thread
makes when the panel asks for one; thread-safe sources (the feature bus, the registry, OSC learn) are
read directly.

GLFW wants window creation, destruction and event processing on the main thread: the render loop
creates the window, runs `glfw.poll_events()` (our callbacks queue the panel's input events, which
the panel thread feeds into ImGui before each frame) and destroys the window after the thread ended.
The panel thread makes the window's context current and is the only user of the ImGui/ImPlot contexts.
GLFW 3.4 calls `XInitThreads()` before opening the display, so both threads may talk to X.
Closing the panel window just ends the panel; the output keeps running.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import glfw  # noqa: I001 - glfw before imgui_bundle, so imgui uses this glfw (see shared notes)
import numpy as np
from imgui_bundle import imgui, implot
from imgui_bundle.python_backends.glfw_backend import GlfwRenderer

from vjgan.core.errors import UserError
from vjgan.core.features import PITCH_CLASSES, SOURCE_NAMES
from vjgan.core.paths import PRESETS_DIR
from vjgan.core.registry import ControlMessage, Param

if TYPE_CHECKING:
    from vjgan.app.live import LiveApp

log = logging.getLogger(__name__)

TABS = ("Audio", "Mapping", "Latents", "Bending", "Effects", "Presets", "OSC", "Stats")
PLOT_SOURCES = ("onset", "rms", "kick", "snare", "bass", "mid", "high", "beat_phase")
RED = imgui.ImVec4(1.0, 0.35, 0.3, 1.0)
DIM = imgui.ImVec4(0.6, 0.6, 0.6, 1.0)
NO_MOUSE = -3.4028234663852886e38  # -FLT_MAX: ImGui's "mouse not over the window"
NUDGES = (-1.0, -0.1, 0.1, 1.0)  # BPM steps of the nudge buttons
PANEL_DUTY = 3.0  # a panel frame costing c seconds is followed by at least PANEL_DUTY * c seconds to the next
PRESENT_WAIT_S = 0.25  # the panel rasterizes after an output present, or after this long without one
MAX_BACKOFF = 0.5  # s added to the panel's frame interval at most while the output reports late frames


# ---- what the render thread hands over ------------------------------------------------------------
@dataclass(frozen=True)
class EffectView:
    name: str
    enabled: bool
    values: tuple[tuple[str, float], ...]  # (uniform, value the chain uses now)
    error: str


@dataclass(frozen=True)
class RouteView:
    enabled: bool
    source: str
    target: str
    gain: float
    offset: float
    curve: str
    out: float


@dataclass(frozen=True)
class PanelState:
    """A copy of what the panel shows from state the render thread owns and mutates in place; made by
    the render thread when the panel asks (at most once per panel frame, tens of microseconds), so the
    panel thread never iterates a container that the render thread is changing."""

    output_frames: int
    stats: Any  # LiveStats, copied
    effects: tuple[EffectView, ...]
    shaders_dir: str
    routes: tuple[RouteView, ...]
    mapping_error: str
    preset: str
    fade: float
    seeds: tuple[int, ...] | None
    groups: tuple[tuple[str, str], ...]
    messages: tuple[str, ...]
    applied: int
    rejected: int
    control_error: str
    tempo_held: bool
    video: str | None  # the video source now (None: the app has no video input)
    video_note: str
    video_mix: float


def take_state(app: LiveApp) -> PanelState:
    """Render thread: copy what the panel needs from the app's render-thread state."""
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
    return PanelState(
        output_frames=app.stats.frames,
        stats=replace(app.stats, stage_ms=dict(app.stats.stage_ms)),
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
        video=None if video is None else str(video.spec),
        video_note=note,
        video_mix=float(getattr(app, "video_mix", 1.0)),
    )


class _Renderer:
    """imgui-bundle's native (C++) OpenGL 3 backend, created and used on the panel thread only.

    Not the pure-Python `ProgrammablePipelineRenderer`: its per-command PyOpenGL calls took ~15 ms of a
    panel frame on this machine, holding the GIL the render loop needs (issue #6's late output frames). Not
    the GLFW platform backend either: it installs callbacks that would write ImGui's (not thread-safe) IO
    from the main thread and asks X for the window size every frame."""

    def __init__(self) -> None:
        if not imgui.backends.opengl3_init("#version 330"):
            raise RuntimeError("ImGui's OpenGL 3 backend could not start on the panel's context")
        self.key_map: dict[int, Any] = {}
        GlfwRenderer._map_keys(self)  # type: ignore[arg-type] - the backend's glfw → ImGui key table (data)

    def new_frame(self) -> None:
        imgui.backends.opengl3_new_frame()  # creates the device objects on the first frame

    def render(self, draw_data: Any) -> None:
        imgui.backends.opengl3_render_draw_data(draw_data)

    def shutdown(self) -> None:
        imgui.backends.opengl3_shutdown()


_MODS = {  # ImGui wants the modifier state as keys of their own too
    imgui.Key.left_ctrl: imgui.Key.mod_ctrl, imgui.Key.right_ctrl: imgui.Key.mod_ctrl,
    imgui.Key.left_shift: imgui.Key.mod_shift, imgui.Key.right_shift: imgui.Key.mod_shift,
    imgui.Key.left_alt: imgui.Key.mod_alt, imgui.Key.right_alt: imgui.Key.mod_alt,
    imgui.Key.left_super: imgui.Key.mod_super, imgui.Key.right_super: imgui.Key.mod_super,
}


class ControlPanel:
    """The panel window (created here, on the main thread) and the thread that draws it.

    Main thread API: `sync()` once per output frame (hands over a `PanelState` when the panel asked for
    one; an Event check otherwise), `wants_close()`, `close()`, `screenshot()`. Nothing the output loop
    calls waits for a panel frame.
    """

    def __init__(
        self,
        app: LiveApp,
        share: Any = None,
        size: tuple[int, int] = (1100, 760),
        max_fps: float = 15.0,
        tab: str | None = None,
    ) -> None:
        if not glfw.init():  # the app opened the output window first; this only fails without a display
            raise UserError("cannot open the panel window: no display (start an X server, or use --no-panel)")
        self.app = app
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        self.window = glfw.create_window(size[0], size[1], "vjgan panel", None, share)
        if not self.window:
            raise UserError("glfw could not create the panel window")
        self.min_interval = 1.0 / max_fps
        self.values: dict[str, Any] = {}  # last value per address, from any origin (panel, OSC, presets)
        self.tab = tab  # force-select a tab once (screenshots)
        self.frames = 0
        self.last_image = np.zeros((1, 1, 3), np.uint8)
        self.error = ""  # why the panel thread ended, if it failed
        self.state: PanelState | None = None
        # per panel frame: (output frames at its start, at its end): the output keeps going meanwhile
        self.overlap: deque[tuple[int, int]] = deque(maxlen=256)
        self.costs: deque[float] = deque(maxlen=64)  # ms per panel frame, collected by the render loop
        self._presented = threading.Event()  # set by sync(), right after each output frame was presented
        self.swaps_after_present = 0  # panel swaps made right after an output present (the normal case)
        self.swaps_unsynced = 0  # panel swaps made because the output presented nothing for PRESENT_WAIT_S
        # ms per part of a panel frame: the UI in Python, the GL draw calls, the swap (rasterize + present)
        self.part_costs: dict[str, deque[float]] = {k: deque(maxlen=64) for k in ("ui", "draw", "swap")}
        self._file_text = app.audio_file or ""
        self._preset_name = ""
        self._route_src = 0
        self._route_target = ""
        self._proto_name = "prototype"
        self._morph_to = "7"  # seeds or a prototype name: the far end of the latent.section fader
        self._learn_target = ""
        self._encode_path = ""
        self._video_text = ""
        self._devices: list[str] | None = None
        self._selected_device = 0
        self._clipboard = ""  # in-process: glfw's X clipboard calls belong to the main thread
        # main thread → panel thread
        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._win_size: tuple[int, int] = tuple(glfw.get_window_size(self.window))  # type: ignore[assignment]
        self._fb_size: tuple[int, int] = tuple(glfw.get_framebuffer_size(self.window))  # type: ignore[assignment]
        self._cursor = (NO_MOUSE, NO_MOUSE)
        self._want_state = threading.Event()
        self._state_ready = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._clock = 0.0
        self._late_seen = app.stats.late_frames
        self._backoff = 0.0
        self.imgui_ctx: Any = None
        self.implot_ctx: Any = None
        self._capture: list[Any] | None = None  # [frames to wait, done Event] while a screenshot is pending
        # panel thread → main thread: where the tap button was drawn, hit-tested when the press arrives
        self._tap_rect: tuple[float, float, float, float] | None = None
        self._tap_next: tuple[float, float, float, float] | None = None
        self._install_callbacks()
        app.queue.listeners.append(self._observe)
        self.state = take_state(app)
        self._thread = threading.Thread(target=self._run, name="panel", daemon=True)
        self._thread.start()

    # ---- main thread: input events → queue ----------------------------------------------------------
    def _install_callbacks(self) -> None:
        w = self.window
        glfw.set_cursor_pos_callback(w, self._on_cursor)
        glfw.set_cursor_enter_callback(w, self._on_enter)
        glfw.set_mouse_button_callback(w, self._on_button)
        glfw.set_scroll_callback(w, self._on_scroll)
        glfw.set_key_callback(w, self._on_key)
        glfw.set_char_callback(w, self._on_char)
        glfw.set_window_focus_callback(w, self._on_focus)
        glfw.set_window_size_callback(w, self._on_size)
        glfw.set_framebuffer_size_callback(w, self._on_fb_size)

    # These run inside glfw.poll_events() on the main thread. They must never raise: the glfw module
    # re-raises a callback's exception from whichever glfw call comes next, on any thread.
    def _on_cursor(self, _w: Any, x: float, y: float) -> None:
        self._cursor = (x, y)
        self._events.put(("pos", x, y))
        self._wake.set()

    def _on_enter(self, _w: Any, entered: int) -> None:
        if not entered:
            self._cursor = (NO_MOUSE, NO_MOUSE)
            self._events.put(("pos", NO_MOUSE, NO_MOUSE))

    def _on_button(self, _w: Any, button: int, action: int, _mods: int) -> None:
        try:
            self._events.put(("button", button, action == glfw.PRESS))
            self._wake.set()
            rect, (x, y) = self._tap_rect, self._cursor
            if button == 0 and action == glfw.PRESS and rect and rect[0] <= x < rect[2] and rect[1] <= y < rect[3]:
                # tap tempo: posted at the press (not ~1 panel frame later), so the taps keep their rhythm
                self.post("/vjgan/tempo/tap", 1)
        except Exception:  # noqa: BLE001 - see above
            log.exception("panel mouse button")

    def _on_scroll(self, _w: Any, dx: float, dy: float) -> None:
        self._events.put(("wheel", dx, dy))
        self._wake.set()

    def _on_key(self, _w: Any, key: int, _scancode: int, action: int, _mods: int) -> None:
        self._events.put(("key", key, action != glfw.RELEASE))
        self._wake.set()

    def _on_char(self, _w: Any, char: int) -> None:
        self._events.put(("char", char))
        self._wake.set()

    def _on_focus(self, _w: Any, focused: int) -> None:
        self._events.put(("focus", bool(focused)))

    def _on_size(self, _w: Any, width: int, height: int) -> None:
        self._win_size = (width, height)

    def _on_fb_size(self, _w: Any, width: int, height: int) -> None:
        self._fb_size = (width, height)

    # ---- main thread: the render loop's side ----------------------------------------------------------
    def sync(self) -> None:
        """Once per output frame, after its present: hand the panel a fresh `PanelState` if it asked for
        one, and let a panel frame waiting to be rasterized go (see `_frame`)."""
        if self._want_state.is_set():
            self._want_state.clear()
            try:
                self.state = take_state(self.app)
            except Exception:  # noqa: BLE001 - a panel bug must never stop the show; keep the old state
                log.exception("panel state")
            self._state_ready.set()
        self._presented.set()

    def _observe(self, m: ControlMessage) -> None:
        self.values[m.address] = m.value

    def post(self, address: str, value: Any) -> None:
        self.values[address] = value
        self.app.queue.post(ControlMessage(address, value, "panel"))

    def value(self, p: Param) -> Any:
        return self.values.get(p.address, p.default)

    @property
    def tap_rect(self) -> tuple[float, float, float, float] | None:
        """Where the tap-tempo button is on screen (x0, y0, x1, y1 in window coordinates), if shown."""
        return self._tap_rect

    def wants_close(self) -> bool:
        """The user closed the panel window (close button / window manager), or the panel thread ended."""
        return self.window is None or bool(glfw.window_should_close(self.window)) or not self._thread.is_alive()

    def screenshot(self, path: str | Path, timeout: float = 10.0) -> np.ndarray:
        """Save the next-but-one panel frame (a forced `tab` shows by then) as a PNG; returns it (H, W, 3).

        Main thread; it waits for the panel thread, so it is for tests and docs, not for the show.
        """
        from PIL import Image

        done = threading.Event()
        self._capture = [2, done]
        self._wake.set()
        end = time.perf_counter() + timeout
        while not done.is_set() and time.perf_counter() < end and self._thread.is_alive():
            self.sync()  # the panel thread asks for a state before each frame
            glfw.poll_events()
            done.wait(0.005)
        if not done.is_set():
            raise RuntimeError(f"the panel drew no frame to capture ({self.error or 'timeout'})")
        Image.fromarray(self.last_image).save(path)
        return self.last_image

    def close(self, wait: bool = True, timeout: float = 3.0) -> bool:
        """End the panel: stop its thread, then destroy the window (main thread). With `wait=False` only
        ask the thread to stop (and hide the window) and return whether everything is done; call again
        later to finish. Returns True once the window is gone."""
        if self.window is None:
            return True
        if not self._stop.is_set():
            if self._observe in self.app.queue.listeners:
                self.app.queue.listeners.remove(self._observe)
            self._stop.set()
            self._wake.set()
            self._state_ready.set()
            glfw.hide_window(self.window)
        self._thread.join(timeout if wait else 0.0)
        if self._thread.is_alive():
            if wait:
                log.warning("the panel thread did not end within %.1f s; its window stays", timeout)
            return False
        glfw.destroy_window(self.window)
        self.window = None
        return True

    # ---- panel thread -------------------------------------------------------------------------------
    def _run(self) -> None:
        renderer = None
        try:
            glfw.make_context_current(self.window)
            glfw.swap_interval(0)  # the output window holds vsync; the panel never waits for a display
            self.imgui_ctx = imgui.create_context()
            imgui.set_current_context(self.imgui_ctx)
            self.implot_ctx = implot.create_context()
            io = imgui.get_io()
            io.set_ini_filename("")
            pio = imgui.get_platform_io()
            pio.platform_get_clipboard_text_fn = lambda _ctx: self._clipboard
            pio.platform_set_clipboard_text_fn = self._set_clipboard
            renderer = _Renderer()
            last = due = 0.0
            while not self._stop.is_set():
                now = time.perf_counter()
                # pending input (a click, typing) gets the base rate even while the panel is backing off
                wanted = due if self._events.empty() else min(due, last + self.min_interval)
                if now < wanted and self._capture is None:
                    self._wake.wait(wanted - now)
                    self._wake.clear()
                    continue
                last = now
                due = now + self._interval(self._frame(renderer))
        except Exception as exc:  # noqa: BLE001 - the panel ends, the show goes on
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("panel thread failed; the output keeps running")
        finally:
            try:
                if renderer is not None:
                    renderer.shutdown()
                if self.implot_ctx is not None:
                    implot.destroy_context(self.implot_ctx)
                if self.imgui_ctx is not None:
                    imgui.destroy_context(self.imgui_ctx)
            except Exception:  # noqa: BLE001 - shutting down
                log.exception("panel shutdown")
            glfw.make_context_current(None)

    def _interval(self, cost: float) -> float:
        """Seconds from this panel frame's start to the next one.

        The panel and the output share the CPU and, on Mesa's llvmpipe, one rasterizer queue for all
        contexts of the process: a panel frame being rasterized delays the output's next passes. So the
        panel keeps to at most 1/PANEL_DUTY of the time and backs off (up to MAX_BACKOFF s more) while
        the output reports late frames; a GPU makes both costs small and the panel runs at max_fps.
        """
        late = self.app.stats.late_frames
        if late > self._late_seen:
            self._backoff = min(max(2.0 * self._backoff, 0.1), MAX_BACKOFF)
        else:
            self._backoff = self._backoff * 0.7 if self._backoff > 0.01 else 0.0
        self._late_seen = late
        return max(self.min_interval, PANEL_DUTY * cost) + self._backoff

    def _set_clipboard(self, _ctx: Any, text: str) -> None:
        self._clipboard = text

    def _feed_inputs(self, io: Any, renderer: _Renderer) -> None:
        """The input events the main thread queued since the last panel frame, in order. ImGui trickles
        them (a press and a release in one frame become two frames), so clicks survive the low rate."""
        while True:
            try:
                ev = self._events.get_nowait()
            except queue.Empty:
                return
            kind = ev[0]
            if kind == "pos":
                io.add_mouse_pos_event(ev[1], ev[2])
            elif kind == "button":
                io.add_mouse_button_event(ev[1], ev[2])
            elif kind == "wheel":
                io.add_mouse_wheel_event(ev[1], ev[2])
            elif kind == "char":
                if 0 < ev[1] < 0x10000:
                    io.add_input_character(ev[1])
            elif kind == "focus":
                io.add_focus_event(ev[1])
            elif kind == "key" and ev[1] in renderer.key_map:
                key = renderer.key_map[ev[1]]
                io.add_key_event(key, ev[2])
                if key in _MODS:
                    io.add_key_event(_MODS[key], ev[2])

    def _frame(self, renderer: _Renderer) -> float:
        """Draw one panel frame; returns what it cost (seconds, not counting the wait for the state)."""
        from OpenGL import GL as gl

        self._state_ready.clear()
        self._want_state.set()
        # the render loop copies the state at its next frame; if it is stalled, the panel shows the old one
        fresh = self._state_ready.wait(0.1) and self.state is not None
        t0 = time.perf_counter()
        # the output frame that made the state ends right after; any frame beyond it ran during this one
        start_frames = self.state.output_frames + 1 if fresh else -1
        io = imgui.get_io()
        self._feed_inputs(io, renderer)
        (w, h), (fw, fh) = self._win_size, self._fb_size
        io.display_size = imgui.ImVec2(w, h)
        io.display_framebuffer_scale = imgui.ImVec2(fw / max(w, 1), fh / max(h, 1))
        io.delta_time = max(t0 - self._clock, 1e-3) if self._clock else self.min_interval
        self._clock = t0
        self._tap_next = None
        renderer.new_frame()
        imgui.new_frame()
        try:
            self._ui()
        except Exception as exc:  # noqa: BLE001 - a panel bug must never stop the show
            log.exception("panel error: %s", exc)
        imgui.render()
        t1 = time.perf_counter()
        gl.glViewport(0, 0, fw, fh)
        bg = imgui.get_style().color_(imgui.Col_.window_bg)
        gl.glClearColor(bg.x, bg.y, bg.z, 1.0)
        gl.glClear(gl.GL_COLOR_BUFFER_BIT)
        renderer.render(imgui.get_draw_data())
        capture = self._capture
        if capture is not None and capture[0] <= 1:
            gl.glReadBuffer(gl.GL_BACK)
            gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 1)
            data = gl.glReadPixels(0, 0, fw, fh, gl.GL_RGB, gl.GL_UNSIGNED_BYTE)
            self.last_image = np.frombuffer(data, np.uint8).reshape(fh, fw, 3)[::-1].copy()
        # Rasterize (the swap flushes) right after an output frame was presented: with llvmpipe both
        # windows share one rasterizer, and the output's wait for its next tick is when the panel's
        # scene delays it least; started at a random moment it could hold the output's passes back by
        # all of its ~8 ms (issue #6's late frames). Not after a timeout of about a frame: that swapped
        # in the middle of a slow output frame, the worst moment; only a stalled output (no present for
        # PRESENT_WAIT_S) lets the panel draw anyway.
        tw = time.perf_counter()
        self._presented.clear()
        if self._presented.wait(PRESENT_WAIT_S):
            self.swaps_after_present += 1
        else:
            self.swaps_unsynced += 1
        t2 = time.perf_counter()
        glfw.swap_buffers(self.window)
        t3 = time.perf_counter()
        self._tap_rect = self._tap_next  # what the user sees now
        self.frames += 1
        if capture is not None:
            capture[0] -= 1
            if capture[0] <= 0:
                self._capture = None
                capture[1].set()
        cost = time.perf_counter() - t0 - (t2 - tw)  # the wait for the output's present is idle time
        self.costs.append(cost * 1000.0)
        for k, v in (("ui", t1 - t0), ("draw", tw - t1), ("swap", t3 - t2)):
            self.part_costs[k].append(v * 1000.0)
        if start_frames >= 0:
            self.overlap.append((start_frames, self.app.stats.frames))
        return cost

    # ---- generic parameter widget -----------------------------------------------------------------
    def param_widget(self, p: Param, label: str | None = None) -> None:
        label = f"{label or p.address.rsplit('/', 1)[-1]}##{p.address}"
        v = self.value(p)
        changed, new = False, v
        if p.kind == "float":
            lo = -1.0 if p.minimum is None else p.minimum
            hi = 1.0 if p.maximum is None else p.maximum
            x = float(v if isinstance(v, int | float) else (lo + hi) / 2)
            if hi - lo > 1000:
                changed, new = imgui.drag_float(label, x, 0.01)
            else:
                changed, new = imgui.slider_float(label, x, lo, hi)
        elif p.kind == "int":
            lo = 0 if p.minimum is None else int(p.minimum)
            hi = 100 if p.maximum is None else int(p.maximum)
            x = int(v if isinstance(v, int | float) else lo)
            if hi - lo > 1000:
                changed, new = imgui.input_int(label, x)
            else:
                changed, new = imgui.slider_int(label, x, lo, hi)
        elif p.kind == "bool":
            changed, new = imgui.checkbox(label, bool(v))
        elif p.kind == "trigger":
            changed, new = imgui.button(label), 1
        else:
            changed, new = imgui.input_text(label, str(v or ""), imgui.InputTextFlags_.enter_returns_true.value)
        if imgui.is_item_hovered() and p.doc:
            imgui.set_tooltip(f"{p.address}\n{p.doc}")
        if changed:
            self.post(p.address, new)

    def _params(self, prefix: str) -> list[Param]:
        return [p for p in self.app.registry.params() if p.address.startswith(prefix)]

    # ---- layout -----------------------------------------------------------------------------------
    def _ui(self) -> None:
        io = imgui.get_io()
        imgui.set_next_window_pos(imgui.ImVec2(0, 0))
        imgui.set_next_window_size(io.display_size)
        flags = (
            imgui.WindowFlags_.no_title_bar
            | imgui.WindowFlags_.no_resize
            | imgui.WindowFlags_.no_move
            | imgui.WindowFlags_.no_collapse
            # the glClear in _frame paints the background: a window-sized blended quad on top of it cost
            # ~5 ms of llvmpipe rasterization per panel frame, which the output's passes waited behind
            | imgui.WindowFlags_.no_background
        )
        imgui.begin("vjgan", None, flags)
        st = self.state
        if st is None:
            imgui.text("waiting for the render loop")
            imgui.end()
            return
        s = st.stats
        imgui.text(
            f"render {s.render_fps:5.1f} fps   generator {s.gen_fps:5.1f} fps   "
            f"audio->screen {s.latency_ms:6.1f} ms   late frames {s.late_frames}   "
            f"generator dropped {s.gen_dropped}   audio overflows {s.audio_overflows}"
        )
        if s.audio_status not in ("", "ok"):
            imgui.text_colored(RED, f"audio: {s.audio_status}")
        errors = [e.name for e in st.effects if e.error]
        if errors:
            imgui.text_colored(RED, f"shader errors: {', '.join(errors)} (last good version running; see Effects)")
        imgui.separator()
        left_w = 360.0
        imgui.begin_child("meters", imgui.ImVec2(left_w, 0))
        self._meters()
        imgui.end_child()
        imgui.same_line()
        imgui.begin_child("tabs", imgui.ImVec2(0, 0))
        if imgui.begin_tab_bar("tabs"):
            for name in TABS:
                flags = imgui.TabItemFlags_.set_selected.value if self.tab == name else 0
                selected, _ = imgui.begin_tab_item(name, None, flags)
                if selected:
                    getattr(self, f"_tab_{name.lower()}")()
                    imgui.end_tab_item()
            self.tab = None
            imgui.end_tab_bar()
        imgui.end_child()
        imgui.end()

    def _meters(self) -> None:
        f = self.app.bus.latest
        imgui.text(f"audio t {f.time:7.2f} s   tempo {f.tempo:5.1f} BPM   beat {f.beat_count}")
        for name in ("rms", "onset", "kick", "snare", "bass", "mid", "high", "beat_phase", "bar_phase"):
            x = float(getattr(f, name))
            imgui.progress_bar(min(max(x, 0.0), 1.0), imgui.ImVec2(-70, 0), f"{x:.2f}")
            imgui.same_line()
            imgui.text(name)
        chroma = np.asarray(f.chroma, np.float64)
        if implot.begin_plot("chroma", imgui.ImVec2(-1, 110), implot.Flags_.no_legend | implot.Flags_.no_mouse_text):
            implot.setup_axes("", "", implot.AxisFlags_.no_tick_labels, implot.AxisFlags_.no_tick_labels)
            implot.setup_axes_limits(-0.5, 11.5, 0, 1, implot.Cond_.always.value)
            implot.plot_bars("chroma", np.arange(12, dtype=np.float64), chroma, 0.7)
            implot.end_plot()
        imgui.text("  ".join(PITCH_CLASSES))
        hist = self.app.bus.history(300)
        if hist and implot.begin_plot("features (3 s)", imgui.ImVec2(-1, 220)):
            implot.setup_axes("frames", "", 0, 0)
            implot.setup_axes_limits(0, 300, 0, 1.05, implot.Cond_.always.value)
            for name in ("onset", "rms", "kick", "bass"):
                implot.plot_line(name, np.array([float(getattr(x, name)) for x in hist], np.float64))
            implot.end_plot()

    # ---- tabs -------------------------------------------------------------------------------------
    def _tab_audio(self) -> None:
        st = self.state
        assert st is not None
        stats = getattr(self.app.audio, "stats", None)
        imgui.text(f"source: {getattr(stats, 'source', '') or self.app.audio_file or 'live input'}")
        if stats is not None:
            imgui.text(f"analysis {stats.analysis_ms_p50:.2f} ms p50 / {stats.analysis_ms_p99:.2f} ms p99   input->"
                       f"features {stats.latency_ms:.1f} ms   overflows {stats.overflows}   {stats.status}")
        self._tempo(st)
        imgui.separator()
        imgui.text("Play a file on loop (what the audience hears drives the images)")
        _, self._file_text = imgui.input_text("file##audio", self._file_text)
        imgui.same_line()
        if imgui.button("play file"):
            self.post("/vjgan/app/audio/file", self._file_text)
        imgui.separator()
        imgui.text("Live input device")
        if self._devices is None and imgui.button("list input devices"):
            self._devices = _input_devices()
        if self._devices:
            _, self._selected_device = imgui.combo("device", self._selected_device, self._devices)
            if imgui.button("use device"):
                self.post("/vjgan/app/audio/device", self._devices[self._selected_device].split(":", 1)[0])
        for p in self._params("/vjgan/player/"):
            self.param_widget(p)
        self._video(st)
        for line in st.messages[-8:]:
            imgui.text_colored(DIM, line)

    def _tempo(self, st: PanelState) -> None:
        """Tempo and beat, tap / nudge / auto (the same addresses as OSC)."""
        f = self.app.bus.latest
        imgui.separator()
        imgui.text(f"tempo {f.tempo:6.1f} BPM   beat {f.beat_count}   "
                   + ("held (tapped / nudged)" if st.tempo_held else "from the audio"))
        imgui.progress_bar(min(max(float(f.beat_phase), 0.0), 1.0), imgui.ImVec2(260, 0), "beat")
        if self.app.registry.get("/vjgan/tempo/tap") is None:
            return  # no tempo tracker (e.g. no audio engine)
        imgui.button("TAP##tempo", imgui.ImVec2(90, 36))
        if imgui.is_item_visible():  # the render thread posts the tap at the press itself (see _on_button)
            lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
            self._tap_next = (lo.x, lo.y, hi.x, hi.y)
        if imgui.is_item_hovered():
            imgui.set_tooltip("/vjgan/tempo/tap: click on every beat; from the second tap the tempo is held")
        for step in NUDGES:
            imgui.same_line()
            if imgui.button(f"{step:+g}##nudge", imgui.ImVec2(0, 36)):
                self.post("/vjgan/tempo/nudge", step)
        imgui.same_line()
        imgui.text("BPM")
        imgui.same_line()
        if imgui.button("auto tempo", imgui.ImVec2(0, 36)):
            self.post("/vjgan/app/tempo/auto", 1)
        if imgui.is_item_hovered():
            imgui.set_tooltip("/vjgan/app/tempo/auto: drop the tapped / nudged tempo, follow the audio again")

    def _video(self, st: PanelState) -> None:
        """VAE-GAN video re-rendering: the source and the mix."""
        if st.video is None and not hasattr(self.app.generator, "encode_uint8"):
            return
        imgui.separator()
        imgui.text("Video source (VAE-GAN: the encoded frames replace the mapped latent)")
        if st.video is None:
            imgui.text_colored(DIM, "no video input: start with --video SPEC (camera, camera:N, /dev/videoN, "
                                    "a video file, black)")
            return
        imgui.text(f"now: {st.video}")
        if st.video_note:
            imgui.text_colored(DIM, st.video_note)
        imgui.set_next_item_width(320)
        _, self._video_text = imgui.input_text("##videosource", self._video_text)
        imgui.same_line()
        if imgui.button("use source##video") and self._video_text.strip():
            self.post("/vjgan/app/video/source", self._video_text.strip())
        p = self.app.registry.get("/vjgan/app/video/mix")
        if p is not None:
            self.values.setdefault(p.address, st.video_mix)
            self.param_widget(p, "video mix (1 = video, 0 = mapping)")

    def _tab_mapping(self) -> None:
        st = self.state
        assert st is not None
        if st.mapping_error:
            imgui.text_colored(RED, st.mapping_error)
        flags = imgui.TableFlags_.borders | imgui.TableFlags_.row_bg | imgui.TableFlags_.scroll_y
        if imgui.begin_table("routes", 8, flags, imgui.ImVec2(0, 330)):
            for col in ("on", "source", "target", "gain", "offset", "curve", "out", ""):
                imgui.table_setup_column(col)
            imgui.table_headers_row()
            for i, r in enumerate(st.routes):
                base = f"/vjgan/route/{i}"
                imgui.table_next_row()
                imgui.table_next_column()
                ch, on = imgui.checkbox(f"##on{i}", r.enabled)
                if ch:
                    self.post(f"{base}/enabled", on)
                imgui.table_next_column()
                imgui.text(r.source)
                imgui.table_next_column()
                imgui.text(r.target)
                imgui.table_next_column()
                imgui.set_next_item_width(80)
                ch, g = imgui.drag_float(f"##gain{i}", r.gain, 0.01)
                if ch:
                    self.post(f"{base}/gain", g)
                imgui.table_next_column()
                imgui.set_next_item_width(80)
                ch, o = imgui.drag_float(f"##off{i}", r.offset, 0.01)
                if ch:
                    self.post(f"{base}/offset", o)
                imgui.table_next_column()
                imgui.text(r.curve)
                imgui.table_next_column()
                out = r.out
                imgui.progress_bar(float(min(max(abs(out), 0.0), 1.0)), imgui.ImVec2(60, 0), f"{out:.2f}")
                imgui.table_next_column()
                if imgui.small_button(f"remove##{i}"):
                    self.post("/vjgan/app/route/remove", i)
            imgui.end_table()
        imgui.text("add a route")
        sources = list(SOURCE_NAMES)
        imgui.set_next_item_width(160)
        _, self._route_src = imgui.combo("source##new", self._route_src, sources)
        imgui.same_line()
        imgui.set_next_item_width(260)
        _, self._route_target = imgui.input_text("target##new", self._route_target)
        imgui.same_line()
        if imgui.button("add"):
            self.post("/vjgan/app/route/add", f"{sources[self._route_src]} -> {self._route_target}")
        if imgui.collapsing_header("route modifiers (all parameters)"):
            for p in self._params("/vjgan/route/"):
                self.param_widget(p, p.address.removeprefix("/vjgan/route/"))

    def _tab_latents(self) -> None:
        for p in self._params("/vjgan/latent/"):
            self.param_widget(p)
        st = self.state
        assert st is not None
        if st.seeds is not None:
            imgui.separator()
            imgui.text("latent seeds (12 = one per pitch class for chroma-driven groups)")
            seeds = list(st.seeds)
            for i, s in enumerate(seeds):
                label = PITCH_CLASSES[i] if len(seeds) == 12 else str(i)
                imgui.text(f"{label:<2}")  # "C#" must not touch ImGui's "##" id separator
                imgui.same_line()
                imgui.set_next_item_width(110)
                ch, v = imgui.input_int(f"##seed{i}", int(s))
                if ch:
                    seeds[i] = v
                    self.post("/vjgan/app/latent/seeds", ",".join(str(x) for x in seeds))
                if i % 4 != 3:
                    imgui.same_line()
            imgui.new_line()
            if imgui.button("12 chroma latents from seed 0..11"):
                self.post("/vjgan/app/latent/seeds", ",".join(str(x) for x in range(12)))
            for g, driver in st.groups:
                imgui.text(f"{g}: {driver}")
        imgui.separator()
        imgui.set_next_item_width(200)
        _, self._proto_name = imgui.input_text("name##proto", self._proto_name)
        imgui.same_line()
        if imgui.button("save current latent as prototype"):
            self.post("/vjgan/app/latent/save_prototype", self._proto_name)
        if hasattr(self.app.generator, "encode_uint8"):
            _, self._encode_path = imgui.input_text("images (file or folder)##enc", self._encode_path)
            if imgui.button("encode images into prototype"):
                self.post("/vjgan/app/latent/encode_prototype", f"{self._proto_name}={self._encode_path}")
        imgui.separator()
        imgui.text("interpolate: the latents (A) morph to B with the latent.section fader")
        imgui.set_next_item_width(200)
        _, self._morph_to = imgui.input_text("B: seeds a,b,... or a prototype name##morph", self._morph_to)
        imgui.same_line()
        if imgui.button("set B"):
            self.post("/vjgan/app/latent/morph_to", self._morph_to)
        section = self.app.registry.get("/vjgan/target/latent.section")
        if section is not None:
            self.param_widget(section, "A -> B (latent.section)")
        for line in st.messages[-3:]:
            imgui.text_colored(DIM, line)
        self._pca_explorer()
        for p in self._params("/vjgan/target/latent."):
            name = p.address.removeprefix("/vjgan/target/")
            if not name.startswith("latent.pca.") and name != "latent.section":  # shown above
                self.param_widget(p, name)

    def _pca_explorer(self) -> None:
        """GANSpace sliders: the mapping targets latent.pca.<i> (one standard deviation along component i;
        saved in presets, routable); the components are computed off the render thread."""
        pca = getattr(getattr(self.app, "mapping", None), "pca", None)
        if pca is None or not pca.available:
            return
        imgui.separator()
        imgui.text("PCA explorer (GANSpace)")
        if pca.busy:
            imgui.text_colored(DIM, "computing…")
        elif pca.directions is None and imgui.button("compute PCA directions"):
            self.post("/vjgan/app/pca/compute", 1)
        ratio = pca.variance_ratio
        for p in self._params("/vjgan/target/latent.pca."):
            i = int(p.address.rsplit(".", 1)[-1])
            share = f"{100 * float(ratio[i]):.0f}% var" if ratio is not None and i < len(ratio) else "not computed"
            self.param_widget(p, f"pc{i} ({share})")
        if imgui.button("reset PCA sliders"):
            for p in self._params("/vjgan/target/latent.pca."):
                self.post(p.address, 0.0)

    def _tab_bending(self) -> None:
        gen = self.app.generator
        # a VAE-GAN's encoder layers (enc.*) bend what the encoder sees of the --video input
        layers = tuple(getattr(gen, "layer_names", ())) + tuple(getattr(gen, "encoder_layer_names", ()))
        if not layers:
            imgui.text("this generator has no bendable layers")
        params = self._params("/vjgan/target/bend.") + self._params("/vjgan/target/rewrite.")
        for layer in layers:
            mine = [
                p
                for p in params
                if p.address.removeprefix("/vjgan/target/") in (f"rewrite.{layer}",)
                or p.address.removeprefix("/vjgan/target/").startswith(f"bend.{layer}.")
            ]
            if mine and imgui.collapsing_header(layer):
                for p in mine:
                    self.param_widget(p, p.address.removeprefix("/vjgan/target/"))
        for p in self._params("/vjgan/target/noise") + self._params("/vjgan/target/truncation"):
            self.param_widget(p, p.address.removeprefix("/vjgan/target/"))

    def _tab_effects(self) -> None:
        st = self.state
        assert st is not None
        for effect in st.effects:
            name = effect.name
            ch, on = imgui.checkbox(f"##{name}", effect.enabled)
            if ch:
                self.post(f"/vjgan/shader/{name}/enabled", on)
            imgui.same_line()
            imgui.set_next_item_open(name in ("color", "strobe"), imgui.Cond_.once)
            if imgui.collapsing_header(name):
                for pname, current in effect.values:
                    p = self.app.registry.get(f"/vjgan/target/shader.{name}.{pname}") or self.app.registry.get(
                        f"/vjgan/shader/{name}/{pname}"
                    )
                    if p is not None:
                        self.values.setdefault(p.address, current)
                        self.param_widget(p, pname)
            if effect.error:
                imgui.text_colored(RED, effect.error)
        imgui.text_colored(DIM, f"shaders: {st.shaders_dir} (edit and save: hot reload)")

    def _tab_presets(self) -> None:
        st = self.state
        assert st is not None
        imgui.text(f"running: {st.preset}   crossfade progress {st.fade:.2f}")
        p = self.app.registry.get("/vjgan/preset/crossfade")
        if p is not None:
            self.param_widget(p, "crossfade beats")
        for path in sorted(PRESETS_DIR.glob("*.toml")):
            if imgui.button(f"load##{path.stem}"):
                self.post("/vjgan/preset/load", str(path))
            imgui.same_line()
            imgui.text(path.stem)
        imgui.separator()
        _, self._preset_name = imgui.input_text("name##save", self._preset_name)
        imgui.same_line()
        if imgui.button("save live state"):
            self.post("/vjgan/preset/save", self._preset_name)

    def _tab_osc(self) -> None:
        osc = self.app.osc
        if osc is None:
            imgui.text("OSC is off: start with --osc-port 9000 (see docs/osc.md)")
            return
        imgui.text(f"listening on {osc.host}:{osc.port}")
        st = osc.stats
        imgui.text_colored(DIM, "  ".join(f"{k} {v}" for k, v in vars(st).items() if isinstance(v, int))
                           if hasattr(st, "__dict__") else str(st))
        learn = osc.learn
        imgui.separator()
        imgui.text(f"OSC learn: {'waiting for a message for ' + learn.armed if learn.armed else 'idle'}")
        imgui.set_next_item_width(320)
        _, self._learn_target = imgui.input_text("parameter address##learn", self._learn_target)
        imgui.same_line()
        if imgui.button("learn"):
            try:
                learn.arm(self._learn_target)  # OscLearn is locked; no GL or generator state involved
            except UserError as exc:
                self.app.note(str(exc))
        imgui.same_line()
        if imgui.button("cancel"):
            learn.cancel()
        for b in learn.bindings():
            if imgui.small_button(f"unbind##{b.source}"):
                learn.unbind(b.source)
            imgui.same_line()
            imgui.text(f"{b.source} -> {b.target}{' (scaled)' if b.scale else ''}")

    def _tab_stats(self) -> None:
        st = self.state
        assert st is not None
        s = st.stats
        if imgui.begin_table("stats", 2, imgui.TableFlags_.borders.value):
            rows = [(f"{k} ms" + (" (own thread)" if k == "panel" else ""), f"{v:.2f}") for k, v in s.stage_ms.items()]
            rows += [
                ("frame ms p50 / p99", f"{s.frame_ms_p50:.2f} / {s.frame_ms_p99:.2f}"),
                ("render fps", f"{s.render_fps:.1f}"),
                ("generator fps", f"{s.gen_fps:.1f}"),
                ("generator ms p50", f"{s.gen_ms:.1f}"),
                ("audio->screen (generator) ms", f"{s.latency_ms:.1f}"),
                ("audio->screen (shaders) ms", f"{s.shader_latency_ms:.1f}"),
                ("late frames (> 2 intervals)", str(s.late_frames)),
                ("generator frames dropped", str(s.gen_dropped)),
                ("audio overflows", str(s.audio_overflows)),
                ("recorder dropped", str(s.recorder_dropped)),
                ("control applied / rejected", f"{st.applied} / {st.rejected}"),
                ("panel ms: UI / draw calls / swap",
                 " / ".join(f"{np.median(v):.1f}" if v else "-" for v in self.part_costs.values())),
                ("panel swaps after output present / not", f"{self.swaps_after_present} / {self.swaps_unsynced}"),
            ]
            for k, v in rows:
                imgui.table_next_row()
                imgui.table_next_column()
                imgui.text(k)
                imgui.table_next_column()
                imgui.text(v)
            imgui.end_table()
        if st.control_error:
            imgui.text_colored(RED, st.control_error)


def _input_devices() -> list[str]:
    try:
        import sounddevice as sd

        return [f"{i}: {d['name']}" for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]
    except Exception as exc:  # noqa: BLE001 - no PortAudio / server: show why
        return [f"(no devices: {exc})"]
