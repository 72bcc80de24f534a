#!/usr/bin/env python
"""Audio benchmark: per-hop analysis cost, CPU share of the audio threads, input→Features latency.

Needs an audio server (run under `source scripts/services.sh`). Plays a click track through the
server with the FilePlayer and analyses the server's monitor through LiveInput + AudioEngine, i.e.
the real live path. Writes a JSON summary (stdout, and --json FILE).

    source scripts/services.sh && .venv/bin/python scripts/bench_audio.py --seconds 30 --json bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vjgan.audio.analysis import OnlineAnalyzer  # noqa: E402
from vjgan.audio.demo import synthesize  # noqa: E402
from vjgan.audio.engine import AudioEngine  # noqa: E402
from vjgan.audio.player import FilePlayer  # noqa: E402
from vjgan.audio.sources import LiveInput  # noqa: E402
from vjgan.core.features import FeatureBus  # noqa: E402

SR = 44100


def hop_cost(seconds: float, beat_rnn: bool = True) -> dict:
    """The analyzer alone on the demo track, in this thread (at the engine's priority): cost per hop."""
    AudioEngine._raise_priority()
    x = synthesize(bars=max(1, int(seconds / 2))).mean(axis=1)
    an = OnlineAnalyzer(SR, beat_rnn=beat_rnn)
    an.warmup()
    cost, cpu = [], []
    for i in range(len(x) // an.hop_size):
        t0, c0 = time.perf_counter(), time.thread_time()
        an.process(x[i * an.hop_size : (i + 1) * an.hop_size])
        cpu.append(time.thread_time() - c0)
        cost.append(time.perf_counter() - t0)
    c = np.array(cost) * 1e3
    u = np.array(cpu) * 1e3  # CPU time of this thread: what a hop costs, whatever else the machine runs
    return {
        "hops": len(c),
        "ms_median": float(np.median(c)),
        "ms_p99": float(np.percentile(c, 99)),
        "cpu_ms_median": float(np.median(u)),
        "cpu_ms_mean": float(np.mean(u)),
        "cpu_ms_p99": float(np.percentile(u, 99)),
    }


def click_track(seconds: float, period: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    y = np.zeros((int(seconds * SR), 1), np.float32)
    t = np.arange(int(0.02 * SR)) / SR
    click = 0.8 * np.sin(2 * np.pi * 1500 * t) * np.exp(-t / 0.004)
    starts = np.arange(1.0, seconds - 0.5, period)
    for s in starts:
        i = int(s * SR)
        y[i : i + len(click), 0] = click
    return y, starts


def live(seconds: float) -> dict:
    """Clicks out through the server, back in from its monitor, through the engine."""
    y, starts = click_track(seconds)
    time.sleep(2.0)  # let the server's keep-alive stream pull the null sink to low latency
    player = FilePlayer("clicks.wav", data=y, loop=False, play=True)
    source = LiveInput(None)
    bus = FeatureBus(history_seconds=seconds + 5)
    engine = AudioEngine(source, bus)
    engine.start()
    time.sleep(0.5)
    marks: list[tuple[int, float]] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    player.start()
    end = time.perf_counter() + seconds + 0.5
    while time.perf_counter() < end:  # the main thread only samples the player's clock
        marks.append(player.last_block)
        time.sleep(0.005)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    player.stop()
    engine.stop()
    st = engine.stats
    # when each click was rendered → when it is heard (+ output latency) → when its onset was published
    w = np.array([m[0] for m in marks], dtype=np.float64)
    tw = np.array([m[1] for m in marks])
    ok = np.r_[True, np.diff(w) > 0]
    w, tw = w[ok], tw[ok]
    heard = np.interp(starts * SR, w, tw) + player.device_latency
    pub = np.array([f.wall for f in bus.history() if f.onset_event])
    lat = []
    for h in heard:
        later = pub[(pub > h) & (pub < h + 0.3)]
        if len(later):
            lat.append(later[0] - h)
    lat_ms = np.array(lat) * 1e3
    return {
        "seconds": seconds,
        "clicks": len(starts),
        "clicks_detected": len(lat),
        "process_cpu_share": (cpu1 - cpu0) / (wall1 - wall0),  # only the audio threads run meanwhile
        "engine": {
            "hops": st.hops,
            "overflows": st.overflows,
            "skipped_hops": st.skipped_hops,
            "status_flags": st.status_flags,
            "analysis_ms_p50": st.analysis_ms_p50,
            "analysis_ms_p99": st.analysis_ms_p99,
            "callback_to_features_ms_median": st.latency_ms,
            "input_device_latency_ms": st.device_latency_ms,
        },
        "output_device_latency_ms": player.device_latency * 1e3,
        "heard_to_onset_published_ms": {
            "median": float(np.median(lat_ms)) if len(lat_ms) else None,
            "p95": float(np.percentile(lat_ms, 95)) if len(lat_ms) else None,
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the live run")
    ap.add_argument("--json", type=Path, help="also write the summary here")
    args = ap.parse_args()
    out = {
        "cpus": os.cpu_count(),
        "load_average_1min_before": os.getloadavg()[0],
        "hop_cost": hop_cost(min(args.seconds, 20.0)),
        "hop_cost_without_beat_rnn": hop_cost(min(args.seconds, 20.0), beat_rnn=False),
        "live": live(args.seconds),
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
