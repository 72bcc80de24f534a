"""The mapping engine: once per rendered frame, Features (+ time) → FrameParams.

A preset is compiled against the generator (latents turned into arrays, targets into layer names)
before it replaces the running one, so a bad preset is rejected while the show goes on. During a
crossfade both compiled presets run and their outputs are blended, reaching the new one after N beats.
All mutation happens on the render thread: `step`, `load` and the registry callbacks (which the
ControlQueue runs there); background loads and hot reloads only post compiled results.
"""

from __future__ import annotations

import itertools
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from vjgan.core.effects import EffectParam, available_effects
from vjgan.core.errors import UserError
from vjgan.core.features import SOURCE_NAMES, Features
from vjgan.core.frame import FrameParams, GeneratorParams, ShaderParams
from vjgan.core.generator import LatentModel
from vjgan.core.paths import PRESETS_DIR, PathRefused, confine
from vjgan.core.registry import Param, ParamError, ParamRegistry
from vjgan.mapping import latents as lat
from vjgan.mapping.compile import Compiled, CompiledRoute, _carry_state, compile_preset
from vjgan.mapping.events import EVENTS, EventTracker
from vjgan.mapping.lfo import lfo_value
from vjgan.mapping.loader import LoadResult, PresetLoader
from vjgan.mapping.modifiers import process, rising
from vjgan.mapping.pca import PcaExplorer, PcaResult
from vjgan.mapping.presets import find_preset, save_preset
from vjgan.mapping.schema import _source_ok
from vjgan.mapping.spec import CURVES, MODES, Preset
from vjgan.mapping.targets import Target, TargetError, all_targets, parse_target

log = logging.getLogger(__name__)
GROUP = "mapping"
# GeneratorParams.seq values unique across engines in this process: a generator thread that outlives an
# engine (the app rebuilding its mapping) must never take a new engine's frame for one it already made
_SEQ = itertools.count(1)
MAX_DT = 0.5  # a stalled frame must not make smoothing or envelopes jump


@dataclass
class _Out:
    """One compiled preset's output for a frame, flat so two can be blended key by key."""

    latent: np.ndarray  # composed latent + offset
    offset: np.ndarray | None  # semantic edits (directions, PCA) inside `latent`
    values: dict[tuple, float]
    neutral: dict[tuple, float]
    chain: tuple[str, ...]
    noise_mask: str | None


def _lerp_outs(a: _Out, b: _Out, t: float) -> _Out:
    keys = a.values.keys() | b.values.keys()
    neutral = a.neutral | b.neutral
    values = {
        k: a.values.get(k, neutral[k]) + (b.values.get(k, neutral[k]) - a.values.get(k, neutral[k])) * t for k in keys
    }
    if a.offset is None and b.offset is None:
        offset = None
    else:
        oa = a.offset if a.offset is not None else 0.0
        ob = b.offset if b.offset is not None else 0.0
        offset = oa + (ob - oa) * t
    return _Out(a.latent + (b.latent - a.latent) * t, offset, values, neutral, b.chain if t >= 0.5 else a.chain,
                b.noise_mask if t >= 0.5 else a.noise_mask)


class MappingEngine:
    """The modulation matrix. Create it on the render thread; call `step` once per rendered frame."""

    def __init__(
        self,
        generator: LatentModel,
        preset: Preset,
        registry: ParamRegistry | None = None,
        effects: dict[str, dict[str, EffectParam]] | None = None,
        presets_dir: Path = PRESETS_DIR,
        watch: bool = True,
    ) -> None:
        """`watch`: start the loader thread (hot reload of the preset file) on the first `step`."""
        self.generator = generator
        self.registry = registry if registry is not None else ParamRegistry()
        self.presets_dir = presets_dir
        self._effects_fixed = effects
        self.effects = available_effects() if effects is None else effects
        self.layers = tuple(generator.layer_names)
        self.encoder_layers = tuple(generator.encoder_layer_names)  # bend targets only (VAE-GAN camera path)
        self.pca = PcaExplorer(generator)  # GANSpace components for the latent.pca.<i> targets
        self.ws_cache = lat.WsCache(generator)
        self.cur = compile_preset(generator, preset, self.effects, self.ws_cache)
        self.prev: Compiled | None = None  # the preset being faded out
        self._fade_beats = 0.0
        self._fade_start: tuple[float, float] | None = None  # (beats, now) at the first step of a fade
        self.fade = 1.0  # crossfade progress, 1 = done
        self._last_now: float | None = None
        self._seq = 0
        self._events = EventTracker()
        self.loader: PresetLoader | None = None
        self._auto_watch = watch
        self.last_error = ""  # last rejected preset (panel shows it)
        # other stages' tables in presets (e.g. "osc": OscLearn.to_dict): saved with the live state ...
        self.extra_providers: dict[str, Callable[[], dict[str, Any]]] = {}
        # ... and told when a preset becomes active (e.g. OscLearn.load_dict(preset.extra["osc"]))
        self.on_activate: list[Callable[[Preset], None]] = []
        # told (on the render thread) when the PCA worker finishes, e.g. a note in the panel
        self.on_pca: list[Callable[[PcaResult], None]] = []
        self.reloads = 0
        # runs slow work (file writes, the mapping network) off the render thread when set:
        # offload(name, work, apply) with apply(result) later on the render thread (the app's Worker.submit)
        self.offload: Callable[..., None] | None = None
        self._register()

    # -- presets ------------------------------------------------------------------------------------
    @property
    def preset(self) -> Preset:
        return self.cur.preset

    def _refresh_effects(self) -> None:
        if self._effects_fixed is None:
            self.effects = available_effects()

    def load(self, preset: Preset, crossfade_beats: float = 0.0) -> None:
        """Switch preset (render thread). Compiles first: on UserError the running preset stays."""
        self.install(self.compile(preset), crossfade_beats)

    def compile(self, preset: Preset) -> Compiled:
        """Bind `preset` to this generator; any thread (the app's worker: latents may run the network)."""
        self._refresh_effects()
        return compile_preset(self.generator, preset, self.effects, self.ws_cache)

    def install(self, compiled: Compiled, crossfade_beats: float) -> None:
        if crossfade_beats > 0:
            self.prev = self.cur
            self._fade_beats = float(crossfade_beats)
            self._fade_start = None
            self.fade = 0.0
        else:
            self.prev = None
            self.fade = 1.0
        self.cur = compiled
        self.last_error = ""
        for listener in self.on_activate:
            try:
                listener(compiled.preset)
            except UserError as exc:
                self.last_error = str(exc)
                log.error("preset %r: %s", compiled.preset.name, exc)
        if self.loader is not None and compiled.preset.path is not None:
            self.loader.watch(compiled.preset.path)
        self._register()
        log.info("preset %r active%s", compiled.preset.name,
                 f" (crossfade {crossfade_beats:g} beats)" if crossfade_beats > 0 else "")

    def start_loader(self, watch: bool = True, poll_s: float = 0.25) -> PresetLoader:
        """Background thread for OSC/panel loads and hot reload of the running preset's file."""
        if self.loader is None:
            self.loader = PresetLoader(self.generator, self._effects_fixed, poll_s, self.ws_cache)
            self.loader.start()
            # an engine dropped without stop_loader() still ends its thread (the loader holds no engine ref)
            weakref.finalize(self, self.loader.halt)
        if watch and self.cur.preset.path is not None:
            self.loader.watch(self.cur.preset.path)
        return self.loader

    def stop_loader(self) -> None:
        if self.loader is not None:
            self.loader.stop()
            self.loader = None

    def request_load(self, name_or_path: str, crossfade_beats: float | None = None) -> None:
        """Load in the background (no frame waits for file IO or latent mapping); applied in a later step."""
        if crossfade_beats is None:
            c = self.cur
            crossfade_beats = c.bases["preset.crossfade_beats"]
            if any(r.spec.target == "preset.crossfade_beats" for r in c.routes):  # modulated: last frame's value
                crossfade_beats = c.values.get("preset.crossfade_beats", crossfade_beats)
        loader = self.start_loader(watch=False)
        loader.request(name_or_path, crossfade_beats, self.presets_dir)

    def _poll_loader(self) -> None:
        if self.loader is None:
            return
        for res in self.loader.results():
            self._apply_result(res)

    def _apply_result(self, res: LoadResult) -> None:
        if res.error:
            self.last_error = res.error
            log.error("preset rejected, keeping %r: %s", self.cur.preset.name, res.error)
            return
        assert res.compiled is not None
        if res.reload:
            self.reloads += 1
            _carry_state(self.cur, res.compiled)
        self.install(res.compiled, res.crossfade_beats)

    def snapshot(self) -> Preset:
        """The running preset with every live change (route modifiers, base values, user values)."""
        c = self.cur
        p = replace(c.preset)
        p.routes = [replace(r.spec, envelope=replace(r.spec.envelope) if r.spec.envelope else None) for r in c.routes]
        p.targets = {k: v for k, v in c.bases.items() if k != "preset.crossfade_beats"}
        p.crossfade_beats = c.bases["preset.crossfade_beats"]
        p.user = {n: replace(u, value=c.user[n]) for n, u in c.preset.user.items()}
        p.extra = dict(c.preset.extra) | {k: provide() for k, provide in self.extra_providers.items()}
        return p

    def save(self, name_or_path: str = "", confined: bool = False, write: Callable[..., None] | None = None) -> Path:
        """Save the live state: '' → presets/<name>-live.toml, a bare name → presets/<name>.toml, else a path.

        `confined` (requests from OSC and the panel): the file must land inside the presets folder, a relative
        path counts from there, and anything else raises PathRefused before a byte is written."""
        snap = self.snapshot()
        if not name_or_path:
            text, is_path = f"{snap.name}-live.toml", False
        elif "/" in name_or_path or name_or_path.endswith(".toml"):
            text, is_path = name_or_path, True
        else:
            text, is_path = f"{name_or_path}.toml", False
            snap.name = name_or_path
        if confined:
            path = confine(text, [self.presets_dir], "preset", ".toml")
        else:
            path = Path(text) if is_path else self.presets_dir / text
        if write is not None:  # write(name, work, apply): the file is written later, on another thread
            write("preset/save", lambda: save_preset(snap, path), lambda out: log.info("preset saved to %s", out))
            return path
        out = save_preset(snap, path)
        log.info("preset saved to %s", out)
        return out

    # -- per frame ----------------------------------------------------------------------------------
    def step(self, features: Features, now: float | None = None) -> FrameParams:
        """Parameters for the frame shown at `now` (seconds, any monotonic clock; default perf_counter)."""
        if self.loader is None:
            if self._auto_watch and self.cur.preset.path is not None:
                self.start_loader(watch=True)
        else:
            self._poll_loader()
        res = self.pca.poll()
        if res is not None:
            for listener in self.on_pca:
                listener(res)
        now = time.perf_counter() if now is None else now
        dt = 0.0 if self._last_now is None else min(max(now - self._last_now, 0.0), MAX_DT)
        self._last_now = now
        scalars = features.scalars()
        beats = features.beat_count + features.beat_phase
        bar_start = round((beats - 4.0 * features.bar_phase) / 4.0)
        bars = bar_start + features.bar_phase
        scalars.update(self._events.update(features, bars))  # events since the last frame, none lost
        beat_s = 60.0 / max(features.tempo, 1.0)
        out = self._run(self.cur, features, scalars, beats, bars, dt, beat_s)
        if self.prev is not None:
            if self._fade_start is None:
                self._fade_start = (beats, now)
            b0, t0 = self._fade_start
            by_beats = (beats - b0) / self._fade_beats
            by_time = (now - t0) / (self._fade_beats * beat_s)
            self.fade = min(1.0, max(by_beats, by_time, 0.0))
            if self.fade >= 1.0 - 1e-6:  # float beat clocks land a hair short of the bar line
                self.fade = 1.0
                self.prev = None
            else:
                old = self._run(self.prev, features, scalars, beats, bars, dt, beat_s)
                out = _lerp_outs(old, out, self.fade)
        self._seq = next(_SEQ)
        return self._frame(out, features.time)

    def _run(
        self, c: Compiled, f: Features, scalars: dict[str, float], beats: float, bars: float, dt: float,
        beat_s: float,
    ) -> _Out:
        src = scalars
        if c.preset.lfos or c.user:
            src = dict(scalars)
            for name, spec in c.preset.lfos.items():
                src[f"lfo.{name}"] = lfo_value(spec, beats)
            for name, v in c.user.items():
                src[f"user.{name}"] = v
        vals = dict(c.bases)
        targets = c.targets
        for r in c.routes:
            spec = r.spec
            if not spec.enabled:
                continue
            x = spec.value if spec.source == "const" else src[spec.source]
            fire = False
            if spec.envelope is not None:
                trig = spec.envelope.trigger
                fire = src[trig] >= 0.5 if trig in EVENTS else rising(r.state, src[trig])
            y = process(spec, r.state, x, fire, dt, beat_s)
            name = spec.target
            cur = vals.get(name)
            if cur is None:
                cur = targets[name].neutral
            vals[name] = cur * y if spec.mode == "mul" else cur + y
        for name, v in vals.items():
            t = targets[name]
            if v < t.minimum:
                vals[name] = t.minimum
            elif v > t.maximum:
                vals[name] = t.maximum
            elif v != v:  # NaN (e.g. inf * 0 in a mul route)
                vals[name] = t.neutral
        c.values = vals
        if c.plan_size != len(targets):
            self._plan(c)
        directions = {key: vals.get(name, 0.0) for name, key in c.directions}
        latent = lat.compose(
            c.bank, c.latent_state, f.chroma, f.bass_chroma, bars, vals.get("latent.section", 0.0),
            vals.get("latent.walk_speed", 0.0), vals.get("latent.walk_amount", 0.0), dt, beat_s,
        )
        offset = lat.direction_offset(c.bank, directions)
        if c.pca:
            amounts = {i: vals.get(name, 0.0) for name, i in c.pca}
            if self.pca.directions is None:
                if any(amounts.values()) and not self.pca.error:
                    self.pca.request()  # first use: computed once per generator, off this thread
            else:
                pca = self.pca.offset(amounts, latent.shape)
                if pca is not None:
                    offset = pca if offset is None else offset + pca
        if offset is not None:
            latent += offset
        values: dict[tuple, float] = {("truncation",): vals.get("truncation", 1.0),
                                      ("mask",): vals.get("noise_mask.amount", 0.0)}
        noise_all = vals.get("noise.all", 1.0)
        for key in c.noise_keys:
            values[key] = noise_all
        for name, neutral_v, keys, is_noise in c.plan:
            v = vals.get(name, neutral_v)
            if is_noise:
                for key in keys:
                    values[key] *= v
            else:
                for key in keys:
                    values[key] = v
        return _Out(latent, offset, values, c.neutral, c.preset.chain, c.preset.noise_mask)

    def _plan(self, c: Compiled) -> None:
        """Precompute where each target's value goes, so the per-frame loop only copies floats."""
        c.plan, c.directions, c.pca = [], [], []
        c.noise_keys = [("noise", layer) for layer in self.layers]
        c.neutral = {("truncation",): 1.0, ("mask",): 0.0} | dict.fromkeys(c.noise_keys, 1.0)
        for name, t in c.targets.items():
            if t.kind == "direction":
                c.directions.append((name, t.key))
            elif t.kind == "pca":
                c.pca.append((name, int(t.key)))
            if t.kind in ("scalar", "direction", "pca"):
                continue
            if t.kind == "shader":
                keys: list[tuple] = [("shader", t.effect, t.key)]
            elif t.kind == "noise":
                keys = [("noise", layer) for layer in t.layers]
            elif t.kind == "bend":
                keys = [("bend", layer, t.key) for layer in t.layers]
            else:
                keys = [("rewrite", layer) for layer in t.layers]
            if t.kind != "noise":
                c.neutral.update(dict.fromkeys(keys, t.neutral))
            c.plan.append((name, t.neutral, keys, t.kind == "noise"))
        c.plan_size = len(c.targets)

    def _frame(self, out: _Out, audio_time: float) -> FrameParams:
        gp = GeneratorParams(latent=out.latent, seq=self._seq)
        sp = ShaderParams(chain=out.chain)
        gp.noise_mask = out.noise_mask
        for key, v in out.values.items():
            kind = key[0]
            if kind == "noise":
                gp.noise_strength[key[1]] = v
            elif kind == "bend":
                if v != out.neutral[key]:
                    bends = gp.encoder_bends if key[1] in self.encoder_layers else gp.bends
                    bends.setdefault(key[1], {})[key[2]] = v
            elif kind == "rewrite":
                if v != 1.0:
                    gp.rewrite[key[1]] = v
            elif kind == "shader":
                sp.uniforms.setdefault(key[1], {})[key[2]] = v
            elif kind == "truncation":
                gp.truncation = v
            else:
                gp.noise_mask_amount = v
        return FrameParams(gp, sp, audio_time, out.offset)

    # -- introspection ------------------------------------------------------------------------------
    def source_names(self) -> list[str]:
        """Every source a route of the running preset may use (panel drop-downs)."""
        p = self.cur.preset
        return [*SOURCE_NAMES, *(f"lfo.{n}" for n in p.lfos), *(f"user.{n}" for n in p.user), "const"]

    def target_names(self) -> list[str]:
        """Every target of this model, these shaders and the running preset's directions."""
        return all_targets(self.layers, self.effects, tuple(self.cur.preset.latents.directions),
                           self.encoder_layers, self.pca.available)

    def route_outputs(self) -> list[float]:
        """Last output of every route of the running preset (meters in the panel, dead-route checks)."""
        return [r.state.out for r in self.cur.routes]

    def target_values(self) -> dict[str, float]:
        return dict(self.cur.values)

    def uses_pca(self) -> bool:
        """The running preset sets or routes a latent.pca.<i> target (offline renders compute it first)."""
        return any(t.kind == "pca" for t in self.cur.targets.values())

    # -- registry -----------------------------------------------------------------------------------
    def _register(self) -> None:
        c = self.cur
        items: list[tuple[Param, Any]] = []

        def add(address: str, kind: str, doc: str, apply, lo=None, hi=None, default=None) -> None:
            items.append((Param(address, kind, doc, lo, hi, default, GROUP), apply))  # type: ignore[arg-type]

        for i, r in enumerate(c.routes):
            base = f"/vjgan/route/{i}"
            s = r.spec
            for name, lo, hi, doc in (
                ("gain", -1e4, 1e4, "route gain"),
                ("offset", -1e4, 1e4, "route offset (after gain)"),
                ("curve_amount", -50.0, 50.0, "exponent (power) or steepness (exp)"),
                ("threshold", -1e4, 1e4, "gate: source values below count as 0"),
                ("attack_ms", 0.0, 60000.0, "smoothing time constant while rising"),
                ("release_ms", 0.0, 60000.0, "smoothing time constant while falling"),
                ("value", -1e4, 1e4, "value of a const source"),
            ):
                add(f"{base}/{name}", "float", f"{doc} ({s.source} → {s.target})", self._route_setter(i, name),
                    lo, hi, getattr(s, name))
            add(f"{base}/clamp_min", "float", "lower clamp of the route output", self._route_setter(i, "clamp_min"),
                -1e6, 1e6, s.clamp_min)
            add(f"{base}/clamp_max", "float", "upper clamp of the route output", self._route_setter(i, "clamp_max"),
                -1e6, 1e6, s.clamp_max)
            add(f"{base}/enabled", "bool", "route on/off", self._route_setter(i, "enabled"), default=s.enabled)
            add(f"{base}/source", "str", "source name (Features scalar, lfo.*, user.*, const)",
                self._route_source(i), default=s.source)
            add(f"{base}/target", "str", "target name", self._route_target(i), default=s.target)
            add(f"{base}/curve", "str", f"curve: {', '.join(CURVES)}", self._route_choice(i, "curve", CURVES),
                default=s.curve)
            add(f"{base}/mode", "str", f"mode: {', '.join(MODES)}", self._route_choice(i, "mode", MODES),
                default=s.mode)
            if s.envelope is not None:
                for name, hi in (("attack_ms", 60000.0), ("decay_ms", 60000.0), ("decay_beats", 256.0)):
                    add(f"{base}/envelope/{name}", "float", f"envelope {name}", self._env_setter(i, name), 0.0, hi,
                        getattr(s.envelope, name))
        directions = tuple(c.preset.latents.directions)
        for name in all_targets(self.layers, self.effects, directions, self.encoder_layers, self.pca.available):
            t = self._parse(name)
            add(f"/vjgan/target/{name}", "float", f"base value of target {name}", self._target_setter(name),
                t.minimum, t.maximum, c.bases.get(name, t.neutral))
        for name, u in c.preset.user.items():
            add(f"/vjgan/user/{name}", "float", f"user value {name} (source user.{name})", self._user_setter(name),
                u.minimum, u.maximum, c.user[name])
        add("/vjgan/preset/load", "str", "load a preset (a name or a path inside presets/), crossfading",
            self._osc_load)
        add("/vjgan/preset/save", "str",
            "save the live state ('' → presets/<name>-live.toml, or a name / a path inside presets/)", self._osc_save)
        add("/vjgan/preset/crossfade", "float", "crossfade length in beats for the next load",
            self._target_setter("preset.crossfade_beats"), 0.0, 64.0, c.bases["preset.crossfade_beats"])
        add("/vjgan/preset/reload", "trigger", "reload the running preset's file now", self._osc_reload)
        add("/vjgan/latent/reseed", "int", "new latent set A: seeds N, N+1, ... (same count)", self._reseed,
            0, 2**31 - 1, c.preset.latents.seeds[0])
        add("/vjgan/latent/loop_bars", "int", "length of latent loops in bars", self._latent_setter("loop_bars"),
            1, 64, c.preset.latents.loop_bars)
        add("/vjgan/latent/chroma_smoothing_ms", "float", "smoothing of the chroma weights",
            self._latent_setter("chroma_smoothing_ms"), 0.0, 60000.0, c.preset.latents.chroma_smoothing_ms)
        add("/vjgan/latent/chroma_power", "float", "sharpness of chroma weighting (>1 favours the strongest)",
            self._latent_setter("chroma_power"), 0.1, 16.0, c.preset.latents.chroma_power)
        self.registry.replace_group(GROUP, items)

    def _parse(self, name: str) -> Target:
        """A target of this generator, these shaders and the running preset's directions."""
        return parse_target(name, self.layers, self.effects, tuple(self.cur.preset.latents.directions),
                            self.encoder_layers)

    def _route(self, i: int) -> CompiledRoute:
        if i >= len(self.cur.routes):
            raise ParamError(f"route {i} does not exist in preset {self.cur.preset.name!r}")
        return self.cur.routes[i]

    def _route_setter(self, i: int, name: str):
        def apply(v: Any) -> None:
            setattr(self._route(i).spec, name, v)

        return apply

    def _env_setter(self, i: int, name: str):
        def apply(v: Any) -> None:
            env = self._route(i).spec.envelope
            if env is None:
                raise ParamError(f"route {i} has no envelope")
            setattr(env, name, v)

        return apply

    def _route_choice(self, i: int, name: str, choices: tuple[str, ...]):
        def apply(v: Any) -> None:
            if v not in choices:
                raise ParamError(f"{name} must be one of {', '.join(choices)}, got {v!r}")
            setattr(self._route(i).spec, name, v)

        return apply

    def _route_source(self, i: int):
        def apply(v: Any) -> None:
            problem = _source_ok(v, self.cur.preset.lfos, self.cur.preset.user)
            if problem:
                raise ParamError(problem)
            self._route(i).spec.source = v

        return apply

    def _route_target(self, i: int):
        def apply(v: Any) -> None:
            r = self._route(i)
            try:
                t = self._parse(v)
            except TargetError as exc:
                raise ParamError(str(exc)) from exc
            self.cur.targets[v] = t
            r.spec.target, r.target = v, t

        return apply

    def _target_setter(self, name: str):
        def apply(v: Any) -> None:
            c = self.cur
            if name not in c.targets:
                c.targets[name] = self._parse(name)
            c.bases[name] = float(v)

        return apply

    def _user_setter(self, name: str):
        def apply(v: Any) -> None:
            if name in self.cur.user:
                self.cur.user[name] = float(v)

        return apply

    def _latent_setter(self, name: str):
        def apply(v: Any) -> None:
            setattr(self.cur.bank.spec, name, v)

        return apply

    def _reseed(self, seed: Any) -> None:
        c = self.cur
        n = len(c.preset.latents.seeds)
        spec = replace(c.preset.latents, seeds=tuple(int(seed) + k for k in range(n)), file=None)
        base = c.preset.path.parent if c.preset.path else Path.cwd()

        def apply(bank: lat.LatentBank) -> None:  # render thread; a preset loaded meanwhile keeps its own
            if self.cur is c:
                c.bank, c.preset = bank, replace(c.preset, latents=spec)

        def work() -> lat.LatentBank:
            return lat.compile_latents(self.generator, spec, base, "reseed", self.ws_cache)

        if self.offload is not None:
            self.offload("latent/reseed", work, apply)
            return
        try:
            apply(work())
        except UserError as exc:
            raise ParamError(str(exc)) from exc

    def _osc_load(self, name: Any) -> None:
        """Remote load (OSC, panel): only files inside the presets folder."""
        try:
            path = confine(str(name), [self.presets_dir], "preset", ".toml")
        except PathRefused as exc:
            raise ParamError(str(exc)) from exc
        self.request_load(str(path))

    def _osc_save(self, name: Any) -> None:
        """The snapshot is taken now; with `offload` the file is written off the render thread."""
        try:
            self.save(str(name), confined=True, write=self.offload)
        except UserError as exc:
            raise ParamError(str(exc)) from exc

    def _osc_reload(self, _: Any) -> None:
        if self.cur.preset.path is None:
            raise ParamError("the running preset has no file to reload")
        self.request_load(str(self.cur.preset.path), 0.0)

    def __repr__(self) -> str:
        return f"MappingEngine(preset={self.cur.preset.name!r}, routes={len(self.cur.routes)}, fade={self.fade:.2f})"


def load_engine(
    generator: LatentModel, preset: str | Path, registry: ParamRegistry | None = None
) -> MappingEngine:
    """Convenience for the app: find + load + compile a preset by name or path."""
    from vjgan.mapping.presets import load_preset

    return MappingEngine(generator, load_preset(find_preset(preset)), registry)
