"""Video outs in the running app: a missing v4l2loopback device is a clear note and the show renders on;
the panel's and OSC's /vjgan/output/* parameters start, rename and stop an NDI source live; the command
line fills LiveConfig.outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app.test_headless import click_track
from tests.conftest import REPO, wait_for
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.app.live_cmd import config_from_args
from vjgan.app.panel_port import LivePanelPort
from vjgan.cli import build_parser
from vjgan.core.registry import ControlMessage

MISSING = "/dev/video63"


@pytest.fixture()
def clicks(tmp_path: Path) -> Path:
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=3.0)
    return audio


def test_v4l2_without_a_device_is_a_note_and_the_show_goes_on(clicks: Path, pulse_server: str) -> None:
    assert not os.path.exists(MISSING)
    app = LiveApp(LiveConfig(audio=str(clicks), model="procedural", headless=True, size=(64, 36), fps=30.0,
                             panel=False, rehearsal=False, outputs={"v4l2": MISSING}))
    app.start()
    try:
        for _ in range(5):
            app.step()
        assert app.stats.frames == 5
        assert any(f"no v4l2loopback device at {MISSING}: sudo modprobe v4l2loopback" in m for m in app.messages)
        assert not app.outputs.running and not app.outputs.wants_frame()  # no readback for nobody
        view = {v.kind: v for v in LivePanelPort(app).snapshot().outputs}["v4l2"]
        assert not view.running and view.target == MISSING and "modprobe v4l2loopback" in view.error
    finally:
        app.stop()


def test_panel_and_osc_toggle_an_ndi_source_live(clicks: Path, pulse_server: str) -> None:
    app = LiveApp(LiveConfig(audio=str(clicks), model="procedural", headless=True, size=(64, 36), fps=30.0,
                             panel=False, rehearsal=False))
    port = LivePanelPort(app)
    app.start()
    try:
        app.step()
        assert not app.outputs.running
        port.post(ControlMessage("/vjgan/output/ndi/name", "vjgan-a"))  # what the Outputs tab posts
        port.post(ControlMessage("/vjgan/output/ndi/enabled", True))
        app.step()
        first = app.outputs.running["ndi"]
        assert first.name == "ndi vjgan-a"
        assert wait_for(lambda: (app.step(), first.stats.sent)[1] >= 3, timeout=30), first.stats
        view = {v.kind: v for v in port.snapshot().outputs}["ndi"]
        assert view.running and view.target == "vjgan-a" and view.sent >= 3 and view.error == ""
        port.post(ControlMessage("/vjgan/output/ndi/enabled", True))  # on again: it keeps running as it is
        app.step()
        assert app.outputs.running["ndi"] is first

        app.queue.post(ControlMessage("/vjgan/output/ndi/name", "vjgan-b", "osc"))  # a running source restarts
        app.step()
        second = app.outputs.running["ndi"]
        assert second is not first and second.name == "ndi vjgan-b"
        assert wait_for(lambda: (app.step(), second.stats.sent)[1] >= 1, timeout=30), second.stats

        app.queue.post(ControlMessage("/vjgan/output/ndi/enabled", False, "osc"))
        app.step()
        assert not app.outputs.running
        assert second.stats.sent + second.stats.dropped == second.offered  # closed: every frame accounted for
        assert any("NDI source vjgan-b: off" in m for m in app.messages)
        frames = app.stats.frames
        app.step()
        assert app.stats.frames == frames + 1
    finally:
        app.stop()


def test_the_command_line_names_the_outputs() -> None:
    args = build_parser().parse_args(["live", "--out-ndi", "stage", "--out-v4l2", "/dev/video10"])
    assert config_from_args(args).outputs == {"ndi": "stage", "v4l2": "/dev/video10"}
    assert config_from_args(build_parser().parse_args(["live"])).outputs == {}


def test_cli_with_a_missing_camera_device_renders_every_frame(tmp_path: Path, clicks: Path, pulse_server: str) -> None:
    out = tmp_path / "frames"
    proc = subprocess.run([sys.executable, "-m", "vjgan.cli", "live", "--headless", "--frames", "8", "--out", str(out),
                           "--audio", str(clicks), "--model", "procedural", "--size", "64x36", "--fps", "30",
                           "--out-v4l2", MISSING], capture_output=True, text=True, timeout=120, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"no v4l2loopback device at {MISSING}" in proc.stderr
    assert len(list(out.glob("frame_*.png"))) == 8


def test_the_outputs_tab_draws_the_running_and_the_failed_outputs(tmp_path: Path, x_display: str,
                                                                 pulse_server: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "tests.app.outputs_panel_scenario", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads((tmp_path / "result.json").read_text())
    assert r["panel_error"] == "" and r["std"] > 5
    views = r["views"]
    assert set(views) == {"ndi", "v4l2", "syphon", "spout"}
    assert views["ndi"]["running"] and views["ndi"]["target"] == "vjgan"
    assert not views["v4l2"]["running"] and "sudo modprobe v4l2loopback" in views["v4l2"]["error"]
    assert not views["syphon"]["running"] and views["syphon"]["error"] == ""  # not asked for: no error
