"""Network bending: transforms on a generator's intermediate feature maps, one API for every generator.

`Bender(generator)` registers one forward hook per bendable layer (`generator.layer_names`, found with
`generator.layer_module(name)`) once. Every transform value lives in one preallocated device tensor
(layers × transforms) that `set_bends` overwrites in place each frame with a single copy, so nothing
is rebuilt or re-registered and the whole forward can be captured by torch.compile / CUDA graphs.
Which *kinds* of transform run at a layer is structural: a kind is switched on the first time one of
its values leaves neutral and stays on (neutral values then compute the identity); each switch bumps
`Bender.version`, the signal for a captured graph to be re-captured.

Transform keys (`GeneratorParams.bends[layer][key]`), neutral value first:
- translate_x, translate_y (0): shift by a fraction of the layer's width/height (0.25 = a quarter;
  k pixels of a W-wide map = k / W). Content moves right/down for positive values.
- rotate (0): degrees, counter-clockwise on screen, about the centre.
- zoom (1): magnification about the centre (2 = twice as big).
- flip_x, flip_y (0): 1 mirrors the whole map left↔right / top↔bottom.
- mirror_x, mirror_y (0): 1 folds: the right (bottom) half shows the mirrored left (top) half.
- dilate, erode (0): grey-scale morphology radius in pixels (0..4, fractional values blend).
- threshold (0 = off): binary threshold: 1 where the feature > value, 0 elsewhere.
- invert (0): 0..1 mix towards the per-channel inverted map (max + min − x).
- ablate (0): 0..1 fraction of the layer's channels zeroed (a fixed random order per layer).
- ablate_cluster (0 = off): k zeroes the channels of saved channel cluster k (1-based, see
  `compute_channel_clusters` / `Bender.load_clusters`). Explicit index sets: `set_ablation(layer, ids)`.
Geometric transforms are resampled bilinearly with reflection at the borders.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vjgan.core.errors import UserError
from vjgan.core.vocab import BEND_NEUTRAL, BEND_TRANSFORMS
from vjgan.models.base import Generator

TRANSFORMS: tuple[str, ...] = tuple(BEND_TRANSFORMS)
NEUTRAL: dict[str, float] = BEND_NEUTRAL
INDEX = {t: i for i, t in enumerate(TRANSFORMS)}
# transform -> the kind (group of ops) it switches on
KIND = {t: "geom" for t in TRANSFORMS[:8]} | {"dilate": "morph", "erode": "morph", "threshold": "threshold",
                                               "invert": "invert", "ablate": "ablate", "ablate_cluster": "ablate"}
MAX_MORPH_RADIUS = 4


class Bender:
    """Owns the bend tensors and hooks of one generator (on the generator's current device)."""

    def __init__(self, generator: Generator, seed: int = 0):
        self.generator = generator
        self.layers: tuple[str, ...] = tuple(generator.layer_names)
        self.index = {n: i for i, n in enumerate(self.layers)}
        dev = _device(generator)
        self.device = dev
        n = len(self.layers)
        self.values = torch.tensor([[NEUTRAL[t] for t in TRANSFORMS]] * n, dtype=torch.float32, device=dev)
        self._host = self.values.cpu().clone()
        if dev.type == "cuda":
            self._host = self._host.pin_memory()
        self._last: dict[str, dict[str, float]] = {}
        self.kinds: list[set[str]] = [set() for _ in range(n)]
        self.version = 0
        self.channel_rank: list[torch.Tensor] = []
        self.channel_keep: list[torch.Tensor] = []
        self.cluster_labels: list[torch.Tensor] = []
        gen_rng = torch.Generator().manual_seed(seed)
        self._hooks = []
        for i, name in enumerate(self.layers):
            mod = generator.layer_module(name)
            c = _out_channels(mod)
            self.channel_rank.append(((torch.randperm(c, generator=gen_rng).float() + 0.5) / c).to(dev))
            self.channel_keep.append(torch.ones(c, device=dev))
            self.cluster_labels.append(torch.full((c,), -1.0, device=dev))
            self._hooks.append(mod.register_forward_hook(self._make_hook(i)))

    # -- per-frame -------------------------------------------------------------------------------------
    def set_bends(self, bends: dict[str, dict[str, float]], strict: bool = True) -> list[str]:
        """Write all transform values (missing layer/key → neutral) into the device tensor in place.

        Unknown layers/transforms and non-finite values raise UserError, or with strict=False are
        skipped and returned as messages (the generator thread renders the rest and reports them)."""
        if bends == self._last:
            return []
        problems: list[str] = []
        host = self._host
        host.copy_(torch.tensor([NEUTRAL[t] for t in TRANSFORMS]).expand_as(host))
        for layer, tr in bends.items():
            i = self.index.get(layer)
            if i is None:
                problems.append(f"bend: unknown layer {layer!r}; layers: {', '.join(self.layers)}")
                continue
            for key, val in tr.items():
                j = INDEX.get(key)
                if j is None:
                    problems.append(f"bend: unknown transform {key!r}; transforms: {', '.join(TRANSFORMS)}")
                    continue
                val = float(val)
                if not math.isfinite(val):
                    problems.append(f"bend: {layer}.{key} = {val} is not a finite number")
                    continue
                host[i, j] = val
                if val != NEUTRAL[key] and KIND[key] not in self.kinds[i]:
                    self.kinds[i].add(KIND[key])
                    self.version += 1
        if problems and strict:
            raise UserError(problems[0])
        self.values.copy_(host, non_blocking=True)
        self._last = {k: dict(v) for k, v in bends.items()}
        return problems

    # -- channel ablation by index set / clusters ------------------------------------------------------
    def set_ablation(self, layer: str, channels: Iterable[int]) -> None:
        """Zero exactly these channels of `layer` (empty = none); values are written in place."""
        i = self._layer(layer)
        keep = torch.ones_like(self.channel_keep[i])
        ids = [int(c) for c in channels]
        if ids:
            if min(ids) < 0 or max(ids) >= keep.numel():
                raise UserError(f"ablate: channel ids for {layer} must be in 0..{keep.numel() - 1}")
            keep[ids] = 0
            self._enable(i, "ablate")
        self.channel_keep[i].copy_(keep)

    def load_clusters(self, path: str | Path) -> None:
        """Load {layer: [cluster id per channel]} saved by `save_clusters`."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{path}: cannot read channel clusters ({exc})") from None
        for layer, labels in data.items():
            i = self._layer(layer)
            lab = torch.as_tensor(labels, dtype=torch.float32)
            if lab.shape != self.cluster_labels[i].shape:
                raise UserError(f"{path}: {layer} has {lab.numel()} labels, the layer has "
                                f"{self.cluster_labels[i].numel()} channels")
            self.cluster_labels[i].copy_(lab)

    def save_clusters(self, path: str | Path) -> None:
        data = {n: [int(v) for v in self.cluster_labels[i].tolist()] for i, n in enumerate(self.layers)
                if (self.cluster_labels[i] >= 0).any()}
        Path(path).write_text(json.dumps(data) + "\n")

    def set_clusters(self, layer: str, labels: torch.Tensor | np.ndarray) -> None:
        self.cluster_labels[self._layer(layer)].copy_(torch.as_tensor(labels, dtype=torch.float32))

    # -- lifecycle -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to neutral values (kinds stay switched on; they compute the identity)."""
        self.set_bends({})
        for k in self.channel_keep:
            k.fill_(1)

    def remove(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()

    def _layer(self, layer: str) -> int:
        if layer not in self.index:
            raise UserError(f"unknown layer {layer!r}; layers: {', '.join(self.layers)}")
        return self.index[layer]

    def _enable(self, i: int, kind: str) -> None:
        if kind not in self.kinds[i]:
            self.kinds[i].add(kind)
            self.version += 1

    def _make_hook(self, i: int):
        def hook(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
            kinds = self.kinds[i]
            if not kinds:
                return output
            return self.apply(i, output)

        return hook

    # -- the transforms ----------------------------------------------------------------------------------
    def apply(self, i: int, x: torch.Tensor) -> torch.Tensor:
        kinds = self.kinds[i]
        v = self.values[i].to(x.dtype)
        if "ablate" in kinds:
            keep = self.channel_keep[i] * (self.channel_rank[i] >= self.values[i, INDEX["ablate"]]).float()
            cluster = self.values[i, INDEX["ablate_cluster"]]
            keep = keep * (1 - ((self.cluster_labels[i] == cluster - 1) & (cluster > 0)).float())
            x = x * keep.to(x.dtype).view(1, -1, 1, 1)
        if "geom" in kinds:
            x = _geometric(x, self.values[i])
        if "morph" in kinds:
            x = _morph(x, v[INDEX["dilate"]], v[INDEX["erode"]])
        if "threshold" in kinds:
            t = v[INDEX["threshold"]]
            x = torch.lerp(x, (x > t).to(x.dtype), (t != 0).to(x.dtype))
        if "invert" in kinds:
            inv = x.amax(dim=(2, 3), keepdim=True) + x.amin(dim=(2, 3), keepdim=True) - x
            x = torch.lerp(x, inv, v[INDEX["invert"]])
        return x


def _device(gen: torch.nn.Module) -> torch.device:
    for p in gen.parameters():
        return p.device
    return torch.device("cpu")


def _out_channels(mod: torch.nn.Module) -> int:
    w = getattr(mod, "weight", None)
    if w is None:
        raise UserError(f"{type(mod).__name__} has no weight: cannot tell its channel count")
    return int(w.shape[1] if isinstance(mod, torch.nn.ConvTranspose2d) else w.shape[0])


def _geometric(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """One bilinear resample for translate/rotate/zoom/flip/mirror: the sampling grid is built on the
    device from the value tensor (no host sync), in isotropic units so rotation stays rigid on wide maps."""
    b, _, h, w = x.shape
    aspect = w / h
    tx, ty = v[INDEX["translate_x"]] * 2, v[INDEX["translate_y"]] * 2
    a = torch.deg2rad(v[INDEX["rotate"]])
    z = v[INDEX["zoom"]].clamp(min=1e-3)
    sx, sy = 1 - 2 * v[INDEX["flip_x"]], 1 - 2 * v[INDEX["flip_y"]]
    cos, sin = torch.cos(a) / z, torch.sin(a) / z
    # input = D⁻¹ R(-a)/z D · (out - t), then flips; D = diag(aspect, 1). Screen y points down, so a
    # counter-clockwise rotation on screen is R(+a) in these coordinates' inverse.
    m00, m01 = cos, -sin / aspect
    m10, m11 = sin * aspect, cos
    row0 = torch.stack([m00 * sx, m01 * sx, -(m00 * tx + m01 * ty) * sx])
    row1 = torch.stack([m10 * sy, m11 * sy, -(m10 * tx + m11 * ty) * sy])
    theta = torch.stack([row0, row1]).unsqueeze(0).expand(b, 2, 3).to(torch.float32)
    grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False)
    mx, my = v[INDEX["mirror_x"]], v[INDEX["mirror_y"]]
    gx = torch.lerp(grid[..., 0], -grid[..., 0].abs(), mx)
    gy = torch.lerp(grid[..., 1], -grid[..., 1].abs(), my)
    grid = torch.stack([gx, gy], dim=-1).to(x.dtype)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _morph(x: torch.Tensor, dilate: torch.Tensor, erode: torch.Tensor) -> torch.Tensor:
    """Radius-r max (dilate) then min (erode) filter as r repeated 3×3 passes; fractional r blends the
    two nearest radii, so the radius is a tensor and the op graph never changes."""
    for r, sign in ((dilate, 1.0), (erode, -1.0)):
        r = r.clamp(0, MAX_MORPH_RADIUS)
        y = x * sign
        out = y * F.relu(1 - r.abs())
        for k in range(1, MAX_MORPH_RADIUS + 1):
            y = F.max_pool2d(y, 3, stride=1, padding=1)
            out = out + y * F.relu(1 - (r - k).abs())
        x = out * sign
    return x


@torch.no_grad()
def compute_channel_clusters(generator: Generator, layer: str, k: int = 4, samples: int = 16,
                             seed: int = 0, iters: int = 20) -> torch.Tensor:
    """Cluster a layer's channels by their activation maps over random latents (k-means, cosine on
    normalised maps): channels that draw the same parts of the picture end up together."""
    mod = generator.layer_module(layer)
    feats: list[torch.Tensor] = []
    handle = mod.register_forward_hook(lambda m, i, o: feats.append(o.detach().float()))
    try:
        dev = _device(generator)
        z = torch.from_numpy(np.random.RandomState(seed).randn(samples, generator.z_dim)).float().to(dev)
        for j in range(samples):
            generator.synthesis(generator.mapping(z[j:j + 1]))
    finally:
        handle.remove()
    f = torch.cat(feats).transpose(0, 1).reshape(feats[0].shape[1], -1)  # C × (samples·H·W)
    f = F.normalize(f - f.mean(1, keepdim=True), dim=1)
    g = torch.Generator().manual_seed(seed)
    k = max(1, min(k, f.shape[0]))
    centres = f[torch.randperm(f.shape[0], generator=g)[:k].to(f.device)]
    labels = torch.zeros(f.shape[0], dtype=torch.long, device=f.device)
    for _ in range(iters):
        labels = (f @ centres.t()).argmax(1)
        for c in range(k):
            sel = f[labels == c]
            if len(sel):
                centres[c] = F.normalize(sel.mean(0), dim=0)
    return labels.cpu()
