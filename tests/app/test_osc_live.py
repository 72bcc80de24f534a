"""OSC against the running app: a real liblo client steers a frame, features stream out, learn lives in presets."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.app.test_headless import click_track
from tests.conftest import require_tool
from vjgan.app.live import LiveApp, LiveConfig
from vjgan.control.peers import OscDump, free_udp_port, oscsend
from vjgan.core.bindings import Binding
from vjgan.mapping.presets import load_preset


@pytest.fixture()
def clicks(tmp_path: Path) -> Path:
    audio = tmp_path / "clicks.wav"
    click_track(audio, seconds=3.0)
    return audio


def test_oscsend_is_applied_in_the_next_rendered_frame(clicks: Path, pulse_server: str) -> None:
    require_tool("oscsend"), require_tool("oscdump")
    in_port, out_port = free_udp_port(), free_udp_port()
    with OscDump(out_port) as dump:
        app = LiveApp(LiveConfig(audio=str(clicks), model="procedural", headless=True, size=(96, 54), fps=30.0,
                                 panel=False, osc_port=in_port, osc_out=[("127.0.0.1", out_port)]))
        app.start()
        try:
            for _ in range(3):
                app.step()
            assert app._last_params is not None
            assert app._last_params.shader.uniforms.get("color", {}).get("invert", 0.0) == 0.0
            before = app.chain.read().astype(np.float32)

            oscsend(app.osc.port, "/vjgan/target/shader.color.invert", 1.0)  # another process, liblo
            assert app.osc.wait_posted(1, timeout=5.0), app.osc.stats
            posted_at = app.osc.stats.last_posted_at
            frame_start = time.perf_counter()
            app.step()  # the first frame drained after the server posted the message
            assert frame_start > posted_at
            assert app._last_params.shader.uniforms["color"]["invert"] == pytest.approx(1.0)
            assert app.chain.value("color", "invert") == pytest.approx(1.0)
            after = app.chain.read().astype(np.float32)
            # the rendered pixels flipped (feedback keeps 20 % of the previous frame, so not exactly)
            assert np.abs(after - (255 - before)).mean() < np.abs(after - before).mean()

            # --osc-out: the feature stream reaches an independent receiver (oscdump)
            assert dump.wait_for(lambda ms: any(a == "/vjgan/out/rms" for a, _ in ms), timeout=5.0)
        finally:
            app.stop()


def test_learn_bindings_are_saved_in_and_loaded_from_presets(clicks: Path, tmp_path: Path,
                                                             pulse_server: str) -> None:
    app = LiveApp(LiveConfig(audio=str(clicks), model="procedural", headless=True, size=(64, 36), fps=30.0,
                             panel=False, osc_port=free_udp_port()))
    app.start()
    try:
        assert app.osc.learn is app.learn
        app.learn.arm("/vjgan/target/shader.color.invert")
        oscsend(app.osc.port, "/1/fader3", 0.25)  # a controller's own address: learned, then applied
        assert app.osc.wait_posted(1, timeout=5.0), app.osc.stats
        app.step()
        assert app.chain.value("color", "invert") == pytest.approx(0.25)

        saved = app.mapping.save(str(tmp_path / "with_osc.toml"))
        preset = load_preset(saved)
        assert preset.extra["osc"]["bindings"][0]["source"] == "/1/fader3"

        app.learn.unbind("/1/fader3")
        app.learn.bind(Binding("/2/other", "/vjgan/target/shader.color.hue"))
        app.mapping.load(preset)  # activating the preset replaces the bindings with the saved ones
        assert [b.source for b in app.learn.bindings()] == ["/1/fader3"]
    finally:
        app.stop()


def test_remote_paths_stay_in_the_media_and_presets_folders_and_the_allowlist_drops_others(
        tmp_path: Path, pulse_server: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A real oscsend (from 127.0.0.1, allowed) asks for files outside the media and presets folders: refused,
    logged with the sender, the audio source unchanged, nothing written; a file inside is played; a packet from
    127.0.0.2 (not in --osc-allow) is dropped before it is parsed."""
    import socket

    import vjgan.app.live as live
    from tests.app.test_actions import settle
    from vjgan.control.oscwire import encode_message

    media, elsewhere, presets = tmp_path / "media", tmp_path / "elsewhere", tmp_path / "presets"
    for d in (media, elsewhere, presets):
        d.mkdir()
    monkeypatch.setattr(live, "PRESETS_DIR", presets)
    monkeypatch.chdir(elsewhere)  # a regression that reads relative paths from the working folder stays in tmp
    click_track(media / "first.wav", seconds=2.0)
    click_track(media / "second.wav", seconds=2.0)
    click_track(elsewhere / "secret.wav", seconds=2.0)
    (media / "link.wav").symlink_to(elsewhere / "secret.wav")
    np.save(elsewhere / "proto.npy", np.zeros(3, np.float32))
    app = LiveApp(LiveConfig(audio=str(media / "first.wav"), model="procedural", headless=True, size=(64, 36),
                             fps=30.0, panel=False, osc_port=free_udp_port(), osc_allow=["127.0.0.1"],
                             media_dirs=[]))  # only the --audio file's folder
    app.start()
    bad = [("/vjgan/app/audio/file", str(elsewhere / "secret.wav")),
           ("/vjgan/app/audio/file", "../elsewhere/secret.wav"), ("/vjgan/app/audio/file", "link.wav"),
           ("/vjgan/app/latent/morph_to", str(elsewhere / "proto")),
           ("/vjgan/app/latent/morph_to", "../../elsewhere/proto"), ("/vjgan/app/video/source", "/etc/hostname")]
    try:
        caplog.set_level("WARNING")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # not in the allowlist: dropped
            s.bind(("127.0.0.2", 0))
            s.sendto(encode_message("/vjgan/app/audio/file", [str(media / "second.wav")]), ("127.0.0.1", app.osc.port))
        for address, text in bad:
            oscsend(app.osc.port, address, text)
        assert app.osc.wait_posted(len(bad), timeout=5.0), app.osc.stats
        assert app.osc.stats.refused == 1
        app.step()
        assert app.queue.stats.rejected == len(bad) and app.audio_file == str(media / "first.wav")
        lines = [r.getMessage() for r in caplog.records]
        assert any("127.0.0.2" in line and "allowlist" in line for line in lines), lines
        refusals = [line for line in lines if "refused:" in line and "osc:127.0.0.1" in line]
        assert len(refusals) == len(bad) and all("is outside" in line for line in refusals), refusals
        assert not list(presets.rglob("*")), "nothing written into the presets folder"

        oscsend(app.osc.port, "/vjgan/app/audio/file", "second.wav")  # relative to the media folder
        assert app.osc.wait_posted(len(bad) + 1, timeout=5.0)
        settle(app)  # the switch decodes and starts the stream on the worker; a later frame swaps it in
        assert app.audio_file == str((media / "second.wav").resolve())
    finally:
        app.stop()


def test_command_line_osc_allow_and_media_dirs(tmp_path: Path) -> None:
    import argparse

    from vjgan.app.live_cmd import add_arguments, config_from_args
    from vjgan.core.errors import UserError

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(parser.parse_args(
        ["--osc-allow", "192.168.1.20, 10.0.0.0/8", "--osc-allow", "::1", "--media-dir", str(tmp_path)]))
    assert config.osc_allow == ["192.168.1.20", "10.0.0.0/8", "::1"] and config.media_dirs == [tmp_path]
    assert config_from_args(parser.parse_args([])).osc_allow is None
    with pytest.raises(UserError, match="--media-dir"):
        config_from_args(parser.parse_args(["--media-dir", str(tmp_path / "missing")]))
