"""The panel's input queue: a panel thread that stops drawing loses the oldest mouse moves, not memory
(#14 item 8). A real glfw window on the X server; its callbacks called as glfw calls them."""

from __future__ import annotations

import threading

import glfw  # noqa: I001 - before imgui_bundle (see vjgan.control.panel)

from vjgan.control.panel.input import MAX_EVENTS, WindowInput


def test_unread_input_events_stay_bounded(x_display: str) -> None:
    assert glfw.init()
    glfw.window_hint(glfw.VISIBLE, False)
    window = glfw.create_window(64, 64, "input", None, None)
    try:
        inp = WindowInput(window, threading.Event(), on_press=lambda x, y: None)
        for i in range(3 * MAX_EVENTS):  # nobody feeds ImGui: the panel thread is stuck
            inp._on_cursor(window, float(i), 0.0)
        assert inp.pending() and len(inp._events) == MAX_EVENTS
        assert inp._events[-1] == ("pos", float(3 * MAX_EVENTS - 1), 0.0)  # the newest kept
    finally:
        glfw.destroy_window(window)
