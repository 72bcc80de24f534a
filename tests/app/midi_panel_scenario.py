"""MIDI learn in the windowed panel, run in its own process by test_midi_panel.py (a fresh interpreter for
GLX, as window_scenario.py explains). JACK_DEFAULT_SERVER names the test's JACK server.

Real clicks (xdotool → X → glfw → ImGui): the MIDI tab's learn-mode switch, then a parameter's slider in
the Presets tab; a controller in another process (tests/midi_peer.py) then moves a knob. Writes
result.json and the MIDI tab's screenshot into OUT.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import glfw  # noqa: F401, I001 - before imgui_bundle (see vjgan.control.panel)

from tests.app.test_headless import click_track
from tests.app.window_scenario import PANEL_ERRORS, step_fast
from tests.midi_rig import MidiPeer, jack_connect
from vjgan.app.live import LiveApp, LiveConfig

TARGET = "/vjgan/preset/crossfade"  # the Presets tab's first parameter widget (0..64 beats)


def click(app: LiveApp, wid: str, rect: tuple[float, float, float, float], until) -> None:  # noqa: ANN001
    x0, y0, x1, y1 = rect
    subprocess.run(["xdotool", "mousemove", "--window", wid, str(int((x0 + x1) / 2)), str(int((y0 + y1) / 2))],
                   check=True)
    step_fast(app, lambda: False, 0.3)
    subprocess.run(["xdotool", "click", "--window", wid, "1"], check=True)
    step_fast(app, until, 10.0)  # ImGui needs a few panel frames to see press and release


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    audio = out / "clicks.wav"
    click_track(audio, seconds=4.0)
    r: dict = {}
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", size=(320, 180), fps=30.0,
                             midi_in="virtual", midi_out="virtual", midi_api="jack"))
    peer = MidiPeer()
    app.start()
    try:
        jack_connect("peer_out:midi", "vjgan_in:midi")
        jack_connect("vjgan_out:midi", "peer_in:midi")
        wid = subprocess.run(["xdotool", "search", "--name", "^vjgan panel$"], capture_output=True, text=True,
                             check=True).stdout.split()[0]
        ui = app.panel
        app.panel.tab = "MIDI"
        step_fast(app, lambda: "midi learn mode" in ui.rects, 10.0)
        click(app, wid, ui.rects["midi learn mode"], lambda: ui.midi_learn_mode)
        r["learn_mode_after_click"] = ui.midi_learn_mode

        base = app.mapping.cur.bases["preset.crossfade_beats"]
        app.panel.tab = "Presets"
        step_fast(app, lambda: TARGET in ui.rects, 10.0)
        click(app, wid, ui.rects[TARGET], lambda: app.midi.learn.armed is not None)  # "click a control"
        r["armed"] = app.midi.learn.armed
        r["value_unchanged_by_click"] = app.mapping.cur.bases["preset.crossfade_beats"] == base

        peer.send(0xB0, 16, 127)  # "move a knob"
        step_fast(app, lambda: app.midi.learn.learned == 1, 10.0)
        step_fast(app, lambda: app.mapping.cur.bases["preset.crossfade_beats"] == 64.0, 5.0)
        r["learned"] = [b.source for b in app.midi.router.bindings()]
        r["value_after_knob"] = app.mapping.cur.bases["preset.crossfade_beats"]
        peer.send(0xB0, 16, 0)
        step_fast(app, lambda: app.mapping.cur.bases["preset.crossfade_beats"] == 0.0, 5.0)
        r["value_after_knob_down"] = app.mapping.cur.bases["preset.crossfade_beats"]

        ui.midi_learn_mode = False
        app.panel.tab = "MIDI"
        step_fast(app, lambda: False, 0.5)
        shot = app.panel.screenshot(out / "panel_midi.png")
        r["shot_std"] = float(shot.std())
        r["panel_errors"] = list(PANEL_ERRORS)
    finally:
        app.stop()
        peer.close()
    (out / "result.json").write_text(json.dumps(r))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
