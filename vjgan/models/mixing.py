"""Model mixing: layer-wise interpolation of two checkpoints of one architecture.

A StyleGAN's coarse layers decide layout and shapes, its fine layers texture and colour; taking the coarse
layers of one model and the fine of another (or any blend per resolution) makes a third that neither
training run would have found. Weights are mixed per tensor, by the resolution of the block it belongs to;
the mapping network (and w_avg, so truncation) comes from `mapping_t` (0 = A's latent space, the default,
so A's seeds, prototypes and presets keep their meaning).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from vjgan.core.errors import UserError
from vjgan.models.base import Generator

_RES = (re.compile(r"^synthesis\.b(\d+)\."), re.compile(r"^synthesis\.L\d+_(\d+)_\d+\."))


def layer_resolution(key: str) -> int | None:
    """The feature-map size of the synthesis block a state-dict key belongs to (None: mapping, or other)."""
    for pattern in _RES:
        m = pattern.match(key)
        if m:
            return int(m[1])
    return None


def parse_layers(spec: str) -> dict[tuple[int, int], float]:
    """"4-16=0,32-128=1" (or "64=0.5") → {(lo, hi): weight of B}; resolutions inclusive."""
    out: dict[tuple[int, int], float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        try:
            span, t = part.split("=")
            lo, _, hi = span.partition("-")
            rng = (int(lo), int(hi or lo))
            weight = float(t)
        except ValueError:
            raise UserError(f"--layers: {part!r} is not RES=T or LO-HI=T (e.g. 4-16=0,32-128=1)") from None
        if not 0.0 <= weight <= 1.0 or rng[0] > rng[1]:
            raise UserError(f"--layers: {part!r}: T must be 0..1 and LO ≤ HI")
        out[rng] = weight
    return out


def layer_weight(layers: dict[tuple[int, int], float], res: int, default: float) -> float:
    """B's weight for a tensor at resolution `res`: the first range of `layers` holding it, else `default`."""
    return next((x for (lo, hi), x in layers.items() if lo <= res <= hi), default)


def mix_state(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], layers: dict[tuple[int, int], float],
              t: float = 0.5, mapping_t: float = 0.0) -> dict[str, torch.Tensor]:
    """A + w·(B − A) per tensor, w from `layers` by the tensor's resolution (`t` where none matches; mapping
    tensors: `mapping_t`). Integer buffers and fixed filters are A's."""
    if set(a) != set(b):
        missing = sorted(set(a) ^ set(b))[:5]
        raise UserError(f"the two models differ in their layers ({', '.join(missing)}, ...): "
                        "mixing needs one architecture")
    out = {}
    for key, va in a.items():
        vb = b[key]
        if va.shape != vb.shape:
            raise UserError(f"{key}: shapes {tuple(va.shape)} vs {tuple(vb.shape)}: mixing needs one architecture")
        res = layer_resolution(key)
        w = mapping_t if res is None else layer_weight(layers, res, t)
        out[key] = torch.lerp(va.float(), vb.float(), w).to(va.dtype) if va.is_floating_point() else va.clone()
    return out


def mix_generators(a: Generator, b: Generator, layers: dict[tuple[int, int], float], t: float = 0.5,
                   mapping_t: float = 0.0) -> Generator:
    """A new generator of A's architecture with the mixed weights (A and B are left as they are)."""
    if a.config_dict() != b.config_dict():
        raise UserError("the two models have different architectures (config differs): mixing needs one")
    import copy

    mixed = copy.deepcopy(a)
    mixed.load_state_dict(mix_state(a.state_dict(), b.state_dict(), layers, t, mapping_t))
    return mixed
