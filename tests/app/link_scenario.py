"""The Link scenarios, run by test_link.py inside a private network namespace (never on the real network).

`python -m tests.app.link_scenario OUT MODE` with MODE:
  engine: peer A (plain aalink) and vjgan's LinkClock (peer B) find each other; a real AudioEngine follows
          Link through the TempoSources selector; A changes tempo; then vjgan leads and A follows it.
  alone:  no multicast on the loopback: vjgan's peer finds nobody and runs its own session.
  osc:    a headless LiveApp with --link; /vjgan/tempo/source from a real OSC client (oscsend) switches
          analysis → link → analysis (and refuses midi, not enabled); vjgan's tempo reaches peer A.
Measures only; writes OUT/result.json, and the test asserts on it.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.app.test_headless import click_track


class PeerA:
    """Peer A: plain aalink in a process of its own (tests/app/link_peer.py), in this network namespace."""

    def __init__(self, bpm: float) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.app.link_peer", str(bpm)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self._ask(None) == ["ready"], "peer A did not start"

    def _ask(self, command: str | None) -> list[str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command is not None:
            self.proc.stdin.write(command + "\n")
        return self.proc.stdout.readline().split()

    def set_tempo(self, bpm: float) -> float:
        """Change the session's tempo; the perf_counter() time of the change."""
        return float(self._ask(f"tempo {bpm!r}")[1])

    def get(self) -> tuple[float, float, float, int]:
        """(beat, the perf_counter() time of that beat, tempo, peers)."""
        beat, at, bpm, peers = self._ask("get")
        return float(beat), float(at), float(bpm), int(peers)

    @property
    def tempo(self) -> float:
        return self.get()[2]

    def stop(self) -> None:
        try:
            self._ask("quit")
        except (BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait(pred: Callable[[], object], timeout: float, poll: float = 0.002) -> float | None:
    """Seconds until `pred` held, None when it never did within `timeout`."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if pred():
            return time.perf_counter() - t0
        time.sleep(poll)
    return None


def phase_errors(a: PeerA, bus: Any, n: int = 20) -> list[float]:
    """vjgan's beat (bar phase included: quantum 4) minus A's, in beats, sampled n times."""
    errs = []
    for _ in range(n):
        time.sleep(0.05)
        f = bus.latest
        beat_a, at, _, _ = a.get()
        ours = f.beat_count + f.beat_phase + (at - f.wall) * f.tempo / 60.0
        errs.append((ours - beat_a + 2.0) % 4.0 - 2.0)
    return errs


def engine_scenario(out: Path, r: dict[str, Any]) -> None:
    from vjgan.app.tempo_source import TempoSources
    from vjgan.audio.engine import AudioEngine
    from vjgan.audio.sources import make_source
    from vjgan.control.link import LinkClock
    from vjgan.core.features import FeatureBus

    audio = out / "clicks.wav"
    click_track(audio, seconds=30.0)  # the audio says 120 BPM
    a = PeerA(90.0)  # vjgan's peer starts at 120: A's 100 below is a change both must see
    clock = LinkClock()
    r["link_started"] = clock.start()
    bus = FeatureBus()
    engine = AudioEngine(make_source(audio, play=False), bus)
    sources = TempoSources({"link": clock}, lambda: engine, bus)
    sources.select("link")  # from the start: vjgan never leads before the analysis is asked to below
    engine.start()
    sources.start()
    try:
        r["peers_found_s"] = wait(lambda: clock.peers >= 1 and a.get()[3] >= 1, 10.0)
        a.set_tempo(100.0)  # A sets the session's tempo
        r["agree_s"] = wait(lambda: (x := clock.read()) is not None and abs(x.bpm - 100.0) < 0.1, 5.0)
        reading = clock.read()
        r["b_bpm"], r["a_bpm"] = reading.bpm if reading else None, a.tempo
        r["follow_100_s"] = wait(lambda: abs(bus.latest.tempo - 100.0) < 0.01, 5.0)
        r["phase_err_100"] = phase_errors(a, bus)

        t_change = a.set_tempo(130.0)
        seen: dict[str, float] = {}
        last = bus.latest.frame
        while time.perf_counter() - t_change < 5.0 and len(seen) < 2:
            x = clock.read()
            if "link" not in seen and x is not None and abs(x.bpm - 130.0) < 0.01:
                seen["link"] = x.at
            f = bus.wait_newer(last, 0.05)
            last = f.frame
            if "engine" not in seen and abs(f.tempo - 130.0) < 0.01:
                seen["engine"] = f.wall  # when the analysis published its first 130 BPM frame
        r["link_latency_s"] = seen["link"] - t_change if "link" in seen else None
        r["engine_latency_s"] = seen["engine"] - t_change if "engine" in seen else None
        time.sleep(0.2)
        r["phase_err_130"] = phase_errors(a, bus)

        sources.select("analysis")  # vjgan leads: the click track's tempo goes to the session
        r["analysis_tempo_s"] = wait(lambda: abs(bus.latest.tempo - 130.0) > 1.0 and bus.latest.beat_count > 0, 15.0)
        r["a_follows_s"] = wait(lambda: abs(a.tempo - bus.latest.tempo) < 0.1, 10.0)
        r["lead_vjgan_bpm"], r["lead_a_bpm"] = bus.latest.tempo, a.tempo
        r["tempo_pushes"], r["phase_pushes"] = clock.tempo_pushes, clock.phase_pushes
        r["phase_err_lead"] = phase_errors(a, bus)  # the analysis's own phase may still jump: reported only

        # the phase push itself, deterministic: vjgan asks for A's beat + 0.3 (followed, so nothing else leads)
        sources.select("link")
        time.sleep(2.1)  # a phase push is made at most every 2 s
        pushes = clock.phase_pushes
        beat, at, bpm, _ = a.get()
        clock.lead(bpm, beat + 0.3, at)
        r["phase_push_s"] = wait(lambda: clock.phase_pushes > pushes, 3.0)

        def push_error() -> float:
            beat2, at2, _, _ = a.get()
            return (beat2 - (beat + 0.3 + (at2 - at) * bpm / 60.0) + 2.0) % 4.0 - 2.0

        r["phase_reached_a_s"] = wait(lambda: abs(push_error()) < 0.02, 3.0)  # Link carries it to A
        r["phase_push_err"] = push_error()
    finally:
        sources.stop()
        engine.stop()
        a.stop()


def osc_scenario(out: Path, r: dict[str, Any], osc_port: int) -> None:
    from vjgan.app.live import LiveApp, LiveConfig
    from vjgan.control.peers import oscsend

    audio = out / "clicks.wav"
    click_track(audio, seconds=30.0)
    a = PeerA(90.0)
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", headless=True, size=(48, 27), fps=30.0,
                             panel=False, osc_port=osc_port, link=True, rehearsal=False))
    app.start()

    def step_until(pred: Callable[[], object], timeout: float) -> float | None:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            app.step()
            if pred():
                return time.perf_counter() - t0
            time.sleep(0.005)
        return None

    try:
        link = app.tempo_sources.clocks.get("link")
        r["link_enabled"] = link is not None and link.running
        r["available"] = list(app.tempo_sources.available())
        r["peers_s"] = step_until(lambda: link.peers >= 1, 10.0)
        # the analysis finds the clicks' 120 BPM and leads the session: A follows
        r["a_follows_first_s"] = step_until(lambda: app.bus.latest.beat_count > 0
                                            and abs(a.tempo - app.bus.latest.tempo) < 0.1, 15.0)
        oscsend(app.osc.port, "/vjgan/tempo/source", "link")
        step_until(lambda: app.tempo_sources.source == "link", 5.0)
        r["source_after_link"] = app.tempo_sources.source
        a.set_tempo(100.0)  # followed now, not led: A's change is the show's tempo
        r["to_link_s"] = step_until(lambda: abs(app.bus.latest.tempo - 100.0) < 0.01, 10.0)
        oscsend(app.osc.port, "/vjgan/tempo/source", "analysis")
        r["to_analysis_s"] = step_until(lambda: app.tempo_sources.source == "analysis"
                                        and abs(app.bus.latest.tempo - 120.0) < 4.0, 15.0)
        r["analysis_tempo"] = app.bus.latest.tempo
        r["a_follows_s"] = step_until(lambda: abs(a.tempo - app.bus.latest.tempo) < 0.1, 10.0)
        r["a_bpm"] = a.tempo
        oscsend(app.osc.port, "/vjgan/tempo/source", "midi")  # not enabled here: refused, analysis in charge
        step_until(lambda: app.queue.stats.rejected > 0, 5.0)
        r["source_after_midi"] = app.tempo_sources.source
        r["midi_note"] = [m for m in app.messages if "midi" in m]
        r["rejected"] = app.queue.stats.rejected
        state = app.panels.port.snapshot()
        r["panel"] = [state.tempo_source, list(state.tempo_sources), state.tempo_status]
    finally:
        app.stop()
        a.stop()


def alone_scenario(r: dict[str, Any]) -> None:
    from vjgan.control.link import LinkClock

    a = PeerA(90.0)
    clock = LinkClock()
    r["started"] = clock.start()
    try:
        time.sleep(1.5)  # Link's discovery would have found A by now on a network with multicast
        first = clock.read()
        time.sleep(0.2)
        later = clock.read()
        r["peers"], r["a_peers"] = clock.peers, a.get()[3]
        r["bpm"] = later.bpm if later else None
        r["beats_advance"] = bool(first and later and later.beat > first.beat)
    finally:
        clock.stop()
        a.stop()


def main() -> int:
    out, mode = Path(sys.argv[1]), sys.argv[2]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    r: dict[str, Any] = {"mode": mode}
    try:
        if mode == "engine":
            engine_scenario(out, r)
        elif mode == "alone":
            alone_scenario(r)
        else:
            osc_scenario(out, r, int(sys.argv[3]))
    finally:
        (out / "result.json").write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
