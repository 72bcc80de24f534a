"""Compiling a preset against a generator (off the render thread: latents may run the mapping network).

`compile_preset` is pure apart from the shared `WsCache`, so the preset loader and the app's worker call
it on their threads and hand the `Compiled` result to the render thread, which installs it. Every target
is parsed and given its slot here (`slots.Slots`), so the per-frame loop never looks a name up.
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
from vjgan.mapping.slots import FIXED, Slots
from vjgan.mapping.spec import Preset, RouteSpec
from vjgan.mapping.targets import Target, TargetError, parse_target


@dataclass
class CompiledRoute:
    spec: RouteSpec  # the engine's own copy: live edits (registry) change it in place
    target: Target
    slot: int  # where its output is added (or multiplied) each frame
    state: RouteState = field(default_factory=RouteState)


@dataclass
class Compiled:
    """A preset bound to one generator: everything the per-frame loop needs, precomputed.

    `targets` and `bases` say by name what the preset and live edits set (snapshots and saves read them);
    `slots` is the same resolved to indices, what a frame reads. Change them through `add_target`,
    `set_base` and `retarget`, which keep both in step; after editing the dicts directly, call `sync`."""

    preset: Preset
    bank: lat.LatentBank
    routes: list[CompiledRoute]
    targets: dict[str, Target]  # active targets: base values and route targets
    bases: dict[str, float]
    user: dict[str, float]
    slots: Slots
    latent_state: lat.LatentState = field(default_factory=lat.LatentState)
    routed: tuple[int, ...] = ()  # slots some route writes: the only ones clamped per frame
    values: list[float] = field(default_factory=list)  # last frame's value of every slot

    def __post_init__(self) -> None:
        self.sync()

    def sync(self) -> None:
        """Slots follow `targets` and `bases` (and routes their targets)."""
        for t in self.targets.values():
            self.slots.add(t)
        for name, v in self.bases.items():
            self.slots.base[self.slots.index[name]] = v
        self.routed = tuple(sorted({r.slot for r in self.routes}))
        if len(self.values) != len(self.slots.base):
            self.values = self.values + self.slots.base[len(self.values):]

    def add_target(self, t: Target) -> int:
        """A target set or routed live (not in the preset): its slot, made if new."""
        self.targets.setdefault(t.name, t)
        slot = self.slots.add(t)
        if slot == len(self.values):
            self.values.append(t.neutral)
        return slot

    def set_base(self, name: str, v: float) -> None:
        """A base value set live (already in the target's range: the registry clamps to it)."""
        self.bases[name] = v
        self.slots.base[self.slots.index[name]] = v

    def retarget(self, i: int, t: Target) -> None:
        """Route `i` drives target `t` from the next frame on."""
        r = self.routes[i]
        r.spec.target, r.target, r.slot = t.name, t, self.add_target(t)
        self.routed = tuple(sorted({r.slot for r in self.routes}))

    def value(self, name: str) -> float:
        """Last frame's value of a target: a routed one as modulated, else its base (set since, too)."""
        slot = self.slots.index[name]
        return self.values[slot] if slot in self.routed else self.slots.base[slot]

    def named_values(self) -> dict[str, float]:
        """Last frame's value of every active target, by name (panel, tests)."""
        return dict(zip(self.slots.names, self.values, strict=True))


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

    targets: dict[str, Target] = {name: parse_target(name) for name in FIXED}
    bases = {"preset.crossfade_beats": preset.crossfade_beats}
    for name, v in preset.targets.items():
        f = f"targets.{name}" if not name.startswith("shader.") else "shader.uniforms." + name[7:]
        t = target(name, f)
        if t is not None:
            targets[name] = t
            # the schema checked the range against the effects it saw; a shader reloaded since may differ
            bases[name] = min(max(v, t.minimum), t.maximum)
    slots = Slots(layers, frozenset(encoder_layers))
    routes = []
    for i, r in enumerate(preset.routes):
        t = target(r.target, f"routes[{i}].target")
        if t is not None:
            targets.setdefault(r.target, t)
            # own copies: live edits (registry) must not leak into the Preset object or other engines
            spec = replace(r, envelope=replace(r.envelope) if r.envelope else None)
            routes.append(CompiledRoute(spec, t, -1))
    if errors:
        raise UserError(f"preset does not fit this model ({len(errors)} problems):\n  " + "\n  ".join(errors))
    for t in targets.values():  # slots in the order targets were named: later ones win a shared destination
        slots.add(t)
    for r in routes:
        r.slot = slots.index[r.target.name]
    base = preset.path.parent if preset.path else Path.cwd()
    bank = lat.compile_latents(generator, preset.latents, base, where, cache)
    user = {n: u.value for n, u in preset.user.items()}
    return Compiled(preset, bank, routes, targets, bases, user, slots)


def carry_state(old: Compiled, new: Compiled) -> None:
    """Hot reload of an edited file: unchanged routes keep their smoothing/envelope state and the latent
    keeps its walk and chroma weights, so saving a tweak does not make the picture jump."""
    for r_new, r_old in zip(new.routes, old.routes, strict=False):
        if (r_new.spec.source, r_new.spec.target) == (r_old.spec.source, r_old.spec.target):
            r_new.state = replace(r_old.state)
    new.latent_state = replace(old.latent_state)
