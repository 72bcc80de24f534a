"""Building the live app's stages (generator, audio, rehearsal feed, mapping, OSC learn, generator thread,
OSC, recorder, video input), as a mixin of `LiveApp`.

Why apart from the loop: these run at start-up or when an action swaps a stage (an audio switch runs
`_make_audio` on the worker); the loop only uses what they made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vjgan.app.actions import _CAMERA_SPEC
from vjgan.app.config import LiveConfig
from vjgan.app.params import app_params
from vjgan.core.errors import UserError
from vjgan.core.features import FeatureBus
from vjgan.core.paths import default_media_dirs
from vjgan.core.registry import ControlQueue, ParamRegistry

log = logging.getLogger(__name__)


class StageBuilder:
    """Mixin: needs the LiveApp attributes annotated below."""

    config: LiveConfig
    registry: ParamRegistry
    queue: ControlQueue
    bus: FeatureBus
    presets_dir: Path
    generator: Any
    audio: Any
    audio_file: str | None
    mapping: Any
    learn: Any
    chain: Any
    video: Any
    video_encoder: Any
    osc: Any
    osc_out: Any
    feedback: Any
    recorder: Any
    preset_path: Path | None

    note: Callable[[str], None]  # AppActions.note
    offload: Callable[..., None]  # AppActions.offload
    _pca_done: Callable[[Any], None]  # AppActions._pca_done

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

    def _player(self, audio: Any = None) -> Any:
        """The file player when a file is playing (it has a transport), else None (live input, silence)."""
        source = getattr(audio or self.audio, "source", None)
        return source if callable(getattr(source, "seek", None)) else None

    def _make_rehearsal(self, audio: Any = None) -> Any:
        """Rehearsal with a looped file (`audio`'s, default the running one): features from its whole-track
        analysis when there is one."""
        player = self._player(audio)
        if player is None or self.config.rehearsal is False or self.config.follow is not None:
            return None  # a follower's beat is the leader's, through the live analysis's clock input
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

        # self.presets_dir is PRESETS_DIR, unless a test moved it (vjgan.app.live.PRESETS_DIR)
        if preset is None and not (self.presets_dir / "default.toml").is_file():
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
                             learn=self.learn, feedback=self.feedback)

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

    def _make_tempo_sources(self) -> Any:
        """The tempo-source selector with every enabled external clock (one line each), its OSC/panel param."""
        from vjgan.app.tempo_source import TempoSources

        clocks: dict[str, Any] = {}
        off: dict[str, str] = {}  # enabled but failed: why
        if self.config.link or self.config.tempo_source == "link":
            from vjgan.control.link import LinkClock

            link = LinkClock()
            if link.start():
                clocks["link"] = link
            else:
                off["link"] = link.status()
                self.note(off["link"])
        follower = getattr(getattr(self, "sync", None), "follower", None)
        if follower is not None:  # --follow: the leader's clock (vjgan/control/follower.py), selected at start
            clocks["leader"] = follower
        midi = getattr(self, "midi", None)  # app/midi.py, made before this
        if midi is not None and midi.input.port is not None:
            clocks["midi"] = midi.clock  # MIDI clock on the --midi-in port
        elif self.config.midi_in:
            off["midi"] = "the MIDI input did not open (see the notes)"
        sources = TempoSources(clocks, lambda: self.audio, self.bus, self.note, off=off)
        sources.register(self.registry)
        try:
            sources.select("leader" if follower is not None else self.config.tempo_source)
        except UserError as exc:
            log.warning("%s", exc)
        return sources

    def _register_app_params(self) -> None:
        self.registry.replace_group("app", app_params(self))

    @staticmethod
    def _media_dirs(config: LiveConfig) -> list[Path]:
        dirs = list(config.media_dirs) if config.media_dirs is not None else default_media_dirs()
        for local in (config.audio, config.video):  # a file the user started with: its folder's neighbours too
            if local and not _CAMERA_SPEC.fullmatch(local) and Path(local).is_file():
                dirs.append(Path(local).resolve().parent)
        return dirs
