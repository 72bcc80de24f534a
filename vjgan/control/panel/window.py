"""The panel window and the thread that draws it: lifecycle, the state handover, frame pacing, the layout.

GLFW wants window creation, destruction and event processing on the main thread: the render loop
creates the window, runs `glfw.poll_events()` (our callbacks queue the panel's input events, see
input.py) and destroys the window after the thread ended. The panel thread makes the window's context
current and is the only user of the ImGui/ImPlot contexts. GLFW 3.4 calls `XInitThreads()` before
opening the display, so both threads may talk to X. Closing the panel window just ends the panel; the
output keeps running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import glfw  # noqa: I001 - glfw before imgui_bundle, so imgui uses this glfw (see shared notes)
import numpy as np
from imgui_bundle import imgui, implot

from vjgan.control.panel.input import Renderer, WindowInput
from vjgan.control.panel.plots import draw_meters
from vjgan.control.panel.tab_audio import AudioTab
from vjgan.control.panel.tab_latents import BendingTab, LatentsTab
from vjgan.control.panel.tab_mapping import MappingTab
from vjgan.control.panel.tab_midi import MidiTab
from vjgan.control.panel.tab_output import EffectsTab, OscTab, OutputsTab, PresetsTab, StatsTab
from vjgan.control.panel.widgets import RED, PanelUI
from vjgan.core.errors import UserError
from vjgan.core.panel_state import PanelPort
from vjgan.core.registry import ControlMessage

log = logging.getLogger(__name__)

PANEL_DUTY = 3.0  # a panel frame costing c seconds is followed by at least PANEL_DUTY * c seconds to the next
PRESENT_WAIT_S = 0.25  # the panel rasterizes after an output present, or after this long without one
MAX_BACKOFF = 0.5  # s added to the panel's frame interval at most while the output reports late frames


class ControlPanel(PanelUI):
    """The panel window (created here, on the main thread) and the thread that draws it.

    Main thread API: `sync()` once per output frame (hands over a fresh `PanelState` from the port when the
    panel asked for one; an Event check otherwise), `wants_close()`, `close()`, `screenshot()`. Nothing the
    output loop calls waits for a panel frame.
    """

    def __init__(
        self,
        port: PanelPort,
        share: Any = None,
        size: tuple[int, int] = (1100, 760),
        max_fps: float = 15.0,
        tab: str | None = None,
    ) -> None:
        if not glfw.init():  # the app opened the output window first; this only fails without a display
            raise UserError("cannot open the panel window: no display (start an X server, or use --no-panel)")
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        self.window = glfw.create_window(size[0], size[1], "vjgan panel", None, share)
        if not self.window:
            raise UserError("glfw could not create the panel window")
        self.min_interval = 1.0 / max_fps
        self.tab = tab  # force-select a tab once (screenshots)
        self.frames = 0
        self.last_image = np.zeros((1, 1, 3), np.uint8)
        self.error = ""  # why the panel thread ended, if it failed
        # per panel frame: (output frames at its start, at its end): the output keeps going meanwhile
        self.overlap: deque[tuple[int, int]] = deque(maxlen=256)
        self.costs: deque[float] = deque(maxlen=64)  # ms per panel frame, collected by the render loop
        self._presented = threading.Event()  # set by sync(), right after each output frame was presented
        self._clipboard = ""  # in-process: glfw's X clipboard calls belong to the main thread
        self._want_state = threading.Event()
        self._state_ready = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._clock = 0.0
        self._backoff = 0.0
        self.imgui_ctx: Any = None
        self.implot_ctx: Any = None
        self._capture: list[Any] | None = None  # [frames to wait, done Event] while a screenshot is pending
        # panel thread → main thread: where the tap button was drawn, hit-tested when the press arrives
        self._tap_rect: tuple[float, float, float, float] | None = None
        self._input = WindowInput(self.window, self._wake, self._press)
        super().__init__(port)  # the first state
        port.watch(self._observe)
        self._late_seen = self.state.stats.late_frames
        self.tabs = (AudioTab(self.state.audio_file), MappingTab(), LatentsTab(), BendingTab(), EffectsTab(),
                     PresetsTab(), OscTab(), MidiTab(), OutputsTab(), StatsTab())
        self._thread = threading.Thread(target=self._run, name="panel", daemon=True)
        self._thread.start()

    # ---- main thread: the render loop's side ----------------------------------------------------------
    def sync(self) -> None:
        """Once per output frame, after its present: hand the panel a fresh `PanelState` if it asked for
        one, and let a panel frame waiting to be rasterized go (see `_frame`)."""
        if self._want_state.is_set():
            self._want_state.clear()
            try:
                self.state = self.port.snapshot()
            except Exception:  # noqa: BLE001 - a panel bug must never stop the show; keep the old state
                log.exception("panel state")
            self._state_ready.set()
        self._presented.set()

    def _press(self, x: float, y: float) -> None:
        """A left mouse press (main thread, inside glfw.poll_events)."""
        rect = self._tap_rect
        if rect and rect[0] <= x < rect[2] and rect[1] <= y < rect[3]:
            # tap tempo: posted at the press (not ~1 panel frame later), so the taps keep their rhythm
            self.post("/vjgan/tempo/tap", 1)

    def _observe(self, m: ControlMessage) -> None:
        self.values[m.address] = m.value

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
            self.port.unwatch(self._observe)
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
            renderer = Renderer()
            last = due = 0.0
            while not self._stop.is_set():
                now = time.perf_counter()
                # pending input (a click, typing) gets the base rate even while the panel is backing off
                wanted = min(due, last + self.min_interval) if self._input.pending() else due
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
        late = self.port.counters()[1]
        if late > self._late_seen:
            self._backoff = min(max(2.0 * self._backoff, 0.1), MAX_BACKOFF)
        else:
            self._backoff = self._backoff * 0.7 if self._backoff > 0.01 else 0.0
        self._late_seen = late
        return max(self.min_interval, PANEL_DUTY * cost) + self._backoff

    def _set_clipboard(self, _ctx: Any, text: str) -> None:
        self._clipboard = text

    def _frame(self, renderer: Renderer) -> float:
        """Draw one panel frame; returns what it cost (seconds, not counting the wait for the state)."""
        from OpenGL import GL as gl

        self._state_ready.clear()
        self._want_state.set()
        # the render loop copies the state at its next frame; if it is stalled, the panel shows the old one
        fresh = self._state_ready.wait(0.1)
        t0 = time.perf_counter()
        # the output frame that made the state ends right after; any frame beyond it ran during this one
        start_frames = self.state.stats.frames + 1 if fresh else -1
        io = imgui.get_io()
        self._input.feed(io, renderer.key_map)
        self.refresh_features()
        (w, h), (fw, fh) = self._input.win_size, self._input.fb_size
        io.display_size = imgui.ImVec2(w, h)
        io.display_framebuffer_scale = imgui.ImVec2(fw / max(w, 1), fh / max(h, 1))
        io.delta_time = max(t0 - self._clock, 1e-3) if self._clock else self.min_interval
        self._clock = t0
        self.tap_next = None
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
        self._tap_rect = self.tap_next  # what the user sees now
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
            self.overlap.append((start_frames, self.port.counters()[0]))
        return cost

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
        s = st.stats
        imgui.text(
            f"render {s.render_fps:5.1f} fps   generator {s.gen_fps:5.1f} fps   "
            f"audio->screen {s.latency_ms:6.1f} ms   late frames {s.late_frames}   "
            f"generator dropped {s.gen_dropped}   audio overflows {s.audio_overflows}"
        )
        if s.audio_status not in ("", "ok"):
            imgui.text_colored(RED, f"audio: {s.audio_status}")
        if s.sync:  # leader / follower (docs/live.md, "Two projectors"); red while the leader is lost
            if "lost" in s.sync or "waiting" in s.sync:
                imgui.text_colored(RED, f"sync: {s.sync}")
            else:
                imgui.text(f"sync: {s.sync}")
        errors = [e.name for e in st.effects if e.error]
        if errors:
            imgui.text_colored(RED, f"shader errors: {', '.join(errors)} (last good version running; see Effects)")
        imgui.separator()
        left_w = 360.0
        imgui.begin_child("meters", imgui.ImVec2(left_w, 0))
        draw_meters(self)
        imgui.end_child()
        imgui.same_line()
        imgui.begin_child("tabs", imgui.ImVec2(0, 0))
        if imgui.begin_tab_bar("tabs"):
            for tab in self.tabs:
                flags = imgui.TabItemFlags_.set_selected.value if self.tab == tab.name else 0
                selected, _ = imgui.begin_tab_item(tab.name, None, flags)
                if selected:
                    tab.draw(self, st)
                    imgui.end_tab_item()
            self.tab = None
            imgui.end_tab_bar()
        imgui.end_child()
        imgui.end()
