"""`vjgan live`: the show. Output window + control panel, or headless frames to PNGs."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vjgan.core.clock import TEMPO_SOURCES
from vjgan.core.errors import UserError

if TYPE_CHECKING:
    from vjgan.app.live import LiveConfig

HELP = "run the live show: output window, panel, OSC"


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)[xX](\d+)", text.strip())
    if not m or int(m[1]) < 16 or int(m[2]) < 16:
        raise argparse.ArgumentTypeError(f"--size expects WIDTHxHEIGHT, e.g. 1280x720 (got {text!r})")
    return int(m[1]), int(m[2])


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:9001 (got {text!r})")
    return host, int(port)


def _lead(text: str) -> tuple[str, int]:
    """--lead PORT or HOST:PORT (HOST default: --osc-host's default, loopback)."""
    if text.strip().isdigit():
        text = f"127.0.0.1:{text.strip()}"
    try:
        return _host_port(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"--lead expects PORT or HOST:PORT, e.g. 9100 or 0.0.0.0:9100 "
                                         f"(got {text!r})") from exc


def _follow(text: str) -> tuple[str, int]:
    try:
        return _host_port(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"--follow expects HOST:PORT of the leader, e.g. 192.168.1.10:9100 "
                                         f"(got {text!r})") from exc


_REGIONS = {"full": None, "left": (0.0, 0.5), "right": (0.5, 1.0)}


def _region(text: str) -> tuple[float, float] | None:
    """left, right, full, or X0:X1 fractions of the width (e.g. 0.25:0.75)."""
    if text in _REGIONS:
        return _REGIONS[text]
    a, sep, b = text.partition(":")
    try:
        x0, x1 = float(a), float(b)
    except ValueError:
        x0 = x1 = -1.0
    if not sep or not 0.0 <= x0 < x1 <= 1.0:
        raise argparse.ArgumentTypeError(f"--region expects left, right, full or X0:X1 with 0 <= X0 < X1 <= 1 "
                                         f"(got {text!r})")
    return x0, x1


def add_sync_arguments(parser: argparse.ArgumentParser) -> None:
    """Several outputs in step (docs/live.md, "Two projectors")."""
    parser.add_argument("--lead", type=_lead, metavar="[HOST:]PORT",
                        help="be the leader: followers register on this UDP port (HOST default 127.0.0.1; "
                             "0.0.0.0 for followers on the LAN) and get its clock and every control change")
    parser.add_argument("--follow", type=_follow, metavar="HOST:PORT",
                        help="follow the leader at HOST:PORT: its tempo and beat, its control changes on its beat")
    parser.add_argument("--quantise", choices=("beat", "bar", "off"), default="beat",
                        help="leader: mirrored changes land on the next beat (default), the next bar, or at once")
    parser.add_argument("--follow-ignore", action="append", metavar="GROUP[,...]",
                        help="follower: ignore these mirrored changes: preset, params, latents, or an address "
                             "prefix (repeatable); e.g. 'preset,params' to run its own preset")
    parser.add_argument("--region", type=_region, metavar="left|right|full|X0:X1",
                        help="show only this horizontal part of the generated picture (one projector's half)")
    parser.add_argument("--widescreen", choices=("mirror", "16:9"),
                        help="StyleGAN models: a twice-as-wide picture ('mirror') or 16:9; with --region, "
                             "two projectors show the halves of one panorama")
    parser.add_argument("--mix-model", metavar="CHECKPOINT",
                        help="a second checkpoint of the same architecture ('default' = the embedded model): "
                             "the target model.mix blends the weights toward it live (0 = --model, 1 = it)")
    parser.add_argument("--mix-layers", default="", metavar="SPEC",
                        help="with --mix-model: its weight per resolution, e.g. '4-16=0,32-128=1' (only the fine "
                             "layers move); resolutions not listed: 1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true",
                        help="embedded default model + the generated demo track on loop (the README's run command)")
    parser.add_argument("--audio", metavar="FILE", help="play FILE on loop and react to it (default: live input)")
    parser.add_argument("--device", metavar="NAME|INDEX", help="audio input device (default: the system default)")
    parser.add_argument("--model", metavar="M",
                        help="'default' (embedded), 'procedural' (no network, for testing) or a checkpoint path")
    parser.add_argument("--preset", metavar="P", help="mapping preset: a .toml path or a name in presets/")
    parser.add_argument("--headless", action="store_true", help="no window: render offscreen (EGL)")
    parser.add_argument("--frames", type=int, metavar="N", help="stop after N frames")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write every output frame as a PNG into DIR")
    parser.add_argument("--size", type=_size, default=(1280, 720), metavar="WxH",
                        help="output size (windowed or headless; default 1280x720)")
    parser.add_argument("--monitor", type=int, metavar="N", help="full screen on monitor N (0 = primary)")
    parser.add_argument("--fps", type=float, default=60.0, help="display rate to hold (default 60)")
    parser.add_argument("--no-panel", action="store_true", help="do not open the control panel window")
    parser.add_argument("--crossfade", type=float, default=0.0, metavar="MS",
                        help="crossfade between generated frames over MS milliseconds")
    parser.add_argument("--record", type=Path, metavar="FILE", help="record the output (and audio) to an MP4")
    parser.add_argument("--osc-port", type=int, metavar="PORT", help="listen for OSC on this UDP port (e.g. 9000)")
    parser.add_argument("--osc-host", default="127.0.0.1",
                        help="address to bind OSC to (default 127.0.0.1; 0.0.0.0 accepts the LAN)")
    parser.add_argument("--osc-allow", action="append", metavar="IP[,IP...]",
                        help="accept OSC only from these sender IPs or networks (192.168.1.20, 192.168.1.0/24; "
                             "repeatable); others are dropped and logged. Recommended with --osc-host 0.0.0.0")
    parser.add_argument("--midi-in", metavar="PORT|virtual",
                        help="MIDI input: a port name (or part of one), or 'virtual' / 'virtual:NAME' for a port "
                             "other programs connect to; controls bind by MIDI learn, clock is tempo source 'midi'")
    parser.add_argument("--midi-out", metavar="PORT|virtual",
                        help="MIDI feedback out: bound parameters' values back to the controller (LEDs, motor faders)")
    parser.add_argument("--midi-api", choices=("auto", "jack", "alsa"), default="auto",
                        help="MIDI server: JACK or the ALSA sequencer (default auto: JACK when jackd runs)")
    parser.add_argument("--media-dir", action="append", type=Path, metavar="DIR",
                        help="a folder OSC and the panel may open audio, video and images from (repeatable; "
                             "default: the working folder, ~/Music, ~/Videos, ~/Pictures). The folders of "
                             "--audio and --video are always included")
    parser.add_argument("--shaders", type=Path, metavar="DIR", help="post-FX shader folder (default: shaders/)")
    parser.add_argument("--osc-out", action="append", default=[], type=_host_port, metavar="HOST:PORT",
                        help="stream the audio features as OSC to HOST:PORT (repeatable)")
    parser.add_argument("--osc-feedback", action="append", default=[], type=_host_port, metavar="HOST:PORT",
                        help="send every changed parameter value to the controller at HOST:PORT (repeatable; "
                             "controllers can also register with /vjgan/feedback/register, see docs/osc.md)")
    rehearse = parser.add_mutually_exclusive_group()
    rehearse.add_argument("--rehearsal", dest="rehearsal", action="store_true", default=None,
                          help="looped file: beats, bars and sections from its whole-track analysis "
                               "(analysed in the background if not cached; default: used when cached)")
    rehearse.add_argument("--no-rehearsal", dest="rehearsal", action="store_false",
                          help="always use the live analyzer, even when a cached analysis exists")
    parser.add_argument("--analyze", action="store_true",
                        help="analyse the --audio file (cached, with a progress bar) before the show starts")
    parser.add_argument("--video", metavar="SPEC",
                        help="VAE-GAN models: re-render a video source: camera, camera:N, /dev/videoN, a file, black")
    parser.add_argument("--video-mix", type=float, default=1.0, metavar="X",
                        help="1 = the video frame's latent replaces the mapped one (default), 0 = mapping only")
    parser.add_argument("--out-ndi", metavar="NAME",
                        help="send the output frames as the NDI source NAME (receivers see 'HOST (NAME)')")
    parser.add_argument("--out-v4l2", metavar="/dev/videoN",
                        help="send the output frames to a v4l2loopback virtual camera (see docs/live.md, Outputs)")
    parser.add_argument("--out-syphon", metavar="NAME", help="macOS: publish the output frames as a Syphon server")
    parser.add_argument("--out-spout", metavar="NAME", help="Windows: send the output frames as a Spout sender")
    parser.add_argument("--link", action="store_true",
                        help="join an Ableton Link session (peers found by multicast on the LAN): a tempo source, "
                             "and vjgan's tempo leads the session while another source is selected")
    parser.add_argument("--tempo-source", default="analysis", choices=TEMPO_SOURCES,
                        help="the clock the beat follows at start (default analysis; link implies --link; "
                             "--follow selects leader); "
                             "/vjgan/tempo/source switches it live")
    parser.add_argument("--gen-device", default="cpu", help="torch device for the generator (cpu, cuda)")
    parser.add_argument("--gen-threads", type=int, default=1, metavar="N",
                        help="torch threads of the generator process (default 1; more on a machine with idle cores)")
    parser.add_argument("--gen-in-process", action="store_true",
                        help="run the generator as a thread of the app instead of its own process")
    add_sync_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from vjgan.app.live import LiveApp

    rc = LiveApp(config_from_args(args)).run()
    _exit_now(rc)
    return rc


def config_from_args(args: argparse.Namespace) -> LiveConfig:
    """Checked command-line arguments → LiveConfig (UserError names the bad flag)."""
    from vjgan.app.live import LiveConfig

    audio = args.audio
    model = args.model
    if args.demo:
        model = model or "default"
        if audio is None:
            from vjgan.audio.demo import demo_track_path

            audio = str(demo_track_path())
    if audio is not None and not Path(audio).is_file():
        raise UserError(f"--audio {audio}: no such file")
    if args.frames is not None and args.frames < 1:
        raise UserError("--frames must be at least 1")
    if args.shaders is not None and not args.shaders.is_dir():
        raise UserError(f"--shaders {args.shaders}: no such folder")
    if args.analyze and audio is None:
        raise UserError("--analyze needs a file to analyse: pass --audio FILE (or --demo)")
    if args.analyze and args.rehearsal is False:
        raise UserError("--analyze prepares rehearsal mode; it makes no sense with --no-rehearsal")
    if not 0.0 <= args.video_mix <= 1.0:
        raise UserError(f"--video-mix must be between 0 and 1 (got {args.video_mix})")
    if args.fps <= 0:
        raise UserError("--fps must be positive")
    for folder in args.media_dir or []:
        if not folder.is_dir():
            raise UserError(f"--media-dir {folder}: no such folder")
    outputs = {kind: str(getattr(args, f"out_{kind}")) for kind in ("ndi", "v4l2", "syphon", "spout")
               if getattr(args, f"out_{kind}", None) is not None}
    allow = [a.strip() for item in args.osc_allow for a in item.split(",") if a.strip()] if args.osc_allow else None
    return LiveConfig(
        **_sync_config(args),
        audio=audio, device=args.device, model=model, preset=args.preset, headless=args.headless,
        frames=args.frames, out=args.out, size=args.size, monitor=args.monitor, fps=args.fps,
        panel=not args.no_panel, osc_port=args.osc_port, osc_host=args.osc_host, osc_allow=allow,
        media_dirs=args.media_dir, record=args.record,
        crossfade_ms=args.crossfade, gen_device=args.gen_device, shaders_dir=args.shaders,
        osc_out=args.osc_out, osc_feedback=args.osc_feedback, rehearsal=args.rehearsal, analyze=args.analyze,
        video=args.video, video_mix=args.video_mix, gen_process=not args.gen_in_process,
        gen_threads=args.gen_threads, link=args.link, tempo_source=args.tempo_source, outputs=outputs,
        midi_in=args.midi_in, midi_out=args.midi_out, midi_api=args.midi_api,
    )


def _sync_config(args: argparse.Namespace) -> dict[str, Any]:
    """The LiveConfig fields of leading, following and output regions, checked."""
    from vjgan.app.follow import ignore_prefixes

    if args.lead is not None and args.follow is not None and args.lead == args.follow:
        raise UserError("--lead and --follow name the same address: an instance cannot follow itself")
    ignore = ignore_prefixes(args.follow_ignore)
    if ignore and args.follow is None:
        raise UserError("--follow-ignore filters what a follower receives: it needs --follow HOST:PORT")
    return {"lead": args.lead, "follow": args.follow, "quantise": args.quantise, "follow_ignore": ignore,
            "region": args.region, "widescreen": args.widescreen, "mix_model": args.mix_model,
            "mix_layers": args.mix_layers}


def _exit_now(rc: int) -> None:
    """End the process right after the show stopped. Why: by now the recording is closed, the frames and
    frames.json written, the generator process ended and the shared memory freed; what is left is the
    interpreter's teardown (torch, Mesa, PortAudio: 1-3 s on a loaded 2-core machine, all in C), which has
    nothing to save, and a stop (SIGTERM, Ctrl-C, the window closed) must end the process within 2 s."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(rc)
