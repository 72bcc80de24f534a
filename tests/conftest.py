"""Shared fixtures: the real servers the tests run against, and the real music in ../shared."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_AUDIO = Path(os.environ.get("VJGAN_SHARED_AUDIO") or REPO.parent / "shared" / "audio")


def in_ci() -> bool:
    """CI=true (or 1/yes), as CI services set it."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def shared_audio() -> Path:
    """../shared/audio with the CC-BY tracks (VJGAN_SHARED_AUDIO overrides the place). Absent: a skip on a
    developer's machine, a failure under CI=true, so CI cannot pass without the real-music tests."""
    if not (SHARED_AUDIO / "Kevin_MacLeod_-_Vibe_Ace.ogg").exists():
        why = f"real music not available: {SHARED_AUDIO} is absent"
        if in_ci():
            pytest.fail(f"{why} (CI=true: the real-music tests must run, not skip)")
        pytest.skip(why)
    return SHARED_AUDIO


@pytest.fixture(scope="session")
def pulse_server() -> str:
    """The PulseAudio server that scripts/services.sh started (null sink vj_sink, monitor as default source)."""
    server = os.environ.get("PULSE_SERVER")
    if not server or subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
        pytest.fail("no PulseAudio server: run the tests through scripts/test.sh (it starts one)")
    return server


@pytest.fixture(scope="session")
def x_display() -> str:
    """The X server (Xvfb under scripts/test.sh) for glfw windows and the ImGui panel."""
    display = os.environ.get("DISPLAY")
    if not display:
        pytest.fail("no DISPLAY: run the tests through scripts/test.sh (it starts Xvfb)")
    return display


def wait_for(pred: Callable[[], object], timeout: float = 20.0, poll: float = 0.005) -> bool:
    """Poll `pred` until it is true (True) or `timeout` seconds have passed (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(poll)
    return False


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} not found: scripts/bootstrap.sh installs it (Debian package)")
    return path
