"""The panel's input queue: a panel thread that stops drawing loses the oldest mouse moves, not memory
(#14 item 8). A real glfw window on the X server, in a process of its own (glfw/GLX next to the EGL contexts
other tests made in this process is not a combination the panel ever meets); its callbacks called as glfw
calls them."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, threading
import glfw
from vjgan.control.panel.input import MAX_EVENTS, WindowInput
assert glfw.init()
glfw.window_hint(glfw.VISIBLE, False)
window = glfw.create_window(64, 64, "input", None, None)
inp = WindowInput(window, threading.Event(), on_press=lambda x, y: None)
for i in range(3 * MAX_EVENTS):  # nobody feeds ImGui: the panel thread is stuck
    inp._on_cursor(window, float(i), 0.0)
print(json.dumps({"max": MAX_EVENTS, "pending": inp.pending(), "n": len(inp._events), "last": list(inp._events[-1])}))
glfw.destroy_window(window)
glfw.terminate()
"""


def test_unread_input_events_stay_bounded(x_display: str) -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["pending"] and out["n"] == out["max"] == 4096
    assert out["last"] == ["pos", float(3 * 4096 - 1), 0.0]  # the newest kept
