"""A real MIDI server for the MIDI tests: a private jackd (dummy driver: no sound card needed) per test
module, and a controller in another process (tests/midi_peer.py) whose ports jack_connect wires to vjgan's.

Import the fixture into a test module: `from tests.midi_rig import jack_server  # noqa: F401`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import pytest

from tests.conftest import REPO, require_tool, wait_for

PEER = Path(__file__).with_name("midi_peer.py")


@pytest.fixture(scope="module")
def jack_server() -> Iterator[str]:
    """A JACK server of its own, exported as JACK_DEFAULT_SERVER for this process and its children; stopped
    after the module.

    Its name is this checkout's (other checkouts' test runs never meet it), not a fresh one per run: JACK
    keeps at most 8 servers in its registry and a server that dies uncleanly leaves its entry behind, which
    only a server of the same name reclaims. `-S` (synchronous mode): on a loaded machine a client that
    misses a period then delays it, where the default asynchronous mode drops that period's MIDI events
    (measured: 1-4 % of the ticks of a 120 BPM clock at load 15 on 2 cores; none with -S). `-R`: real-time
    scheduling where the system grants it (root here), as a MIDI server runs on a stage machine; without
    it, at load 15-18 on 2 cores, periods stalled by up to 0.8 s and delivered ticks in bursts.
    """
    jackd = require_tool("jackd")
    require_tool("jack_connect")
    try:  # PortAudio (sounddevice) must not see this server: a JACK client of it would abort the test
        import sounddevice  # noqa: F401  process at exit, after the server stopped (pa_jack.c Terminate)
    except (ImportError, OSError):
        pass
    name = f"vjgan-test-{hashlib.sha1(str(REPO).encode()).hexdigest()[:8]}"
    if subprocess.run(["jack_lsp", "-s", name], capture_output=True).returncode == 0:
        name += f"-{os.getpid()}"  # a test run of this checkout is using it: one of our own for this run
    old = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = name
    log = tempfile.TemporaryFile(mode="w+")  # jackd reports every xrun: a pipe nobody reads would fill
    proc = None
    try:
        for realtime in (["-R", "-P", "60"], ["--no-realtime"]):  # real-time where granted, else without
            proc = subprocess.Popen([jackd, *realtime, "-S", "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"],
                                    stdout=log, stderr=log)
            up = wait_for(lambda p=proc: p.poll() is not None or subprocess.run(
                ["jack_lsp"], capture_output=True).returncode == 0, timeout=20.0, poll=0.1)
            if up and proc.poll() is None:
                break
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        else:
            log.seek(0)
            pytest.fail(f"jackd (dummy driver) did not start: {log.read()[-500:]}")
        yield name
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        if old is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old


def jack_connect(src: str, dst: str) -> None:
    r = subprocess.run(["jack_connect", src, dst], capture_output=True, text=True)
    assert r.returncode == 0, f"jack_connect {src} {dst}: {r.stderr}"


class MidiPeer:
    """The controller process: `send` bytes, `clock` at a tempo, `received` what came back to it."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(PEER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: Queue[str] = Queue()
        self.received: list[list[int]] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("ready", timeout=20.0)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith("recv "):
                self.received.append([int(b, 16) for b in line.split()[1:]])
            else:
                self.lines.put(line)

    def expect(self, prefix: str, timeout: float = 10.0) -> str:
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except Empty:
                break
            if line.startswith(prefix):
                return line
        err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
        raise AssertionError(f"MIDI peer: no {prefix!r} within {timeout} s {err[-500:]}")

    def command(self, text: str, timeout: float = 10.0) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        self.expect("done", timeout)

    def send(self, *msg: int) -> None:
        self.command("send " + " ".join(f"{b:02x}" for b in msg))

    def clock(self, bpm: float, seconds: float) -> int:
        """Start, then ticks at `bpm` for `seconds`; returns how many ticks were sent."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"clock {bpm} {seconds}\n")
        self.proc.stdin.flush()
        n = int(self.expect("ticks", timeout=seconds + 20.0).split()[1])
        self.expect("done")
        return n

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


@pytest.fixture()
def midi_peer(jack_server: str) -> Iterator[MidiPeer]:
    peer = MidiPeer()
    try:
        yield peer
    finally:
        peer.close()
