"""Several outputs in step: a leader and a follower, headless, on loopback; a preset switch sent to the leader
(oscsend, another process) lands on the same beat in both, as their frame logs say; the follower survives
the leader stopping and rejoins when it returns."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.app.test_headless import click_track
from tests.conftest import require_tool
from vjgan.app.follow import ignore_prefixes
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.control.leader import LeaderLink
from vjgan.control.peers import free_udp_port, oscsend
from vjgan.core.clock import ClockReading


def _step_until(apps: list[LiveApp], pred: Any, timeout: float, what: str, why: Any = None) -> None:
    """Step every app (about 30 frames a second each) until `pred()`; the timeout only bounds a broken run."""
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, f"timed out waiting for {what}: {why() if why else ''}"
        for app in apps:
            app.step()
        time.sleep(1 / 30)


def _first_switch(frames: list[dict], old: str) -> int:
    return next(i for i, f in enumerate(frames) if f["preset"] != old)


CALM = """[preset]
name = "calm"
[latents]
seeds = [1]
[[routes]]
source = "rms"
target = "shader.color.brightness"
gain = 0.5
"""
DRUMS = """[preset]
name = "drums"
[latents]
seeds = [2]
[[routes]]
source = "const"
target = "shader.color.invert"
envelope = { trigger = "onset_event", attack_ms = 0, decay_ms = 50 }
"""


def test_preset_switch_lands_on_the_same_beat_in_leader_and_follower(tmp_path: Path, pulse_server: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import vjgan.app.live as live

    require_tool("oscsend")
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "calm.toml").write_text(CALM)
    (presets / "drums.toml").write_text(DRUMS)
    monkeypatch.setattr(live, "PRESETS_DIR", presets)  # both instances' presets folder
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=60.0)  # 120 BPM
    lead_port, osc_port = free_udp_port(), free_udp_port()
    common: dict[str, Any] = dict(audio=str(audio), model="procedural", headless=True, size=(64, 36), fps=30.0,
                                  panel=False, rehearsal=False, gen_process=False, preset=str(presets / "calm.toml"))
    leader = LiveApp(LiveConfig(**common, out=tmp_path / "leader", osc_port=osc_port,
                                lead=("127.0.0.1", lead_port)))
    follower = LiveApp(LiveConfig(**common, out=tmp_path / "follower", follow=("127.0.0.1", lead_port),
                                  sync_lost_after=0.5))
    apps = [leader, follower]
    stopped: list[LiveApp] = []
    try:
        for app in apps:
            app.start()
        link = follower.sync.follower

        def in_step() -> bool:
            lf, ff = leader.features, follower.features
            return (lf is not None and ff is not None and lf.beat_count >= 4 and link.stats.state == "following"
                    and abs(ff.tempo - lf.tempo) < 1.0 and ff.beat_count == lf.beat_count)

        _step_until(apps, in_step, 60.0, "the follower to follow the leader's beat")
        assert abs(leader.features.tempo - 120.0) < 3.0  # the leader's analysis of the click track
        # the follower's beat comes through the tempo-source selector, source "leader"
        assert follower.tempo_sources.source == "leader" and leader.tempo_sources.source == "analysis"
        assert "following 127.0.0.1" in follower.tempo_sources.status()
        assert leader.sync.leader.stats.followers == 1
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # a malformed sync packet: refused, counted
            s.sendto(b"/vjgan/sync/hello\x00\x00\x00,ii\x00", ("127.0.0.1", lead_port))
        _step_until(apps, lambda: "1 sync packet refused" in leader.stats.sync, 10.0, "the refusal to show")
        assert leader.sync.leader.stats.malformed == 1 and leader.sync.leader.stats.followers == 1
        # both clocks are this machine's perf_counter: the NTP-style estimate is within half the best round trip
        assert abs(link.stats.offset_ms) <= link.stats.rtt_ms / 2 + 1e-6
        old = leader.mapping.cur.preset.name
        assert old == follower.mapping.cur.preset.name == "calm"

        oscsend(osc_port, "/vjgan/preset/load", "drums")
        assert leader.osc.wait_posted(1, timeout=10.0), leader.osc.stats
        _step_until(apps, lambda: all(a.mapping.cur.preset.name == "drums" for a in apps), 30.0,
                    "both to switch to the drums preset",
                    lambda: [(list(a.messages)[-5:], a.sync.schedule.held, a.features.beat_count) for a in apps])
        for _ in range(3):
            for app in apps:
                app.step()

        held = list(leader.sync.schedule.log)
        assert [h["address"] for h in held] == ["/vjgan/preset/load"]
        target = held[0]["target"]
        assert target > held[0]["arrival_beat"]  # scheduled at a coming beat, not applied on arrival
        got = list(follower.sync.schedule.log)
        assert got == [{"address": "/vjgan/preset/load", "arrival_beat": got[0]["arrival_beat"], "target": target}]
        assert got[0]["arrival_beat"] < target  # the follower heard of it before its beat
        assert follower.sync.schedule.late == leader.sync.schedule.late == 0
        # two words to the followers: "compile drums" at once, then its beat once the leader had compiled it
        assert leader.sync.leader.stats.changes_sent == 2 and follower.sync.follower.stats.changes == 2
        assert follower.sync.schedule.prepared == {}  # the prepared compile was the one installed

        for app in apps:
            app.stop()
            stopped.append(app)
        logs = {name: json.loads((tmp_path / name / "frames.json").read_text())["frames"]
                for name in ("leader", "follower")}
        for name, frames in logs.items():
            i = _first_switch(frames, old)
            assert frames[i]["beat_count"] == target, (name, frames[i - 2 : i + 2])
            assert frames[i - 1]["beat_count"] < target, name  # switched on the beat's first frame, not before
            assert all(f["preset"] == "drums" for f in frames[i:]), name
        ft, lt = logs["follower"][-1]["tempo"], logs["leader"][-1]["tempo"]
        assert abs(ft - lt) < 1.0
    finally:
        for app in apps:
            if app not in stopped:
                app.stop()


def test_follower_free_runs_when_the_leader_stops_and_rejoins(tmp_path: Path, pulse_server: str) -> None:
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=30.0)
    port = free_udp_port()
    leader = LeaderLink("127.0.0.1", port).start()
    leader.publish(ClockReading("leader", 100.0, 0.0, time.perf_counter()))  # a leader 100 BPM, the audio 120
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(48, 27), fps=30.0,
                             panel=False, gen_process=False, follow=("127.0.0.1", port), sync_lost_after=0.5,
                             follow_ignore=ignore_prefixes(["preset"]), region=(0.5, 1.0)))
    app.start()
    try:
        link = app.sync.follower
        _step_until([app], lambda: app.features is not None and app.features.tempo == 100.0, 30.0,
                    "the follower to take the leader's tempo")
        # its own output region: the right half of each generated frame
        w, h = app.gen_thread.latest().image.shape[1::-1]
        assert app.uploader.size == (w - w // 2, h)

        # a mirrored change waits for its beat; a mirrored preset load is filtered out (--follow-ignore preset)
        target = app.features.beat_count + 2
        leader.mirror(target, "/vjgan/app/crossfade_ms", 250.0, "osc")
        leader.mirror(target, "/vjgan/preset/load", "drums", "osc")
        _step_until([app], lambda: app.sync.ignored == 1, 10.0, "the follower to receive the changes")
        seen = []
        while app.crossfade_ms != 250.0:
            seen.append(app.features.beat_count)
            assert app.features.beat_count < target, "applied late"
            time.sleep(1 / 30)
            app.step()
        assert seen and max(seen) < target <= app.features.beat_count
        leader.stop()
        _step_until([app], lambda: "leader lost" in app.stats.sync, 10.0, "the follower to notice the leader is gone")
        assert link.stats.state == "lost"
        assert any("leader lost" in m for m in app.messages)
        lost_at = app.features.beat_count
        _step_until([app], lambda: app.features.beat_count >= lost_at + 2, 10.0, "the beat to go on")
        assert app.features.tempo == 100.0  # free-running at the last tempo, not the audio's 120

        again = LeaderLink("127.0.0.1", port).start()
        try:
            again.publish(ClockReading("leader", 90.0, 0.0, time.perf_counter()))
            _step_until([app], lambda: app.stats.sync.startswith("following") and app.features.tempo == 90.0, 10.0,
                        "the follower to rejoin the leader")
            assert link.stats.lost_count == 1 and link.stats.state == "following"
        finally:
            again.stop()
    finally:
        app.stop()


def test_cli_sync_flags(tmp_path: Path) -> None:
    import argparse

    from vjgan.app.live_cmd import add_arguments, config_from_args
    from vjgan.core.errors import UserError

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    c = config_from_args(parser.parse_args(["--lead", "9100", "--quantise", "bar"]))
    assert c.lead == ("127.0.0.1", 9100) and c.quantise == "bar" and c.follow is None
    c = config_from_args(parser.parse_args(["--follow", "192.168.1.10:9100", "--follow-ignore", "preset,params",
                                            "--region", "right", "--widescreen", "mirror"]))
    assert c.follow == ("192.168.1.10", 9100) and "/vjgan/preset/load" in c.follow_ignore
    assert c.region == (0.5, 1.0) and c.widescreen == "mirror"
    assert config_from_args(parser.parse_args(["--region", "0.25:0.75"])).region == (0.25, 0.75)
    for bad in (["--follow", "9100"], ["--region", "0.8:0.2"], ["--region", "top"], ["--quantise", "2"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    with pytest.raises(UserError, match="--follow-ignore"):
        config_from_args(parser.parse_args(["--follow-ignore", "preset"]))
    with pytest.raises(UserError, match="itself"):
        config_from_args(parser.parse_args(["--lead", "127.0.0.1:9100", "--follow", "127.0.0.1:9100"]))


def test_widescreen_on_a_model_without_it_is_one_clear_error() -> None:
    from vjgan.core.errors import UserError

    with pytest.raises(UserError, match="widescreen"):  # before any thread, device or window is opened
        LiveApp(LiveConfig(model="procedural", headless=True, widescreen="mirror", panel=False))


def test_a_follower_that_leads_passes_the_beat_and_the_changes_on(tmp_path: Path, pulse_server: str) -> None:
    """A → B → C: B follows A and leads C; C gets A's tempo through B's beat, and A's changes with A's beats."""
    from vjgan.control.follower import FollowerLink

    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=20.0)
    a_port, b_port = free_udp_port(), free_udp_port()
    a = LeaderLink("127.0.0.1", a_port).start()
    a.publish(ClockReading("leader", 100.0, 0.0, time.perf_counter()))
    b = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(48, 27), fps=30.0,
                           panel=False, gen_process=False, follow=("127.0.0.1", a_port),
                           lead=("127.0.0.1", b_port)))
    c = FollowerLink("127.0.0.1", b_port)
    b.start()
    c.start()
    try:
        _step_until([b], lambda: b.features is not None and b.features.tempo == 100.0 and c.read() is not None
                    and c.read().bpm == 100.0, 30.0, "C to follow A's tempo through B")
        target = b.features.beat_count + 4
        a.mirror(target, "/vjgan/app/crossfade_ms", 100.0, "osc")
        _step_until([b], lambda: c.stats.changes == 1, 10.0, "A's change to reach C through B")
        [change] = c.changes()
        assert (change.target_beat, change.address, change.value) == (target, "/vjgan/app/crossfade_ms", 100.0)
        assert b.crossfade_ms == 0.0  # B holds it for its beat too
    finally:
        c.stop()
        b.stop()
        a.stop()
