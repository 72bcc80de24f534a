"""The panel window's input: glfw callbacks (main thread) → a queue → ImGui's IO (panel thread).

Why not imgui-bundle's GLFW backend: its callbacks would write ImGui's IO, which is not thread-safe, from
the main thread while the panel thread builds a frame, and it asks X for the window size every frame.
GLFW wants event processing on the main thread, so our callbacks only queue events and keep the cursor
and the window sizes; the panel thread feeds the queue into ImGui before each frame.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import glfw  # noqa: I001 - glfw before imgui_bundle, so imgui uses this glfw (see shared notes)
from imgui_bundle import imgui
from imgui_bundle.python_backends.glfw_backend import GlfwRenderer

log = logging.getLogger(__name__)

NO_MOUSE = -3.4028234663852886e38  # -FLT_MAX: ImGui's "mouse not over the window"
MAX_EVENTS = 4096  # input events waiting for the panel thread (seconds of mouse moves)

_MODS = {  # ImGui wants the modifier state as keys of their own too
    imgui.Key.left_ctrl: imgui.Key.mod_ctrl, imgui.Key.right_ctrl: imgui.Key.mod_ctrl,
    imgui.Key.left_shift: imgui.Key.mod_shift, imgui.Key.right_shift: imgui.Key.mod_shift,
    imgui.Key.left_alt: imgui.Key.mod_alt, imgui.Key.right_alt: imgui.Key.mod_alt,
    imgui.Key.left_super: imgui.Key.mod_super, imgui.Key.right_super: imgui.Key.mod_super,
}


class Renderer:
    """imgui-bundle's native (C++) OpenGL 3 backend, created and used on the panel thread only.

    Not the pure-Python `ProgrammablePipelineRenderer`: its per-command PyOpenGL calls took ~15 ms of a
    panel frame on this machine, holding the GIL the render loop needs (issue #6's late output frames). Not
    the GLFW platform backend either (see the module docstring)."""

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


class WindowInput:
    """Installs the window's callbacks. `on_press(x, y)` runs at a left mouse press, on the main thread (the
    tap tempo button posts there, not one panel frame later); `wake` is set when input wants a frame."""

    def __init__(self, window: Any, wake: threading.Event, on_press: Callable[[float, float], None]) -> None:
        # bounded: a panel thread that stopped drawing loses the oldest mouse moves, not memory
        self._events: deque[tuple[Any, ...]] = deque(maxlen=MAX_EVENTS)
        self._wake = wake
        self._on_press = on_press
        self.win_size: tuple[int, int] = tuple(glfw.get_window_size(window))  # type: ignore[assignment]
        self.fb_size: tuple[int, int] = tuple(glfw.get_framebuffer_size(window))  # type: ignore[assignment]
        self.cursor = (NO_MOUSE, NO_MOUSE)
        glfw.set_cursor_pos_callback(window, self._on_cursor)
        glfw.set_cursor_enter_callback(window, self._on_enter)
        glfw.set_mouse_button_callback(window, self._on_button)
        glfw.set_scroll_callback(window, self._on_scroll)
        glfw.set_key_callback(window, self._on_key)
        glfw.set_char_callback(window, self._on_char)
        glfw.set_window_focus_callback(window, self._on_focus)
        glfw.set_window_size_callback(window, self._on_size)
        glfw.set_framebuffer_size_callback(window, self._on_fb_size)

    def pending(self) -> bool:
        """Input is waiting for the next panel frame (a click, typing)."""
        return bool(self._events)

    # These run inside glfw.poll_events() on the main thread. They must never raise: the glfw module
    # re-raises a callback's exception from whichever glfw call comes next, on any thread.
    def _on_cursor(self, _w: Any, x: float, y: float) -> None:
        self.cursor = (x, y)
        self._events.append(("pos", x, y))
        self._wake.set()

    def _on_enter(self, _w: Any, entered: int) -> None:
        if not entered:
            self.cursor = (NO_MOUSE, NO_MOUSE)
            self._events.append(("pos", NO_MOUSE, NO_MOUSE))

    def _on_button(self, _w: Any, button: int, action: int, _mods: int) -> None:
        try:
            self._events.append(("button", button, action == glfw.PRESS))
            self._wake.set()
            if button == 0 and action == glfw.PRESS:
                self._on_press(*self.cursor)
        except Exception:  # noqa: BLE001 - see above
            log.exception("panel mouse button")

    def _on_scroll(self, _w: Any, dx: float, dy: float) -> None:
        self._events.append(("wheel", dx, dy))
        self._wake.set()

    def _on_key(self, _w: Any, key: int, _scancode: int, action: int, _mods: int) -> None:
        self._events.append(("key", key, action != glfw.RELEASE))
        self._wake.set()

    def _on_char(self, _w: Any, char: int) -> None:
        self._events.append(("char", char))
        self._wake.set()

    def _on_focus(self, _w: Any, focused: int) -> None:
        self._events.append(("focus", bool(focused)))

    def _on_size(self, _w: Any, width: int, height: int) -> None:
        self.win_size = (width, height)

    def _on_fb_size(self, _w: Any, width: int, height: int) -> None:
        self.fb_size = (width, height)

    # ---- panel thread ---------------------------------------------------------------------------------
    def feed(self, io: Any, key_map: dict[int, Any]) -> None:
        """The input events queued since the last panel frame, in order. ImGui trickles them (a press and a
        release in one frame become two frames), so clicks survive the low rate."""
        while True:
            try:
                ev = self._events.popleft()  # deque: append and popleft are atomic, one consumer
            except IndexError:
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
            elif kind == "key" and ev[1] in key_map:
                key = key_map[ev[1]]
                io.add_key_event(key, ev[2])
                if key in _MODS:
                    io.add_key_event(_MODS[key], ev[2])
