"""Preset files: load (parse + validate), save (tomlkit), find by name in presets/.

Saving over an existing file edits that file's TOML document in place (tomlkit), so the comments and layout
the artist wrote survive: changed values are replaced where they stand, new keys and routes are appended,
keys the live state no longer has are removed.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Item

from vjgan.core.effects import EffectParam, available_effects
from vjgan.core.errors import UserError
from vjgan.core.paths import PRESETS_DIR
from vjgan.mapping.lfo import LfoSpec
from vjgan.mapping.schema import parse_preset
from vjgan.mapping.spec import DirectionSpec, EnvelopeSpec, LatentSpec, Preset, RouteSpec, UserSpec

log = logging.getLogger(__name__)
_ROUTE_FIELDS = ("gain", "offset", "curve", "curve_amount", "threshold", "attack_ms", "release_ms", "mode", "enabled")


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


def _route_dict(r: RouteSpec, full: bool) -> dict[str, Any]:
    """A route's table; fields at their default are left out unless `full`."""
    d: dict[str, Any] = {"source": r.source, "target": r.target}
    if r.source == "const" or full:
        d["value"] = r.value
    default = RouteSpec(source="", target="")
    for k in _ROUTE_FIELDS:
        if full or getattr(r, k) != getattr(default, k):
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


def preset_to_dict(p: Preset, dest_dir: Path | None = None, full: bool = False) -> dict[str, Any]:
    """The TOML structure of a preset (inverse of schema.parse_preset). Values at their default are left
    out, unless `full`: then they are there for a file that spells them out to keep its line."""
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
                **({"subtract_mean": d.subtract_mean} if d.subtract_mean or full else {}),
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
    if p.chain or uniforms or full:
        out["shader"] = {"chain": list(p.chain), **({"uniforms": uniforms} if uniforms else {})}
    if p.lfos:
        out["lfos"] = {
            n: {"shape": s.shape, "beats": s.beats, "phase": s.phase, "bipolar": s.bipolar, "seed": s.seed}
            for n, s in p.lfos.items()
        }
    if p.user:
        out["user"] = {n: {"value": u.value, "min": u.minimum, "max": u.maximum} for n, u in p.user.items()}
    if p.routes:
        out["routes"] = [_route_dict(r, full) for r in p.routes]
    for k, table in p.extra.items():
        out[k] = table
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal as TOML values: 2 and 2.0 are (a file's `2` stays), true and 1 are not."""
    if isinstance(a, Item):
        a = a.unwrap()
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


_NO_DEFAULT = object()


def _defaults() -> dict[str, Any]:
    """What the schema assumes for a key left out, shaped like the file ("*": any entry of a named table,
    a one-item list: any [[routes]] item); from the spec dataclasses, which are the schema's defaults."""
    p = Preset(latents=LatentSpec(directions={"*": DirectionSpec()}), lfos={"*": LfoSpec()}, user={"*": UserSpec()},
               routes=[RouteSpec(source="", target="", envelope=EnvelopeSpec())])
    d = preset_to_dict(p, full=True)
    del d["preset"]["name"], d["routes"][0]["source"], d["routes"][0]["target"]  # required: no default
    return d


def _sub(defaults: Any, key: str) -> Any:
    if isinstance(defaults, Mapping):
        return defaults.get(key, defaults.get("*", _NO_DEFAULT))
    return _NO_DEFAULT


def _strip(value: Any, defaults: Any) -> Any:
    """`value` without the keys at their default, for a table the file does not have yet."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            sub = _sub(defaults, k)
            if sub is _NO_DEFAULT or not _same(v, sub):
                out[k] = _strip(v, sub)
        return out
    if _is_tables(value):
        return [_strip(x, defaults[0] if isinstance(defaults, list) else _NO_DEFAULT) for x in value]
    return value


def _is_tables(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _item(v: Any, in_array_table: bool = False) -> Any:
    """A new TOML item: a list of tables becomes [[...]]; a flat table inside one is written inline
    (`envelope = { ... }`), as people write it."""
    if _is_tables(v):
        aot = tomlkit.aot()
        for x in v:
            aot.append(_table(x))
        return aot
    if in_array_table and isinstance(v, Mapping) and not any(isinstance(x, Mapping | list) for x in v.values()):
        inline = tomlkit.inline_table()
        inline.update(v)
        return inline
    return v


def _table(d: Mapping[str, Any]) -> Any:
    t = tomlkit.table()
    for k, v in d.items():
        t[k] = _item(v, in_array_table=True)
    return t


def _merge(doc: MutableMapping[str, Any], new: Mapping[str, Any], defaults: Any, in_array_table: bool) -> None:
    """Make the tomlkit table `doc` hold `new` (every field), touching only what differs: a key the file has
    gets its new value in its own line, a key it lacks is added only when not at its default, a key `new`
    has not is removed."""
    for key in [k for k in doc if k not in new]:
        del doc[key]
    for key, value in new.items():
        sub = _sub(defaults, key)
        cur = doc.get(key)
        if key not in doc:
            if sub is _NO_DEFAULT or not _same(value, sub):
                doc[key] = _item(_strip(value, sub), in_array_table)
        elif isinstance(cur, Mapping) and isinstance(value, Mapping):
            _merge(cur, value, sub, in_array_table)  # type: ignore[arg-type]
        elif _is_tables(cur) and _is_tables(value):
            item_defaults = sub[0] if isinstance(sub, list) else _NO_DEFAULT
            for i, item in enumerate(value):
                if i < len(cur):
                    _merge(cur[i], item, item_defaults, True)
                else:  # a table in [[...]], or one in an inline array of tables
                    cur.append(_table(_strip(item, item_defaults)) if isinstance(cur, AoT) else item)
            while len(cur) > len(value):
                del cur[-1]
        elif isinstance(value, Mapping) and not isinstance(cur, Mapping) and set(_strip(value, sub)) <= {"value"}:
            if not _same(cur, value["value"]):  # `drive = 0.5` in [user]: the short form stays short
                doc[key] = value["value"]
        elif not _same(cur, value):
            doc[key] = _item(value, in_array_table)


def preset_text(preset: Preset, path: Path) -> str:
    """The TOML text `save_preset` writes to `path`: the file already there edited in place when it is
    TOML, else a new document (defaults of routes left out, as before)."""
    if path.is_file():
        try:
            doc = tomlkit.parse(path.read_text(encoding="utf-8"))
            _merge(doc, preset_to_dict(preset, path.parent, full=True), _defaults(), False)
            text = tomlkit.dumps(doc)
            tomllib.loads(text)  # what the loader will read
            return text
        except (OSError, UnicodeDecodeError, TOMLKitError, tomllib.TOMLDecodeError) as exc:
            log.warning("%s: cannot edit it in place (%s); writing a new file over it", path, exc)
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"vjgan preset '{preset.name}' (saved from the live state)"))
    doc.add(tomlkit.nl())
    _merge(doc, preset_to_dict(preset, path.parent), _NO_DEFAULT, False)
    return tomlkit.dumps(doc)


def save_preset(preset: Preset, path: str | Path) -> Path:
    """Write a preset as TOML (atomically, so a watcher never reads half a file), keeping the comments and
    layout of the file it replaces."""
    path = Path(path)
    if path.suffix != ".toml":
        path = path.with_suffix(".toml")
    text = preset_text(preset, path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"cannot save preset to {path}: {exc}") from exc
    return path
