"""Compiling a preset against a generator (off the render thread: latents may run the mapping network).

`compile_preset` is pure apart from the shared `WsCache`, so the preset loader and the app's worker call
it on their threads and hand the `Compiled` result to the render thread, which installs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from vjgan.core.effects import EffectParam
from vjgan.core.errors import UserError
from vjgan.core.generator import LatentModel
from vjgan.mapping import latents as lat
from vjgan.mapping.modifiers import RouteState
from vjgan.mapping.schema import key_lines, locate
from vjgan.mapping.spec import Preset, RouteSpec
from vjgan.mapping.targets import Target, TargetError, parse_target


@dataclass
class CompiledRoute:
    spec: RouteSpec
    target: Target
    state: RouteState = field(default_factory=RouteState)


@dataclass
class Compiled:
    """A preset bound to one generator: everything the per-frame loop needs, precomputed."""

    preset: Preset
    bank: lat.LatentBank
    routes: list[CompiledRoute]
    targets: dict[str, Target]  # active targets: base values and route targets
    bases: dict[str, float]
    user: dict[str, float]
    latent_state: lat.LatentState = field(default_factory=lat.LatentState)
    values: dict[str, float] = field(default_factory=dict)  # last resolved target values
    # per-frame dispatch plan, rebuilt when the set of targets changes (see MappingEngine._plan)
    plan: list[tuple[str, float, list[tuple], bool]] = field(default_factory=list)
    plan_size: int = -1
    directions: list[tuple[str, str]] = field(default_factory=list)
    pca: list[tuple[str, int]] = field(default_factory=list)
    noise_keys: list[tuple] = field(default_factory=list)
    neutral: dict[tuple, float] = field(default_factory=dict)


def compile_preset(
    generator: LatentModel,
    preset: Preset,
    effects: dict[str, dict[str, EffectParam]],
    cache: lat.WsCache | None = None,
) -> Compiled:
    """Bind a validated preset to a generator; UserError (file:line: field) if it does not fit."""
    where = str(preset.path) if preset.path else "<preset>"
    lines = key_lines(preset.text)
    layers = tuple(generator.layer_names)
    encoder_layers = tuple(generator.encoder_layer_names)
    directions = tuple(preset.latents.directions)
    errors: list[str] = []

    def target(name: str, field_: str) -> Target | None:
        try:
            return parse_target(name, layers, effects, directions, encoder_layers)
        except TargetError as exc:
            errors.append(f"{where}:{locate(lines, field_) or '?'}: {field_}: {exc}")
            return None

    targets: dict[str, Target] = {}
    for name in ("truncation", "noise.all", "noise_mask.amount", "latent.section", "latent.walk_speed",
                 "latent.walk_amount", "preset.crossfade_beats"):
        targets[name] = parse_target(name)
    bases = {"preset.crossfade_beats": preset.crossfade_beats}
    for name, v in preset.targets.items():
        f = f"targets.{name}" if not name.startswith("shader.") else "shader.uniforms." + name[7:]
        t = target(name, f)
        if t is not None:
            targets[name] = t
            bases[name] = min(max(v, t.minimum), t.maximum)
    routes = []
    for i, r in enumerate(preset.routes):
        t = target(r.target, f"routes[{i}].target")
        if t is not None:
            targets[r.target] = t
            # own copies: live edits (registry) must not leak into the Preset object or other engines
            routes.append(CompiledRoute(replace(r, envelope=replace(r.envelope) if r.envelope else None), t))
    if errors:
        raise UserError(f"preset does not fit this model ({len(errors)} problems):\n  " + "\n  ".join(errors))
    base = preset.path.parent if preset.path else Path.cwd()
    bank = lat.compile_latents(generator, preset.latents, base, where, cache)
    user = {n: u.value for n, u in preset.user.items()}
    return Compiled(preset, bank, routes, targets, bases, user)


def _carry_state(old: Compiled, new: Compiled) -> None:
    """Hot reload of an edited file: unchanged routes keep their smoothing/envelope state and the latent
    keeps its walk and chroma weights, so saving a tweak does not make the picture jump."""
    for r_new, r_old in zip(new.routes, old.routes, strict=False):
        if (r_new.spec.source, r_new.spec.target) == (r_old.spec.source, r_old.spec.target):
            r_new.state = replace(r_old.state)
    new.latent_state = replace(old.latent_state)
