"""What every tab draws with: the newest `PanelState` and audio features, the last value per address, the
generic widget of a registry parameter, and posting through the app's `PanelPort`.

Why a base of `ControlPanel`: the tabs need only this much of the panel, so they stay free of its window,
thread and pacing.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from imgui_bundle import imgui

from vjgan.core.panel_state import PanelPort, PanelState
from vjgan.core.registry import ControlMessage, Param

FEATURE_HISTORY = 300  # analysis frames in the feature plot (3 s at 100 fps)
RED = imgui.ImVec4(1.0, 0.35, 0.3, 1.0)
DIM = imgui.ImVec4(0.6, 0.6, 0.6, 1.0)


class PanelUI:
    """The panel as the tabs see it. `state` is replaced (never mutated) by the render thread's handover."""

    def __init__(self, port: PanelPort) -> None:
        self.port = port
        self.state: PanelState = port.snapshot()
        self.features, self.history = port.features(FEATURE_HISTORY)  # refreshed before each panel frame
        self.values: dict[str, Any] = {}  # last value per address, from any origin (panel, OSC, presets)
        self.tap_next: tuple[float, float, float, float] | None = None  # where this frame drew the TAP button
        # the panel's own costs, for the Stats tab: ms per part of a panel frame (the UI in Python, the GL
        # draw calls, the swap: rasterize + present), and how its swaps were timed against the output
        self.part_costs: dict[str, deque[float]] = {k: deque(maxlen=64) for k in ("ui", "draw", "swap")}
        self.swaps_after_present = 0  # panel swaps made right after an output present (the normal case)
        self.swaps_unsynced = 0  # panel swaps made because the output presented nothing for a while
        self.midi_learn_mode = False  # MIDI tab: a click on a parameter's widget arms MIDI learn for it
        self.midi_takeover = "jump"  # takeover of the bindings learn mode makes
        self.midi_value = ""  # what a learned note sends instead of its velocity (a preset name to load)
        # where the MIDI tab's learn-mode switch and, in learn mode, each parameter widget were drawn last
        # (window coordinates), so a test can click them for real as a user does (xdotool)
        self.rects: dict[str, tuple[float, float, float, float]] = {}

    def refresh_features(self) -> None:
        """The newest analysis frame and the plot's history, once per panel frame (panel thread)."""
        self.features, self.history = self.port.features(FEATURE_HISTORY)

    def post(self, address: str, value: Any) -> None:
        self.values[address] = value
        self.port.post(ControlMessage(address, value, "panel"))

    def value(self, p: Param) -> Any:
        return self.values.get(p.address, p.default)

    def params(self, prefix: str) -> list[Param]:
        return self.state.params.under(prefix)

    def param_widget(self, p: Param, label: str | None = None) -> None:
        """A slider, drag, checkbox, button or text field by the parameter's kind and range; posts on change."""
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
        if self.midi_learn_mode:  # "click a control, move a knob": the click arms MIDI learn, moves nothing
            lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
            self.rects[p.address] = (lo.x, lo.y, hi.x, hi.y)
            if imgui.is_item_activated() or (changed and p.kind in ("bool", "trigger")):
                self.port.midi_learn(p.address, self.midi_takeover, self.midi_value or None)
            return
        if changed:
            self.post(p.address, new)
