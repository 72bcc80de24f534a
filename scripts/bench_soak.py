#!/usr/bin/env python
"""Soak run of the live app (issue #14; not a test): does it stay up, and does its memory stay flat?

The real app headless (default model, a real track on loop, OSC in) for `--minutes`; meanwhile a sender
thread posts OSC from a loopback socket at a bounded rate (valid messages and malformed packets), the
preset changes every `--preset-every` s and the generator's child process is killed with SIGKILL every
`--kill-every` s (the app restarts it). Reports as JSON: RSS growth of the app process (MB/hour, from
/proc, a line fitted after the first minute's warm-up; the generator child's peak RSS beside it), audio
overflows, late frames, generator restarts and dropped frames, and whether the loop crashed.
Targets: RSS growth < 50 MB/h, 0 overflows, 0 crashes.

Usage: source scripts/services.sh && PYTHONPATH=$PWD .venv/bin/python scripts/bench_soak.py --minutes 60
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VJGAN_SHARED_AUDIO") or REPO.parent / "shared" / "audio")
TRACK = "Kevin_MacLeod_-_Vibe_Ace.ogg"
PRESETS = ("default", "drums", "chroma", "loops", "sections", "bending")


def rss_mb(pid: int | str = "self") -> float:
    """VmRSS of a process from /proc (0 when it is gone, e.g. a generator child just killed)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--osc-rate", type=float, default=50.0, help="OSC packets per second (bounded)")
    ap.add_argument("--preset-every", type=float, default=30.0)
    ap.add_argument("--kill-every", type=float, default=300.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    audio = SHARED / TRACK
    if not audio.exists():
        sys.exit(f"needs {audio} (VJGAN_SHARED_AUDIO)")

    from vjgan.app.live import LiveApp, LiveConfig
    from vjgan.control.oscwire import encode_message

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    w, h = (int(x) for x in args.size.split("x"))
    app = LiveApp(LiveConfig(audio=str(audio), headless=True, size=(w, h), fps=args.fps, panel=False,
                             osc_port=port))
    end_at = time.perf_counter() + args.minutes * 60.0
    halt = threading.Event()
    sent = {"valid": 0, "malformed": 0, "presets": 0, "kills": 0}

    def traffic() -> None:
        rng = random.Random(0)
        valid = [("/vjgan/target/truncation", lambda: [rng.uniform(0.3, 1.0)]),
                 ("/vjgan/target/shader.color.hue", lambda: [rng.random()]),
                 ("/vjgan/tempo/nudge", lambda: [rng.choice([-0.1, 0.1])]),
                 ("/vjgan/target/latent.section", lambda: [rng.random()]),
                 ("/vjgan/no/such/address", lambda: [1.0])]
        junk = [b"", b"\x00" * 7, b"/vjgan/target/truncation\x00\x00\x00\x00,f\x00\x00", b"#bundle\x00garbage",
                b"not osc at all", bytes(rng.getrandbits(8) for _ in range(64))]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            while not halt.wait(1.0 / args.osc_rate):
                if rng.random() < 0.2:
                    sock.sendto(rng.choice(junk), ("127.0.0.1", port))
                    sent["malformed"] += 1
                else:
                    address, value = rng.choice(valid)
                    sock.sendto(encode_message(address, value()), ("127.0.0.1", port))
                    sent["valid"] += 1

    def schedule() -> None:
        t0 = time.perf_counter()
        next_preset, next_kill = t0 + args.preset_every, t0 + args.kill_every
        i = 0
        while not halt.wait(0.5):
            now = time.perf_counter()
            if now >= next_preset:
                i += 1
                app.queue.set("/vjgan/preset/load", PRESETS[i % len(PRESETS)], origin="soak")
                sent["presets"] += 1
                next_preset += args.preset_every
            if now >= next_kill:
                pid = getattr(app.gen_thread, "pid", None)
                if pid:
                    os.kill(pid, signal.SIGKILL)
                    sent["kills"] += 1
                next_kill += args.kill_every

    rss: list[tuple[float, float]] = []  # (s since start, the app's RSS MB)
    child_rss: list[float] = []  # the generator child's RSS MB at the same moments (restarted by the kills)
    crashed = ""
    app.start()
    t_start = time.perf_counter()
    threads = [threading.Thread(target=f, daemon=True) for f in (traffic, schedule)]
    for t in threads:
        t.start()
    next_rss = t_start
    try:
        while time.perf_counter() < end_at:
            app.step()
            app._pace()
            if (now := time.perf_counter()) >= next_rss:
                rss.append((now - t_start, rss_mb()))
                child = getattr(app.gen_thread, "pid", None)
                child_rss.append(rss_mb(child) if child else 0.0)
                next_rss += 5.0
    except Exception:  # noqa: BLE001 - the soak's verdict: report it, do not hide it
        crashed = traceback.format_exc()
    finally:
        halt.set()
        for t in threads:
            t.join(2.0)
        stats = app.stats
        gen = app.gen_thread
        result = {
            "minutes": round((time.perf_counter() - t_start) / 60.0, 2),
            "fps": args.fps, "size": args.size, "frames": stats.frames,
            "late_frames": stats.late_frames,
            "late_share": round(stats.late_frames / max(stats.frames, 1), 4),
            "audio_overflows": stats.audio_overflows, "audio_status": stats.audio_status,
            "generator_restarts": int(getattr(gen, "restarts", 0)),
            "generator_dropped": stats.gen_dropped,
            "recorder_dropped": stats.recorder_dropped,
            "osc": dict(sent) | {"posted": getattr(app.osc.stats, "posted", None),
                                 "malformed_counted": getattr(app.osc.stats, "malformed", None)},
            "queue_rejected": app.queue.stats.rejected,
            "crashed": crashed or False,
            "load_avg_end": os.getloadavg(),
        }
        app.stop()
    t = np.asarray([x for x, _ in rss])
    m = np.asarray([y for _, y in rss])
    keep = t >= min(60.0, t[-1] / 2) if len(t) else t
    if keep.sum() >= 2:
        slope = np.polyfit(t[keep], m[keep], 1)[0] * 3600.0
    else:
        slope = float("nan")
    result |= {"rss_mb_start": round(float(m[0]), 1) if len(m) else None,
               "rss_mb_end": round(float(m[-1]), 1) if len(m) else None,
               "rss_growth_mb_per_hour": round(float(slope), 1),
               "generator_child_rss_mb_max": round(max(child_rss), 1) if child_rss else None,
               "targets_met": bool(slope < 50 and result["audio_overflows"] == 0 and not crashed)}
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
