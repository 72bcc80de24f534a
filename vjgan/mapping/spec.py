"""What a preset says, as plain dataclasses: the validated form of a TOML preset file.

The engine compiles a `Preset` into runtime state; the live state can be turned back into a `Preset`
(`MappingEngine.snapshot`) and saved, so panel/OSC tweaks survive as a new preset file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vjgan.mapping.lfo import LfoSpec

CURVES = ("linear", "power", "exp")
MODES = ("add", "mul")
GROUP_DRIVERS = ("static", "chroma", "bass_chroma", "loop")
LATENT_GROUPS = ("coarse", "middle", "fine")


@dataclass(slots=True)
class EnvelopeSpec:
    """Attack-decay envelope fired by an event source (rising edge through 0.5)."""

    trigger: str = "onset_event"
    attack_ms: float = 0.0  # linear rise to the peak
    decay_ms: float = 250.0  # exponential time constant (37 % left after one decay, 5 % after three)
    decay_beats: float | None = None  # when set, overrides decay_ms and follows the tempo


@dataclass(slots=True)
class RouteSpec:
    """One modulation route. Order of processing: gate → envelope → curve → gain/offset → smooth → clamp."""

    source: str
    target: str
    value: float = 1.0  # for source = "const"
    gain: float = 1.0
    offset: float = 0.0
    curve: str = "linear"
    curve_amount: float = 1.0  # exponent (power) or steepness (exp)
    threshold: float = 0.0  # gate: source below it counts as 0
    clamp_min: float | None = None
    clamp_max: float | None = None
    attack_ms: float = 0.0  # one-pole smoothing while rising
    release_ms: float = 0.0  # ... while falling
    mode: str = "add"  # add to the target, or multiply it
    enabled: bool = True
    envelope: EnvelopeSpec | None = None


@dataclass(slots=True)
class UserSpec:
    """A value the VJ sets from the panel, OSC or MIDI (`user.<name>` source)."""

    value: float = 0.0
    minimum: float = 0.0
    maximum: float = 1.0


@dataclass(slots=True)
class DirectionSpec:
    """A latent direction (prototype hook): from a seed (w(seed) − w̄) or a .npy file."""

    seed: int | None = None
    file: Path | None = None
    key: str | None = None  # array name in a .npz (prototypes: "smile", or "smile-neutral" = difference)
    index: int | None = None  # row of a stacked array (GANSpace `directions`)
    subtract_mean: bool = False  # a prototype (a point, not a direction): use prototype − w̄
    scale: float = 1.0
    groups: tuple[str, ...] = LATENT_GROUPS


@dataclass(slots=True)
class LatentSpec:
    """Latent sets and how each StyleGAN layer group is driven by them."""

    seeds: tuple[int, ...] = (0,)
    file: Path | None = None  # .npy/.npz of W (n, w_dim) or W+ (n, num_ws, w_dim); overrides seeds
    seeds_b: tuple[int, ...] | None = None  # second set for `latent.section`: same count, or one for all
    file_b: Path | None = None
    psi: float = 1.0  # truncation when turning seeds into latents
    groups: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LATENT_GROUPS, "static"))
    loop_bars: int = 8
    group_loop_bars: dict[str, int] = field(default_factory=dict)  # per-group loop length overrides
    chroma_smoothing_ms: float = 0.0
    chroma_power: float = 1.0  # > 1 favours the strongest pitch class
    walk_seed: int = 1000
    directions: dict[str, DirectionSpec] = field(default_factory=dict)


@dataclass(slots=True)
class Preset:
    name: str = "untitled"
    description: str = ""
    crossfade_beats: float = 4.0
    latents: LatentSpec = field(default_factory=LatentSpec)
    targets: dict[str, float] = field(default_factory=dict)  # base values (before routes)
    noise_mask: str | None = None
    chain: tuple[str, ...] = ()
    lfos: dict[str, LfoSpec] = field(default_factory=dict)
    user: dict[str, UserSpec] = field(default_factory=dict)
    routes: list[RouteSpec] = field(default_factory=list)
    # tables other stages keep in a preset, passed through untouched: `osc` (OSC-learn bindings), `midi`
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: Path | None = None  # file it came from (errors, hot reload)
    text: str = ""  # its source text (line numbers in errors found later, e.g. unknown layers)
