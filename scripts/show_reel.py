"""Render every shipped preset on the shared tracks, measure each video, and draw the strips in docs/img.

    .venv/bin/python scripts/show_reel.py                       # all presets, both tracks, 20 s at 640x360
    .venv/bin/python scripts/show_reel.py --presets default drums --tracks ../shared/audio/X.ogg

For each (track, preset): `vjgan render` (the same code) to OUT/<track>_<preset>.mp4, then the show
figures (detail, liveliness, coupling r) from ../shared/tools/show_metrics.py when it is there. The
default preset is also rendered with --no-fx (the model's own picture). Strips: docs/img/strip_<preset>.png
(eight frames 2.5 s apart from the first track) and docs/img/strip_default_nofx.png; docs/img/preview.gif
(the default preset, 6 s at 12 fps, small) for the README; docs/img/default_model_seeds.png
(the model's own pictures for seeds 0-7). Prints a Markdown table and writes
OUT/figures.json. Runs ~1 min per render on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import av
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"
METRICS = SHARED / "tools" / "show_metrics.py"
IMG = REPO / "docs" / "img"


def frames_at(video: Path, times: list[float], size: tuple[int, int]) -> list[Image.Image]:
    """Frames nearest to `times` (seconds), resized to `size`."""
    out: list[Image.Image] = []
    with av.open(str(video)) as c:
        stream = c.streams.video[0]
        fps = float(stream.average_rate)
        want = {int(round(t * fps)) for t in times}
        for i, frame in enumerate(c.decode(stream)):
            if i in want:
                out.append(frame.to_image().resize(size, Image.LANCZOS))
    return out


def strip(video: Path, path: Path, seconds: float, n: int = 8, size: tuple[int, int] = (256, 144)) -> None:
    times = [seconds * (i + 0.5) / n for i in range(n)]
    ims = frames_at(video, times, size)
    sheet = Image.new("RGB", (size[0] * len(ims) + 2 * (len(ims) - 1), size[1]), (16, 16, 16))
    for i, im in enumerate(ims):
        sheet.paste(im, (i * (size[0] + 2), 0))
    sheet.save(path, optimize=True)


def preview_gif(video: Path, path: Path, seconds: float = 6.0, fps: int = 12,
                size: tuple[int, int] = (384, 216)) -> None:
    ims = frames_at(video, [i / fps for i in range(int(seconds * fps))], size)
    pal = [im.convert("P", palette=Image.ADAPTIVE, colors=128) for im in ims]
    pal[0].save(path, save_all=True, append_images=pal[1:], duration=int(1000 / fps), loop=0, optimize=True)


def seeds_grid(path: Path, model: str | None, seeds: range = range(8), cols: int = 4) -> None:
    """The model's own pictures for a few seeds (ψ 0.9), at native size: what docs/models.md shows."""
    import torch

    from vjgan.models.loaders import load_model

    gen = load_model(model, "cpu").eval()
    ws = torch.from_numpy(gen.seeds_to_ws(list(seeds), 0.9))
    with torch.no_grad():
        imgs = ((gen.synthesis(ws).clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    n, h, w, _ = imgs.shape
    sheet = Image.new("RGB", (cols * w + 2 * (cols - 1), -(-n // cols) * (h + 2) - 2), (16, 16, 16))
    for i, im in enumerate(imgs):
        sheet.paste(Image.fromarray(im), ((i % cols) * (w + 2), (i // cols) * (h + 2)))
    sheet.save(path, optimize=True)


def measure(video: Path, audio: Path, start: float) -> dict[str, float]:
    if not METRICS.exists():
        return {}
    out = video.with_suffix(".json")
    subprocess.run([sys.executable, str(METRICS), str(video), str(audio), "--start", str(start), "--json", str(out)],
                   check=True, capture_output=True)
    return json.loads(out.read_text())


def main() -> int:
    from vjgan.app.offline import RenderConfig, render_video

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", nargs="*", type=Path, default=sorted((SHARED / "audio").glob("*.ogg")))
    ap.add_argument("--presets", nargs="*", default=sorted(p.stem for p in (REPO / "presets").glob("*.toml")))
    ap.add_argument("--start", type=float, default=30.0, help="where in each track the clip starts (s)")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--model", help="a checkpoint instead of the embedded default model")
    ap.add_argument("--out", type=Path, default=REPO / "out" / "show_reel")
    ap.add_argument("--no-images", action="store_true", help="only the figures, leave docs/img alone")
    ap.add_argument("--skip-nofx", action="store_true", help="no --no-fx render of the default preset")
    a = ap.parse_args()
    if not a.tracks:
        raise SystemExit(f"no tracks: pass --tracks (the shared ones live in {SHARED / 'audio'})")
    w, h = (int(v) for v in a.size.lower().split("x"))
    a.out.mkdir(parents=True, exist_ok=True)
    jobs = []
    for p in a.presets:
        jobs += [(t, p, False) for t in a.tracks]
        if p == "default" and not a.skip_nofx:
            jobs += [(t, p, True) for t in a.tracks]
    if not a.no_images:
        seeds_grid(IMG / "default_model_seeds.png", a.model)
    figures = []
    for k, (track, preset, no_fx) in enumerate(jobs):
        name = f"{track.stem[:24]}_{Path(preset).stem}{'_nofx' if no_fx else ''}"
        video = a.out / f"{name}.mp4"
        print(f"[{k + 1}/{len(jobs)}] {name}", flush=True)
        res = render_video(RenderConfig(audio=track, output=video, preset=preset, size=(w, h), start=a.start,
                                  duration=a.duration, no_fx=no_fx, model=a.model, progress=False))
        row = {"track": track.stem, "preset": preset, "no_fx": no_fx, **measure(video, track, a.start)}
        figures.append(row)
        stages = ", ".join(f"{k} {v:.0f}" for k, v in res.stage_ms.items())
        print("   ", {k: v for k, v in row.items() if k in ("detail", "liveliness", "coupling")},
              f"({res.wall_s:.0f} s; ms/frame {stages})", flush=True)
        if not a.no_images and track == a.tracks[0]:
            strip(video, IMG / f"strip_{preset}{'_nofx' if no_fx else ''}.png", a.duration)
            if preset == "default" and not no_fx:
                preview_gif(video, IMG / "preview.gif")
    (a.out / "figures.json").write_text(json.dumps(figures, indent=1))
    print("\n| track | preset | detail | liveliness | coupling r |\n|---|---|---|---|---|")
    for r in figures:
        label = r["preset"] + (" --no-fx" if r["no_fx"] else "")
        print(f"| {r['track'][:24]} | {label} | {r.get('detail', '')} | {r.get('liveliness', '')} | "
              f"{r.get('coupling', '')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
