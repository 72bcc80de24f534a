"""MIDI learn in the panel, for real: click the learn-mode switch, click a parameter, move a knob on a
controller in another process (JACK). The scenario runs in a fresh process (tests/app/midi_panel_scenario.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_tool
from tests.midi_rig import jack_server  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parents[2]


def test_click_a_control_then_move_a_knob(tmp_path: Path, x_display: str, pulse_server: str,
                                          jack_server: str) -> None:  # noqa: F811
    require_tool("xdotool")
    proc = subprocess.run([sys.executable, "-m", "tests.app.midi_panel_scenario", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=180, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads((tmp_path / "result.json").read_text())
    assert r["learn_mode_after_click"], r  # a real click on the MIDI tab's switch
    assert r["armed"] == "/vjgan/preset/crossfade" and r["value_unchanged_by_click"], r  # the click armed learn
    assert r["learned"] == ["cc 16 ch 1"], r  # the knob became the binding ...
    assert r["value_after_knob"] == 64.0 and r["value_after_knob_down"] == 0.0, r  # ... and moves the value
    assert r["shot_std"] > 15 and not r["panel_errors"], r
