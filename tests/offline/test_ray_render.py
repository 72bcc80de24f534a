"""`vjgan render --ray`: a local Ray with 2 workers renders the single-process video, and resumes after a kill.

Exactness: both renders use the same torch thread count (`--threads 1`, as Ray workers do) and a lossless
encode (`--crf 0`), so equal decoded frames mean equal rendered frames, whatever the segment boundaries.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.offline.probe import check_mp4, decoded_frames
from vjgan.app.offline import RenderConfig
from vjgan.app.offline_ray import render_video_ray
from vjgan.app.offline_segments import Segment, WorkFolder, plan_segments
from vjgan.cli import main

SECTION_PRESET = Path(__file__).with_name("section.toml")
SIZE, FPS, SEED = (64, 36), 6, 11
ARGS = ["--size", "64x36", "--fps", str(FPS), "--seed", str(SEED), "--model", "default",
        "--preset", str(SECTION_PRESET), "--crf", "0", "--threads", "1"]  # fmt: skip
RAY = ["--ray", "--workers", "2", "--segment-seconds", "1"]  # 6 segments of 6 frames


@pytest.fixture(scope="module")
def single(click_wav, tmp_path_factory) -> list:
    """The 6 s clip rendered in this process: the reference."""
    audio, _ = click_wav
    out = tmp_path_factory.mktemp("single") / "single.mp4"
    assert main(["render", str(audio), "-o", str(out), *ARGS]) == 0
    frames = decoded_frames(out)
    assert len(frames) == 36
    return frames


def _kill_session(pgid: int) -> None:
    """Ray's helper processes that outlive a SIGKILLed driver (its dashboard/runtime-env agents) share
    the driver's process group (start_new_session): end exactly those."""
    import os

    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all((x == y).all() for x, y in zip(a, b, strict=True))


def test_ray_render_equals_single_process(click_wav, single, tmp_path: Path) -> None:
    audio, _ = click_wav
    out = tmp_path / "farmed.mp4"
    assert main(["render", str(audio), "-o", str(out), *ARGS, *RAY]) == 0
    check_mp4(out, SIZE, FPS, 6.0)  # ffprobe: frame rate, duration, AAC stream; PyAV: 36 frames
    assert _same(decoded_frames(out), single)
    assert [p.name for p in tmp_path.iterdir()] == ["farmed.mp4"]  # work folder removed after the join


def test_killed_ray_render_resumes_and_matches(click_wav, single, tmp_path: Path) -> None:
    """SIGKILL the driver once two segments are stored; the rerun renders only the missing ones."""
    audio, _ = click_wav
    out = tmp_path / "farmed.mp4"
    parts = tmp_path / "farmed.mp4.parts"
    cmd = [sys.executable, "-m", "vjgan.cli", "render", str(audio), "-o", str(out), *ARGS, *RAY]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while len(list(parts.glob("seg-*.mp4"))) < 2:
            assert proc.poll() is None, "render ended before it was killed"
            assert time.monotonic() < deadline, "no segments after 5 minutes"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # the driver only, mid-render
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        _kill_session(proc.pid)
    done = sorted(p.name for p in parts.glob("seg-*.mp4"))
    assert 2 <= len(done) < 6 and not out.exists()
    manifest = json.loads((parts / "manifest.json").read_text())
    assert manifest["segments"] == [[s, s + 6] for s in range(0, 36, 6)]

    cfg = RenderConfig(audio=audio, output=out, preset=str(SECTION_PRESET), model="default", size=SIZE,
                       fps=FPS, seed=SEED, crf=0, threads=1, ray="local", workers=2, segment_seconds=1.0,
                       progress=False)  # fmt: skip
    result = render_video_ray(cfg)
    assert result.frames == 36 and result.rendered == 36 - 6 * len(done)  # the stored segments were reused
    check_mp4(out, SIZE, FPS, 6.0)
    assert _same(decoded_frames(out), single)
    assert not parts.exists()


def test_changed_config_does_not_reuse_segments(tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    segs = plan_segments(20, 6)
    assert segs == [Segment(0, 6), Segment(6, 12), Segment(12, 18), Segment(18, 20)]
    first = WorkFolder(out, "config-a", segs)
    assert first.open() == segs
    first.store(segs[0], b"frames of a")
    assert WorkFolder(out, "config-a", segs).open() == segs[1:]  # same config: resume
    assert WorkFolder(out, "config-b", segs).open() == segs  # another config: the old segment is gone
    assert not (first.path / segs[0].name).exists()


def _free_tcp_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_running_cluster_renders_the_same_frames(click_wav, single, tmp_path: Path) -> None:
    """A cluster started by `ray start --head` (as on a render farm's head node, token authentication on,
    Ray's default), the driver a separate process from another folder, connected by address: the frames of
    the single-process render. (One machine here: the address path is the one a multi-machine cluster uses.)"""
    import os

    audio, _ = click_wav
    ray_bin = Path(sys.executable).with_name("ray")
    import tempfile

    port = _free_tcp_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    ray_tmp = tempfile.mkdtemp(prefix="vjr-", dir="/tmp")  # short: Ray's socket paths must stay under 107 bytes
    head = [str(ray_bin), "start", "--head", "--port", str(port), "--num-cpus", "2", "--include-dashboard", "false",
            "--temp-dir", ray_tmp, "--object-store-memory", str(200 * 1024**2)]  # fmt: skip
    started = subprocess.run(head, env=env, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        out = tmp_path / "cluster.mp4"
        cmd = [sys.executable, "-m", "vjgan.cli", "render", str(audio), "-o", str(out), *ARGS, "--ray",
               f"127.0.0.1:{port}", "--workers", "2", "--segment-seconds", "1"]  # fmt: skip
        run = subprocess.run(cmd, env={**env, "RAY_AUTH_MODE": "token"}, cwd=tmp_path, capture_output=True,
                             text=True, timeout=600)  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        assert "on Ray (127.0.0.1:" in run.stderr
        assert _same(decoded_frames(out), single)
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], env=env, capture_output=True, timeout=120)
        import shutil

        shutil.rmtree(ray_tmp, ignore_errors=True)
