"""Audio→screen latency of `vjgan live`, click by click, through the shaders and through the generator.

The app listens to the live input (under scripts/services.sh: the PulseAudio null sink's monitor). This
script plays short noise clicks into the sink with a low-latency sounddevice stream and timestamps when
each click reaches the DAC clock; the first rendered frame that turned bright marks "on screen".

- shader path: the procedural model, every effect off but the strobe (its uniform follows the onset
  strength in the same frame).
- generator path: every effect off; the embedded default model (a real StyleGAN2, 128²) on a still latent
  at ψ = 0 (the average image), and a preset whose onset events fire an envelope on ψ (0 → 1.5 at once,
  decaying over 250 ms: the usual "kick → punch" route): a click has to go through
  the analysis, the mapping, the generator thread and the upload before the picture changes (mean
  |difference| from the frame before the click > 12 grey levels). The issue's target: 1 generator
  frame + 30 ms.

Run: `source scripts/services.sh && .venv/bin/python scripts/bench_latency.py --json bench_latency.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from vjgan.app.live import LiveApp, LiveConfig

PSI_PRESET = """
[latents]
seeds = [7]
[targets]
truncation = 0.0
[[routes]]
source = "const"
target = "truncation"
gain = 1.5
envelope = { trigger = "onset_event", attack_ms = 0, decay_ms = 250 }
"""


def brighter(base: np.ndarray, img: np.ndarray) -> bool:
    return float(img.mean()) > float(base.mean()) + 60


def changed(base: np.ndarray, img: np.ndarray) -> bool:
    return float(np.abs(img.astype(np.float32) - base).mean()) > 12


class ClickPlayer:
    """Plays one click per `fire()` into the default output; `sent` holds each click's DAC time."""

    def __init__(self, sr: int = 44100) -> None:
        import sounddevice as sd

        self.sr = sr
        self.click = np.zeros(sr // 50, np.float32)
        self.click[: sr // 200] = np.random.default_rng(0).uniform(-0.9, 0.9, sr // 200)
        self.pending = threading.Event()
        self.sent: list[float] = []
        self.pos = -1
        self.stream = sd.OutputStream(samplerate=sr, channels=2, dtype="float32", latency="low",
                                      callback=self._callback)

    def _callback(self, out: np.ndarray, frames: int, t, status) -> None:  # noqa: ANN001 - PortAudio
        out.fill(0)
        if self.pending.is_set() and self.pos < 0:
            self.pos = 0
            self.sent.append(time.perf_counter() + (t.outputBufferDacTime - t.currentTime))
            self.pending.clear()
        if self.pos >= 0:
            chunk = self.click[self.pos : self.pos + frames]
            out[: len(chunk), 0] = chunk
            out[: len(chunk), 1] = chunk
            self.pos += frames
            if self.pos >= len(self.click):
                self.pos = -1


def measure(app: LiveApp, clicks: int, detect, gap_s: float = 1.0,
            analysed: list[float] | None = None, after_analysis: list[float] | None = None) -> list[float]:
    """Click, then run the loop until `detect(frame before, frame)`; one latency (ms) per detected click.

    `analysed` gets, per click, the ms from the click to its onset event being published by the analysis
    (the part of the latency that comes before the mapping, the generator and the render);
    `after_analysis` the ms from the analysis publishing the features a generated frame was made from to
    that frame's first presentation (`LiveStats.latency_ms`: mapping, generator, upload, render)."""
    player = ClickPlayer()
    seen: list[float] = []
    with player.stream:
        warm = time.perf_counter() + 3.0  # let the sink settle at low latency (see headless-stack notes)
        while time.perf_counter() < warm:
            app.step()
            app._pace()
        for _ in range(clicks):
            base = app.chain.read().astype(np.float32)
            n_sent = len(player.sent)
            onsets_before = app.bus.latest.onset_count
            player.pending.set()
            give_up = time.perf_counter() + gap_s
            detected = None
            while time.perf_counter() < give_up:
                app.step()
                if detected is None and detect(base, app.chain.read()):
                    detected = app.stats.last_present  # when that frame was presented
                    to_screen = app.stats.latency_ms  # features of its params published → presented
                app._pace()
            if detected is not None and len(player.sent) > n_sent:
                sent = player.sent[n_sent]
                seen.append((detected - sent) * 1000)
                first = next((f for f in app.bus.history() if f.onset_count > onsets_before), None)
                if analysed is not None and first is not None:
                    analysed.append((first.wall - sent) * 1000)
                if after_analysis is not None:
                    after_analysis.append(to_screen)
    return seen


def summary(lat: list[float], analysed: list[float], after: list[float] | None = None) -> dict:
    a = np.asarray(lat) if lat else np.asarray([np.nan])
    b = np.asarray(analysed) if analysed else np.asarray([np.nan])
    return {"detected": len(lat), "ms_p50": float(np.nanmedian(a)), "ms_p90": float(np.nanpercentile(a, 90)),
            "ms_max": float(np.nanmax(a)), "ms_all": [round(x, 1) for x in lat],
            "click_to_onset_event_ms_p50": float(np.nanmedian(b)),
            **({"onset_event_to_screen_ms_p50": float(np.median(after))} if after else {})}


def shader_path(clicks: int, fps: float) -> dict:
    app = LiveApp(LiveConfig(audio=None, model="procedural", headless=True, size=(320, 180), fps=fps, panel=False))
    for name, effect in app.chain.effects.items():
        effect.enabled = name == "strobe"
    app.chain.set_param("strobe", "amount", 1.0)
    app.chain.set_param("strobe", "threshold", 0.2)
    app.start()
    try:
        analysed: list[float] = []
        lat = measure(app, clicks, brighter, analysed=analysed)
        audio_ms = app.stats.stage_ms.get("audio")
        input_ms = app.audio.stats.device_latency_ms
    finally:
        app.stop()
    return {"path": "shader (strobe on the onset strength)", "audio_input_to_features_ms": audio_ms,
            "input_device_latency_ms": input_ms,
            **summary(lat, analysed)}


def generator_path(clicks: int, fps: float, preempt: bool = True, early: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        preset = Path(tmp) / "psi.toml"
        preset.write_text(PSI_PRESET)
        app = LiveApp(LiveConfig(audio=None, model=None, preset=str(preset), headless=True, size=(320, 180),
                                 fps=fps, panel=False, gen_process=preempt))
        for effect in app.chain.effects.values():
            effect.enabled = False
        if not preempt:  # as before: the generator a thread of the app, always finishing its frame
            for hook in app.gen_thread._preempt_hooks:
                hook.remove()
        if not early:  # for comparison: params only at display ticks
            app._sleep_until = lambda deadline: time.sleep(max(0.0, deadline - time.perf_counter()))
        app.start()
        try:
            analysed: list[float] = []
            after: list[float] = []
            lat = measure(app, clicks, changed, analysed=analysed, after_analysis=after)
            stats = app.gen_thread.stats
        finally:
            app.stop()
    return {"path": "generator (onset event → ψ envelope, default model 128²)", "generator_process": preempt,
            "preemption": preempt,
            "onset_between_ticks": early,
            "generator_ms_p50": stats.gen_ms_p50,
            "generator_fps": stats.fps, "preempted": stats.preempted, "target_ms": stats.gen_ms_p50 + 30.0,
            **summary(lat, analysed, after)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--json", default="")
    ap.add_argument("--compare", action="store_true",
                    help="also the generator path as before 2026-11-24: a thread of the app, no preemption, "
                         "params only at display ticks")
    args = ap.parse_args()
    if not os.environ.get("PULSE_SERVER"):
        sys.exit("no PULSE_SERVER: run `source scripts/services.sh` first (the clicks go through its null sink)")
    result = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_avg_before": os.getloadavg()},
        "display_fps": args.fps,
        "shader": shader_path(args.clicks, args.fps),
        "generator": generator_path(args.clicks, args.fps),
    }
    if args.compare:
        result["generator_params_at_ticks_only"] = generator_path(args.clicks, args.fps, preempt=False,
                                                                  early=False)
    result["machine"]["load_avg_after"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)


if __name__ == "__main__":
    main()
