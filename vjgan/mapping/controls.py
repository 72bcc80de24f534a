"""The mapping engine's live controls: its OSC addresses (registry group "mapping") and what each sets.

Rebuilt whenever a preset becomes active, since route indices follow the running preset. Every callback
runs on the render thread (`ControlQueue.drain`) and acts on the preset running at that moment; a value
that cannot apply raises ParamError, which the queue counts and logs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from vjgan.core.errors import UserError
from vjgan.core.paths import PathRefused, confine
from vjgan.core.registry import Param, ParamError
from vjgan.mapping.compile import Compiled, CompiledRoute
from vjgan.mapping.schema import _source_ok
from vjgan.mapping.spec import CURVES, MODES
from vjgan.mapping.targets import Target, TargetError

GROUP = "mapping"
Apply = Callable[[Any], None]


class LiveEngine(Protocol):
    """What the controls need of the engine (MappingEngine), named here so this module needs no engine."""

    cur: Compiled
    presets_dir: Path
    offload: Callable[..., None] | None

    def parse_target(self, name: str) -> Target: ...
    def target_names(self) -> list[str]: ...
    def request_load(self, name_or_path: str, crossfade_beats: float | None = None) -> None: ...
    def save(self, name_or_path: str = "", confined: bool = False,
             write: Callable[..., None] | None = None) -> Path: ...
    def reseed(self, seed: int) -> None: ...


ROUTE_FLOATS = (
    ("gain", -1e4, 1e4, "route gain"),
    ("offset", -1e4, 1e4, "route offset (after gain)"),
    ("curve_amount", -50.0, 50.0, "exponent (power) or steepness (exp)"),
    ("threshold", -1e4, 1e4, "gate: source values below count as 0"),
    ("attack_ms", 0.0, 60000.0, "smoothing time constant while rising"),
    ("release_ms", 0.0, 60000.0, "smoothing time constant while falling"),
    ("value", -1e4, 1e4, "value of a const source"),
)


def mapping_params(engine: LiveEngine) -> list[tuple[Param, Apply]]:
    """Every parameter of the running preset, with its setter."""
    c = engine.cur
    items: list[tuple[Param, Apply]] = []

    def add(address: str, kind: str, doc: str, apply: Apply, lo=None, hi=None, default=None) -> None:
        items.append((Param(address, kind, doc, lo, hi, default, GROUP), apply))  # type: ignore[arg-type]

    for i, r in enumerate(c.routes):
        base = f"/vjgan/route/{i}"
        s = r.spec
        for name, lo, hi, doc in ROUTE_FLOATS:
            add(f"{base}/{name}", "float", f"{doc} ({s.source} → {s.target})", _route_setter(engine, i, name),
                lo, hi, getattr(s, name))
        add(f"{base}/clamp_min", "float", "lower clamp of the route output", _route_setter(engine, i, "clamp_min"),
            -1e6, 1e6, s.clamp_min)
        add(f"{base}/clamp_max", "float", "upper clamp of the route output", _route_setter(engine, i, "clamp_max"),
            -1e6, 1e6, s.clamp_max)
        add(f"{base}/enabled", "bool", "route on/off", _route_setter(engine, i, "enabled"), default=s.enabled)
        add(f"{base}/source", "str", "source name (Features scalar, lfo.*, user.*, const)",
            _route_source(engine, i), default=s.source)
        add(f"{base}/target", "str", "target name", _route_target(engine, i), default=s.target)
        add(f"{base}/curve", "str", f"curve: {', '.join(CURVES)}", _route_choice(engine, i, "curve", CURVES),
            default=s.curve)
        add(f"{base}/mode", "str", f"mode: {', '.join(MODES)}", _route_choice(engine, i, "mode", MODES),
            default=s.mode)
        if s.envelope is not None:
            for name, hi in (("attack_ms", 60000.0), ("decay_ms", 60000.0), ("decay_beats", 256.0)):
                add(f"{base}/envelope/{name}", "float", f"envelope {name}", _env_setter(engine, i, name), 0.0, hi,
                    getattr(s.envelope, name))
    for name in engine.target_names():
        t = engine.parse_target(name)
        add(f"/vjgan/target/{name}", "float", f"base value of target {name}", _target_setter(engine, name),
            t.minimum, t.maximum, c.bases.get(name, t.neutral))
    for name, u in c.preset.user.items():
        add(f"/vjgan/user/{name}", "float", f"user value {name} (source user.{name})", _user_setter(engine, name),
            u.minimum, u.maximum, c.user[name])
    add("/vjgan/preset/load", "str", "load a preset (a name or a path inside presets/), crossfading",
        lambda name: _load(engine, name))
    add("/vjgan/preset/save", "str",
        "save the live state ('' → presets/<name>-live.toml, or a name / a path inside presets/)",
        lambda name: _save(engine, name))
    add("/vjgan/preset/crossfade", "float", "crossfade length in beats for the next load",
        _target_setter(engine, "preset.crossfade_beats"), 0.0, 64.0, c.bases["preset.crossfade_beats"])
    add("/vjgan/preset/reload", "trigger", "reload the running preset's file now", lambda _: _reload(engine))
    add("/vjgan/latent/reseed", "int", "new latent set A: seeds N, N+1, ... (same count)",
        lambda seed: engine.reseed(int(seed)), 0, 2**31 - 1, c.preset.latents.seeds[0])
    add("/vjgan/latent/loop_bars", "int", "length of latent loops in bars", _latent_setter(engine, "loop_bars"),
        1, 64, c.preset.latents.loop_bars)
    add("/vjgan/latent/chroma_smoothing_ms", "float", "smoothing of the chroma weights",
        _latent_setter(engine, "chroma_smoothing_ms"), 0.0, 60000.0, c.preset.latents.chroma_smoothing_ms)
    add("/vjgan/latent/chroma_power", "float", "sharpness of chroma weighting (>1 favours the strongest)",
        _latent_setter(engine, "chroma_power"), 0.1, 16.0, c.preset.latents.chroma_power)
    return items


def _route(engine: LiveEngine, i: int) -> CompiledRoute:
    if i >= len(engine.cur.routes):
        raise ParamError(f"route {i} does not exist in preset {engine.cur.preset.name!r}")
    return engine.cur.routes[i]


def _route_setter(engine: LiveEngine, i: int, name: str) -> Apply:
    def apply(v: Any) -> None:
        setattr(_route(engine, i).spec, name, v)

    return apply


def _env_setter(engine: LiveEngine, i: int, name: str) -> Apply:
    def apply(v: Any) -> None:
        env = _route(engine, i).spec.envelope
        if env is None:
            raise ParamError(f"route {i} has no envelope")
        setattr(env, name, v)

    return apply


def _route_choice(engine: LiveEngine, i: int, name: str, choices: tuple[str, ...]) -> Apply:
    def apply(v: Any) -> None:
        if v not in choices:
            raise ParamError(f"{name} must be one of {', '.join(choices)}, got {v!r}")
        setattr(_route(engine, i).spec, name, v)

    return apply


def _route_source(engine: LiveEngine, i: int) -> Apply:
    def apply(v: Any) -> None:
        problem = _source_ok(v, engine.cur.preset.lfos, engine.cur.preset.user)
        if problem:
            raise ParamError(problem)
        _route(engine, i).spec.source = v

    return apply


def _route_target(engine: LiveEngine, i: int) -> Apply:
    def apply(v: Any) -> None:
        _route(engine, i)
        try:
            t = engine.parse_target(v)
        except TargetError as exc:
            raise ParamError(str(exc)) from exc
        engine.cur.retarget(i, t)

    return apply


def _target_setter(engine: LiveEngine, name: str) -> Apply:
    def apply(v: Any) -> None:
        c = engine.cur
        if name not in c.targets:
            c.add_target(engine.parse_target(name))
        c.set_base(name, float(v))

    return apply


def _user_setter(engine: LiveEngine, name: str) -> Apply:
    def apply(v: Any) -> None:
        if name in engine.cur.user:
            engine.cur.user[name] = float(v)

    return apply


def _latent_setter(engine: LiveEngine, name: str) -> Apply:
    def apply(v: Any) -> None:
        setattr(engine.cur.bank.spec, name, v)

    return apply


def _load(engine: LiveEngine, name: Any) -> None:
    """Remote load (OSC, panel): only files inside the presets folder."""
    try:
        path = confine(str(name), [engine.presets_dir], "preset", ".toml")
    except PathRefused as exc:
        raise ParamError(str(exc)) from exc
    engine.request_load(str(path))


def _save(engine: LiveEngine, name: Any) -> None:
    """The snapshot is taken now; with `offload` the file is written off the render thread."""
    try:
        engine.save(str(name), confined=True, write=engine.offload)
    except UserError as exc:
        raise ParamError(str(exc)) from exc


def _reload(engine: LiveEngine) -> None:
    if engine.cur.preset.path is None:
        raise ParamError("the running preset has no file to reload")
    engine.request_load(str(engine.cur.preset.path), 0.0)
