"""Preset files: load (parse + validate), save (our own TOML writer), find by name in presets/."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from vjgan.core.effects import EffectParam, available_effects
from vjgan.core.errors import UserError
from vjgan.core.paths import PRESETS_DIR
from vjgan.mapping import tomlwrite
from vjgan.mapping.schema import parse_preset
from vjgan.mapping.spec import LatentSpec, Preset, RouteSpec


def list_presets(presets_dir: Path = PRESETS_DIR) -> list[Path]:
    return sorted(presets_dir.glob("*.toml"))


def find_preset(name_or_path: str | Path, presets_dir: Path = PRESETS_DIR) -> Path:
    """A path as given, or a preset name (`chroma`) in presets/."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    for cand in (presets_dir / p, presets_dir / f"{p}.toml"):
        if cand.is_file():
            return cand
    names = ", ".join(x.stem for x in list_presets(presets_dir)) or "(none)"
    raise UserError(f"preset {str(name_or_path)!r} not found (a file, or one of: {names})")


def load_preset(path: str | Path, effects: dict[str, dict[str, EffectParam]] | None = None) -> Preset:
    """Read and validate a preset. UserError names file, line and field; nothing is applied here."""
    path = find_preset(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read preset: {exc}") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{path}:{m[1]}" if m else str(path)
        msg = str(exc).replace(m[0], f"(column {m[2]})") if m else str(exc)
        raise UserError(f"{where}: TOML syntax error: {msg}; fix the file, the running preset stays") from exc
    return parse_preset(raw, text, path, available_effects() if effects is None else effects)


def _rebase(file: Path, src: Path | None, dst: Path) -> str:
    """A latent file path as seen from the directory the preset is saved into."""
    full = (src / file) if src is not None else file
    try:
        return os.path.relpath(full.resolve(), dst.resolve()).replace(os.sep, "/")
    except ValueError:
        return full.resolve().as_posix()


def _route_dict(r: RouteSpec) -> dict[str, Any]:
    d: dict[str, Any] = {"source": r.source, "target": r.target}
    if r.source == "const":
        d["value"] = r.value
    default = RouteSpec(source="", target="")
    for k in ("gain", "offset", "curve", "curve_amount", "threshold", "attack_ms", "release_ms", "mode", "enabled"):
        if getattr(r, k) != getattr(default, k):
            d[k] = getattr(r, k)
    if r.clamp_min is not None or r.clamp_max is not None:
        d["clamp"] = [r.clamp_min if r.clamp_min is not None else -1e6, r.clamp_max if r.clamp_max is not None else 1e6]
    if r.envelope is not None:
        e = r.envelope
        env: dict[str, Any] = {"trigger": e.trigger, "attack_ms": e.attack_ms, "decay_ms": e.decay_ms}
        if e.decay_beats is not None:
            env["decay_beats"] = e.decay_beats
        d["envelope"] = env
    return d


def preset_to_dict(p: Preset, dest_dir: Path | None = None) -> dict[str, Any]:
    """The TOML structure of a preset (inverse of schema.parse_preset)."""
    lat: LatentSpec = p.latents
    src = p.path.parent if p.path is not None else None
    dst = dest_dir if dest_dir is not None else (src or Path.cwd())

    def fpath(f: Path) -> str:
        return _rebase(f, src, dst)

    ld: dict[str, Any] = {}
    if lat.file is not None:
        ld["file"] = fpath(lat.file)
    else:
        ld["seeds"] = list(lat.seeds)
    if lat.file_b is not None:
        ld["file_b"] = fpath(lat.file_b)
    elif lat.seeds_b is not None:
        ld["seeds_b"] = list(lat.seeds_b)
    ld |= {
        "psi": lat.psi,
        "loop_bars": (
            {**dict.fromkeys(lat.groups, lat.loop_bars), **lat.group_loop_bars}
            if lat.group_loop_bars
            else lat.loop_bars
        ),
        "chroma_smoothing_ms": lat.chroma_smoothing_ms,
        "chroma_power": lat.chroma_power, "walk_seed": lat.walk_seed, "groups": dict(lat.groups),
    }
    if lat.directions:
        ld["directions"] = {
            n: {
                **({"seed": d.seed} if d.seed is not None else {}),
                **({"file": fpath(d.file)} if d.file is not None else {}),
                **({"key": d.key} if d.key is not None else {}),
                **({"index": d.index} if d.index is not None else {}),
                **({"subtract_mean": True} if d.subtract_mean else {}),
                "scale": d.scale,
                "groups": list(d.groups),
            }
            for n, d in lat.directions.items()
        }
    out: dict[str, Any] = {
        "preset": {"name": p.name, "description": p.description, "crossfade_beats": p.crossfade_beats},
        "latents": ld,
    }
    if p.noise_mask is not None:
        out["generator"] = {"noise_mask": p.noise_mask}
    plain = {k: v for k, v in p.targets.items() if not k.startswith("shader.")}
    if plain:
        out["targets"] = plain
    uniforms: dict[str, dict[str, float]] = {}
    for k, v in p.targets.items():
        if k.startswith("shader."):
            effect, _, u = k[7:].partition(".")
            uniforms.setdefault(effect, {})[u] = v
    if p.chain or uniforms:
        out["shader"] = {"chain": list(p.chain), **({"uniforms": uniforms} if uniforms else {})}
    if p.lfos:
        out["lfos"] = {
            n: {"shape": s.shape, "beats": s.beats, "phase": s.phase, "bipolar": s.bipolar, "seed": s.seed}
            for n, s in p.lfos.items()
        }
    if p.user:
        out["user"] = {n: {"value": u.value, "min": u.minimum, "max": u.maximum} for n, u in p.user.items()}
    if p.routes:
        out["routes"] = [_route_dict(r) for r in p.routes]
    for k, table in p.extra.items():
        out[k] = table
    return out


def save_preset(preset: Preset, path: str | Path) -> Path:
    """Write a preset as TOML (atomically, so a watcher never reads half a file)."""
    path = Path(path)
    if path.suffix != ".toml":
        path = path.with_suffix(".toml")
    comment = f"vjgan preset '{preset.name}' (saved from the live state)"
    text = tomlwrite.dumps(preset_to_dict(preset, path.parent), comment=comment)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"cannot save preset to {path}: {exc}") from exc
    return path
