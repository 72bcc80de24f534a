"""The panel's OSC tab draws the feedback peers from a PanelState (ImGui, no window: nothing to render to)."""

from __future__ import annotations

from types import SimpleNamespace

from imgui_bundle import imgui

from vjgan.control.panel.tab_output import OscTab
from vjgan.core.panel_state import OscView


def _vertices(view: OscView) -> int:
    for _ in range(2):  # a new window is laid out in its first frame and drawn from the second
        imgui.new_frame()
        imgui.begin("panel")
        OscTab().draw(SimpleNamespace(port=None), SimpleNamespace(osc=view))  # type: ignore[arg-type]
        imgui.end()
        imgui.render()
    return imgui.get_draw_data().total_vtx_count


def test_osc_tab_lists_feedback_peers() -> None:
    ctx = imgui.create_context()
    try:
        io = imgui.get_io()
        io.display_size = imgui.ImVec2(800, 600)
        io.backend_flags |= imgui.BackendFlags_.renderer_has_textures.value
        none = _vertices(OscView("127.0.0.1", 9000, "packets 0", None, ()))
        two = _vertices(OscView("127.0.0.1", 9000, "packets 0", None, (),
                                ("127.0.0.1:9001  sent 12  errors 0", "10.0.0.7:8000  sent 3  errors 1"),
                                "changes 4  messages 15"))
        assert two > none > 0
    finally:
        imgui.destroy_context(ctx)
