"""`vjgan render` end to end: the real CLI, the live stages (default model, mapping, GLSL chain), real files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.offline.probe import check_mp4, decoded_frames
from vjgan.cli import main

SECTION_PRESET = Path(__file__).with_name("section.toml")
ARGS = ["--size", "128x72", "--fps", "12", "--model", "default", "--seed", "7", "--preset", str(SECTION_PRESET)]


def _render(audio: Path, out: Path, *extra: str) -> int:
    return main(["render", str(audio), "-o", str(out), *ARGS, *extra])


@pytest.fixture(scope="module")
def rendered(click_wav, tmp_path_factory) -> tuple[Path, Path]:
    """The same 1 s excerpt rendered twice with the same seed (short: the default model is slow on 2 cores)."""
    audio, _ = click_wav
    d = tmp_path_factory.mktemp("render")
    a, b = d / "a.mp4", d / "b.mp4"
    assert _render(audio, a, "--start", "1.5", "--duration", "1") == 0
    assert _render(audio, b, "--start", "1.5", "--duration", "1") == 0
    return a, b


def test_render_is_a_valid_mp4_of_the_excerpt(rendered) -> None:
    a, _ = rendered
    check_mp4(a, (128, 72), 12, 1.0)
    assert sorted(p.name for p in a.parent.iterdir()) == ["a.mp4", "b.mp4"]  # no temporary files left


def test_same_seed_same_video(rendered) -> None:
    a, b = rendered
    fa, fb = decoded_frames(a), decoded_frames(b)
    assert len(fa) == len(fb) == 12
    assert all((x == y).all() for x, y in zip(fa, fb, strict=True)), [
        int(abs(x.astype(int) - y).max()) for x, y in zip(fa, fb, strict=True)
    ]
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    assert any((fa[0] != f).any() for f in fa[1:])  # and it is a video, not a still


def test_whole_track_duration_matches_audio(tmp_path: Path) -> None:
    from tests.offline.synth import click_track, write_wav

    audio = write_wav(tmp_path / "odd.wav", click_track(2.37)[0])  # not a whole number of frames
    out = tmp_path / "odd.mp4"
    args = ["--size", "64x48", "--fps", "12", "--model", "procedural", "--preset", str(SECTION_PRESET)]
    assert main(["render", str(audio), "-o", str(out), *args]) == 0
    check_mp4(out, (64, 48), 12, 2.37)


def test_unreadable_audio(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "song.wav"
    bad.write_text("not audio at all")
    out = tmp_path / "out.mp4"
    assert _render(bad, out) == 2
    assert "song.wav" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.wav"]


def test_missing_audio(tmp_path: Path, capsys) -> None:
    assert _render(tmp_path / "nope.wav", tmp_path / "out.mp4") == 2
    assert "nope.wav" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output(click_wav, tmp_path: Path, capsys) -> None:
    audio, _ = click_wav
    assert _render(audio, tmp_path / "no-such-dir" / "out.mp4") == 2
    assert "does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unknown_preset(click_wav, tmp_path: Path, capsys) -> None:
    audio, _ = click_wav
    out = tmp_path / "out.mp4"
    assert main(["render", str(audio), "-o", str(out), "--preset", "no-such-preset"]) == 2
    assert "no-such-preset" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_preset_keys_the_latent_on_sections(halves_wav) -> None:
    """The render's mapping step sees the section label: set A in the first half, set B in the second."""
    import numpy as np

    from vjgan.app.offline import make_mapping
    from vjgan.audio.trackanalysis import analyze_track
    from vjgan.models.loaders import load_model

    a = analyze_track(halves_wav, progress=False)
    gen = load_model("procedural", "cpu")
    engine, _ = make_mapping(gen, str(SECTION_PRESET))
    lat = [engine.step(a.features_at(t), t).generator.latent.copy() for t in (2.0, 6.0, 10.0, 14.0)]
    assert np.allclose(lat[0], lat[1]) and np.allclose(lat[2], lat[3])
    assert not np.allclose(lat[1], lat[2])


def test_analyze_only_prints_sections(halves_wav, capsys) -> None:
    """`--analyze-only` fills the rehearsal cache and shows what was found."""
    from vjgan.audio.trackanalysis import load_cached_analysis

    assert main(["render", str(halves_wav), "--analyze-only"]) == 0
    out = capsys.readouterr().out
    assert "120.0 BPM" in out and out.count("section ") == 2
    assert load_cached_analysis(halves_wav) is not None
    assert not halves_wav.with_suffix(".mp4").exists()


def test_ctrl_c_mid_render_leaves_the_old_file(click_wav, tmp_path: Path) -> None:
    """SIGINT to a real `vjgan render` process while it writes: exit 130, previous output untouched, no debris."""
    import signal
    import subprocess
    import sys
    import time

    audio, _ = click_wav
    out = tmp_path / "video.mp4"
    out.write_bytes(b"previous render")
    cmd = [sys.executable, "-m", "vjgan.cli", "render", str(audio), "-o", str(out), "--size", "64x48",
           "--model", "procedural", "--preset", str(SECTION_PRESET)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".video.*.partial.mp4")):
            assert proc.poll() is None, "render ended before it was interrupted"
            assert time.monotonic() < deadline, "render never started writing"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out.read_bytes() == b"previous render"
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]
