"""An onset does not wait for the next display tick: the loop maps it and hands it to the generator as
urgent params while it waits for the tick, and shows the frame made for it as soon as it is ready (a real
click track through the file player and the analysis)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.app.test_headless import click_track
from vjgan.app.live import LiveApp, LiveConfig


def test_onsets_are_submitted_between_display_ticks(tmp_path: Path, pulse_server: str) -> None:
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=4.0)
    # 8 fps: 125 ms between ticks, so most clicks are analysed while the loop waits for the next tick
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(64, 36), fps=8.0,
                             panel=False, rehearsal=False))
    submitted: list[tuple[int, bool, bool]] = []  # (params seq, urgent, inside a displayed frame's step)
    in_step = [False]
    real_submit, real_step = app.gen_thread.submit, app.step

    def submit(params, t=0.0, urgent=False):  # records, then hands over to the real generator thread
        submitted.append((params.seq, urgent, in_step[0]))
        real_submit(params, t, urgent=urgent)

    def step() -> None:
        in_step[0] = True
        try:
            real_step()
        finally:
            in_step[0] = False

    app.start()
    app.gen_thread.submit = submit  # after the start-up frame
    try:
        rendered: set[int] = set()
        end = time.perf_counter() + 3.5
        while time.perf_counter() < end:
            step()
            frame = app.gen_thread.latest()
            if frame is not None:
                rendered.add(frame.seq)
            app._pace()
        counts = app.bus.latest.onset_count
    finally:
        app.stop()
    early = [s for s in submitted if not s[2]]
    assert counts >= 4, "the click track's onsets were not analysed"
    assert len(early) >= counts // 2, (len(early), counts, submitted)
    assert all(urgent for _, urgent, _ in early)  # made for an onset: they may preempt a routine frame
    assert {seq for seq, _, _ in early} & rendered  # and the generator rendered them
    assert app.stats.onset_frames > 0  # and some were shown as soon as ready, before the next tick
