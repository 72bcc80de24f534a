"""Random square crops of Debian's wallpapers: a real-photo training set for VAE-GAN tests and trials.

    apt-get install --no-install-recommends plasma-workspace-wallpapers gnome-backgrounds
    .venv/bin/python scripts/wallpaper_crops.py OUT_DIR [--n 2400] [--res 128] [--seed 0] [--licence-file F]

Why: the generated shapes of the unit tests hid a divergence that real photos showed at once (#16).
Sources are only the wallpapers whose licence is recorded per image (plasma-workspace-wallpapers'
metadata: LGPL-3 or CC-BY-SA-4.0; gnome-backgrounds' adwaita-*: CC-BY-SA-3.0, Jakub Steiner); every
crop is named `<wallpaper>_<i>.png` so its licence follows from its name. Crop sides are 20–70 % of
the short side, so a set mixes close textures with whole compositions. tests/data/wallpapers/ was made
with `--n 384 --res 32`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

PLASMA = Path("/usr/share/wallpapers")
GNOME = Path("/usr/share/backgrounds/gnome")
GNOME_LICENSED = {"adwaita-d": ("Jakub Steiner", "CC-BY-SA-3.0"), "adwaita-l": ("Jakub Steiner", "CC-BY-SA-3.0")}


def _plasma_meta(folder: Path) -> tuple[str, str] | None:
    js = folder / "metadata.json"
    if js.is_file():
        m = json.loads(js.read_text())["KPlugin"]
        return ", ".join(a["Name"] for a in m.get("Authors", [])), m.get("License", "")
    desk = folder / "metadata.desktop"
    if desk.is_file():
        kv = dict(line.split("=", 1) for line in desk.read_text().splitlines() if "=" in line)
        return kv.get("X-KDE-PluginInfo-Author", ""), kv.get("X-KDE-PluginInfo-License", "")
    return None


def sources() -> list[tuple[str, Path, str, str]]:
    """(name, largest image file, author, licence) of every wallpaper with a recorded licence."""
    out = []
    for folder in sorted(p for p in PLASMA.iterdir() if p.is_dir()) if PLASMA.is_dir() else []:
        meta = _plasma_meta(folder)
        files = [f for f in (folder / "contents" / "images").glob("*") if f.is_file() and not f.is_symlink()]
        if meta and meta[1] and files:
            out.append((folder.name, max(files, key=lambda f: f.stat().st_size), *meta))
    for stem, (author, lic) in GNOME_LICENSED.items():
        f = GNOME / f"{stem}.webp"
        if f.is_file():
            out.append((stem, f, author, lic))
    return out


def make_crops(out_dir: Path, n: int, res: int, seed: int = 0) -> list[tuple[str, Path, str, str]]:
    """n crops, spread evenly over the sources, written as PNG; returns the sources used."""
    src = sources()
    if not src:
        raise SystemExit("no wallpapers found: apt-get install plasma-workspace-wallpapers gnome-backgrounds")
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    per = [n // len(src) + (i < n % len(src)) for i in range(len(src))]
    for (name, path, _, _), k in zip(src, per, strict=True):
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.draft("RGB", im.size)
            w, h = im.size
            for i in range(k):
                side = int(min(w, h) * rng.uniform(0.2, 0.7))
                x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
                crop = im.crop((x, y, x + side, y + side)).resize((res, res), Image.Resampling.LANCZOS)
                crop.save(out_dir / f"{name}_{i:03d}.png", optimize=True)
    return src


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=2400)
    ap.add_argument("--res", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--licence-file", type=Path, help="write the sources, authors and licences here")
    a = ap.parse_args()
    src = make_crops(a.out, a.n, a.res, a.seed)
    if a.licence_file:
        lines = [f"{name}: {author}, {lic} ({path})" for name, path, author, lic in src]
        a.licence_file.write_text("\n".join(lines) + "\n")
    print(f"{a.n} crops of {len(src)} wallpapers at {a.res}² in {a.out}")


if __name__ == "__main__":
    main()
