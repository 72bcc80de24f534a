"""A fault in the analysis thread: the loop restarts (bounded back-off), says so, and Features keep coming."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from tests.audio.conftest import SR, click_track
from tests.conftest import wait_for
from vjgan.audio.analysis import OnlineAnalyzer
from vjgan.audio.engine import AudioEngine
from vjgan.audio.player import FilePlayer
from vjgan.core.features import FeatureBus, Features


class FaultyAnalyzer(OnlineAnalyzer):
    """The real analyzer, except that it raises on the hops whose frame index is in `fail_at` (all
    from `fail_from` on): a bug that hits one block, or every block."""

    def __init__(self, fail_at: set[int] = frozenset(), fail_from: int | None = None) -> None:  # type: ignore[assignment]
        super().__init__(SR)
        self.fail_at = set(fail_at)
        self.fail_from = fail_from

    def process(self, hop: np.ndarray, time: float | None = None) -> Features:
        if self.frame in self.fail_at or (self.fail_from is not None and self.frame >= self.fail_from):
            self.fail_at.discard(self.frame)
            raise RuntimeError(f"injected fault at frame {self.frame}")
        return super().process(hop, time)


def _engine(analyzer: OnlineAnalyzer, backoff: tuple[float, float]) -> tuple[AudioEngine, FeatureBus]:
    x, _ = click_track(120.0, 10.0)
    source = FilePlayer("clicks.wav", data=x[:, None], loop=True, play=False)  # real-time clock thread
    bus = FeatureBus(history_seconds=30)
    return AudioEngine(source, bus, analyzer, restart_backoff_s=backoff), bus


def test_one_fault_restarts_the_analysis_and_features_keep_coming(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="vjgan.audio.engine")
    eng, bus = _engine(FaultyAnalyzer(fail_at={60}), (0.05, 1.0))
    eng.start()
    try:
        assert wait_for(lambda: eng.stats.restarts >= 1, timeout=10.0), "the fault never happened"
        at_fault = bus.latest.frame
        assert wait_for(lambda: bus.latest.frame >= at_fault + 100, timeout=10.0), (
            f"features froze at frame {bus.latest.frame} after the fault: {eng.stats}"
        )
        st = eng.stats
    finally:
        eng.stop()
    assert st.restarts == 1 and st.running
    assert "RuntimeError: injected fault at frame 60" in st.last_error
    assert st.status.startswith("analysis restarted 1x") and "injected fault" in st.status
    assert st.features_age_s < 0.5
    times = np.array([f.time for f in bus.history()])
    assert np.all(np.diff(times) > 0)  # audio time moves on across the restart
    records = [r for r in caplog.records if "audio analysis failed" in r.getMessage()]
    assert len(records) == 1 and "injected fault" in records[0].getMessage() and records[0].exc_info


def test_a_fault_on_every_hop_backs_off_and_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="vjgan.audio.engine")
    eng, bus = _engine(FaultyAnalyzer(fail_from=30), (0.05, 0.4))
    eng.start()
    try:
        time.sleep(3.0)
        st = eng.stats
    finally:
        eng.stop()
    # waits 0.05, 0.1, 0.2, 0.4, 0.4, ...: about 9 restarts in 3 s (a spinning loop would make thousands)
    assert 4 <= st.restarts <= 12, st.restarts
    assert bus.latest.frame == 29 and st.features_age_s > 2.0
    assert st.status.startswith("features frozen") and f"restarted {st.restarts}x" in st.status
    records = [r for r in caplog.records if "audio analysis failed" in r.getMessage()]
    assert len(records) == st.restarts
    assert sum(bool(r.exc_info) for r in records) == 1  # one traceback, then one line per restart


def test_tempo_commands_while_the_analysis_is_down_are_bounded() -> None:
    """A flood of nudges (OSC at any rate) while the analysis thread is not running: 64 wait, the rest are
    refused and counted; once the thread runs, the waiting ones reach the tracker (#14 item 8)."""
    eng, _ = _engine(OnlineAnalyzer(SR), (0.05, 1.0))
    for _ in range(1000):
        eng.nudge(0.01)
    assert eng._tempo_cmds.qsize() == 64 and eng.tempo_dropped == 1000 - 64
    eng.start()  # warm-up renews the tracker: no estimate yet, so the nudges start from 120 BPM
    try:
        def held() -> float | None:
            beats = eng.analyzer.beats
            return None if beats.period is None else beats.fps * 60.0 / beats.period

        assert wait_for(lambda: eng._tempo_cmds.empty() and held() is not None and abs(held() - 120.64) < 1e-6,
                        timeout=10.0), held()  # all 64 waiting nudges, no more
        assert eng.analyzer.beats.manual
    finally:
        eng.stop()
