"""Target names: what a route (or a base value) can drive, their ranges and neutral values.

A target is a dotted name, parsed once when a preset is compiled so the per-frame loop only
dispatches on small tuples:

- `truncation`                       ψ around the generator's mean w
- `noise.all`, `noise.<layer>`       noise strength multipliers (the product goes out per layer)
- `noise_mask.amount`                how much the spatial noise mask applies
- `bend.<layer>.<transform>`         network bending (transforms in BEND_TRANSFORMS)
- `rewrite.<layer>`                  model-rewriting weight scale (1 = original)
- `shader.<effect>.<uniform>`        post-FX uniforms declared in shaders/<effect>.frag
- `latent.section`                   mix between latent set A (0) and B (1)
- `latent.walk_speed`, `latent.walk_amount`   smooth random walk around the latent
- `latent.direction.<name>`          amount of a named direction (prototype hooks)
- `latent.pca.<i>`                   GANSpace component i of the generator (0..PCA_COMPONENTS-1), in
                                     standard deviations (models.ganspace; computed once per generator)
- `preset.crossfade_beats`           crossfade length used by the next preset load
- `model.mix`                        weights blended toward the mix model (`vjgan live --mix-model B`):
                                     0 = the performed model, 1 = B in the layers `--mix-layers` gives it

`<layer>` is a layer name of the generator (`Generator.layer_names`), `all`, or `#<index>` into
`layer_names` (negative counts from the end): indices keep shipped presets portable across models.
A VAE-GAN's encoder layers (`enc.*`, `Generator.encoder_layer_names`) are bend targets too, by name
only (`all` and `#i` mean the generator's own layers): they bend what the encoder sees of a camera.
"""

from __future__ import annotations

from dataclasses import dataclass

from vjgan.core.effects import EffectParam
from vjgan.core.vocab import BEND_TRANSFORMS

# simple targets: name -> (minimum, maximum, neutral)
SCALAR_TARGETS: dict[str, tuple[float, float, float]] = {
    "truncation": (0.0, 2.0, 1.0),
    "noise.all": (0.0, 10.0, 1.0),
    "noise_mask.amount": (0.0, 1.0, 0.0),
    "latent.section": (0.0, 1.0, 0.0),
    "latent.walk_speed": (0.0, 16.0, 0.0),  # walk keyframes per beat
    "latent.walk_amount": (0.0, 4.0, 0.0),
    "preset.crossfade_beats": (0.0, 64.0, 4.0),
    "model.mix": (0.0, 1.0, 0.0),  # weights blended toward `--mix-model` (models.live_mix)
}
NOISE_RANGE = (0.0, 10.0, 1.0)
REWRITE_RANGE = (0.0, 4.0, 1.0)
DIRECTION_RANGE = (-8.0, 8.0, 0.0)
PCA_COMPONENTS = 8  # GANSpace sliders every generator with a mapping network gets
PCA_RANGE = (-5.0, 5.0, 0.0)  # standard deviations along the component


class TargetError(ValueError):
    """A target name that does not exist (for this generator / these shaders)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed target. `kind` picks where the value goes; `layers` are concrete layer names."""

    name: str
    kind: str  # scalar | noise | bend | rewrite | shader | direction | pca
    minimum: float
    maximum: float
    neutral: float
    layers: tuple[str, ...] = ()
    key: str = ""  # transform (bend), uniform (shader), direction name, scalar name, component (pca)
    effect: str = ""


def resolve_layers(
    spec: str, layer_names: tuple[str, ...] | None, named_only: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """`all`, `#i` or an exact layer name → concrete names; None = generator unknown (syntax only).

    `named_only` layers (a VAE-GAN's encoder) are reachable by exact name, never through `all`/`#i`."""
    if spec in named_only:
        return (spec,)
    if layer_names is None:
        if spec.startswith("#"):
            int(spec[1:])  # syntax check; raises ValueError
        return (spec,)
    if spec == "all":
        return layer_names
    if spec.startswith("#"):
        i = int(spec[1:])
        if not -len(layer_names) <= i < len(layer_names):
            raise TargetError(f"layer index {spec} out of range: the model has {len(layer_names)} layers")
        return (layer_names[i],)
    if spec not in layer_names:
        raise TargetError(f"unknown layer {spec!r}; the model's layers: {', '.join(layer_names + named_only)}")
    return (spec,)


def parse_target(
    name: str,
    layer_names: tuple[str, ...] | None = None,
    effects: dict[str, dict[str, EffectParam]] | None = None,
    directions: tuple[str, ...] | None = None,
    encoder_layers: tuple[str, ...] = (),
) -> Target:
    """Parse and check a target name. Parts that need the generator/shaders are checked when given."""
    if name in SCALAR_TARGETS:
        lo, hi, neutral = SCALAR_TARGETS[name]
        return Target(name, "scalar", lo, hi, neutral, key=name)
    head, _, rest = name.partition(".")
    try:
        if head == "noise" and rest:
            lo, hi, neutral = NOISE_RANGE
            return Target(name, "noise", lo, hi, neutral, resolve_layers(rest, layer_names))
        if head == "rewrite" and rest:
            lo, hi, neutral = REWRITE_RANGE
            return Target(name, "rewrite", lo, hi, neutral, resolve_layers(rest, layer_names))
        if head == "bend" and "." in rest:
            layer, _, transform = rest.rpartition(".")
            if transform not in BEND_TRANSFORMS:
                raise TargetError(f"unknown bend transform {transform!r}; known: {', '.join(BEND_TRANSFORMS)}")
            lo, hi, neutral = BEND_TRANSFORMS[transform]
            layers = resolve_layers(layer, layer_names, encoder_layers)
            return Target(name, "bend", lo, hi, neutral, layers, key=transform)
    except ValueError as exc:
        if isinstance(exc, TargetError):
            raise
        raise TargetError(f"bad layer index in {name!r} (use #0, #1, ... or -1 for the last)") from exc
    if head == "shader" and rest.count(".") == 1:
        effect, _, uniform = rest.partition(".")
        if effects is None:
            return Target(name, "shader", -1e9, 1e9, 0.0, key=uniform, effect=effect)
        if effect not in effects:
            raise TargetError(f"unknown shader effect {effect!r}; known: {', '.join(effects) or '(none)'}")
        params = effects[effect]
        if uniform not in params:
            raise TargetError(f"effect {effect!r} has no uniform {uniform!r}; known: {', '.join(params) or '(none)'}")
        p = params[uniform]
        return Target(name, "shader", p.minimum, p.maximum, p.default, key=uniform, effect=effect)
    if name.startswith("latent.direction.") and len(name) > len("latent.direction."):
        direction = name[len("latent.direction.") :]
        if directions is not None and direction not in directions:
            raise TargetError(
                f"unknown latent direction {direction!r}; declare it in [latents.directions.{direction}]"
            )
        lo, hi, neutral = DIRECTION_RANGE
        return Target(name, "direction", lo, hi, neutral, key=direction)
    if name.startswith("latent.pca."):
        index = name[len("latent.pca.") :]
        if not index.isdigit() or int(index) >= PCA_COMPONENTS:
            raise TargetError(f"bad PCA component in {name!r}: use latent.pca.0 .. latent.pca.{PCA_COMPONENTS - 1}")
        lo, hi, neutral = PCA_RANGE
        return Target(name, "pca", lo, hi, neutral, key=str(int(index)))
    raise TargetError(
        f"unknown target {name!r}; targets are {', '.join(SCALAR_TARGETS)}, noise.<layer>, "
        "bend.<layer>.<transform>, rewrite.<layer>, shader.<effect>.<uniform>, latent.direction.<name>, "
        f"latent.pca.<0..{PCA_COMPONENTS - 1}>"
    )


def all_targets(
    layer_names: tuple[str, ...],
    effects: dict[str, dict[str, EffectParam]],
    directions: tuple[str, ...] = (),
    encoder_layers: tuple[str, ...] = (),
    pca: bool = True,
) -> list[str]:
    """Every concrete target name for this generator and these shaders (registry, panel, docs).

    `pca`: the generator has a mapping network, so GANSpace components exist."""
    names = list(SCALAR_TARGETS)
    names += [f"noise.{layer}" for layer in layer_names]
    names += [f"rewrite.{layer}" for layer in layer_names]
    names += [f"bend.{layer}.{t}" for layer in layer_names + encoder_layers for t in BEND_TRANSFORMS]
    names += [f"shader.{e}.{u}" for e, params in effects.items() for u in params]
    names += [f"latent.direction.{d}" for d in directions]
    if pca:
        names += [f"latent.pca.{i}" for i in range(PCA_COMPONENTS)]
    return names
