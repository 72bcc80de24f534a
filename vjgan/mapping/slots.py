"""Targets resolved to slots: where each target's value lives in a frame and where it goes in FrameParams.

A target name is parsed once (`targets.parse_target`) and given a slot, an index into one flat list of
floats. Where the slot's value goes (which layer's noise strength, which bend, which shader uniform) is
worked out when the slot is made, not per frame, so a frame only adds route outputs into the list, clamps
the routed slots and copies the list into the messages (`evaluate.frame_params`). A target added live (an
OSC base value, a re-patched route) gets a new slot; nothing is re-keyed by name while the show runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vjgan.mapping.targets import SCALAR_TARGETS, Target

# the scalar targets every compiled preset has, always in these first slots (one definition: targets.py)
FIXED: tuple[str, ...] = tuple(SCALAR_TARGETS)
TRUNCATION = FIXED.index("truncation")
NOISE_ALL = FIXED.index("noise.all")
NOISE_MASK_AMOUNT = FIXED.index("noise_mask.amount")
SECTION = FIXED.index("latent.section")
WALK_SPEED = FIXED.index("latent.walk_speed")
WALK_AMOUNT = FIXED.index("latent.walk_amount")
CROSSFADE_BEATS = FIXED.index("preset.crossfade_beats")
MODEL_MIX = FIXED.index("model.mix")


@dataclass(frozen=True, slots=True)
class BendSlot:
    slot: int
    neutral: float  # identity: a bend at this value is left out of the message
    encoder: bool  # a VAE-GAN encoder layer: goes to GeneratorParams.encoder_bends


@dataclass(slots=True)
class Slots:
    """One compiled preset's targets, by slot. Lists are indexed by slot; the dicts are the destinations.

    A destination written by two targets (`bend.all.zoom` and `bend.#1.zoom`) takes the later one's value,
    except noise strengths, which multiply: `noise.all` × every `noise.<layer>` target naming the layer."""

    layers: tuple[str, ...]  # the generator's layers: every one gets a noise strength
    encoder_layers: frozenset[str] = frozenset()
    names: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)  # target name -> slot
    targets: list[Target] = field(default_factory=list)
    base: list[float] = field(default_factory=list)  # value before routes: preset/live base, else neutral
    lo: list[float] = field(default_factory=list)
    hi: list[float] = field(default_factory=list)
    neutral: list[float] = field(default_factory=list)
    noise: dict[str, list[int]] = field(default_factory=dict)  # layer -> slots multiplied after noise.all
    bends: dict[tuple[str, str], BendSlot] = field(default_factory=dict)  # (layer, transform) -> slot
    rewrite: dict[str, int] = field(default_factory=dict)  # layer -> slot
    uniforms: dict[tuple[str, str], int] = field(default_factory=dict)  # (effect, uniform) -> slot
    uniform_neutral: dict[tuple[str, str], float] = field(default_factory=dict)  # crossfades: the other side
    directions: dict[str, int] = field(default_factory=dict)  # latent direction name -> slot
    pca: dict[int, int] = field(default_factory=dict)  # GANSpace component -> slot

    def __post_init__(self) -> None:
        self.noise = {layer: [] for layer in self.layers}

    def add(self, t: Target) -> int:
        """The slot of target `t`, made (at its neutral value) and placed if it is new."""
        slot = self.index.get(t.name)
        if slot is not None:
            return slot
        slot = len(self.names)
        if slot < len(FIXED) and t.name != FIXED[slot]:
            raise ValueError(f"the first slots are {', '.join(FIXED)}; got {t.name!r} at slot {slot}")
        self.names.append(t.name)
        self.index[t.name] = slot
        self.targets.append(t)
        self.base.append(t.neutral)
        self.lo.append(t.minimum)
        self.hi.append(t.maximum)
        self.neutral.append(t.neutral)
        self._place(t, slot)
        return slot

    def _place(self, t: Target, slot: int) -> None:
        if t.kind == "noise":
            for layer in t.layers:
                self.noise.setdefault(layer, []).append(slot)
        elif t.kind == "bend":
            for layer in t.layers:
                self.bends[layer, t.key] = BendSlot(slot, t.neutral, layer in self.encoder_layers)
        elif t.kind == "rewrite":
            for layer in t.layers:
                self.rewrite[layer] = slot
        elif t.kind == "shader":
            self.uniforms[t.effect, t.key] = slot
            self.uniform_neutral[t.effect, t.key] = t.neutral
        elif t.kind == "direction":
            self.directions[t.key] = slot
        elif t.kind == "pca":
            self.pca[int(t.key)] = slot
        # scalar targets sit in the FIXED slots, read by name-constants (TRUNCATION, SECTION, ...)
