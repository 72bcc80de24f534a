"""Preset schema: raw TOML data → `Preset`, with every problem reported as file:line: field: message.

Written in code (no schema dependency): each section has a checker that knows its keys, types and
ranges. All problems are collected so the artist fixes a file in one go; line numbers are found by
scanning the text for the table header and key (best effort, TOML parsers do not keep positions).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from vjgan.core.effects import EffectParam
from vjgan.core.errors import UserError
from vjgan.core.features import SOURCE_NAMES
from vjgan.mapping.lfo import SHAPES, LfoSpec
from vjgan.mapping.spec import (
    CURVES,
    GROUP_DRIVERS,
    LATENT_GROUPS,
    MODES,
    DirectionSpec,
    EnvelopeSpec,
    LatentSpec,
    Preset,
    RouteSpec,
    UserSpec,
)
from vjgan.mapping.targets import TargetError, parse_target

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.\-]+)\s*=""")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_SEED = 2**32 - 1


def _finite(v: Any) -> bool:
    """A TOML number that fits a float: tomllib's integers have no size limit, math.isfinite(10**400) raises."""
    try:
        return not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)
    except OverflowError:
        return False


def _unquote(k: str) -> str:
    k = k.strip()
    return k[1:-1] if len(k) >= 2 and k[0] == k[-1] and k[0] in "\"'" else k


def key_lines(text: str) -> dict[str, int]:
    """Map of field path (e.g. `routes[2].gain`, `targets.truncation`) → 1-based line number."""
    out: dict[str, int] = {}
    counts: dict[str, int] = {}
    table = ""
    for n, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if m:
            name = ".".join(_unquote(p) for p in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', m[2]))
            if m[1] == "[[":
                i = counts.get(name, 0)
                counts[name] = i + 1
                table = f"{name}[{i}]"
            else:
                parts = name.split(".")
                # a subtable of an array of tables refers to its last element
                if parts[0] in counts:
                    parts[0] = f"{parts[0]}[{counts[parts[0]] - 1}]"
                table = ".".join(parts)
            out.setdefault(table, n)
            continue
        m = _KEY.match(line)
        if m:
            path = f"{table}.{_unquote(m[1])}" if table else _unquote(m[1])
            out.setdefault(path, n)
    return out


def locate(lines: dict[str, int], field: str) -> int | None:
    """Line of a field, or of its closest enclosing key/table."""
    path = field
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


class _Checker:
    def __init__(self, where: str, text: str) -> None:
        self.where = where
        self.lines = key_lines(text)
        self.errors: list[str] = []

    def error(self, field: str, message: str) -> None:
        line = locate(self.lines, field)
        # one problem per line, whatever strings from the file the message quotes
        text = f"{field}: {message}".replace("\r", "\\r").replace("\n", "\\n")
        self.errors.append(f"{self.where}:{line if line else '?'}: {text}")

    def table(self, d: Any, field: str) -> dict[str, Any]:
        if not isinstance(d, dict):
            self.error(field, f"expected a table, got {type(d).__name__}")
            return {}
        return d

    def keys(self, d: dict[str, Any], field: str, known: tuple[str, ...]) -> None:
        for k in d:
            if k not in known:
                self.error(f"{field}.{k}" if field else k, f"unknown field {k!r}; known: {', '.join(known)}")

    def num(self, d: dict, k: str, field: str, default: float | None, lo: float = -1e6, hi: float = 1e6) -> Any:
        if k not in d:
            return default
        v = d[k]
        f = f"{field}.{k}" if field else k
        if isinstance(v, bool) or not isinstance(v, int | float):
            self.error(f, f"expected a number, got {type(v).__name__} {v!r}")
            return default
        if not _finite(v) or not lo <= v <= hi:
            self.error(f, f"{v} is out of range {lo:g}..{hi:g}")
            return default
        return float(v)

    def int_(self, d: dict, k: str, field: str, default: int | None, lo: int, hi: int) -> Any:
        if k not in d:
            return default
        v = d[k]
        f = f"{field}.{k}" if field else k
        if isinstance(v, bool) or not isinstance(v, int):
            self.error(f, f"expected an integer, got {type(v).__name__} {v!r}")
            return default
        if not lo <= v <= hi:
            self.error(f, f"{v} is out of range {lo}..{hi}")
            return default
        return v

    def str_(self, d: dict, k: str, field: str, default: str | None, choices: tuple[str, ...] | None = None) -> Any:
        if k not in d:
            return default
        v = d[k]
        f = f"{field}.{k}" if field else k
        if not isinstance(v, str):
            self.error(f, f"expected a string, got {type(v).__name__} {v!r}")
            return default
        if choices is not None and v not in choices:
            self.error(f, f"{v!r} is not one of {', '.join(choices)}")
            return default
        return v

    def bool_(self, d: dict, k: str, field: str, default: bool) -> bool:
        if k not in d:
            return default
        v = d[k]
        if not isinstance(v, bool):
            self.error(f"{field}.{k}", f"expected true or false, got {type(v).__name__} {v!r}")
            return default
        return v

    def seeds(self, d: dict, k: str, field: str) -> tuple[int, ...] | None:
        if k not in d:
            return None
        v = d[k]
        f = f"{field}.{k}"
        if not isinstance(v, list) or not v or not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            self.error(f, f"expected a non-empty list of integer seeds, got {v!r}")
            return None
        if not all(0 <= x <= MAX_SEED for x in v):
            self.error(f, f"seeds must be in 0..{MAX_SEED}")
            return None
        return tuple(v)


EXTRA_KEYS = ("osc", "midi")  # owned by the control stage, kept verbatim
PRESET_KEYS = ("preset", "latents", "targets", "generator", "shader", "lfos", "user", "routes", *EXTRA_KEYS)
ROUTE_KEYS = (
    "source", "target", "value", "gain", "offset", "curve", "curve_amount", "threshold", "clamp",
    "attack_ms", "release_ms", "mode", "enabled", "envelope",
)
LATENT_KEYS = (
    "seeds", "file", "seeds_b", "file_b", "psi", "groups", "loop_bars", "chroma_smoothing_ms", "chroma_power",
    "walk_seed", "directions",
)
MS_MAX = 60_000.0


def _source_ok(name: str, lfos: dict, user: dict) -> str | None:
    if name == "const" or name in SOURCE_NAMES:
        return None
    head, _, rest = name.partition(".")
    if head == "lfo":
        return None if rest in lfos else f"unknown LFO {rest!r}; declare it in [lfos.{rest}]"
    if head == "user":
        return None if rest in user else f"unknown user value {rest!r}; declare it in [user]"
    return (
        f"unknown source {name!r}; sources are Features scalars ({', '.join(SOURCE_NAMES[:8])}, ..., "
        "chroma.C .. chroma.B, bass_chroma.*), lfo.<name>, user.<name>, const"
    )


def _latents(c: _Checker, raw: Any, base: Path) -> LatentSpec:
    d = c.table(raw, "latents")
    c.keys(d, "latents", LATENT_KEYS)
    spec = LatentSpec()
    spec.seeds = c.seeds(d, "seeds", "latents") or spec.seeds
    spec.seeds_b = c.seeds(d, "seeds_b", "latents")
    for k in ("file", "file_b"):
        f = c.str_(d, k, "latents", None)
        if f is not None:
            if not (base / f).is_file():
                c.error(f"latents.{k}", f"latent file {base / f} does not exist")
            else:
                setattr(spec, k, Path(f))
    spec.psi = c.num(d, "psi", "latents", 1.0, 0.0, 2.0)
    if isinstance(d.get("loop_bars"), dict):  # per group: { coarse = 16, middle = 8, fine = 4 }
        per = d["loop_bars"]
        c.keys(per, "latents.loop_bars", LATENT_GROUPS)
        for g in LATENT_GROUPS:
            v = c.int_(per, g, "latents.loop_bars", None, 1, 64)
            if v is not None:
                spec.group_loop_bars[g] = v
    else:
        spec.loop_bars = c.int_(d, "loop_bars", "latents", 8, 1, 64)
    spec.chroma_smoothing_ms = c.num(d, "chroma_smoothing_ms", "latents", 0.0, 0.0, MS_MAX)
    spec.chroma_power = c.num(d, "chroma_power", "latents", 1.0, 0.1, 16.0)
    spec.walk_seed = c.int_(d, "walk_seed", "latents", 1000, 0, MAX_SEED - 16)
    groups = c.table(d.get("groups", {}), "latents.groups")
    c.keys(groups, "latents.groups", LATENT_GROUPS)
    for g in LATENT_GROUPS:
        spec.groups[g] = c.str_(groups, g, "latents.groups", "static", GROUP_DRIVERS)
    n = len(spec.seeds) if spec.file is None else None
    for g, driver in spec.groups.items():
        if driver in ("chroma", "bass_chroma") and n is not None and n != 12:
            c.error(f"latents.groups.{g}", f"'{driver}' needs 12 seeds (C..B), latents.seeds has {n}")
    if spec.seeds_b is not None and n is not None and len(spec.seeds_b) not in (1, n):
        c.error("latents.seeds_b", f"set B needs as many seeds as set A ({n}), or one, got {len(spec.seeds_b)}")
    for name, draw in c.table(d.get("directions", {}), "latents.directions").items():
        field = f"latents.directions.{name}"
        dd = c.table(draw, field)
        c.keys(dd, field, ("seed", "file", "key", "index", "subtract_mean", "scale", "groups"))
        ds = DirectionSpec(seed=c.int_(dd, "seed", field, None, 0, MAX_SEED), scale=c.num(dd, "scale", field, 1.0))
        ds.key = c.str_(dd, "key", field, None)
        ds.index = c.int_(dd, "index", field, None, 0, 100_000)
        ds.subtract_mean = c.bool_(dd, "subtract_mean", field, False)
        f = c.str_(dd, "file", field, None)
        if f is not None:
            if (base / f).is_file():
                ds.file = Path(f)
            else:
                c.error(f"{field}.file", f"direction file {base / f} does not exist")
        if ds.seed is None and ds.file is None and "seed" not in dd and "file" not in dd:
            c.error(field, "a direction needs a seed or a file")
        gs = dd.get("groups", list(LATENT_GROUPS))
        if not isinstance(gs, list) or not all(g in LATENT_GROUPS for g in gs):
            c.error(f"{field}.groups", f"expected a list of {', '.join(LATENT_GROUPS)}, got {gs!r}")
        else:
            ds.groups = tuple(gs)
        spec.directions[name] = ds
    return spec


def _route(c: _Checker, raw: Any, i: int, lfos: dict, user: dict, check_target) -> RouteSpec | None:
    field = f"routes[{i}]"
    d = c.table(raw, field)
    c.keys(d, field, ROUTE_KEYS)
    src = d.get("source")
    value = c.num(d, "value", field, 1.0)
    if isinstance(src, int | float) and not isinstance(src, bool):
        value, src = float(src), "const"
    elif not isinstance(src, str):
        c.error(f"{field}.source", f"expected a source name or a number, got {src!r}")
        src = None
    else:
        problem = _source_ok(src, lfos, user)
        if problem:
            c.error(f"{field}.source", problem)
            src = None
    tgt = d.get("target")
    if not isinstance(tgt, str):
        c.error(f"{field}.target", f"expected a target name, got {tgt!r}")
        tgt = None
    else:
        problem = check_target(tgt)
        if problem:
            c.error(f"{field}.target", problem)
            tgt = None
    r = RouteSpec(source=src or "const", target=tgt or "", value=value)
    r.gain = c.num(d, "gain", field, 1.0, -1e4, 1e4)
    r.offset = c.num(d, "offset", field, 0.0, -1e4, 1e4)
    r.curve = c.str_(d, "curve", field, "linear", CURVES)
    r.curve_amount = c.num(d, "curve_amount", field, 1.0, -50.0, 50.0)
    if r.curve == "power" and r.curve_amount <= 0:
        c.error(f"{field}.curve_amount", f"a power curve needs an exponent > 0, got {r.curve_amount}")
    r.threshold = c.num(d, "threshold", field, 0.0, -1e4, 1e4)
    r.attack_ms = c.num(d, "attack_ms", field, 0.0, 0.0, MS_MAX)
    r.release_ms = c.num(d, "release_ms", field, 0.0, 0.0, MS_MAX)
    r.mode = c.str_(d, "mode", field, "add", MODES)
    r.enabled = c.bool_(d, "enabled", field, True)
    if "clamp" in d:
        cl = d["clamp"]
        if (
            not isinstance(cl, list) or len(cl) != 2
            or not all(_finite(x) for x in cl)
        ):
            c.error(f"{field}.clamp", f"expected [min, max] numbers, got {cl!r}")
        elif cl[0] > cl[1]:
            c.error(f"{field}.clamp", f"min {cl[0]} is above max {cl[1]}")
        else:
            r.clamp_min, r.clamp_max = float(cl[0]), float(cl[1])
    if "envelope" in d:
        ef = f"{field}.envelope"
        e = c.table(d["envelope"], ef)
        c.keys(e, ef, ("trigger", "attack_ms", "decay_ms", "decay_beats"))
        env = EnvelopeSpec(trigger=c.str_(e, "trigger", ef, "onset_event"))
        problem = _source_ok(env.trigger, lfos, user)
        if problem:
            c.error(f"{ef}.trigger", problem)
        env.attack_ms = c.num(e, "attack_ms", ef, 0.0, 0.0, MS_MAX)
        env.decay_ms = c.num(e, "decay_ms", ef, 250.0, 0.0, MS_MAX)
        env.decay_beats = c.num(e, "decay_beats", ef, None, 0.0, 256.0)
        r.envelope = env
    return r if src and tgt else None


def _noise_mask(c: _Checker, name: str, base: Path) -> str | None:
    """A procedural mask name of the models stage, or an image file (resolved next to the preset)."""
    from vjgan.core.vocab import NOISE_MASKS as MASKS

    if name in MASKS:
        return name
    for cand in (base / name, Path(name)):
        if cand.is_file():
            return str(cand.resolve())
    c.error("generator.noise_mask", f"unknown noise mask {name!r}: use one of {', '.join(MASKS)} or an image file")
    return None


def _check_osc(c: _Checker, osc: dict[str, Any] | None) -> None:
    """OSC-learn bindings are the control stage's, but a typo should fail at load like everything else."""
    if not osc:
        return
    from vjgan.core.bindings import Binding

    items = osc.get("bindings", [])
    if not isinstance(items, list):
        c.error("osc.bindings", "expected [[osc.bindings]] tables")
        return
    for i, b in enumerate(items):
        try:
            Binding.from_dict(b if isinstance(b, dict) else {}, where="binding")
        except UserError as exc:
            c.error(f"osc.bindings[{i}]", str(exc))


def _check_midi(c: _Checker, midi: dict[str, Any] | None) -> None:
    """MIDI bindings ([[midi.bindings]]) are the control stage's too: checked here so a bad one fails at load."""
    if not midi:
        return
    from vjgan.core.midi_binding import bindings_from_dict

    try:
        bindings_from_dict(midi, where="midi.bindings")
    except UserError as exc:
        c.error("midi", str(exc))


def parse_preset(
    raw: dict[str, Any],
    text: str = "",
    path: Path | None = None,
    effects: dict[str, dict[str, EffectParam]] | None = None,
) -> Preset:
    """Validate parsed TOML. Raises UserError listing every problem (file:line: field: message)."""
    where = str(path) if path else "<preset>"
    base = path.parent if path else Path.cwd()
    c = _Checker(where, text)
    c.keys(raw, "", PRESET_KEYS)
    p = Preset(path=path, text=text)
    meta = c.table(raw.get("preset", {}), "preset")
    c.keys(meta, "preset", ("name", "description", "crossfade_beats"))
    p.name = c.str_(meta, "name", "preset", path.stem if path else "untitled")
    p.description = c.str_(meta, "description", "preset", "")
    p.crossfade_beats = c.num(meta, "crossfade_beats", "preset", 4.0, 0.0, 64.0)

    for name, lraw in c.table(raw.get("lfos", {}), "lfos").items():
        field = f"lfos.{name}"
        d = c.table(lraw, field)
        c.keys(d, field, ("shape", "beats", "phase", "bipolar", "seed"))
        if not _NAME.match(name):
            c.error(field, "LFO names are letters, digits and _")
        p.lfos[name] = LfoSpec(
            shape=c.str_(d, "shape", field, "sine", SHAPES),
            beats=c.num(d, "beats", field, 4.0, 1.0 / 64, 1024.0),
            phase=c.num(d, "phase", field, 0.0, -1.0, 1.0),
            bipolar=c.bool_(d, "bipolar", field, False),
            seed=c.int_(d, "seed", field, 0, 0, MAX_SEED),
        )
    for name, uraw in c.table(raw.get("user", {}), "user").items():
        field = f"user.{name}"
        if not _NAME.match(name):
            c.error(field, "user value names are letters, digits and _")
        if isinstance(uraw, dict):
            c.keys(uraw, field, ("value", "min", "max"))
            lo = c.num(uraw, "min", field, 0.0)
            hi = c.num(uraw, "max", field, 1.0)
            if lo >= hi:
                c.error(field, f"min {lo} must be below max {hi}")
                hi = lo + 1.0
            p.user[name] = UserSpec(c.num(uraw, "value", field, lo, lo, hi), lo, hi)
        else:
            p.user[name] = UserSpec(c.num({"value": uraw}, "value", field, 0.0, 0.0, 1.0))

    p.latents = _latents(c, raw.get("latents", {}), base)
    directions = tuple(p.latents.directions)

    def check_target(name: str) -> str | None:
        try:
            parse_target(name, None, effects, directions)
        except TargetError as exc:
            return str(exc)
        return None

    gen = c.table(raw.get("generator", {}), "generator")
    c.keys(gen, "generator", ("noise_mask",))
    p.noise_mask = c.str_(gen, "noise_mask", "generator", None)
    if p.noise_mask is not None:
        p.noise_mask = _noise_mask(c, p.noise_mask, base)

    # target → (value, the field it was written in): [targets] or [shader.uniforms.EFFECT]
    bases: dict[str, tuple[Any, str]] = {
        name: (v, f"targets.{name}") for name, v in c.table(raw.get("targets", {}), "targets").items()
    }
    shader = c.table(raw.get("shader", {}), "shader")
    c.keys(shader, "shader", ("chain", "uniforms"))
    chain = shader.get("chain", [])
    if not isinstance(chain, list) or not all(isinstance(x, str) for x in chain):
        c.error("shader.chain", f"expected a list of effect names, got {chain!r}")
    else:
        for e in chain:
            if effects is not None and e not in effects:
                c.error("shader.chain", f"unknown effect {e!r}; shaders/ has {', '.join(effects) or '(none)'}")
        p.chain = tuple(chain)
    for effect, uni in c.table(shader.get("uniforms", {}), "shader.uniforms").items():
        for u, v in c.table(uni, f"shader.uniforms.{effect}").items():
            bases[f"shader.{effect}.{u}"] = (v, f"shader.uniforms.{effect}.{u}")
    for name, (v, field) in bases.items():
        problem = check_target(name)
        if problem:
            c.error(field, problem)
            continue
        t = parse_target(name, None, effects, directions)
        if isinstance(v, bool) or not isinstance(v, int | float):
            c.error(field, f"expected a number, got {type(v).__name__} {v!r}")
        elif not _finite(v) or not t.minimum <= v <= t.maximum:
            c.error(field, f"{v} is out of range {t.minimum:g}..{t.maximum:g}")
        else:
            p.targets[name] = float(v)

    for k in EXTRA_KEYS:
        if k in raw:
            p.extra[k] = c.table(raw[k], k)
    _check_osc(c, p.extra.get("osc"))
    _check_midi(c, p.extra.get("midi"))

    routes = raw.get("routes", [])
    if not isinstance(routes, list):
        c.error("routes", "expected [[routes]] tables")
        routes = []
    for i, rraw in enumerate(routes):
        r = _route(c, rraw, i, p.lfos, p.user, check_target)
        if r is not None:
            p.routes.append(r)
    if c.errors:
        n = len(c.errors)
        raise UserError(f"invalid preset ({n} problem{'s' if n > 1 else ''}):\n  " + "\n  ".join(c.errors))
    return p
