"""What `vjgan live` was asked for: the command line as one dataclass (`LiveConfig`), read by every part of
the live app; apart from the loop so the parts that build stages need not import it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
    osc_feedback: list[tuple[str, int]] = field(default_factory=list)  # changed values to these (host, port)
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
    # several outputs in step (app/follow.py, docs/live.md "Two projectors")
    lead: tuple[str, int] | None = None  # listen for followers on (host, port)
    follow: tuple[str, int] | None = None  # the leader's (host, port)
    quantise: str = "beat"  # leader: mirrored changes land on the next "beat", "bar", or at once ("off")
    follow_ignore: tuple[str, ...] = ()  # follower: address prefixes of mirrored changes it ignores
    sync_lost_after: float = 1.5  # follower: seconds without the leader's clock before it free-runs
    region: tuple[float, float] | None = None  # show only this horizontal slice (0..1) of the generated frame
    widescreen: str | None = None  # StyleGAN: "mirror" (twice as wide) or "16:9"
    mix_model: str | None = None  # a checkpoint the target model.mix blends the weights toward (models/live_mix.py)
    mix_layers: str = ""  # its weight per resolution, "4-16=0,32-128=1" (mixing.parse_layers); unlisted: 1
    # folders OSC and the panel may read audio, video and images from (None: paths.default_media_dirs());
    # the folders of the --audio and --video files are always added
    media_dirs: list[Path] | None = None
    # video outs started with the show, kind → target: {"ndi": NAME, "v4l2": "/dev/videoN", "syphon": NAME,
    # "spout": NAME} (vjgan/app/outputs.py); the panel and OSC start and stop them live
    outputs: dict[str, str] = field(default_factory=dict)
    link: bool = False  # join an Ableton Link session: a tempo source, and led by vjgan's tempo otherwise
    tempo_source: str = "analysis"  # the clock the beat follows at start (vjgan.core.clock.TEMPO_SOURCES)
    midi_in: str | None = None  # MIDI input port (a name, part of one, or "virtual[:NAME]"); None = no MIDI in
    midi_out: str | None = None  # MIDI feedback out to the bound controls (same forms)
    midi_api: str = "auto"  # "jack", "alsa", or "auto": JACK when a JACK server runs, else ALSA
