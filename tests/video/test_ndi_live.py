"""NDI out end to end: a headless LiveApp sends its frames as an NDI source inside a private network namespace;
a real NDI receiver (ndi-python, the runtime from its wheel) finds it by name through mDNS (an avahi-daemon
of the namespace's own) or, without mDNS, connects by address; what it receives is the rendered output,
frame by frame, within NDI's codec error; a receiver that stops reading does not stop the sender."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tests.app.test_headless import click_track
from tests.conftest import REPO, in_ci, require_tool
from tests.video.ndi_peer import STALLED


def _netns_ok() -> str:
    """'' when this process may make a private network namespace (root, or user namespaces), else why not."""
    try:
        proc = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if proc.returncode == 0 else proc.stderr.strip()


@pytest.fixture(scope="module", params=["find", "address"])
def ndi_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pulse_server: str) -> dict:
    mode = request.param
    if mode == "find":
        for tool in ("avahi-daemon", "dbus-daemon"):
            require_tool(tool)
    why = _netns_ok()
    if why:
        if in_ci():
            pytest.fail(f"cannot make a private network namespace for the NDI test: {why}")
        pytest.skip(f"no private network namespace here ({why}): run as root")
    tmp = tmp_path_factory.mktemp("ndi")
    audio = tmp / "clicks.wav"
    click_track(audio, seconds=4.0)
    out = tmp / "ndi.npz"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # a private network namespace, so the sender's ports (5960, 5961) and its mDNS records are ours alone
    peer = [sys.executable, "-m", "tests.video.ndi_peer", mode, str(audio), str(out)]
    if mode == "find":  # with its own avahi-daemon (a private mount namespace for its pid file)
        cmd = ["unshare", "-n", "-m", "sh", str(REPO / "tests/video/netns_mdns.sh"), *peer]
    else:  # only a loopback: no mDNS, the receiver connects by address
        cmd = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *peer]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = np.load(out)
    return {"mode": mode, **{k: data[k] for k in data.files}}


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 10 * np.log10(255.0**2 / max(mse, 1e-12))


def test_ndi_receiver_gets_the_rendered_frames(ndi_run: dict) -> None:
    if ndi_run["mode"] == "find":  # found by its name through mDNS, at the namespace's own address
        assert str(ndi_run["found"]).endswith("(vjgan-test)") and str(ndi_run["address"]).startswith("10.77.0.1:")
    sent, sent_seq, got, got_seq = ndi_run["sent"], ndi_run["sent_seq"], ndi_run["got"], ndi_run["got_seq"]
    assert len(got) >= 10, f"the receiver got only {len(got)} frames"
    assert sent.std() > 5  # real rendered frames, not blank ones
    index = {int(s): i for i, s in enumerate(sent_seq)}
    for seq, frame, t in zip(got_seq, got, ndi_run["got_time"], strict=True):
        own = sent[index[int(seq)]]
        assert frame.shape == own.shape
        # NDI sends SpeedHQ (4:2:2, lossy): within the codec's error, and nearer its own frame than any other
        assert _psnr(frame, own) > 30.0, f"frame {seq}: {_psnr(frame, own):.1f} dB"
        errors = np.abs(sent.astype(np.float32) - frame.astype(np.float32)).mean(axis=(1, 2, 3))
        assert int(sent_seq[int(errors.argmin())]) == seq, f"frame {seq} looks most like {sent_seq[errors.argmin()]}"
        assert t == pytest.approx(float(ndi_run["sent_time"][index[int(seq)]]), abs=1e-5)  # metadata: audio time


def test_a_receiver_that_stops_reading_does_not_stop_the_show(ndi_run: dict) -> None:
    offered, sent, dropped = int(ndi_run["offered"]), int(ndi_run["ndi_sent"]), int(ndi_run["dropped"])
    stalled_from = int(ndi_run["stalled_from"])
    assert int(ndi_run["app_frames"]) == offered  # every rendered frame was offered to the output
    assert int(ndi_run["errors"]) == 0
    assert sent + dropped == offered  # each frame either went out or was dropped, counted
    assert int(ndi_run["got_seq"].max()) <= stalled_from + 2  # the receiver really stopped reading
    assert sent > stalled_from + 5 and offered == stalled_from + STALLED  # and the sender went on sending
