"""The mapping engine: once per rendered frame, Features (+ time) → FrameParams.

A preset is compiled against the generator (latents turned into arrays, targets into slots) before it
replaces the running one, so a bad preset is rejected while the show goes on. During a crossfade both
compiled presets run and their outputs are blended, reaching the new one after N beats. All mutation
happens on the render thread: `step`, `load` and the registry callbacks (which the ControlQueue runs
there); background loads and hot reloads only post compiled results.

The parts: compile.py (preset → Compiled), slots.py (targets → slots), evaluate.py (one preset, one
frame), crossfade.py (blending two), controls.py (OSC addresses), loader.py (background loads).
"""

from __future__ import annotations

import itertools
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from vjgan.core.effects import EffectParam, available_effects
from vjgan.core.errors import UserError
from vjgan.core.features import SOURCE_NAMES, Features
from vjgan.core.frame import FrameParams
from vjgan.core.generator import LatentModel
from vjgan.core.paths import PRESETS_DIR, confine
from vjgan.core.registry import ParamError, ParamRegistry
from vjgan.mapping import evaluate
from vjgan.mapping import latents as lat
from vjgan.mapping.compile import Compiled, carry_state, compile_preset
from vjgan.mapping.controls import GROUP, mapping_params
from vjgan.mapping.crossfade import FadeClock, blend
from vjgan.mapping.events import EventTracker
from vjgan.mapping.loader import LoadResult, PresetLoader
from vjgan.mapping.pca import PcaExplorer, PcaResult
from vjgan.mapping.presets import save_preset
from vjgan.mapping.spec import Preset
from vjgan.mapping.targets import Target, all_targets, parse_target

log = logging.getLogger(__name__)
# GeneratorParams.seq values unique across engines in this process: a generator thread that outlives an
# engine (the app rebuilding its mapping) must never take a new engine's frame for one it already made
_SEQ = itertools.count(1)
MAX_DT = 0.5  # a stalled frame must not make smoothing or envelopes jump


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
        self._fade_clock = FadeClock(0.0)
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

    def effects_changed(self, effects: dict[str, dict[str, EffectParam]]) -> None:
        """A shader hot reload added, changed or removed `@param`s (render thread): their targets and OSC
        addresses follow now, not at the next preset load."""
        self.effects = {name: dict(params) for name, params in effects.items()}
        if self._effects_fixed is not None:
            self._effects_fixed = self.effects
            if self.loader is not None:
                self.loader.effects = self.effects
        self._register()

    def load(self, preset: Preset, crossfade_beats: float = 0.0) -> None:
        """Switch preset (render thread). Compiles first: on UserError the running preset stays."""
        self.install(self.compile(preset), crossfade_beats)

    def compile(self, preset: Preset) -> Compiled:
        """Bind `preset` to this generator; any thread (the app's worker: latents may run the network)."""
        self._refresh_effects()
        return compile_preset(self.generator, preset, self.effects, self.ws_cache)

    def install(self, compiled: Compiled, crossfade_beats: float) -> None:
        """Make `compiled` the running preset (render thread), fading over `crossfade_beats` when > 0."""
        compiled.sync()  # the app may have carried live base values into it by name
        if crossfade_beats > 0:
            self.prev = self.cur
            self._fade_clock = FadeClock(float(crossfade_beats))
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
            crossfade_beats = self.cur.value("preset.crossfade_beats")  # modulated: last frame's value
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
            carry_state(self.cur, res.compiled)
        self.install(res.compiled, res.crossfade_beats)

    def reseed(self, seed: int) -> None:
        """Latent set A becomes seeds N, N+1, ... (same count); mapped off the render thread with `offload`."""
        c = self.cur
        n = len(c.preset.latents.seeds)
        spec = replace(c.preset.latents, seeds=tuple(seed + k for k in range(n)), file=None)
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
        path counts from there, and anything else raises PathRefused before a byte is written. Saving over
        an existing file keeps its comments and layout (presets.save_preset)."""
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
        bars = round((beats - 4.0 * features.bar_phase) / 4.0) + features.bar_phase
        scalars.update(self._events.update(features, bars))  # events since the last frame, none lost
        clock = evaluate.Clock(dt, beats, bars, 60.0 / max(features.tempo, 1.0))
        out = self._run(self.cur, features, scalars, clock)
        if self.prev is not None:
            self.fade = self._fade_clock.progress(beats, now, clock.beat_s)
            if self.fade >= 1.0:
                self.prev = None
            else:
                old = self._run(self.prev, features, scalars, clock)
                out = blend(old, out, self.fade, self.prev.slots.uniform_neutral | self.cur.slots.uniform_neutral)
        self._seq = next(_SEQ)
        out.generator.seq = self._seq
        out.time = features.time
        return out

    def _run(self, c: Compiled, f: Features, scalars: dict[str, float], clock: evaluate.Clock) -> FrameParams:
        """One compiled preset for this frame: its target values, then its latent, then the messages."""
        vals = evaluate.target_values(c, evaluate.sources(c, scalars, clock.beats), clock)
        w, offset = evaluate.latent(c, vals, f, clock, self.pca)
        return evaluate.frame_params(c, vals, w, offset)

    # -- introspection ------------------------------------------------------------------------------
    def source_names(self) -> list[str]:
        """Every source a route of the running preset may use (panel drop-downs)."""
        p = self.cur.preset
        return [*SOURCE_NAMES, *(f"lfo.{n}" for n in p.lfos), *(f"user.{n}" for n in p.user), "const"]

    def target_names(self) -> list[str]:
        """Every target of this model, these shaders and the running preset's directions."""
        return all_targets(self.layers, self.effects, tuple(self.cur.preset.latents.directions),
                           self.encoder_layers, self.pca.available)

    def parse_target(self, name: str) -> Target:
        """A target of this generator, these shaders and the running preset's directions (TargetError if not)."""
        return parse_target(name, self.layers, self.effects, tuple(self.cur.preset.latents.directions),
                            self.encoder_layers)

    def route_outputs(self) -> list[float]:
        """Last output of every route of the running preset (meters in the panel, dead-route checks)."""
        return [r.state.out for r in self.cur.routes]

    def target_values(self) -> dict[str, float]:
        """Last frame's value of every active target of the running preset."""
        return self.cur.named_values()

    def uses_pca(self) -> bool:
        """The running preset sets or routes a latent.pca.<i> target (offline renders compute it first)."""
        return bool(self.cur.slots.pca)

    # -- registry -----------------------------------------------------------------------------------
    def _register(self) -> None:
        self.registry.replace_group(GROUP, mapping_params(self))

    def __repr__(self) -> str:
        return f"MappingEngine(preset={self.cur.preset.name!r}, routes={len(self.cur.routes)}, fade={self.fade:.2f})"

