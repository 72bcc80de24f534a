"""The show's tabs: Effects (the post-FX chain), Presets (load, crossfade, save), OSC (server, OSC learn),
Outputs (video out to other apps: NDI, v4l2, Syphon, Spout) and Stats (the render loop's and the panel's own
costs)."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui

from vjgan.control.panel.widgets import DIM, RED, PanelUI
from vjgan.core.panel_state import PanelState
from vjgan.core.paths import PRESETS_DIR


class EffectsTab:
    name = "Effects"

    def draw(self, ui: PanelUI, st: PanelState) -> None:
        for effect in st.effects:
            name = effect.name
            ch, on = imgui.checkbox(f"##{name}", effect.enabled)
            if ch:
                ui.post(f"/vjgan/shader/{name}/enabled", on)
            imgui.same_line()
            imgui.set_next_item_open(name in ("color", "strobe"), imgui.Cond_.once)
            if imgui.collapsing_header(name):
                for pname, current in effect.values:
                    p = st.params.get(f"/vjgan/target/shader.{name}.{pname}") or st.params.get(
                        f"/vjgan/shader/{name}/{pname}"
                    )
                    if p is not None:
                        ui.values.setdefault(p.address, current)
                        ui.param_widget(p, pname)
            if effect.error:
                imgui.text_colored(RED, effect.error)
        imgui.text_colored(DIM, f"shaders: {st.shaders_dir} (edit and save: hot reload)")


class PresetsTab:
    name = "Presets"

    def __init__(self) -> None:
        self.preset_name = ""

    def draw(self, ui: PanelUI, st: PanelState) -> None:
        imgui.text(f"running: {st.preset}   crossfade progress {st.fade:.2f}")
        p = st.params.get("/vjgan/preset/crossfade")
        if p is not None:
            ui.param_widget(p, "crossfade beats")
        for path in sorted(PRESETS_DIR.glob("*.toml")):
            if imgui.button(f"load##{path.stem}"):
                ui.post("/vjgan/preset/load", str(path))
            imgui.same_line()
            imgui.text(path.stem)
        imgui.separator()
        _, self.preset_name = imgui.input_text("name##save", self.preset_name)
        imgui.same_line()
        if imgui.button("save live state"):
            ui.post("/vjgan/preset/save", self.preset_name)


class OscTab:
    name = "OSC"

    def __init__(self) -> None:
        self.learn_target = ""

    def draw(self, ui: PanelUI, st: PanelState) -> None:
        osc = st.osc
        if osc is None:
            imgui.text("OSC is off: start with --osc-port 9000 (see docs/osc.md)")
            return
        imgui.text(f"listening on {osc.host}:{osc.port}")
        imgui.text_colored(DIM, osc.stats)
        imgui.text(f"feedback to {len(osc.feedback)} controller(s)" + (":" if osc.feedback else
                                                                      " (/vjgan/feedback/register, --osc-feedback)"))
        for line in osc.feedback:
            imgui.bullet_text(line)
        if osc.feedback_stats:
            imgui.text_colored(DIM, osc.feedback_stats)
        imgui.separator()
        imgui.text(f"OSC learn: {'waiting for a message for ' + osc.armed if osc.armed else 'idle'}")
        imgui.set_next_item_width(320)
        _, self.learn_target = imgui.input_text("parameter address##learn", self.learn_target)
        imgui.same_line()
        if imgui.button("learn"):
            ui.port.learn(self.learn_target)  # OscLearn is locked; no GL or generator state involved
        imgui.same_line()
        if imgui.button("cancel"):
            ui.port.cancel_learn()
        for b in osc.bindings:
            if imgui.small_button(f"unbind##{b.source}"):
                ui.port.unbind(b.source)
            imgui.same_line()
            imgui.text(f"{b.source} -> {b.target}{' (scaled)' if b.scale else ''}")


class OutputsTab:
    """Start, stop and rename each video out; what it sent and dropped (the app's `OutputView`s)."""

    name = "Outputs"

    def __init__(self) -> None:
        self.targets: dict[str, str] = {}  # kind → the text being edited

    def draw(self, ui: PanelUI, st: PanelState) -> None:
        for view in st.outputs:
            kind = view.kind
            ch, on = imgui.checkbox(f"{view.what}##out_{kind}", view.running)
            if ch:
                ui.post(f"/vjgan/output/{kind}/enabled", on)
            text = self.targets.setdefault(kind, view.target)
            imgui.set_next_item_width(220)
            _, self.targets[kind] = imgui.input_text(f"{view.target_word}##out_target_{kind}", text)
            imgui.same_line()
            if imgui.button(f"set##out_set_{kind}") and self.targets[kind] != view.target:
                ui.post(f"/vjgan/output/{kind}/{'device' if kind == 'v4l2' else 'name'}", self.targets[kind])
            if view.running or view.sent:
                imgui.text_colored(DIM, f"sent {view.sent}   dropped {view.dropped}   errors {view.errors}")
            if view.error:
                _wrapped(RED, view.error)  # the setup command in it must be readable whole
            imgui.separator()
        _wrapped(DIM, "each output sends from its own thread through a 2-frame queue: a slow receiver makes it drop "
                      "frames (counted above), never the show (docs/live.md, Outputs)")


def _wrapped(colour: imgui.ImVec4, text: str) -> None:
    imgui.push_style_color(imgui.Col_.text, colour)
    imgui.text_wrapped(text)
    imgui.pop_style_color()


class StatsTab:
    name = "Stats"

    def draw(self, ui: PanelUI, st: PanelState) -> None:
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
                 " / ".join(f"{np.median(v):.1f}" if v else "-" for v in ui.part_costs.values())),
                ("panel swaps after output present / not", f"{ui.swaps_after_present} / {ui.swaps_unsynced}"),
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
