"""The pipelined render (generator, post-FX, encoder on their own threads) gives the sequential render's frames."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.offline.probe import check_mp4, decoded_frames
from vjgan.app.offline_pipeline import run_stages
from vjgan.cli import main
from vjgan.render.video_writer import VideoWriter

SECTION_PRESET = Path(__file__).with_name("section.toml")
ARGS = ["--size", "128x72", "--fps", "12", "--model", "default", "--seed", "3", "--preset", str(SECTION_PRESET),
        "--start", "2", "--duration", "1.5"]  # fmt: skip


def test_pipelined_frames_equal_sequential_frames(click_wav, tmp_path: Path) -> None:
    """Same process, same thread counts: the same frames reach the encoder, so even the bytes are equal."""
    audio, _ = click_wav
    seq, pipe = tmp_path / "sequential.mp4", tmp_path / "pipelined.mp4"
    assert main(["render", str(audio), "-o", str(seq), *ARGS, "--sequential"]) == 0
    assert main(["render", str(audio), "-o", str(pipe), *ARGS]) == 0
    check_mp4(pipe, (128, 72), 12, 1.5)
    fs, fp = decoded_frames(seq), decoded_frames(pipe)
    assert len(fs) == len(fp) == 18
    assert all((a == b).all() for a, b in zip(fs, fp, strict=True))
    assert any((fp[0] != f).any() for f in fp[1:])  # a video, not a still
    assert hashlib.sha256(seq.read_bytes()).digest() == hashlib.sha256(pipe.read_bytes()).digest()


def test_draft_quality_renders(click_wav, tmp_path: Path) -> None:
    audio, _ = click_wav
    out = tmp_path / "draft.mp4"
    assert main(["render", str(audio), "-o", str(out), *ARGS, "--quality", "draft"]) == 0
    check_mp4(out, (128, 72), 12, 1.5)


def test_stages_keep_order_and_run_on_their_threads() -> None:
    seen: list[tuple[str, int, str]] = []
    main_thread = threading.current_thread().name

    def produce(i: int) -> int:
        seen.append(("produce", i, threading.current_thread().name))
        return i * 10

    def draw(x: int) -> int:
        seen.append(("draw", x, threading.current_thread().name))
        return x + 1

    out: list[int] = []
    run_stages(range(50), produce, draw, out.append)
    assert out == [i * 10 + 1 for i in range(50)]
    assert {t for s, _, t in seen if s == "draw"} == {main_thread}  # the GL stage stays on the caller's thread
    assert {t for s, _, t in seen if s == "produce"} == {"render-generator"}


@pytest.mark.parametrize("failing", ["produce", "draw", "consume"])
def test_a_failing_stage_stops_the_render_and_leaves_no_file(tmp_path: Path, failing: str) -> None:
    """An error in any stage reaches the caller; the writer is aborted after the threads stopped: no file."""
    out = tmp_path / "video.mp4"
    frame = np.zeros((32, 32, 3), np.uint8)

    def stage(name: str):
        def run(x):
            if name == failing and (x if isinstance(x, int) else 0) >= 5:
                raise ValueError(f"{name} broke")
            return x

        return run

    consumed: list[int] = []
    with pytest.raises(ValueError, match=f"{failing} broke"):
        with VideoWriter(out, 32, 32, 10) as writer:

            def consume(i: int) -> None:
                stage("consume")(i)
                writer.write(frame)
                consumed.append(i)

            run_stages(range(100), stage("produce"), stage("draw"), consume)
    assert consumed == list(range(len(consumed))) and len(consumed) <= 5
    assert list(tmp_path.iterdir()) == []


def test_a_range_after_frame_0_refuses_the_trail_effect(click_wav, tmp_path: Path) -> None:
    """`feedback` reads the previous output frame, which a range starting later does not have: a clear
    error (what a Ray worker reports) instead of frames that differ from the single-process render."""
    from vjgan.app.offline import RenderConfig, open_stages, plan_render, render_range
    from vjgan.app.offline_frames import HistoryError
    from vjgan.audio.trackanalysis import analyze_track

    audio, _ = click_wav
    trails = str(Path(__file__).with_name("trails.toml"))
    cfg = RenderConfig(audio=audio, output=tmp_path / "x.mp4", preset=trails, model="procedural", size=(32, 32),
                       fps=6, duration=2.0, progress=False)  # fmt: skip
    plan = plan_render(cfg)
    stages = open_stages(cfg, analyze_track(audio, progress=False), plan.clip)
    try:
        with VideoWriter(tmp_path / "from0.mp4", 32, 32, 6) as writer:
            render_range(stages, cfg, 0, 12, writer)  # from frame 0 the history is the render's own
        with pytest.raises(HistoryError, match="feedback"):
            with VideoWriter(tmp_path / "from6.mp4", 32, 32, 6) as writer:
                render_range(stages, cfg, 6, 12, writer)
    finally:
        stages.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["from0.mp4"]


def test_the_render_does_not_import_ray() -> None:
    import subprocess
    import sys

    code = "import sys, vjgan.app.offline, vjgan.app.offline_cmd, vjgan.cli; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
