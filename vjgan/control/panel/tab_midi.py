"""The MIDI tab: ports, MIDI learn ("click a control, move a knob"), the bindings and the MIDI clock.

Learn mode: while it is on, clicking any parameter's widget in any tab arms MIDI learn for that parameter
instead of changing it (PanelUI.param_widget); the next CC, note or pitch bend binds to it.
"""

from __future__ import annotations

from imgui_bundle import imgui

from vjgan.control.panel.widgets import DIM, RED, PanelUI
from vjgan.core.midi_binding import TAKEOVERS
from vjgan.core.panel_state import PanelState


class MidiTab:
    name = "MIDI"

    def __init__(self) -> None:
        self.learn_target = ""

    def draw(self, ui: PanelUI, st: PanelState) -> None:
        midi = st.midi
        if midi is None:
            imgui.text("MIDI is off: start with --midi-in PORT|virtual [--midi-out PORT|virtual] (docs/live.md)")
            return
        imgui.text(f"in: {midi.in_port or 'not open'}   out (feedback): {midi.out_port or 'not open'}")
        imgui.push_style_color(imgui.Col_.text, DIM)
        imgui.text_wrapped(midi.stats)
        imgui.pop_style_color()
        imgui.text(midi.clock)
        imgui.separator()
        _, ui.midi_learn_mode = imgui.checkbox("learn mode: click a control, then move a knob", ui.midi_learn_mode)
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        ui.rects["midi learn mode"] = (lo.x, lo.y, hi.x, hi.y)
        imgui.set_next_item_width(120)
        idx = TAKEOVERS.index(ui.midi_takeover) if ui.midi_takeover in TAKEOVERS else 0
        changed, idx = imgui.combo("takeover", idx, list(TAKEOVERS))
        if changed:
            ui.midi_takeover = TAKEOVERS[idx]
        imgui.text(f"MIDI learn: {'waiting for a control for ' + midi.armed if midi.armed else 'idle'}")
        imgui.set_next_item_width(320)
        _, self.learn_target = imgui.input_text("parameter address##midilearn", self.learn_target)
        imgui.set_next_item_width(200)
        _, ui.midi_value = imgui.input_text("value a note sends (optional)##midivalue", ui.midi_value)
        if imgui.button("learn##midi"):
            ui.port.midi_learn(self.learn_target, ui.midi_takeover, ui.midi_value or None)
        imgui.same_line()
        if imgui.button("cancel##midi"):
            ui.port.midi_cancel_learn()
        if ui.midi_learn_mode and midi.armed is None:
            imgui.text_colored(RED, "learn mode is on: clicking a control arms it instead of moving it")
        for b in midi.bindings:
            if imgui.small_button(f"unbind##midi{b.source}"):
                ui.port.midi_unbind(b.source)
            imgui.same_line()
            extra = f" = {b.value!r}" if b.value is not None else ""
            imgui.text(f"{b.source} -> {b.target}{extra} ({b.takeover})")
