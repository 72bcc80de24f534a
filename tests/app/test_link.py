"""Ableton Link as a tempo source, and the tempo-source selector, with real Link peers.

Link finds peers by multicast: the scenarios (tests/app/link_scenario.py) run inside a private network
namespace whose only interface is a loopback with multicast on, so no test ever talks to the machine's
real network. Peer A is plain aalink; peer B is vjgan's LinkClock.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_tool
from vjgan.app.tempo_source import TempoSources
from vjgan.audio.engine import AudioEngine
from vjgan.audio.sources import SilenceSource
from vjgan.core.clock import ClockReading
from vjgan.core.errors import UserError
from vjgan.core.features import FeatureBus, Features

REPO = Path(__file__).resolve().parents[2]
NETNS = "ip link set lo up && ip link set lo multicast on && exec \"$@\""
NO_NETWORK = "exec \"$@\""  # a namespace whose loopback is down: no interface at all, so no multicast


def _in_namespace(args: list[str], timeout: float, multicast: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command in a new network namespace (lo up, multicast on; or no network at all); skip where
    namespaces are refused."""
    require_tool("ip")
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) not found: the Link tests need a private network namespace")
    probe = subprocess.run([unshare, "-n", "sh", "-c", "ip link set lo up && ip link set lo multicast on"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no private network namespace here (unshare -n needs root or user namespaces): "
                    f"{probe.stderr.strip()[:200]}")
    netns = NETNS if multicast else NO_NETWORK
    return subprocess.run([unshare, "-n", "sh", "-c", netns, "sh", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=os.environ.copy())


def _scenario(tmp_path: Path, mode: str, *extra: str, multicast: bool = True) -> dict:
    if importlib.util.find_spec("aalink") is None:
        pytest.fail("aalink not installed: scripts/bootstrap.sh installs requirements.txt")
    proc = _in_namespace([sys.executable, "-m", "tests.app.link_scenario", str(tmp_path), mode, *extra], 180,
                         multicast)
    result = tmp_path / "result.json"
    assert result.exists(), proc.stderr[-3000:]
    r = json.loads(result.read_text())
    assert proc.returncode == 0, f"{r}\n{proc.stderr[-3000:]}"
    return r


def test_two_link_peers_agree_and_vjgan_follows_and_leads(tmp_path: Path) -> None:
    r = _scenario(tmp_path, "engine")
    assert r["link_started"] and r["peers_found_s"] is not None, r
    # A sets 100 BPM: vjgan's peer agrees, and the analysis follows it
    assert r["agree_s"] is not None and abs(r["b_bpm"] - 100.0) < 0.1 and r["a_bpm"] == pytest.approx(100.0), r
    assert r["follow_100_s"] is not None, r
    # beat and bar phase agree with A's (the median: one analysis hop stalled by a loaded machine may publish
    # its Features late, which this way of sampling them reads as a phase error)
    assert statistics.median(abs(e) for e in r["phase_err_100"]) < 0.05, r
    # A changes to 130 BPM: the analysis's Features carry it within one beat (60/130 s)
    assert r["engine_latency_s"] is not None and r["engine_latency_s"] < 60.0 / 130.0, r
    assert statistics.median(abs(e) for e in r["phase_err_130"]) < 0.05, r
    # back to the analysis: vjgan leads, its tempo (the click track's) reaches A, and so does its beat phase
    assert r["analysis_tempo_s"] is not None and r["a_follows_s"] is not None, r
    assert r["tempo_pushes"] >= 1 and abs(r["lead_a_bpm"] - r["lead_vjgan_bpm"]) < 0.1, r
    assert abs(r["lead_vjgan_bpm"] - 120.0) < 4.0, r
    # vjgan's beat phase reaches A: asked for A's beat + 0.3, A's timeline moves by 0.3 beat
    assert r["phase_push_s"] is not None and r["phase_reached_a_s"] is not None, r
    assert abs(r["phase_push_err"]) < 0.02, r


def test_tempo_source_over_osc_with_link(tmp_path: Path, pulse_server: str) -> None:
    require_tool("oscsend")
    r = _scenario(tmp_path, "osc", "9123")  # a port inside the namespace: nothing else listens there
    assert r["link_enabled"] and r["available"] == ["analysis", "link"] and r["peers_s"] is not None, r
    assert r["a_follows_first_s"] is not None, r  # analysis selected: vjgan leads the session
    assert r["source_after_link"] == "link" and r["to_link_s"] is not None, r  # the clicks say 120, A 100
    assert r["to_analysis_s"] is not None and abs(r["analysis_tempo"] - 120.0) < 4.0, r
    assert r["a_follows_s"] is not None and abs(r["a_bpm"] - r["analysis_tempo"]) < 0.1, r
    assert r["source_after_midi"] == "analysis" and r["midi_note"] and r["rejected"] >= 1, r
    assert r["panel"][0] == "analysis" and r["panel"][1] == ["analysis", "link"] and "Link" in r["panel"][2], r


def test_link_without_multicast_runs_alone(tmp_path: Path) -> None:
    """No network that carries multicast (the loopback down; `multicast off` on lo does not stop it): no peer,
    vjgan's peer runs its own session and reads it."""
    r = _scenario(tmp_path, "alone", multicast=False)
    assert r["started"] and r["peers"] == 0 and r["a_peers"] == 0 and r["bpm"] == pytest.approx(120.0), r
    assert r["beats_advance"], r


def test_link_without_aalink_is_off_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from vjgan.control.link import LinkClock

    monkeypatch.setitem(sys.modules, "aalink", None)  # what `import aalink` does where it is not installed
    clock = LinkClock()
    assert clock.start() is False and clock.read() is None
    assert "aalink" in clock.status() and "pip install aalink==" in clock.status()
    sources = TempoSources({}, lambda: None, FeatureBus(), off={"link": clock.status()})
    with pytest.raises(UserError, match="aalink"):
        sources.select("link")
    assert sources.source == "analysis"


class _Clock:
    """An ExternalClock that says what it is told: the selector's own logic, before any MIDI clock exists."""

    name = "midi"

    def __init__(self) -> None:
        self.reading: ClockReading | None = None
        self.led: list[tuple[float, float, float]] = []

    def read(self) -> ClockReading | None:
        return self.reading


def _engine(bus: FeatureBus) -> AudioEngine:
    return AudioEngine(SilenceSource(), bus)  # not started: follow_clock only stores the newest reading


def test_selector_hands_readings_over_and_refuses_sources_not_enabled() -> None:
    bus, clock, notes = FeatureBus(), _Clock(), []
    engine = _engine(bus)
    sources = TempoSources({"midi": clock}, lambda: engine, bus, notes.append)
    assert sources.available() == ("analysis", "midi")
    handed = sources.tick()
    assert handed == (engine, None) and engine._clock is None  # analysis: no clock
    sources.select("midi")
    handed = sources.tick(handed)
    assert engine._clock is None  # selected, but the clock has said nothing yet: the analysis goes on
    clock.reading = ClockReading("midi", 128.0, beat=3.0, at=1.0)
    handed = sources.tick(handed)
    assert engine._clock is clock.reading and handed == (engine, clock.reading)
    other = _engine(bus)  # the audio source was switched: the new engine gets the clock at the next tick
    sources.engine = lambda: other
    sources.tick(handed)
    assert other._clock is clock.reading
    with pytest.raises(UserError, match="link is not enabled"):
        sources.select("link")
    assert sources.source == "analysis" and any("link is not enabled" in n for n in notes)
    sources.tick(handed)
    assert other._clock is None
    with pytest.raises(UserError, match="expected one of"):
        sources.select("ableton")
    with pytest.raises(ValueError):
        TempoSources({"tap": clock}, lambda: engine, FeatureBus())


def test_selector_leads_only_clocks_it_does_not_follow() -> None:
    bus = FeatureBus()
    clock, engine = _Clock(), _engine(bus)
    clock.lead = lambda bpm, beat, at: clock.led.append((bpm, beat, at))  # type: ignore[attr-defined]
    sources = TempoSources({"midi": clock}, lambda: engine, bus)
    sources.tick()
    assert clock.led == []  # no beats found yet: a default 120 BPM must not overwrite a session
    bus.publish(Features(frame=1, wall=5.0, tempo=124.0, beat_count=8, beat_phase=0.25))
    sources.tick()
    assert clock.led == [(124.0, 8.25, 5.0)]
    sources.select("midi")
    sources.tick()
    assert len(clock.led) == 1  # followed: never led


def test_cli_link_flags() -> None:
    import argparse

    from vjgan.app.live_cmd import add_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(parser.parse_args(["--link", "--tempo-source", "link"]))
    assert config.link and config.tempo_source == "link"
    config = config_from_args(parser.parse_args([]))
    assert not config.link and config.tempo_source == "analysis"
    with pytest.raises(SystemExit):
        parser.parse_args(["--tempo-source", "ableton"])
