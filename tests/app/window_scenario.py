"""The windowed scenario, run in its own process by test_window.py.

A process that made a Mesa EGL context (the headless tests) cannot make a GLX one afterwards (X
BadAccess), so the window test gets a fresh interpreter. Writes result.json and screenshots into OUT.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import glfw  # noqa: I001 - before imgui_bundle (see vjgan.control.panel)
import numpy as np

from tests.app.test_headless import click_track
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.paths import SHADERS_DIR


def run_for(app: LiveApp, seconds: float) -> float:
    """Run the loop; returns the largest mean frame-to-frame change of the output meanwhile."""
    end = time.perf_counter() + seconds
    last, change = app.chain.read().astype(np.int16), 0.0
    while time.perf_counter() < end:
        app.step()
        app._pace()
        now = app.chain.read().astype(np.int16)
        change = max(change, float(np.abs(now - last).mean()))
        last = now
    return change


def red_text_pixels(img: np.ndarray) -> int:
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return int(((r > 200) & (g < 130) & (b < 120)).sum())


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shaders = out / "shaders"
    shutil.copytree(SHADERS_DIR, shaders)
    audio = out / "clicks.wav"
    click_track(audio, seconds=6.0)
    r: dict = {}
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", size=(320, 180), fps=30.0, shaders_dir=shaders))
    app.start()
    try:
        r["window_and_panel"] = app.window is not None and app.panel is not None
        run_for(app, 1.5)
        r["window_size"] = list(app.window.framebuffer_size())
        r["output_std"] = float(app.chain.read().std())
        app.panel.tab = "Effects"
        app.step()
        shot = app.panel.screenshot(out / "panel.png")
        r["panel_shape"] = list(shot.shape)
        r["panel_std"] = float(shot.std())
        r["panel_colours"] = int(len(np.unique(shot.reshape(-1, 3), axis=0)))
        r["red_before"] = red_text_pixels(shot)

        # a real click (xdotool → X server → glfw → ImGui) on the first effect's checkbox in the Effects tab
        first = app.chain.order[0]
        r["first_effect_enabled_before"] = app.chain.effects[first].enabled
        applied = app.queue.stats.applied
        wid = subprocess.run(["xdotool", "search", "--name", "^vjgan panel$"], capture_output=True, text=True,
                             check=True).stdout.split()[0]
        subprocess.run(["xdotool", "mousemove", "--window", wid, "385", "62"], check=True)
        run_for(app, 0.4)
        subprocess.run(["xdotool", "click", "--window", wid, "1"], check=True)
        panel_frames = app.panel.frames
        end = time.perf_counter() + 5.0  # ImGui needs a few panel frames to see press and release
        while time.perf_counter() < end and (app.panel.frames < panel_frames + 4
                                             or app.chain.effects[first].enabled):
            app.step()
            app._pace()
        r["first_effect_enabled_after_click"] = app.chain.effects[first].enabled
        r["applied_by_click"] = app.queue.stats.applied - applied

        # break a shader while the show runs
        path = shaders / "vignette.frag"
        path.write_text(path.read_text().replace("smoothstep(", "smoothstep_broken("))
        os.utime(path, (time.time() + 1, time.time() + 1))
        frames = app.stats.frames
        run_for(app, 0.6)
        r["errors"] = app.chain.errors
        r["frames_during_error"] = app.stats.frames - frames
        r["last_good_kept"] = app.chain.effects["vignette"].program is not None
        app.panel.tab = "Effects"
        app.step()
        shot = app.panel.screenshot(out / "panel_error.png")
        r["red_after"] = red_text_pixels(shot)

        # closing the panel window (what the window manager's close button does) ends the panel only
        glfw.set_window_should_close(app.panel.window, True)
        app.step()
        r["panel_closed"] = app.panel is None
        r["output_open"] = not app.window.should_close()
        frames = app.stats.frames
        r["change_after_close"] = run_for(app, 1.5)
        r["frames_after_close"] = app.stats.frames - frames
    finally:
        app.stop()
    (out / "result.json").write_text(json.dumps(r))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
