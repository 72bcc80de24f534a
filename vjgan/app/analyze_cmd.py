"""`vjgan analyze FILE [--plot out.png] [--json out.json]`: the live analyzer run over a file.

The very same OnlineAnalyzer the live engine uses, fed hop by hop as fast as the CPU allows, so what
the plot shows is what a show would have seen (causal, with its latencies), not a hindsight analysis.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from vjgan.core.errors import UserError

HELP = "analyse an audio file with the live analyzer (plot / JSON)"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="audio file (wav, flac, ogg, mp3, m4a)")
    parser.add_argument("--plot", metavar="PNG", help="write a plot of waveform, onsets, chroma, RMS, bands, beats")
    parser.add_argument("--json", metavar="JSON", help="write fps, onsets, beats, tempo, rms, chroma, ... as JSON")
    parser.add_argument("--start", type=float, default=0.0, help="start at this time (s)")
    parser.add_argument("--duration", type=float, default=None, help="analyse only this many seconds")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def analyze_file(path: str | Path, start: float = 0.0, duration: float | None = None, progress: bool = True) -> dict:
    """Run the online analyzer over a file; returns the per-frame arrays and event lists."""
    from tqdm import tqdm

    from vjgan.audio.analysis import ANALYSIS_RATE, OnlineAnalyzer
    from vjgan.audio.decode import load_audio

    data, sr = load_audio(path, sample_rate=ANALYSIS_RATE, mono=True)
    x = data[:, 0]
    i0 = int(max(start, 0.0) * sr)
    x = x[i0 : None if duration is None else i0 + int(duration * sr)]
    an = OnlineAnalyzer(sr)
    hops = len(x) // an.hop_size
    if hops == 0:
        raise UserError(f"{path}: shorter than one 10 ms analysis hop")
    with tqdm(total=hops, unit="hop", desc="analyse", disable=not progress, mininterval=0.5) as bar:
        frames = an.process_array(x, progress=bar.update)
    t = np.array([f.time for f in frames])
    fields = (
        "rms",
        "rms_smooth",
        "onset",
        "percussive",
        "harmonic",
        "kick",
        "snare",
        "bass",
        "mid",
        "high",
        "beat_phase",
        "bar_phase",
        "tempo",
    )
    curves = {k: np.array([getattr(f, k) for f in frames], dtype=np.float32) for k in fields}
    locked = curves["tempo"] > 0
    after = t > min(8.0, t[-1] / 2)  # tempo once the tracker has settled
    tempo = float(np.median(curves["tempo"][after & locked])) if np.any(after & locked) else float(curves["tempo"][-1])
    return {
        "samples": x,
        "sample_rate": sr,
        "time": t,
        "curves": curves,
        "chroma": np.array([f.chroma for f in frames], dtype=np.float32),
        "bass_chroma": np.array([f.bass_chroma for f in frames], dtype=np.float32),
        "onsets": t[[f.onset_event for f in frames]] - an.onset_delay,
        "kicks": t[[f.kick_event for f in frames]] - an.onset_delay,
        "snares": t[[f.snare_event for f in frames]] - an.onset_delay,
        "beats": t[[f.beat_event for f in frames]],
        "downbeats": t[[f.bar_event for f in frames]],
        "tempo": tempo,
        "fps": an.fps,
        "offset": i0 / sr,
    }


def to_json(result: dict) -> dict:
    r4 = lambda a: np.round(np.asarray(a, dtype=np.float64), 4).tolist()  # noqa: E731
    return {
        "file_offset": result["offset"],
        "fps": result["fps"],
        "sample_rate": result["sample_rate"],
        "tempo": round(result["tempo"], 2),
        "onsets": r4(result["onsets"]),
        "beats": r4(result["beats"]),
        "downbeats": r4(result["downbeats"]),
        "kicks": r4(result["kicks"]),
        "snares": r4(result["snares"]),
        **{k: r4(v) for k, v in result["curves"].items() if k != "tempo"},
        "tempo_curve": r4(result["curves"]["tempo"]),
        "chroma": np.round(result["chroma"], 3).tolist(),
        "bass_chroma": np.round(result["bass_chroma"], 3).tolist(),
    }


def plot(result: dict, out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vjgan.core.features import PITCH_CLASSES

    t = result["time"]
    c = result["curves"]
    x = result["samples"]
    sr = result["sample_rate"]
    fig, ax = plt.subplots(5, 1, figsize=(14, 11), sharex=True, gridspec_kw={"height_ratios": [1.2, 1.2, 1.5, 1, 1]})
    step = max(1, len(x) // 20000)
    ax[0].plot(np.arange(0, len(x), step) / sr, x[::step], lw=0.4, color="0.3")
    for b in result["beats"]:
        ax[0].axvline(b, color="tab:red", lw=0.6, alpha=0.6)
    for b in result["downbeats"]:
        ax[0].axvline(b, color="tab:red", lw=1.6, alpha=0.9)
    ax[0].set_ylabel("waveform\n+ beats")
    ax[0].set_title(f"{title} — tempo {result['tempo']:.1f} BPM")
    ax[1].plot(t, c["onset"], lw=0.7, label="onset strength")
    ax[1].plot(
        result["onsets"],
        np.interp(result["onsets"] + 1.0 / result["fps"], t, c["onset"]),  # the activation peaks 1 frame later
        "v",
        ms=4,
        color="tab:orange",
        label="onsets",
    )
    ax[1].plot(t, c["beat_phase"] * 0.3, lw=0.5, color="tab:red", alpha=0.5, label="beat phase ×0.3")
    ax[1].legend(loc="upper right", fontsize=7)
    ax[1].set_ylabel("onsets")
    ax[2].imshow(result["chroma"].T, aspect="auto", origin="lower", extent=(t[0], t[-1], -0.5, 11.5), cmap="magma")
    ax[2].set_yticks(range(12), PITCH_CLASSES)
    ax[2].set_ylabel("chroma")
    ax[3].plot(t, c["rms"], lw=0.6, label="rms")
    ax[3].plot(t, c["rms_smooth"], lw=1.2, label="rms smooth")
    ax[3].legend(loc="upper right", fontsize=7)
    ax[3].set_ylabel("RMS")
    for k in ("bass", "mid", "high"):
        ax[4].plot(t, c[k], lw=0.7, label=k)
    ax[4].legend(loc="upper right", fontsize=7)
    ax[4].set_ylabel("bands")
    ax[4].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    result = analyze_file(args.file, args.start, args.duration, progress=not args.no_progress)
    print(
        f"{args.file}: {len(result['time'])} frames, tempo {result['tempo']:.1f} BPM, "
        f"{len(result['onsets'])} onsets, {len(result['beats'])} beats"
    )
    for opt, write in ((args.json, "json"), (args.plot, "plot")):
        if not opt:
            continue
        out = Path(opt)
        if out.parent and not out.parent.exists():
            raise UserError(f"cannot write {out}: folder {out.parent} does not exist")
        if write == "json":
            out.write_text(json.dumps(to_json(result)))
        else:
            plot(result, out, Path(args.file).name)
        print(f"wrote {out}")
    return 0
