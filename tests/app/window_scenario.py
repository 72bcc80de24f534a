"""The windowed scenario, run in its own process by test_window.py.

A process that made a Mesa EGL context (the headless tests) cannot make a GLX one afterwards (X
BadAccess), so the window test gets a fresh interpreter. Writes result.json and screenshots into OUT.
The panel draws on its own thread; the scenario drives the render loop (main thread) as `vjgan live`
does, and real X input (xdotool) reaches the panel through the loop's event polling.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import glfw  # noqa: I001 - before imgui_bundle (see vjgan.control.panel)
import numpy as np

from tests.app.test_headless import click_track
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.core.paths import SHADERS_DIR

PANEL_ERRORS: list[str] = []


class _PanelErrors(logging.Handler):
    """A panel bug is logged and the show goes on: the scenario fails the test on any."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            PANEL_ERRORS.append(record.getMessage()[:300])


logging.getLogger("vjgan.control.panel").addHandler(_PanelErrors())


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


def step_fast(app: LiveApp, until: Callable[[], bool], timeout: float) -> None:
    """Render without the display pacing (events are polled every few ms) until `until()` or timeout."""
    end = time.perf_counter() + timeout
    while not until() and time.perf_counter() < end:
        app.step()
        time.sleep(0.002)


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

        # the output keeps rendering while the panel thread draws: output frames completed inside panel frames.
        # Unpaced, so that output frames are shorter than panel frames (paced, the panel frame that starts
        # after an output frame hands over its state usually ends before the next output frame is due)
        app.panel.overlap.clear()
        step_fast(app, lambda: len(app.panel.overlap) >= 8, 4.0)
        overlap = list(app.panel.overlap)
        r["panel_frames_timed"] = len(overlap)
        r["panel_frames_with_output_frames"] = sum(1 for a, b in overlap if b > a)
        r["output_frames_inside_panel_frames"] = sum(max(0, b - a) for a, b in overlap)

        # the panel flushes its frames to the (shared, on llvmpipe) rasterizer right after output presents...
        synced, unsynced = app.panel.swaps_after_present, app.panel.swaps_unsynced
        run_for(app, 1.0)
        r["panel_swaps_after_present"] = app.panel.swaps_after_present - synced
        r["panel_swaps_unsynced"] = app.panel.swaps_unsynced - unsynced
        # ...and still draws while the render loop is stalled (nothing presented for 1.5 s)
        frames, unsynced = app.panel.frames, app.panel.swaps_unsynced
        time.sleep(1.5)
        r["panel_frames_while_output_stalled"] = app.panel.frames - frames
        r["panel_swaps_unsynced_while_stalled"] = app.panel.swaps_unsynced - unsynced

        # tap tempo: four real clicks on the Audio tab's TAP button, 0.6 s apart (100 BPM; the track is 120)
        app.panel.tab = "Audio"
        step_fast(app, lambda: app.panel.tap_rect is not None, 5.0)
        x0, y0, x1, y1 = app.panel.tap_rect
        subprocess.run(["xdotool", "mousemove", "--window", wid, str(int((x0 + x1) / 2)), str(int((y0 + y1) / 2))],
                       check=True)
        run_for(app, 0.2)
        r["tempo_before_taps"] = app.bus.latest.tempo
        clicks = subprocess.Popen(["xdotool", "click", "--repeat", "4", "--delay", "600", "--window", wid, "1"])
        step_fast(app, lambda: clicks.poll() is not None, 10.0)
        step_fast(app, lambda: False, 0.5)  # the analysis thread applies the tapped tempo at its next hop
        r["tempo_after_taps"] = app.bus.latest.tempo
        r["tempo_held"] = bool(app.audio.analyzer.beats.manual)
        app.panel.screenshot(out / "panel_audio.png")

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
        panel = app.panel
        glfw.set_window_should_close(panel.window, True)
        app.step()
        r["panel_closed"] = app.panel is None
        r["output_open"] = not app.window.should_close()
        frames = app.stats.frames
        r["change_after_close"] = run_for(app, 1.5)
        r["frames_after_close"] = app.stats.frames - frames
        r["panel_thread_ended"] = not panel._thread.is_alive() and panel.window is None
    finally:
        app.stop()
    video_panel(out, r)
    r["panel_errors"] = list(PANEL_ERRORS)
    (out / "result.json").write_text(json.dumps(r))


def video_panel(out: Path, r: dict) -> None:
    """A VAE-GAN with a video input: the Audio tab shows the source; the panel's post switches it."""
    from vjgan.models.vaegan import VaeGan, VaeGanConfig, save_vaegan

    model = save_vaegan(VaeGan(VaeGanConfig(resolution=32, z_dim=16, w_dim=16, vae_dim=8, channel_base=256,
                                            channel_max=32, mapping_layers=2)), out / "tiny_vaegan")
    app = LiveApp(LiveConfig(audio=None, model=str(model), size=(160, 90), fps=30.0, video="black",
                             media_dirs=[out]))
    app.start()
    try:
        run_for(app, 0.5)
        app.panel.tab = "Audio"
        shot = app.panel.screenshot(out / "panel_video.png")
        r["video_panel_std"] = float(shot.std())
        r["video_state_before"] = app.panel.state.video
        # what "use source" posts: a file in a media folder that cannot be opened
        app.panel.post("/vjgan/app/video/source", str(out / "nonexistent_clip.mp4"))
        step_fast(app, lambda: app.panel.state.video_note.endswith("mapped latents"), 5.0)
        r["video_note_after"] = app.panel.state.video_note
        app.panel.post("/vjgan/app/video/mix", 0.25)
        step_fast(app, lambda: app.video_mix == 0.25, 2.0)
        r["video_mix_after"] = app.video_mix
    finally:
        app.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
