"""The Mapping tab: the running preset's routes (switch, gain, offset, live output, remove), adding a route,
and every route modifier parameter."""

from __future__ import annotations

from imgui_bundle import imgui

from vjgan.control.panel.widgets import RED, PanelUI
from vjgan.core.features import SOURCE_NAMES
from vjgan.core.panel_state import PanelState


class MappingTab:
    name = "Mapping"

    def __init__(self) -> None:
        self.route_src = 0
        self.route_target = ""

    def draw(self, ui: PanelUI, st: PanelState) -> None:
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
                    ui.post(f"{base}/enabled", on)
                imgui.table_next_column()
                imgui.text(r.source)
                imgui.table_next_column()
                imgui.text(r.target)
                imgui.table_next_column()
                imgui.set_next_item_width(80)
                ch, g = imgui.drag_float(f"##gain{i}", r.gain, 0.01)
                if ch:
                    ui.post(f"{base}/gain", g)
                imgui.table_next_column()
                imgui.set_next_item_width(80)
                ch, o = imgui.drag_float(f"##off{i}", r.offset, 0.01)
                if ch:
                    ui.post(f"{base}/offset", o)
                imgui.table_next_column()
                imgui.text(r.curve)
                imgui.table_next_column()
                out = r.out
                imgui.progress_bar(float(min(max(abs(out), 0.0), 1.0)), imgui.ImVec2(60, 0), f"{out:.2f}")
                imgui.table_next_column()
                if imgui.small_button(f"remove##{i}"):
                    ui.post("/vjgan/app/route/remove", i)
            imgui.end_table()
        imgui.text("add a route")
        sources = list(SOURCE_NAMES)
        imgui.set_next_item_width(160)
        _, self.route_src = imgui.combo("source##new", self.route_src, sources)
        imgui.same_line()
        imgui.set_next_item_width(260)
        _, self.route_target = imgui.input_text("target##new", self.route_target)
        imgui.same_line()
        if imgui.button("add"):
            ui.post("/vjgan/app/route/add", f"{sources[self.route_src]} -> {self.route_target}")
        if imgui.collapsing_header("route modifiers (all parameters)"):
            for p in ui.params("/vjgan/route/"):
                ui.param_widget(p, p.address.removeprefix("/vjgan/route/"))
