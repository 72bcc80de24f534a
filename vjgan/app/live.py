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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vjgan.app.actions import _CAMERA_SPEC, AppActions
from vjgan.app.panel_port import LivePanelPort, PanelHost
from vjgan.app.workers import Worker
from vjgan.core.errors import UserError
from vjgan.core.features import FeatureBus, Features
from vjgan.core.frame import FrameParams
from vjgan.core.paths import PRESETS_DIR, SHADERS_DIR, default_media_dirs
from vjgan.core.registry import ControlQueue, Param, ParamRegistry
from vjgan.core.stats import STAGES, LiveStats
from vjgan.render.pngwriter import PngWriter
from vjgan.render.postfx import FrameInputs, PostFXChain
from vjgan.render.upload import FrameUploader

log = logging.getLogger(__name__)

__all__ = ["LiveApp", "LiveConfig", "LiveStats", "app_params", "register_all"]  # importable from here as before

_PEAK_FIELDS = ("onset", "kick", "snare", "percussive")
_EVENT_FIELDS = ("onset_event", "kick_event", "snare_event", "beat_event", "bar_event")


@dataclass
class LiveConfig:
    audio: str | None = None  # file to play on loop; None = live input
    device: str | None = None  # audio input device (name or index)
    model: str | None = None  # None/"default" = embedded model, "procedural", or a checkpoint path
    preset: str | None = None
    headless: bool = False
    frames: int | None = None  # stop after N frames (None = until closed / Ctrl-C)
    out: Path | None = None  # headless: write PNGs here
    size: tuple[int, int] = (1280, 720)
    monitor: int | None = None
    fps: float = 60.0  # display rate; headless paces to it, a window also waits for vsync
    panel: bool = True
    osc_port: int | None = None
    osc_host: str = "127.0.0.1"
    osc_allow: list[str] | None = None  # sender IPs/networks accepted; None = anyone who reaches osc_host
    osc_out: list[tuple[str, int]] = field(default_factory=list)  # feature streams to these (host, port)
    record: Path | None = None
    crossfade_ms: float = 0.0
    gen_device: str = "cpu"
    gen_process: bool = True  # the generator in a child process (False: a thread of this process)
    gen_threads: int = 1  # torch threads of the generator process (1 is fastest beside the app on 2 cores)
    loop: bool = True
    shaders_dir: Path | None = None  # default: the repo's shaders/ (VJGAN_SHADERS overrides)
    # looped file: beats/downbeats/sections from its cached whole-track analysis. None = when cached,
    # True = also analyse in the background when not cached, False = always the live analyzer
    rehearsal: bool | None = None
    analyze: bool = False  # analyse the file (cached, progress bar) before the show starts
    video: str | None = None  # VAE-GAN: re-render this video source (camera, camera:N, /dev/videoN, file, black)
    video_mix: float = 1.0  # 1 = the encoded frame's latent replaces the mapped latent, 0 = mapping only
    # folders OSC and the panel may read audio, video and images from (None: paths.default_media_dirs());
    # the folders of the --audio and --video files are always added
    media_dirs: list[Path] | None = None


def app_params(app: LiveApp | None) -> list[tuple[Param, Any]]:
    """The app's own parameters (group "app"); `app=None` gives inert callbacks (docs, address listings)."""

    def call(name: str) -> Any:
        return (lambda v: getattr(app, name)(v)) if app is not None else (lambda v: None)

    return [
        (Param("/vjgan/app/crossfade_ms", "float", "crossfade between generated frames (ms)", 0, 1000,
               app.crossfade_ms if app else 0.0, "app"), call("set_crossfade")),
        (Param("/vjgan/app/audio/file", "str",
               "switch the audio source to this file (looped), inside the media folders (--media-dir)", group="app"),
         call("switch_audio_file")),
        (Param("/vjgan/app/audio/device", "str", "switch the audio source to this input device", group="app"),
         call("switch_audio_device")),
        (Param("/vjgan/app/tempo/auto", "trigger", "drop a tapped/nudged tempo: follow the audio again",
               group="app"), call("auto_tempo")),
        (Param("/vjgan/app/video/source", "str",
               "VAE-GAN: re-render this video source (camera, camera:N, /dev/videoN, black, "
               "or a file in the media folders)",
               group="app"), call("select_video")),
        (Param("/vjgan/app/video/mix", "float", "VAE-GAN: 1 = the video's latent, 0 = the mapped latent", 0, 1,
               app.video_mix if app else 1.0, "app"), call("set_video_mix")),
        (Param("/vjgan/app/route/add", "str", "add a mapping route: 'SOURCE -> TARGET'", group="app"),
         call("add_route")),
        (Param("/vjgan/app/route/remove", "int", "remove mapping route N", 0, 10_000, group="app"),
         call("remove_route")),
        (Param("/vjgan/app/latent/seeds", "str", "latent seeds, comma separated (12 = one per pitch class)",
               group="app"), call("set_seeds")),
        (Param("/vjgan/app/latent/morph_to", "str",
               "latent set B, the far end of the latent.section fader: seeds 'a,b,...' (one seed: every latent "
               "morphs to it) or a prototype name in presets/prototypes", group="app"), call("morph_to")),
        (Param("/vjgan/app/latent/save_prototype", "str",
               "save the current latent as presets/prototypes/NAME.npy", group="app"), call("save_prototype")),
        (Param("/vjgan/app/latent/encode_prototype", "str",
               "VAE-GAN: 'NAME=PATH' encodes an image or a folder of images (in the media folders) into "
               "presets/prototypes/NAME.npy",
               group="app"), call("encode_prototype")),
        (Param("/vjgan/app/pca/compute", "trigger",
               "PCA explorer: compute the GANSpace components of the running generator now (worker thread; "
               "the mapping targets latent.pca.<i> also start it on first use)", group="app"),
         call("compute_pca")),
    ]


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
    ctx = moderngl.create_standalone_context(backend="egl")
    try:
        PostFXChain(ctx, (16, 16)).register(registry, uniforms=False)
    finally:
        ctx.release()
    registry.replace_group("app", app_params(None))


class LiveApp(AppActions):
    def __init__(self, config: LiveConfig) -> None:
        self.config = config
        self.registry = ParamRegistry()
        self.queue = ControlQueue(self.registry)
        self.bus = FeatureBus()
        self.stats = LiveStats()
        self.messages: deque[str] = deque(maxlen=50)  # user-facing notes for the panel
        self.presets_dir = PRESETS_DIR  # prototypes and remote preset saves land here
        self.worker = Worker()  # decodes, hashes, network runs and file writes of the actions
        self.audio_in_flight: list[Any] = []  # audio engines a switch started, not yet swapped in
        self._running = False
        self._stop_why: str | None = None  # set by a stop request (signal, window closed): the loop ends
        self._seq = 0
        self._seq_info: dict[int, tuple[float, float]] = {}  # params seq → (features wall, audio time)
        self._frame_times: deque[float] = deque(maxlen=600)
        self._stage_hist: dict[str, deque[float]] = {s: deque(maxlen=120) for s in STAGES}
        self._last_tick = 0.0
        self.frame_log: list[dict[str, float]] = []
        self.window = None
        self.panels = PanelHost(LivePanelPort(self))
        self.osc = None
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
        self.gen_thread = self._make_gen_thread()

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
        self._register_app_params()
        if config.out is not None:
            config.out.mkdir(parents=True, exist_ok=True)
            self.png = PngWriter(config.out)
        if config.record is not None:
            self._start_recorder(config.record)
        if not config.headless and config.panel:
            self.open_panel()
        self._register_transport()
        if config.osc_port is not None:
            self._start_osc(config.osc_host, config.osc_port)
        if config.osc_out:
            self._start_osc_out(config.osc_out)

    # ---- building the stages ---------------------------------------------------------------------
    def _load_generator(self, model: str | None, device: str) -> Any:
        from vjgan.models.process import load_model

        return load_model(model, device)

    def _make_audio(self, audio_file: str | None, device: str | None) -> Any:
        from vjgan.audio.engine import AudioEngine
        from vjgan.audio.sources import make_source

        dev: str | int | None = int(device) if isinstance(device, str) and device.isdigit() else device
        source = make_source(audio_file, device=dev, loop=self.config.loop, play=True)
        return AudioEngine(source, self.bus)

    def _start_video(self, spec: str) -> None:
        """Camera/file → encoder thread → latents. A source that cannot be opened is a note, not an end."""
        if not hasattr(self.generator, "encode_uint8"):
            raise UserError(f"--video {spec}: the model ({type(self.generator).__name__}) has no image encoder; "
                            "re-rendering video needs a VAE-GAN (vjgan train, then --model PATH)")
        from vjgan.models.frame_encoder import FrameEncoderThread
        from vjgan.video.source import VideoInput

        self.video = VideoInput()
        self.video_encoder = FrameEncoderThread(self.video, self.generator)
        self._use_video(spec)  # the command line's own choice: not confined

    def _use_video(self, spec: str) -> None:
        assert self.video is not None
        if self.video.select(str(spec)):
            self.note(f"video: re-rendering {spec}")
        else:
            self.note(f"video: {self.video.last_error}; the show goes on with the mapped latents")

    def set_video_mix(self, mix: float) -> None:
        self.video_mix = float(mix)

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

    def _player(self, audio: Any = None) -> Any:
        """The file player when a file is playing (it has a transport), else None (live input, silence)."""
        source = getattr(audio or self.audio, "source", None)
        return source if callable(getattr(source, "seek", None)) else None

    def _make_rehearsal(self, audio: Any = None) -> Any:
        """Rehearsal with a looped file (`audio`'s, default the running one): features from its whole-track
        analysis when there is one."""
        player = self._player(audio)
        if player is None or self.config.rehearsal is False:
            return None
        from vjgan.audio.trackanalysis import RehearsalFeed, analyze_track

        path = getattr(player, "path", None) or self.audio_file
        if self.config.analyze:
            analyze_track(path, progress=True)  # cached: the feed below finds it
        feed = RehearsalFeed(path, analyze_if_missing=bool(self.config.rehearsal))
        if feed.ready:
            self.note(f"rehearsal: beats, bars and sections of {Path(path).name} from its cached analysis")
        elif self.config.rehearsal:
            self.note(f"rehearsal: analysing {Path(path).name} in the background; live analysis until then")
        else:
            self.note(f"no cached analysis of {Path(path).name}: live analysis (vjgan live --analyze, or "
                      "vjgan render FILE --analyze-only, prepares one for rehearsal)")
        return feed

    def _make_mapping(self, preset: str | None) -> Any:
        from vjgan.mapping.engine import MappingEngine
        from vjgan.mapping.presets import find_preset, load_preset
        from vjgan.mapping.spec import Preset

        if preset is None and not (PRESETS_DIR / "default.toml").is_file():
            log.warning("no presets/default.toml: starting with an empty preset")
            spec = Preset(name="empty")
        else:
            path = find_preset(preset or "default")
            spec = load_preset(path)
            self.preset_path = path
        kwargs: dict[str, Any] = {"presets_dir": self.presets_dir}
        if self.config.shaders_dir is not None:  # targets must name the effects this chain will run
            from vjgan.core.effects import available_effects

            kwargs["effects"] = available_effects(self.config.shaders_dir)
        try:
            engine = MappingEngine(self.generator, spec, self.registry, **kwargs)
        except UserError as exc:
            if preset is not None:
                raise  # the user asked for this preset: tell them what is wrong with it
            self.note(f"default preset does not fit this model, starting with an empty preset: {exc}")
            engine = MappingEngine(self.generator, Preset(name="empty"), self.registry, **kwargs)
        engine.start_loader(watch=True)  # hot reload of the preset file, background loads
        engine.offload = self.offload  # preset writes and reseeds run on the worker
        return engine

    def _make_learn(self) -> Any:
        """OSC learn bindings live in presets (table [osc]): saved with the live state, replaced on load."""
        from vjgan.control.learn import OscLearn

        learn = OscLearn(self.registry)

        def activate(preset: Any) -> None:
            learn.load_dict(preset.extra.get("osc", {}), where=f"preset {preset.name!r} [osc]")

        self.mapping.extra_providers["osc"] = learn.to_dict
        self.mapping.on_activate.append(activate)
        try:
            activate(self.mapping.preset)  # the start-up preset was compiled before this listener existed
        except UserError as exc:
            self.note(f"OSC bindings not loaded: {exc}")
        return learn

    def _make_gen_thread(self) -> Any:
        """The generator in its own process by default (no GIL shared with the analysis and this loop;
        see models/process.py), or as a thread of this one (`gen_process=False`)."""
        if self.config.gen_process:
            from vjgan.models.process import GeneratorProcess

            return GeneratorProcess(self.config.model, self.generator, device=self.config.gen_device,
                                    threads=self.config.gen_threads)
        from vjgan.models.runner import GeneratorThread

        return GeneratorThread(self.generator, device=self.config.gen_device)

    def _start_osc(self, host: str, port: int) -> None:
        from vjgan.control.osc import OscServer

        self.osc = OscServer(self.registry, self.queue, host=host, port=port, allow=self.config.osc_allow,
                             learn=self.learn)

    def _start_osc_out(self, targets: list[tuple[str, int]]) -> None:
        from vjgan.control.osc_out import OscOut

        self.osc_out = OscOut(self.bus, targets)

    def _register_transport(self) -> None:
        from vjgan.control.transport import register_transport

        player = self._player()
        tempo = self.audio if callable(getattr(self.audio, "tap", None)) else None  # AudioEngine: tap/nudge
        register_transport(self.registry, player, tempo)

    def _start_recorder(self, path: Path) -> None:
        from vjgan.render.record import Recorder

        audio = None
        if self.audio_file:
            from vjgan.audio.decode import load_audio

            audio, sr = load_audio(self.audio_file, sample_rate=44100, mono=False)
            self.recorder = Recorder(path, self.chain.size, self.config.fps, audio, sr)
        else:
            dev = self.config.device
            self.recorder = Recorder(path, self.chain.size, self.config.fps,
                                     live_device=int(dev) if dev and dev.isdigit() else dev)

    def _register_app_params(self) -> None:
        self.registry.replace_group("app", app_params(self))

    # ---- actions (render thread, via the control queue) ------------------------------------------
    @staticmethod
    def _media_dirs(config: LiveConfig) -> list[Path]:
        dirs = list(config.media_dirs) if config.media_dirs is not None else default_media_dirs()
        for local in (config.audio, config.video):  # a file the user started with: its folder's neighbours too
            if local and not _CAMERA_SPEC.fullmatch(local) and Path(local).is_file():
                dirs.append(Path(local).resolve().parent)
        return dirs

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
        if self.video_encoder is not None:
            self.video_encoder.start()
        for part in (self.osc, self.osc_out):
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

        timed("mapping", self.mapping.stop_loader)
        timed("worker", lambda: self.worker.stop(1.0))  # a job in progress gets 1 s, queued ones are dropped
        timed("shader watcher", self.chain.unwatch)
        for part in (self.osc, self.osc_out, self.video_encoder, self.video, self.gen_thread, self.audio,
                     *self.audio_in_flight):
            if part is not None:
                timed(type(part).__name__, part.stop)
        for panel in self.panels.take_all():
            timed("panel", panel.close)  # joins the panel thread (at most one panel frame), then its window
        if self.png is not None:
            timed("png", self.png.close)
        if self.recorder is not None:
            timed("recorder", self.recorder.close)
        if self.config.out is not None:
            (self.config.out / "frames.json").write_text(json.dumps({"fps": self.config.fps,
                                                                     "frames": self.frame_log}))
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
        self._frame_times.append(dt * 1000.0)
        if dt > 2 * interval:
            self.stats.late_frames += 1

    def step(self) -> None:
        """One displayed frame."""
        t0 = time.perf_counter()
        self.worker.drain()  # results of slow actions: applied here, cheaply
        self.queue.drain(t0)
        features = self._frame_features()
        self.features = features
        params = self._map_and_submit(features, t0)
        t1 = time.perf_counter()

        frame = self.gen_thread.latest()
        uploaded = False
        if frame is not None:
            uploaded = self.uploader.upload(frame)
            if self._urgent is not None and frame.seq >= self._urgent[0]:
                self._urgent = None
        t2 = time.perf_counter()

        self.chain.poll()  # compiles what the watcher thread found changed (cheap when nothing did)
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
        if self.png is not None or self.recorder is not None:
            image = self.chain.read()
        if self.window is not None and self.screen is not None:
            self.chain.present(self.screen, (0, 0, *out_size))
            self.window.swap()
        t4 = time.perf_counter()
        if self.png is not None and image is not None:
            self.png.add(self.stats.frames, image)
        if self.recorder is not None and image is not None:
            self.recorder.add(image, features.time, t4)
            self.stats.recorder_dropped = self.recorder.stats.dropped

        # the panel draws on its own thread: here only its window's close flag, a state copy when it
        # asked for one, and its frame costs for the stats; nothing waits for a panel frame
        self.panels.service(self._stage_hist["panel"])
        if self.window is not None:
            import glfw

            glfw.poll_events()
        self._account(features, frame, uploaded, (t0, t1, t2, t3, t4))

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
        self._seq_info[params.generator.seq] = (features.wall, features.time)
        if len(self._seq_info) > 512:
            for k in sorted(self._seq_info)[:256]:
                del self._seq_info[k]
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

    def _account(self, features: Features, frame: Any, uploaded: bool, ts: tuple[float, ...]) -> None:
        t0, t1, t2, t3, t4 = ts
        s = self.stats
        s.frames += 1
        astats = getattr(self.audio, "stats", None)
        gstats = getattr(self.gen_thread, "stats", None)
        hist = self._stage_hist
        hist["audio"].append(float(getattr(astats, "analysis_ms_p50", 0.0) or 0.0))
        hist["mapping"].append((t1 - t0) * 1000)
        if frame is not None:
            hist["generator"].append(float(frame.gen_ms))
        if uploaded:
            hist["upload"].append((t2 - t1) * 1000)
        hist["render"].append((t3 - t2) * 1000)
        hist["display"].append((t4 - t3) * 1000)
        for k, v in hist.items():
            if v:
                s.stage_ms[k] = float(np.median(v))
        s.last_present = t4
        if uploaded and frame.seq in self._seq_info:  # first display of a generated frame
            wall, _ = self._seq_info[frame.seq]
            if wall > 0:
                s.latency_ms = (t4 - wall) * 1000
        if features.wall > 0:
            s.shader_latency_ms = (t4 - features.wall) * 1000
        if gstats is not None:
            s.gen_fps = float(getattr(gstats, "fps", 0.0))
            s.gen_dropped = int(getattr(gstats, "dropped", 0))
            s.gen_ms = float(getattr(gstats, "gen_ms_p50", 0.0))
        s.audio_overflows = int(getattr(astats, "overflows", 0) or 0)
        s.audio_status = str(getattr(astats, "status", "") or "")
        if len(self._frame_times) > 1:
            ft = np.asarray(self._frame_times)
            s.frame_ms_p50 = float(np.percentile(ft, 50))
            s.frame_ms_p99 = float(np.percentile(ft, 99))
            s.render_fps = 1000.0 / max(s.frame_ms_p50, 1e-3)
        if self.config.out is not None:
            seq_wall, seq_time = self._seq_info.get(frame.seq, (0.0, 0.0)) if frame is not None else (0.0, 0.0)
            self.frame_log.append({
                "index": s.frames - 1, "wall": t4, "audio_time": features.time, "onset": features.onset,
                "rms": features.rms, "gen_seq": frame.seq if frame is not None else -1,
                "gen_audio_time": seq_time, "latency_ms": s.latency_ms,
            })
