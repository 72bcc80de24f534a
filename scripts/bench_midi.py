"""MIDI benchmark on a private JACK server (dummy driver): the MIDI clock's tempo error at several tempos,
and the latency of a CC from an rtmidi output port to the ControlQueue post.

    .venv/bin/python scripts/bench_midi.py [--seconds 8] [--bpm 90 120 174]

The clock comes from another process (tests/midi_peer.py: real-time priority when granted, each tick aimed
at its own time from the start), vjgan's clock is read every 10 ms as the app's tempo thread does; the
error is over every reading from beat 2 on (a full two-beat window). Needs jackd (scripts/bootstrap.sh).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.midi_rig import MidiPeer, jack_connect  # noqa: E402
from vjgan.control.midi import MidiInput  # noqa: E402
from vjgan.control.midi_bindings import MidiRouter  # noqa: E402
from vjgan.control.midi_clock import MidiClock  # noqa: E402
from vjgan.control.midi_learn import MidiLearn  # noqa: E402
from vjgan.control.midi_ports import MidiOutPort  # noqa: E402
from vjgan.core.midi_binding import MidiBinding  # noqa: E402
from vjgan.core.registry import ControlMessage, ControlQueue, Param, ParamRegistry  # noqa: E402


class _Timed(ControlQueue):
    """The real queue, noting when each message was posted (the end of the MIDI input's work)."""

    def __init__(self, registry: ParamRegistry) -> None:
        super().__init__(registry)
        self.posted: list[float] = []

    def post(self, message: ControlMessage) -> None:
        self.posted.append(time.perf_counter())
        super().post(message)


def clock_errors(peer: MidiPeer, clock: MidiClock, bpm: float, seconds: float) -> np.ndarray:
    readings = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            r = clock.read()
            if r is not None:
                readings.append(r)
            time.sleep(0.01)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    peer.clock(bpm, seconds)
    time.sleep(0.1)
    done.set()
    t.join()
    return np.array([abs(r.bpm - bpm) / bpm * 100 for r in readings if r.beat >= 2.0])


def cc_latency(n: int = 200) -> np.ndarray:
    registry = ParamRegistry()
    registry.register(Param("/bench/x", "float", "x", 0.0, 1.0, 0.5), lambda v: None)
    queue = _Timed(registry)
    router = MidiRouter(registry)
    router.bind(MidiBinding("cc", 1, 7, "/bench/x"))
    midi_in = MidiInput(queue, router, MidiLearn(router), MidiClock())
    midi_in.open("virtual:lat", api="jack")
    out = MidiOutPort("virtual:lat", api="jack", client="bench_out")
    jack_connect("bench_out:lat", "vjgan_in:lat")
    time.sleep(0.2)
    sent = []
    for i in range(n):
        sent.append(time.perf_counter())
        out.send([0xB0, 7, i % 128])
        time.sleep(0.02)
    time.sleep(0.5)
    midi_in.close()
    out.close()
    k = min(len(sent), len(queue.posted))
    return (np.array(queue.posted[:k]) - np.array(sent[:k])) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--bpm", type=float, nargs="+", default=[90.0, 120.0, 174.0])
    args = ap.parse_args()
    name = f"vjgan-bench-{os.getpid()}"
    os.environ["JACK_DEFAULT_SERVER"] = name
    jackd = subprocess.Popen(["jackd", "-R", "-P", "60", "-S", "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        subprocess.run(["jack_wait", "-w", "-t", "20"], check=True, capture_output=True)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; JACK dummy 48 kHz / 256 frames")
        registry = ParamRegistry()
        clock = MidiClock()
        midi_in = MidiInput(ControlQueue(registry), MidiRouter(registry), MidiLearn(MidiRouter(registry)), clock)
        midi_in.open("virtual", api="jack")
        peer = MidiPeer()
        try:
            jack_connect("peer_out:midi", "vjgan_in:midi")
            for bpm in args.bpm:
                e = clock_errors(peer, clock, bpm, args.seconds)
                print(f"clock {bpm:6.1f} BPM: {len(e)} readings, error median {np.median(e):.3f} %, "
                      f"p99 {np.percentile(e, 99):.3f} %, worst {e.max():.3f} %")
        finally:
            peer.close()
            midi_in.close()
        lat = cc_latency()
        print(f"CC out port -> ControlQueue.post over JACK: {len(lat)} messages, p50 {np.median(lat):.2f} ms, "
              f"p99 {np.percentile(lat, 99):.2f} ms, max {lat.max():.2f} ms")
    finally:
        jackd.terminate()
        jackd.wait(5)


if __name__ == "__main__":
    main()
