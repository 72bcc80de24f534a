"""Latent composition: chroma-weighted sums, bar-locked spline loops, sections, walk and directions.

Every driver reduces to a weight vector over the latent set, so a layer group's latent is one small
matrix product (weights @ set): cheap enough to do per rendered frame for every group and both
section sets.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vjgan.core.errors import UserError
from vjgan.core.generator import LatentModel
from vjgan.mapping.spec import LATENT_GROUPS, DirectionSpec, LatentSpec

WALK_KEYS = 8


def loop_position(bars: float, loop_bars: int) -> float:
    """Position 0..1 inside a loop of `loop_bars` bars; wraps exactly on every loop_bars-th bar line."""
    return (bars % loop_bars) / loop_bars


def catmull_rom_weights(n: int, u: float) -> tuple[list[int], list[float]]:
    """Closed uniform Catmull-Rom through n keyframes at position u (keyframe units): indices, weights."""
    i = math.floor(u)
    t = u - i
    t2, t3 = t * t, t * t * t
    w = [-0.5 * t3 + t2 - 0.5 * t, 1.5 * t3 - 2.5 * t2 + 1.0, -1.5 * t3 + 2.0 * t2 + 0.5 * t, 0.5 * t3 - 0.5 * t2]
    return [(i + k - 1) % n for k in range(4)], w


def load_latent_file(path: Path, num_ws: int, w_dim: int, what: str) -> np.ndarray:
    """A latent set from .npy/.npz (no pickles) as (n, num_ws, w_dim) float32."""
    try:
        with open(path, "rb"):
            pass
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            keys = list(data.keys())
            key = next((k for k in ("latents", "ws", "w") if k in keys), keys[0] if keys else None)
            if key is None:
                raise UserError(f"{path}: {what}: the .npz file holds no arrays")
            arr = data[key]
        else:
            arr = data
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: {what}: cannot read latent file ({exc}); expected .npy or .npz") from exc
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.shape == (num_ws, w_dim):
        arr = arr[None]  # one W+ latent: a prototype as the panel and `vjgan encode` save it
    elif arr.ndim == 2:
        arr = np.repeat(arr[:, None, :], num_ws, axis=1)
    if arr.ndim != 3 or arr.shape[1:] != (num_ws, w_dim):
        raise UserError(
            f"{path}: {what}: latent shape {tuple(arr.shape)} does not fit the model "
            f"(expected (n, {w_dim}), ({num_ws}, {w_dim}) for one W+ latent, or (n, {num_ws}, {w_dim}))"
        )
    return arr


def load_direction_file(path: Path, d: DirectionSpec, num_ws: int, w_dim: int, what: str) -> np.ndarray:
    """One vector (num_ws, w_dim) from .npy/.npz: prototypes (named arrays, `pos-neg` differences) or
    stacked directions (GANSpace) picked by `index`."""
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            names = list(data.keys())
            if d.key is None:
                arr = data[names[0]]
            elif d.key in names:
                arr = data[d.key]
            elif "-" in d.key and all(k in names for k in d.key.split("-", 1)):
                pos, neg = d.key.split("-", 1)
                arr = data[pos] - data[neg]
            else:
                raise UserError(f"{path}: {what}.key: no array {d.key!r}; the file has {', '.join(names)}")
        else:
            arr = data
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: {what}.file: cannot read ({exc}); expected .npy or .npz") from exc
    arr = np.asarray(arr, np.float32)
    if d.index is not None:
        if not 0 <= d.index < arr.shape[0]:
            raise UserError(f"{path}: {what}.index: {d.index} out of range (the array has {arr.shape[0]} rows)")
        arr = arr[d.index]
    if arr.shape == (w_dim,):
        return np.repeat(arr[None], num_ws, axis=0)
    if arr.shape == (num_ws, w_dim):
        return arr
    raise UserError(f"{path}: {what}: shape {tuple(arr.shape)} does not fit the model (need ({w_dim},) or "
                    f"({num_ws}, {w_dim}); pick a row with index = k)")


def group_ranges(generator: LatentModel) -> dict[str, tuple[int, int]]:
    """The generator's coarse/middle/fine ws ranges, or thirds when it declares none."""
    groups = {g: r for g, r in (generator.layer_groups or {}).items() if g in LATENT_GROUPS}
    if groups:
        return groups
    n = generator.num_ws
    a, b = n // 3, 2 * n // 3
    return {"coarse": (0, max(a, 1)), "middle": (max(a, 1), max(b, 1)), "fine": (max(b, 1), n)}


@dataclass
class LatentBank:
    """Compiled latent data for one preset on one generator (immutable after compile)."""

    set_a: np.ndarray  # (n, num_ws, w_dim)
    set_b: np.ndarray | None
    groups: list[tuple[int, int, str, int]]  # (start, stop, driver, loop bars)
    walk: np.ndarray  # (WALK_KEYS, num_ws, w_dim) offsets around 0
    directions: dict[str, np.ndarray]  # name -> (num_ws, w_dim), group mask and scale applied
    spec: LatentSpec


@dataclass
class LatentState:
    chroma: np.ndarray = field(default_factory=lambda: np.full(12, 1.0 / 12))
    bass_chroma: np.ndarray = field(default_factory=lambda: np.full(12, 1.0 / 12))
    walk_pos: float = 0.0


class WsCache:
    """Seed → W+ latent for one generator, shared by the render thread and the loader thread.

    Presets reuse seeds (the shipped ones share their 12 chroma latents) and switching back and forth is
    common on stage, so a load should not run the mapping network again for latents it already made.
    """

    def __init__(self, generator: LatentModel, max_items: int = 4096) -> None:
        self.generator = generator
        self.max_items = max_items
        self._items: dict[tuple[int, float], np.ndarray] = {}
        self._lock = threading.Lock()

    def get(self, seeds: tuple[int, ...], psi: float) -> np.ndarray:
        with self._lock:
            missing = [s for s in dict.fromkeys(seeds) if (s, psi) not in self._items]
        if missing:
            made = self.generator.seeds_to_ws(missing, psi)
            with self._lock:
                if len(self._items) + len(missing) > self.max_items:
                    self._items.clear()
                for s, w in zip(missing, made, strict=True):
                    self._items[(s, psi)] = w
        with self._lock:
            return np.stack([self._items[(s, psi)] for s in seeds])


def _ws(generator: LatentModel, seeds: tuple[int, ...], psi: float, cache: WsCache | None = None) -> np.ndarray:
    if cache is not None and cache.generator is generator:
        return cache.get(seeds, psi)
    return generator.seeds_to_ws(list(seeds), psi)


def _w_avg(generator: LatentModel) -> np.ndarray:
    w = generator.w_avg
    return w.detach().float().cpu().numpy() if isinstance(w, torch.Tensor) else np.asarray(w, np.float32)


def _direction(
    generator: LatentModel, name: str, d: DirectionSpec, base: Path, ranges: dict, cache: WsCache | None
) -> np.ndarray:
    num_ws, w_dim = generator.num_ws, generator.w_dim
    if d.file is not None:
        vec = load_direction_file(base / d.file, d, num_ws, w_dim, f"latents.directions.{name}")
        if d.subtract_mean:
            vec = vec - _w_avg(generator)[None]
    else:
        vec = _ws(generator, (int(d.seed or 0),), 1.0, cache)[0] - _w_avg(generator)[None]
    mask = np.zeros((num_ws, 1), np.float32)
    for g in d.groups:
        if g in ranges:
            s, e = ranges[g]
            mask[s:e] = 1.0
    return (vec * mask * d.scale).astype(np.float32)


def compile_latents(
    generator: LatentModel, spec: LatentSpec, base: Path, where: str, cache: WsCache | None = None
) -> LatentBank:
    """Turn seeds/files into arrays once (preset load), checking counts against the group drivers."""
    num_ws, w_dim = generator.num_ws, generator.w_dim
    set_a = (
        load_latent_file(base / spec.file, num_ws, w_dim, "latents.file")
        if spec.file is not None
        else _ws(generator, spec.seeds, spec.psi, cache)
    )
    set_b = None
    if spec.file_b is not None:
        set_b = load_latent_file(base / spec.file_b, num_ws, w_dim, "latents.file_b")
    elif spec.seeds_b is not None:
        set_b = _ws(generator, spec.seeds_b, spec.psi, cache)
    if set_b is not None and set_b.shape[0] == 1 < set_a.shape[0]:
        set_b = np.repeat(set_b, set_a.shape[0], axis=0)  # one latent (a prototype): every A morphs to it
    if set_b is not None and set_b.shape[0] != set_a.shape[0]:
        raise UserError(f"{where}: latents.seeds_b: set B has {set_b.shape[0]} latents, set A {set_a.shape[0]} "
                        "(give the same count, or one latent for all)")
    n = set_a.shape[0]
    for g, driver in spec.groups.items():
        if driver in ("chroma", "bass_chroma") and n != 12:
            raise UserError(f"{where}: latents.groups.{g}: '{driver}' needs 12 latents (C..B), the set has {n}")
    ranges = group_ranges(generator)
    groups = [
        (s, e, spec.groups.get(g, "static"), spec.group_loop_bars.get(g, 0))
        for g, (s, e) in sorted(ranges.items(), key=lambda x: x[1])
    ]
    covered = np.zeros(num_ws, bool)
    for s, e, _, _ in groups:
        covered[s:e] = True
    groups += [(i, i + 1, "static", 0) for i in np.flatnonzero(~covered).tolist()]  # ws no group claims
    walk_ws = _ws(generator, tuple(spec.walk_seed + k for k in range(WALK_KEYS)), spec.psi, cache)
    walk = (walk_ws - walk_ws.mean(axis=0, keepdims=True)).astype(np.float32)
    directions = {name: _direction(generator, name, d, base, ranges, cache) for name, d in spec.directions.items()}
    return LatentBank(set_a.astype(np.float32), None if set_b is None else set_b.astype(np.float32), groups, walk,
                      directions, spec)


def _chroma_weights(prev: np.ndarray, chroma: tuple[float, ...], power: float, alpha: float) -> np.ndarray:
    c = np.nan_to_num(np.asarray(chroma, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if power != 1.0:
        c = np.maximum(c, 0.0) ** power
    total = c.sum()
    if total < 1e-9:
        return prev  # silence: hold the last harmony instead of collapsing to the average
    c = c / total
    return c if alpha >= 1.0 else prev + (c - prev) * alpha


def compose(
    bank: LatentBank,
    state: LatentState,
    chroma: tuple[float, ...],
    bass_chroma: tuple[float, ...],
    bars: float,
    section: float,
    walk_speed: float,
    walk_amount: float,
    dt: float,
    beat_s: float,
) -> np.ndarray:
    """The W+ latent (num_ws, w_dim) for this frame, before semantic edits (see `direction_offset`)."""
    spec = bank.spec
    n = bank.set_a.shape[0]
    tau = spec.chroma_smoothing_ms * 1e-3
    alpha = 1.0 if tau <= 0 else -math.expm1(-dt / tau)
    weights: dict[tuple[str, int], np.ndarray] = {}
    for _, _, driver, group_bars in bank.groups:
        key = (driver, group_bars)
        if key in weights:
            continue
        if driver == "chroma":
            state.chroma = weights[key] = _chroma_weights(state.chroma, chroma, spec.chroma_power, alpha)
        elif driver == "bass_chroma":
            state.bass_chroma = weights[key] = _chroma_weights(
                state.bass_chroma, bass_chroma, spec.chroma_power, alpha
            )
        elif driver == "loop":
            idx, w = catmull_rom_weights(n, loop_position(bars, group_bars or spec.loop_bars) * n)
            v = np.zeros(n)
            np.add.at(v, idx, w)
            weights[key] = v
        else:
            v = np.zeros(n)
            v[0] = 1.0
            weights[key] = v
    num_ws, w_dim = bank.set_a.shape[1:]
    flat = np.empty(num_ws * w_dim, np.float32)
    a = bank.set_a.reshape(n, -1)
    b = bank.set_b.reshape(n, -1) if bank.set_b is not None and section > 0.0 else None
    for s, e, driver, group_bars in bank.groups:
        w = weights[(driver, group_bars)].astype(np.float32)
        lo, hi = s * w_dim, e * w_dim
        flat[lo:hi] = w @ a[:, lo:hi]
        if b is not None:
            flat[lo:hi] += section * (w @ b[:, lo:hi] - flat[lo:hi])
    out = flat.reshape(num_ws, w_dim)
    if walk_speed > 0.0:
        state.walk_pos = (state.walk_pos + walk_speed * dt / beat_s) % WALK_KEYS
    if walk_amount > 0.0:
        idx, w = catmull_rom_weights(WALK_KEYS, state.walk_pos)
        for i, wi in zip(idx, w, strict=True):
            out += (walk_amount * wi) * bank.walk[i]
    return out


def weighted_sum(terms: Iterable[tuple[float, np.ndarray]]) -> np.ndarray | None:
    """Σ amount × vector over the non-zero amounts; None when there is nothing to add."""
    out = None
    for amount, vec in terms:
        if amount:
            d = amount * vec
            out = d if out is None else out + d
    return out


def direction_offset(bank: LatentBank, directions: dict[str, float]) -> np.ndarray | None:
    """Σ amount × direction (prototype edits), kept apart from the composed latent so a latent from
    elsewhere (a camera frame through the VAE-GAN encoder) can take the same edits; None = no edit."""
    return weighted_sum((amount, bank.directions[name]) for name, amount in directions.items())
