#!/usr/bin/env python
"""Leader and follower in step, measured (not a test): two `vjgan live --headless` processes on loopback.

The leader plays a 120 BPM click track (live analysis) with `--lead`, the follower the same file with
`--follow`; preset switches are sent to the leader's OSC port every few seconds. From the two frame logs
(frames.json: wall = perf_counter, CLOCK_MONOTONIC, the same clock in both processes on Linux):
- per switch: the beat count at each side's switch frame and the wall-clock gap between the two frames
  (a frame interval of each render loop is the resolution);
- the beat phase error: at every follower frame, its beat position minus the leader's, interpolated from
  the leader's frames at the same wall time, in ms.

Usage: .venv/bin/python scripts/bench_follow.py [--seconds 30] [--fps 30] [--switches 4]
(needs an audio server: source scripts/services.sh first)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.app.test_follow import CALM, DRUMS  # noqa: E402
from tests.app.test_headless import click_track  # noqa: E402
from vjgan.control.oscwire import encode_message  # noqa: E402


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--switches", type=int, default=4)
    ap.add_argument("--quantise", default="beat", choices=("beat", "bar"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_follow_"))
    presets = tmp / "presets"
    presets.mkdir()
    (presets / "calm.toml").write_text(CALM)
    (presets / "drums.toml").write_text(DRUMS)
    audio = tmp / "clicks.wav"
    click_track(audio, seconds=args.seconds + 120)
    lead, osc = free_port(), free_port()
    env = {**os.environ, "VJGAN_PRESETS": str(presets)}
    common = [sys.executable, "-m", "vjgan.cli", "live", "--headless", "--model", "procedural", "--audio", str(audio),
              "--no-rehearsal", "--preset", "calm", "--size", "128x72", "--fps", str(args.fps), "--no-panel"]
    start = time.monotonic()
    procs = {
        "leader": subprocess.Popen([*common, "--out", str(tmp / "leader"), "--lead", f"127.0.0.1:{lead}",
                                    "--osc-port", str(osc), "--quantise", args.quantise], env=env,
                                   stderr=open(tmp / "leader.log", "w")),
        "follower": subprocess.Popen([*common, "--out", str(tmp / "follower"), "--follow", f"127.0.0.1:{lead}"],
                                     env=env, stderr=open(tmp / "follower.log", "w")),
    }
    log = tmp / "follower.log"
    while "sync: following" not in log.read_text():  # started, and the leader's analysis has a beat
        if time.monotonic() > start + 120 or procs["follower"].poll() is not None:
            print(f"the follower never followed; see {log}")
            return 1
        time.sleep(0.2)
    time.sleep(3.0)
    first = time.monotonic() - start
    gap = (args.seconds - 3.0) / max(args.switches, 1)
    sent = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for k in range(args.switches):
            time.sleep(max(0.0, start + first + k * gap - time.monotonic()))
            name = "drums" if k % 2 == 0 else "calm"
            s.sendto(encode_message("/vjgan/preset/load", [name]), ("127.0.0.1", osc))
            sent.append((time.perf_counter(), name))
    time.sleep(max(0.0, start + first + args.seconds - time.monotonic()))
    for p in procs.values():
        p.send_signal(signal.SIGTERM)
    for name, p in procs.items():
        if p.wait(timeout=30) != 0:
            print(f"{name} exited with {p.returncode}; see {tmp / (name + '.log')}")
            return 1
    logs = {n: json.loads((tmp / n / "frames.json").read_text())["frames"] for n in procs}
    lw = np.array([f["feature_wall"] for f in logs["leader"]])
    lb = np.array([f["beat_count"] + f["beat_phase"] for f in logs["leader"]])
    print(f"{len(logs['leader'])} leader frames, {len(logs['follower'])} follower frames, "
          f"leader tempo {np.median([f['tempo'] for f in logs['leader'][-100:]]):.2f} BPM, "
          f"follower {np.median([f['tempo'] for f in logs['follower'][-100:]]):.2f} BPM")
    for at, name in sent:
        row = []
        for side in ("leader", "follower"):
            fr = logs[side]
            i = next((i for i, f in enumerate(fr) if f["wall"] > at and f["preset"] == name
                      and fr[i - 1]["preset"] != name), None)
            row.append(None if i is None else fr[i])
        if None in row:
            print(f"switch to {name}: not seen on both ({[r is not None for r in row]})")
            continue
        lf, ff = row
        sent_beat = float(np.interp(at, [f["wall"] for f in logs["leader"]], lb))
        print(f"switch to {name}: sent at beat {sent_beat:.2f}; leader switched at beat_count {lf['beat_count']}, "
              f"follower at {ff['beat_count']}; follower frame - leader frame = "
              f"{(ff['wall'] - lf['wall']) * 1000:+.1f} ms")
    # beat phase error over the frames where both are running and the follower is following
    # each frame's beat belongs to its features' analysis time (feature_wall), not to when it was shown
    fw = np.array([f["feature_wall"] for f in logs["follower"]])
    fb = np.array([f["beat_count"] + f["beat_phase"] for f in logs["follower"]])
    ok = (fw > sent[0][0] - 3.0) & (fw < lw[-1])  # from 3 s of following on
    err = fb[ok] - np.interp(fw[ok], lw, lb)
    err = (err + 0.5) % 1.0 - 0.5  # a phase wrap at a frame boundary is not a beat off
    tempo = np.median([f["tempo"] for f in logs["leader"][-100:]])
    ms = err * 60.0 / tempo * 1000.0
    print(f"beat phase, follower - leader over {ok.sum()} frames: median {np.median(ms):+.1f} ms, "
          f"|p95| {np.percentile(np.abs(ms), 95):.1f} ms, max {np.abs(ms).max():.1f} ms")
    print(f"(logs in {tmp})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
