"""Slow actions run on the app's worker thread while the render loop keeps producing frames (issue #14)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import vjgan.app.live as live
from tests.app.test_actions import settle
from tests.app.test_headless import click_track
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.mapping.presets import load_preset


@pytest.fixture()
def app(tmp_path: Path, pulse_server: str, monkeypatch: pytest.MonkeyPatch) -> LiveApp:
    monkeypatch.setattr(live, "PRESETS_DIR", tmp_path)
    click_track(tmp_path / "clicks.wav", seconds=3.0)
    app = LiveApp(LiveConfig(audio=str(tmp_path / "clicks.wav"), model="procedural", headless=True, size=(64, 36),
                             fps=30.0, panel=False, media_dirs=[tmp_path]))
    app.start()
    yield app
    app.stop()


def _ran_on(app: LiveApp, name: str) -> int:
    done = [d for d in app.worker.history if d.job.name == name]
    assert done, [d.job.name for d in app.worker.history]
    assert done[-1].error is None, done[-1].error
    return done[-1].thread


def test_audio_switch_decodes_off_the_render_thread(app: LiveApp, tmp_path: Path) -> None:
    """A minute of 48 kHz FLAC (decoded and resampled to 44.1 kHz: about a second here) is switched to;
    frames keep coming while it decodes, and the switch lands at a later frame."""
    slow = tmp_path / "long.flac"
    rng = np.random.default_rng(0)
    sf.write(slow, (rng.standard_normal((48000 * 60, 2)) * 0.1).astype(np.float32), 48000)
    old = app.audio
    app.queue.set("/vjgan/app/audio/file", str(slow))
    app.step()
    assert app.audio is old, "the render thread waited for the decode"
    frames = settle(app)
    assert app.audio is not old and app.audio_file == str(slow.resolve())
    assert frames >= 3, "frames kept coming while the file decoded"
    assert _ran_on(app, "audio/switch") != threading.get_ident()
    settle(app)  # the old engine is stopped (its thread joined) on the worker too
    assert _ran_on(app, "audio/stop-old") != threading.get_ident() and not old.stats.running
    assert app.audio.stats.running


def test_preset_save_and_reseed_run_on_the_worker(app: LiveApp, tmp_path: Path) -> None:
    app.queue.set("/vjgan/user/none", 0.0)  # no such address: rejected, nothing else happens
    app.queue.set("/vjgan/preset/save", "mine")
    settle(app)
    assert _ran_on(app, "preset/save") != threading.get_ident()
    assert load_preset(tmp_path / "mine.toml").name == "mine"

    bank = app.mapping.cur.bank
    app.queue.set("/vjgan/latent/reseed", 1234)
    settle(app)
    assert _ran_on(app, "latent/reseed") != threading.get_ident()
    assert app.mapping.cur.bank is not bank and app.mapping.preset.latents.seeds[0] == 1234


def test_a_full_job_queue_refuses_requests(app: LiveApp) -> None:
    gate = threading.Event()
    app.worker.submit("block", gate.wait)
    rejected = app.queue.stats.rejected
    for i in range(40):
        app.queue.set("/vjgan/preset/save", f"p{i}")
    app.step()
    gate.set()
    assert app.queue.stats.rejected > rejected, "a flood is refused, not queued without end"
    settle(app)


def test_stop_during_a_slow_switch_leaves_no_audio_running(app: LiveApp, tmp_path: Path) -> None:
    """The app stops while the worker decodes a new track: the engine it makes is never started."""
    slow = tmp_path / "long.flac"
    rng = np.random.default_rng(1)
    sf.write(slow, (rng.standard_normal((48000 * 60, 2)) * 0.1).astype(np.float32), 48000)
    app.queue.set("/vjgan/app/audio/file", str(slow))
    app.step()
    worker = app.worker._thread
    app.stop()
    worker.join(30.0)
    assert not worker.is_alive()
    assert not [t for t in threading.enumerate() if t.name == "audio-analysis" and t.is_alive()]


def test_results_not_yet_applied_count_against_the_bound() -> None:
    """A render loop that stops draining: finished results wait, and new requests are refused instead of
    piling up in the results queue (#14 item 8)."""
    from vjgan.app.workers import Worker, WorkerBusy

    worker = Worker(maxsize=4)
    try:
        for i in range(4):
            worker.submit(f"job{i}", lambda: 1)
        deadline = time.monotonic() + 10
        while worker._jobs.qsize() and time.monotonic() < deadline:  # all four ran; none applied
            time.sleep(0.01)
        with pytest.raises(WorkerBusy, match="4 actions are already waiting"):
            worker.submit("one more", lambda: 1)
        assert worker.drain() == 4 and worker.pending == 0
        worker.submit("after the drain", lambda: 1)  # accepted again
    finally:
        worker.stop()
