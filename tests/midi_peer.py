"""A MIDI controller in another process, for the tests: rtmidi virtual ports on the JACK server of
JACK_DEFAULT_SERVER, driven by lines on stdin, reporting on stdout.

    peer_out:midi  (it sends)      peer_in:midi  (it receives; each message printed as `recv B1 B2 ...`)

Commands: `send B1 B2 ...` (hex bytes), `clock BPM SECONDS` (start, then 24 ticks per beat for SECONDS,
sent by a scheduler that aims each tick at its own time from the start: no drift, whatever the load; stop),
`quit`. It prints `ready` once its ports exist and `done` after each command.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import rtmidi


def clock(out: rtmidi.MidiOut, bpm: float, seconds: float) -> int:
    """Like a hardware clock: real-time priority when the system grants it (root, or rtprio limits), so
    the machine's other load does not delay the ticks; each tick aimed at t0 + n * interval."""
    interval = 60.0 / bpm / 24.0
    policy = os.sched_getscheduler(0), os.sched_getparam(0)
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
    except OSError:
        pass
    try:
        out.send_message([0xFA])
        t0 = time.perf_counter()
        n = 0
        while n * interval < seconds:
            left = t0 + n * interval - time.perf_counter()
            if left > 0:
                time.sleep(left)
            out.send_message([0xF8])
            n += 1
        out.send_message([0xFC])  # stop: as a sequencer does at the end of the song
    finally:
        os.sched_setscheduler(0, *policy)
    return n


def main() -> None:
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="peer_out")
    out.open_virtual_port("midi")
    inp = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="peer_in")
    inp.open_virtual_port("midi")
    lock = threading.Lock()

    def say(text: str) -> None:
        with lock:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    inp.set_callback(lambda ev, _d: say("recv " + " ".join(f"{b:02x}" for b in ev[0])))
    say("ready")
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "send":
            out.send_message([int(a, 16) for a in args])
        elif cmd == "clock":
            n = clock(out, float(args[0]), float(args[1]))
            say(f"ticks {n}")
        elif cmd == "quit":
            break
        say("done")
    inp.close_port()
    out.close_port()


if __name__ == "__main__":
    main()
