"""Queries and feedback through a real headless `vjgan live`: liblo and python-osc peers in other processes."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from tests.app.test_headless import click_track
from tests.conftest import require_tool
from tests.control.test_osc_query import client
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.app.live_cmd import add_arguments, config_from_args
from vjgan.app.panel_port import LivePanelPort
from vjgan.control.peers import OscDump, free_udp_port, oscsend

INVERT = "/vjgan/target/shader.color.invert"
TRUNCATION = "/vjgan/target/truncation"


def test_live_app_answers_queries_and_feeds_changes_back(tmp_path: Path, pulse_server: str) -> None:
    require_tool("oscsend"), require_tool("oscdump")
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=3.0)
    dump_port = free_udp_port()
    with OscDump(dump_port) as dump:  # the controller named by --osc-feedback
        app = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(64, 36), fps=30.0,
                                 panel=False, osc_port=free_udp_port(), osc_feedback=[("127.0.0.1", dump_port)]))
        app.start()
        try:
            app.step()
            # synced at connect: the running preset's base truncation, among every other value
            base = app.registry.values()[TRUNCATION]
            assert dump.wait_for(lambda ms: (TRUNCATION, [pytest.approx(base)]) in ms, timeout=5.0), dump.lines[:5]
            oscsend(app.osc.port, INVERT, 1.0)  # another controller (liblo, another process) moves a fader
            assert app.osc.wait_posted(1, timeout=5.0), app.osc.stats
            app.step()
            assert app.chain.value("color", "invert") == pytest.approx(1.0)
            assert dump.wait_for(lambda ms: (INVERT, [1.0]) in ms, timeout=5.0)

            # a python-osc controller asks at connect: a bare address, and a wildcard
            got = client(app.osc.port, [INVERT], ["/vjgan/query", "/vjgan/target/*"],
                         expect=1 + len([p for p in app.registry.params() if p.address.startswith("/vjgan/target/")]))
            assert got[0] == {**got[0], "address": INVERT, "args": [1.0]}
            assert {g["address"] for g in got[1:]} >= {INVERT, TRUNCATION}
            assert app.osc.stats.answered == 2

            # a preset load moves the faders too (the engine re-registers its base values)
            preset = dataclasses.replace(app.mapping.cur.preset, targets={"truncation": 0.6})
            app.mapping.load(preset)
            assert dump.wait_for(lambda ms: (TRUNCATION, [pytest.approx(0.6)]) in ms, timeout=5.0)
            assert app.feedback.stats.unreachable == 0 and app.feedback.stats.echoes == 0
            osc = LivePanelPort(app).snapshot().osc  # the panel's OSC tab lists the peer and its counts
            assert osc is not None and osc.feedback[0].startswith(f"127.0.0.1:{dump_port}  sent ")
            assert "unreachable 0" in osc.feedback_stats
        finally:
            app.stop()
    assert app.feedback._thread is None  # stopped with the app


def test_command_line_osc_feedback() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(parser.parse_args(["--osc-feedback", "127.0.0.1:9001", "--osc-feedback", "h:9"]))
    assert config.osc_feedback == [("127.0.0.1", 9001), ("h", 9)]
    with pytest.raises(SystemExit):
        parser.parse_args(["--osc-feedback", "9001"])
