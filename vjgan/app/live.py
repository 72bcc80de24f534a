"""The live show: AudioEngine → MappingEngine → GeneratorThread → PostFXChain → window / PNGs / MP4.

The render loop runs on the main thread at the display rate and never waits for the generator: each
frame it applies queued control messages, maps the newest `Features` to params, submits them to the
generator (latest wins), uploads the newest finished generated frame if there is one, runs the
post-FX chain and presents. The panel draws its own window on its own thread (the loop only hands it
a state copy when asked and polls the window events); closing it leaves the output running. Headless
mode runs the identical loop on an EGL context, paced by a clock.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from vjgan.app.actions import AppActions
from vjgan.app.build import StageBuilder
from vjgan.app.config import LiveConfig
from vjgan.app.metrics import LoopMetrics
from vjgan.app.midi import make_live_midi
from vjgan.app.oscfeedback import make_feedback
from vjgan.app.outputs import VideoOutputs, output_params
from vjgan.app.panel_port import LivePanelPort, PanelHost
from vjgan.app.params import app_params
from vjgan.app.tempo_source import TempoSources
from vjgan.app.workers import Worker
from vjgan.core.errors import UserError
from vjgan.core.features import FeatureBus, Features
from vjgan.core.frame import FrameParams
from vjgan.core.paths import PRESETS_DIR, SHADERS_DIR
from vjgan.core.registry import ControlQueue, ParamRegistry
from vjgan.core.stats import LiveStats
from vjgan.render.pngwriter import PngWriter
from vjgan.render.postfx import FrameInputs, PostFXChain
from vjgan.render.upload import FrameUploader

log = logging.getLogger(__name__)

__all__ = ["LiveApp", "LiveConfig", "LiveStats", "app_params", "register_all"]  # importable from here as before

_PEAK_FIELDS = ("onset", "kick", "snare", "percussive")
_EVENT_FIELDS = ("onset_event", "kick_event", "snare_event", "beat_event", "bar_event")


def register_all(registry: ParamRegistry) -> None:
    """Every parameter a default `vjgan live` registers, without opening audio devices or windows (OSC docs)."""
    import moderngl

    from vjgan.control.transport import register_transport
    from vjgan.mapping.engine import MappingEngine
    from vjgan.mapping.presets import load_preset
    from vjgan.mapping.spec import Preset

    try:
        from vjgan.models.default import load_default_generator

        generator = load_default_generator("cpu")
    except (ImportError, UserError):
        from vjgan.models.procedural import ProceduralGenerator

        generator = ProceduralGenerator()
    try:
        MappingEngine(generator, load_preset(PRESETS_DIR / "default.toml"), registry)
    except UserError:
        MappingEngine(generator, Preset(name="empty"), registry)

    class _Inert:
        duration = None

        def __getattr__(self, name: str) -> Any:
            return lambda *a: None

    register_transport(registry, _Inert(), _Inert())
    TempoSources({}, lambda: None, FeatureBus()).register(registry)
    ctx = moderngl.create_standalone_context(backend="egl")
    try:
        PostFXChain(ctx, (16, 16)).register(registry, uniforms=False)
    finally:
        ctx.release()
    registry.replace_group("app", app_params(None))
    registry.replace_group("output", output_params(None))


class LiveApp(AppActions, StageBuilder):
    """The show: stages built by `StageBuilder` (build.py), actions by `AppActions` (actions.py), the
    render loop here, its measurements in `LoopMetrics` (metrics.py), the panel's side in panel_port.py."""

    def __init__(self, config: LiveConfig) -> None:
        self.config = config
        self.registry = ParamRegistry()
        self.queue = ControlQueue(self.registry)
        self.bus = FeatureBus()
        self.metrics = LoopMetrics(log_frames=config.out is not None)
        self.stats: LiveStats = self.metrics.stats
        self.messages: deque[str] = deque(maxlen=50)  # user-facing notes for the panel
        self.presets_dir = PRESETS_DIR  # prototypes and remote preset saves land here
        self.worker = Worker()  # decodes, hashes, network runs and file writes of the actions
        self.audio_in_flight: list[Any] = []  # audio engines a switch started, not yet swapped in
        self._running = False
        self._stop_why: str | None = None  # set by a stop request (signal, window closed): the loop ends
        self._seq = 0
        self._last_tick = 0.0
        self.window = None
        self.panels = PanelHost(LivePanelPort(self))
        self.osc = None
        self.midi = None  # LiveMidi (app/midi.py)
        self.osc_out = None
        self.recorder = None
        self.png = None
        self.crossfade_ms = config.crossfade_ms
        self.preset_path: Path | None = None
        self.last_latent: np.ndarray | None = None
        self._last_feature_frame = 0  # newest analysis frame a displayed frame was mapped from
        self._waited_frame = 0  # newest analysis frame seen while waiting for the display tick
        self._submitted_counts = (0, 0, 0)  # onset/kick/snare counters of the last submitted params
        self._urgent: tuple[int, float] | None = None  # (seq, when) of onset params not yet on screen
        self._last_params: FrameParams | None = None
        self._stage_errors = 0

        self.audio_file = config.audio
        self.media_dirs = self._media_dirs(config)
        self.generator = self._load_generator(config.model, config.gen_device)
        if config.widescreen is not None:  # on the parent's copy first: a model without it fails before anything starts
            self.generator.set_widescreen(config.widescreen)
        self.video = None  # VideoInput
        self.video_encoder = None  # FrameEncoderThread
        self.video_mix = min(max(float(config.video_mix), 0.0), 1.0)
        self.video_used: Any = None  # the EncodedFrame the newest params were made from
        if config.video is not None:
            self._start_video(config.video)
        self.audio = self._make_audio(config.audio, config.device)
        self.rehearsal = self._make_rehearsal()
        self.features: Features | None = None  # what the newest frame was mapped from
        self.mapping = self._make_mapping(config.preset)
        self.mapping.on_pca.append(self._pca_done)
        self.learn = self._make_learn()
        if config.mix_model is not None:  # checked here: a wrong file fails the start with a clear error
            from vjgan.models.mixing import parse_layers
            from vjgan.models.runner import mix_state_for

            mix_state_for(config.mix_model, self.generator)
            parse_layers(config.mix_layers)
        self.gen_thread = self._make_gen_thread()
        if config.widescreen is not None:
            self.gen_thread.set_widescreen(config.widescreen)
        if config.mix_model is not None:
            self.gen_thread.set_mix_model(config.mix_model, config.mix_layers)
        self.sync = None  # SyncHub: leader and/or follower (app/follow.py)
        if config.lead is not None or config.follow is not None:
            from vjgan.app.follow import SyncHub

            self.sync = SyncHub(self, config.lead, config.follow, config.quantise, config.follow_ignore,
                                config.sync_lost_after, config.osc_allow)

        if config.headless:
            from vjgan.render.window import headless_context

            self.ctx = headless_context()
            self.screen = None
        else:
            from vjgan.render.window import OutputWindow

            self.window = OutputWindow(config.size, config.monitor, "vjgan output")
            self.ctx = self.window.ctx
            self.screen = self.ctx.screen
        size = self.window.framebuffer_size() if self.window else config.size
        self.chain = PostFXChain(self.ctx, size, config.shaders_dir or SHADERS_DIR)
        # uniforms are the mapping engine's targets (/vjgan/target/shader.*); the chain adds the on/off switches
        self.chain.register(self.registry, uniforms=False)
        self.uploader = FrameUploader(self.ctx)
        self.uploader.region = config.region
        self._register_app_params()
        if config.out is not None:
            config.out.mkdir(parents=True, exist_ok=True)
            self.png = PngWriter(config.out)
        if config.record is not None:
            self._start_recorder(config.record)
        self.outputs = VideoOutputs(self.note, config.fps)  # NDI, v4l2, Syphon, Spout (vjgan/app/outputs.py)
        self.outputs.register(self.registry)
        for kind, target in config.outputs.items():
            self.outputs.start(kind, target)
        if not config.headless and config.panel:
            self.open_panel()
        self._register_transport()
        self.midi = make_live_midi(self)  # app/midi.py: --midi-in / --midi-out, bindings in presets
        self.tempo_sources = self._make_tempo_sources()  # tempo_source.py: analysis, Link, MIDI clock, leader
        self.feedback = make_feedback(self)  # OscFeedback: changed values to controllers (oscfeedback.py)
        if config.osc_port is not None:
            self._start_osc(config.osc_host, config.osc_port)
        if config.osc_out:
            self._start_osc_out(config.osc_out)

    # ---- per frame: the video latent, the panel ---------------------------------------------------
    def _video_latent(self, latent: np.ndarray, edits: np.ndarray | None = None) -> np.ndarray:
        """The mapped latent with the newest encoded video frame mixed in (replaced at mix 1). The
        mapping's semantic edits (`edits`: directions, PCA) apply to the video's latent too."""
        enc = self.video_encoder.latest() if self.video_encoder is not None else None
        # a failed selection falls back to black: keep the mapped latents rather than re-render black
        if enc is None or self.video is None or (self.video.spec == "black" and self.config.video != "black"):
            self.video_used = None
            return latent
        self.video_used = enc
        mix = self.video_mix
        video = enc.latent if edits is None else enc.latent + edits
        return video if mix >= 1.0 else (mix * video + (1.0 - mix) * latent).astype(np.float32)

    @property
    def panel(self) -> Any:
        """The open ControlPanel, or None (--no-panel, no display, closed by the user)."""
        return self.panels.panel

    def open_panel(self) -> None:
        self.panels.open()
        if self.window:
            self.window.make_current()

    # ---- the loop --------------------------------------------------------------------------------
    def start(self) -> None:
        self.audio.start()
        self.chain.watch()  # shader files are scanned off this thread from now on
        self.gen_thread.start()
        self.tempo_sources.start()
        if self.video_encoder is not None:
            self.video_encoder.start()
        for part in (self.feedback, self.osc, self.osc_out, self.sync, self.midi):
            if part is not None:
                part.start()
        self._running = True
        self._wait_first_frame()
        self._last_tick = time.perf_counter()

    def _wait_first_frame(self, timeout: float = 10.0) -> None:
        """Start-up only: give the generator a moment so the show does not open on black frames."""
        params = self.mapping.step(self.bus.latest)
        self.gen_thread.submit(params.generator)
        deadline = time.perf_counter() + timeout
        while self.gen_thread.latest() is None and time.perf_counter() < deadline and self._stop_why is None:
            time.sleep(0.01)

    def request_stop(self, why: str) -> None:
        """Ask the loop to end after the current frame. Signal handlers call this, so it only sets a flag (the
        loop logs the reason: no logging lock taken inside a handler)."""
        if self._stop_why is None:
            self._stop_why = why

    def stop(self) -> None:
        """End every part; each is bounded (the generator child is killed after 1 s), so a stop request
        ends the process within ~2 s. The per-part times go to the debug log."""
        self._running = False
        t0 = time.perf_counter()
        took: dict[str, float] = {}

        def timed(name: str, fn: Any) -> None:
            t = time.perf_counter()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - shutting down: report and continue
                log.warning("stopping %s: %s", name, exc)
            took[name] = (time.perf_counter() - t) * 1000

        if self.sync is not None:
            timed("sync", self.sync.stop)  # the follower says bye; the leader's followers notice the silence
        timed("mapping", self.mapping.stop_loader)
        timed("worker", lambda: self.worker.stop(1.0))  # a job in progress gets 1 s, queued ones are dropped
        timed("shader watcher", self.chain.unwatch)
        for part in (self.tempo_sources, self.osc, self.feedback, self.osc_out, self.midi, self.video_encoder,
                     self.video, self.gen_thread, self.audio, *self.audio_in_flight):
            if part is not None:
                timed(type(part).__name__, part.stop)
        for panel in self.panels.take_all():
            timed("panel", panel.close)  # joins the panel thread (at most one panel frame), then its window
        if self.png is not None:
            timed("png", self.png.close)
        if self.recorder is not None:
            timed("recorder", self.recorder.close)
        timed("outputs", self.outputs.close)
        if self.config.out is not None:
            (self.config.out / "frames.json").write_text(json.dumps({"fps": self.config.fps,
                                                                     "frames": self.metrics.frame_log}))
        if self.window is not None:
            timed("window", self.window.close)
        log.debug("stopped in %.0f ms (%s)", (time.perf_counter() - t0) * 1000,
                  ", ".join(f"{k} {v:.0f}" for k, v in took.items()))

    def run(self) -> int:
        """The show until --frames, the output window is closed, or SIGTERM / SIGINT: each ends it the same
        way (stop(): the recording finished, child processes ended, shared memory freed); returns 0."""
        from vjgan.app.shutdown import StopSignals

        with StopSignals(self.request_stop):
            self.start()
            try:
                from tqdm import tqdm

                bar = tqdm(total=self.config.frames, unit="frame", desc="live", disable=not self.config.frames)
                while self._running and self._stop_why is None:
                    if self.config.frames is not None and self.stats.frames >= self.config.frames:
                        break
                    if self.window is not None and self.window.should_close():
                        self.request_stop("output window closed")
                        break
                    self.step()
                    bar.update(1)
                    self._pace()
                bar.close()
                if self._stop_why is not None:
                    log.info("%s: stopping the show%s", self._stop_why,
                             f", finishing the recording {self.config.record}" if self.recorder is not None else "")
            finally:
                self.stop()
        return 0

    def _pace(self) -> None:
        """Hold the display rate (Xvfb and headless have no vsync; with vsync this rarely sleeps)."""
        interval = 1.0 / self.config.fps
        target = self._last_tick + interval
        if self._sleep_until(target):
            self.stats.onset_frames += 1
            return  # an onset's generated frame arrived: it is shown now, the tick stays where it was
        now = time.perf_counter()
        dt = now - self._last_tick
        self._last_tick = now if dt > 2 * interval else target  # resync after a stall, else no drift
        self.metrics.tick(dt, interval)

    def step(self) -> None:
        """One displayed frame."""
        t0 = time.perf_counter()
        self.worker.drain()  # results of slow actions: applied here, cheaply
        self.queue.drain(t0)
        features = self._frame_features()
        self.features = features
        if self.sync is not None and self.sync.frame(features, t0):  # changes held for this beat
            self.queue.drain(t0)
        params = self._map_and_submit(features, t0)
        t1 = time.perf_counter()

        frame = self.gen_thread.latest()
        uploaded = False
        if frame is not None:
            uploaded = self.uploader.upload(frame)
            if self._urgent is not None and frame.seq >= self._urgent[0]:
                self._urgent = None
        t2 = time.perf_counter()

        if self.chain.poll():  # compiled what the watcher thread found changed (cheap when nothing did)
            self.mapping.effects_changed({name: fx.params for name, fx in self.chain.effects.items()})
        self.chain.set_uniforms(params.shader)
        current = self.uploader.current
        out_size = self.window.framebuffer_size() if self.window else self.config.size
        if out_size[0] > 0 and out_size[1] > 0:
            self.chain.resize(out_size)
        inputs = FrameInputs(time=features.time, onset=features.onset, beat_phase=features.beat_phase,
                             rms=features.rms)
        if current is not None:
            mix = 1.0
            if self.crossfade_ms > 0 and self.uploader.previous is not None:
                mix = min(1.0, (t2 - self.uploader.frame_wall) * 1000.0 / self.crossfade_ms)
            prev = self.uploader.previous if mix < 1.0 else None
            if prev is not None:
                self.chain.render(prev, current, mix, inputs)
            else:
                self.chain.render(current, None, 1.0, inputs)
        t3 = time.perf_counter()

        image = None
        if self.outputs.wants_frame() or self.png is not None or self.recorder is not None:
            image = self.chain.read()  # one readback for all of them
        if self.window is not None and self.screen is not None:
            self.chain.present(self.screen, (0, 0, *out_size))
            self.window.swap()
        t4 = time.perf_counter()
        if self.png is not None and image is not None:
            self.png.add(self.stats.frames, image)
        if self.recorder is not None and image is not None:
            self.recorder.add(image, features.time, t4)
            self.stats.recorder_dropped = self.recorder.stats.dropped
        if image is not None:
            self.outputs.send(image, features.time)  # never waits: each output drops when behind

        # the panel draws on its own thread: here only its window's close flag, a state copy when it
        # asked for one, and its frame costs for the stats; nothing waits for a panel frame
        self.panels.service(self.metrics.stage_hist["panel"])
        if self.window is not None:
            import glfw

            glfw.poll_events()
        self.metrics.account(features, frame, uploaded, (t0, t1, t2, t3, t4), getattr(self.audio, "stats", None),
                             getattr(self.gen_thread, "stats", None), self.mapping.cur.preset.name)

    def _map_and_submit(self, features: Features, now: float) -> FrameParams:
        """Features → params → generator (latest wins, never waits). Once per displayed frame,
        and between display ticks as soon as an onset is analysed (`_sleep_until`)."""
        try:
            params: FrameParams = self.mapping.step(features, now)
            self._last_params = params
        except Exception as exc:  # a mapping bug must not end the show: keep the last good params
            if self._last_params is None:
                raise
            params = self._last_params
            self._stage_errors += 1
            if self._stage_errors in (1, 10, 100) or self._stage_errors % 1000 == 0:
                log.exception("mapping step failed (%d times), showing the last good params: %s",
                              self._stage_errors, exc)
        if self.video_encoder is not None:  # on a copy: _last_params stays the mapping's own output
            self.video_encoder.set_bends(params.generator.encoder_bends)
            gen = replace(params.generator, latent=self._video_latent(params.generator.latent, params.latent_offset))
            params = replace(params, generator=gen)
        if not params.generator.seq:  # a stand-in mapping without its own counter
            self._seq += 1
            params.generator.seq = self._seq
        self.metrics.submitted(params.generator.seq, features.wall, features.time)
        # params made for a new onset cut a routine frame in progress short (GeneratorThread preemption)
        counts = (features.onset_count, features.kick_count, features.snare_count)
        urgent = counts != self._submitted_counts and any(counts)
        self._submitted_counts = counts
        self.gen_thread.submit(params.generator, features.time, urgent=urgent)
        if urgent:
            self._urgent = (params.generator.seq, now)
        self.last_latent = params.generator.latent
        return params

    def _frame_features(self) -> Features:
        """The newest Features, with the peaks and events of every analysis frame since the last render.

        Analysis runs at 100 fps and onsets last one or two hops; sampling only the newest snapshot at
        30-60 fps would miss most of them, so transients are max-held and events or-ed across the gap.
        """
        live = self._live_features()
        feed = self.rehearsal
        player = self._player()
        if feed is None or player is None or not feed.ready:
            return live
        # what the audience hears now: the player renders `device_latency` ahead of the speakers
        position = player.file_position - float(getattr(player, "device_latency", 0.0))
        duration = float(getattr(player, "duration", 0.0) or 0.0)
        return feed.features(position % duration if duration > 0 else max(position, 0.0), fallback=live)

    def _sleep_until(self, deadline: float) -> bool:
        """Wait for the next display tick; but when the live analysis reports a new onset meanwhile, map
        and submit at once, so the generator starts on it up to a display interval earlier; and when the
        frame made for an onset is ready before the tick, return True at once to show it (late-latching:
        with vsync the swap then lands on the coming vblank instead of the one after)."""
        while (left := deadline - time.perf_counter()) > 0:
            if self._urgent is not None:
                frame = self.gen_thread.latest()
                if frame is not None and frame.seq >= self._urgent[0]:
                    self._urgent = None
                    return True
                if time.perf_counter() - self._urgent[1] > 0.5:  # the generator is stuck: stop watching
                    self._urgent = None
            feed = self.rehearsal
            if feed is not None and feed.ready and self._player() is not None:  # events come from the file
                time.sleep(left)
                return False
            if self.bus.latest.frame < self._waited_frame:  # a new audio source counts from 0 again
                self._waited_frame = self.bus.latest.frame
            f = self.bus.wait_newer(self._waited_frame, min(left, 0.001) if self._urgent is not None else left)
            if f.frame <= self._waited_frame:
                continue  # timed out: the loop ends at the deadline
            self._waited_frame = f.frame
            if (f.onset_count, f.kick_count, f.snare_count) != self._submitted_counts:
                # peaks since the last displayed frame, which still gets them (the shaders' onset)
                self._map_and_submit(self._live_features(consume=False), time.perf_counter())
        return False

    def _live_features(self, consume: bool = True) -> Features:
        """The newest snapshot with the transients of every analysis frame since the last displayed frame;
        `consume=False` leaves them for that frame too."""
        latest = self.bus.latest
        gap = latest.frame - self._last_feature_frame
        if consume:
            self._last_feature_frame = latest.frame
        if gap <= 1:
            return latest
        recent = [f for f in self.bus.history(min(gap, 50)) if f.frame > latest.frame - gap]
        if not recent:
            return latest
        peaks = {k: max(getattr(f, k) for f in recent) for k in _PEAK_FIELDS}
        events = {k: any(getattr(f, k) for f in recent) for k in _EVENT_FIELDS}
        return replace(latest, **peaks, **events)
