"""The ImGui control panel: a second glfw window drawn by its own thread, with its own GL context.

It shows a `PanelState` (vjgan/core/panel_state.py) that the app builds on the render thread whenever the
panel asks for one, and turns every user action into a `ControlMessage` through the app's `PanelPort`
(the control queue, the same path OSC takes), which the render loop applies at its next frame; so the
panel never races the generator, the mapping or the output's GL context, and control never imports app.

Modules: window.py (the window, its thread, the state handover, pacing, layout), input.py (glfw
callbacks → ImGui), widgets.py (what tabs draw with), plots.py (the meters column), one module per tab
group (tab_audio, tab_mapping, tab_latents: Latents and Bending, tab_output: Effects, Presets, OSC, Stats).
"""

from vjgan.control.panel.window import ControlPanel

__all__ = ["ControlPanel"]
