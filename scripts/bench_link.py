#!/usr/bin/env python3
"""How fast vjgan follows an Ableton Link session: tempo change → Features.tempo, and the beat phase error.

Runs itself inside a private network namespace (`unshare -n`, loopback with multicast on: never the real
network; needs root or user namespaces). Peer A is plain aalink in its own process (tests/app/link_peer.py);
vjgan's LinkClock, the TempoSources selector and a real AudioEngine (a click track, not played) follow it.
A switches between 100 and 130 BPM N times; for each change: the time until vjgan's Link peer reads it, and
until the analysis publishes the first Features with the new tempo; then the phase error (vjgan's beat
minus A's, in beats) over 20 samples.

Usage: .venv/bin/python scripts/bench_link.py [--changes N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INSIDE = "VJGAN_LINK_NETNS"


def _reexec() -> int:
    unshare = shutil.which("unshare")
    if unshare is None:
        sys.exit("unshare (util-linux) not found")
    env = {**os.environ, INSIDE: "1", "PYTHONPATH": str(REPO)}
    cmd = "ip link set lo up && ip link set lo multicast on && exec \"$@\""
    return subprocess.call([unshare, "-n", "sh", "-c", cmd, "sh", sys.executable, *sys.argv], env=env, cwd=REPO)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if os.environ.get(INSIDE) != "1":
        return _reexec()

    from tests.app.link_scenario import PeerA, phase_errors, wait
    from tests.app.test_headless import click_track
    from vjgan.app.tempo_source import TempoSources
    from vjgan.audio.engine import AudioEngine
    from vjgan.audio.sources import make_source
    from vjgan.control.link import LinkClock
    from vjgan.core.features import FeatureBus

    tmp = Path(tempfile.mkdtemp())
    click_track(tmp / "clicks.wav", seconds=30.0)
    a = PeerA(100.0)
    clock = LinkClock()
    clock.start()
    bus = FeatureBus()
    engine = AudioEngine(make_source(tmp / "clicks.wav", play=False), bus)
    sources = TempoSources({"link": clock}, lambda: engine, bus)
    sources.select("link")
    engine.start()
    sources.start()
    link_ms: list[float] = []
    engine_ms: list[float] = []
    phase: list[float] = []
    try:
        wait(lambda: clock.peers >= 1, 10.0)
        for k in range(args.changes):
            bpm = 130.0 if k % 2 == 0 else 100.0
            t_change = a.set_tempo(bpm)
            seen: dict[str, float] = {}
            last = bus.latest.frame
            while time.perf_counter() - t_change < 5.0 and len(seen) < 2:
                x = clock.read()
                if "link" not in seen and x is not None and abs(x.bpm - bpm) < 0.01:
                    seen["link"] = x.at
                f = bus.wait_newer(last, 0.05)
                last = f.frame
                if "engine" not in seen and abs(f.tempo - bpm) < 0.01:
                    seen["engine"] = f.wall
            link_ms.append((seen.get("link", float("nan")) - t_change) * 1000)
            engine_ms.append((seen.get("engine", float("nan")) - t_change) * 1000)
            time.sleep(0.3)
            phase += [abs(e) for e in phase_errors(a, bus, 20)]
    finally:
        sources.stop()
        engine.stop()
        a.stop()
    result = {
        "changes": args.changes,
        "link_ms": {"p50": statistics.median(link_ms), "max": max(link_ms)},
        "engine_ms": {"p50": statistics.median(engine_ms), "p90": _pct(engine_ms, 0.9), "max": max(engine_ms)},
        "one_beat_at_130_ms": 60000.0 / 130.0,
        "phase_err_beats": {"p50": statistics.median(phase), "p90": _pct(phase, 0.9), "max": max(phase)},
        "load": os.getloadavg(),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
