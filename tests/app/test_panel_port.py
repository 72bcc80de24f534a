"""The panel's snapshot and port on a real (headless) app: what the panel shows comes from a frozen
`PanelState` built on the render thread; what it does goes through the `PanelPort`; and the panel package
never imports the app (it used to read LiveApp's attributes from its own thread)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app.test_headless import click_track
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.app.panel_port import LivePanelPort
from vjgan.core.panel_state import PanelPort, PanelState
from vjgan.core.registry import ControlMessage

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def app(tmp_path: Path, pulse_server: str) -> LiveApp:
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=3.0)
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(64, 36), fps=30.0,
                             panel=False, rehearsal=False))
    app.start()
    yield app
    app.stop()


def test_snapshot_copies_the_render_threads_state_and_the_port_posts(app: LiveApp) -> None:
    port: PanelPort = LivePanelPort(app)
    for _ in range(5):
        app.step()
    st = port.snapshot()
    assert isinstance(st, PanelState)
    with pytest.raises(dataclasses.FrozenInstanceError):
        st.preset = "other"  # type: ignore[misc]
    # copies, not the app's live objects: the render loop goes on mutating its own
    assert st.stats is not app.stats and st.stats.stage_ms is not app.stats.stage_ms
    assert st.stats.frames == app.stats.frames == 5
    frames = app.stats.frames
    app.step()
    assert st.stats.frames == frames and port.counters() == (frames + 1, app.stats.late_frames)
    assert [e.name for e in st.effects] == [n for n in app.chain.order if n in app.chain.effects]
    assert len(st.routes) == len(app.mapping.cur.routes)
    assert st.audio_file == app.audio_file and st.audio is not None and st.audio_source
    latest, history = port.features(300)
    assert latest is app.bus.latest and 0 < len(history) <= 300 and history[-1].frame <= latest.frame
    assert st.osc is None and st.video is None and not st.can_encode
    # the parameter table is rebuilt only when the registry changed
    assert st.params.get("/vjgan/app/route/add") is not None
    assert port.snapshot().params is st.params
    app._register_app_params()
    assert port.snapshot().params is not st.params
    # posting: a control message the render loop applies at its next frame, and watchers see it
    seen: list[ControlMessage] = []
    port.watch(seen.append)
    port.post(ControlMessage("/vjgan/app/crossfade_ms", 120.0, "panel"))
    app.step()
    assert app.crossfade_ms == 120.0 and [m.address for m in seen] == ["/vjgan/app/crossfade_ms"]
    port.unwatch(seen.append)
    port.unwatch(seen.append)  # twice: harmless (close() may run after the app dropped it)
    # OSC learn: a bad address is a note, not an exception on the panel thread
    port.learn("/vjgan/no/such/param")
    assert "/vjgan/no/such/param" in app.messages[-1]
    port.learn("/vjgan/app/crossfade_ms")
    assert app.learn.armed == "/vjgan/app/crossfade_ms"
    port.cancel_learn()
    assert app.learn.armed is None


def test_the_panel_package_imports_no_other_stage() -> None:
    """Importing the panel loads vjgan.core and vjgan.control only (the layering of issue #15)."""
    code = ("import sys, vjgan.control.panel; "
            "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('vjgan.') and m.count('.') >= 1}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['control', 'core']", out.stdout + out.stderr
