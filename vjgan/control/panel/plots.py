"""The panel's left column, beside every tab: the newest audio features as meters, the chroma as bars and
the last 3 s of the main features as lines (ImPlot)."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot

from vjgan.control.panel.widgets import FEATURE_HISTORY, PanelUI
from vjgan.core.features import PITCH_CLASSES

METERS = ("rms", "onset", "kick", "snare", "bass", "mid", "high", "beat_phase", "bar_phase")
LINES = ("onset", "rms", "kick", "bass")


def draw_meters(ui: PanelUI) -> None:
    f = ui.features
    imgui.text(f"audio t {f.time:7.2f} s   tempo {f.tempo:5.1f} BPM   beat {f.beat_count}")
    for name in METERS:
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
    hist = ui.history
    if hist and implot.begin_plot("features (3 s)", imgui.ImVec2(-1, 220)):
        implot.setup_axes("frames", "", 0, 0)
        implot.setup_axes_limits(0, FEATURE_HISTORY, 0, 1.05, implot.Cond_.always.value)
        for name in LINES:
            implot.plot_line(name, np.array([float(getattr(x, name)) for x in hist], np.float64))
        implot.end_plot()
