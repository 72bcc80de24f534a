"""Latent prototypes and directions: semantic controls made from example images in minutes.

prototype = mean W+ latent of a set of encoded images ("mouth open", "red square", a person);
direction = difference of two prototypes; morph = interpolation between prototypes. They are stored
in a .npz of named float32 arrays shaped (num_ws, w_dim), the shape `GeneratorParams.latent` has, so
the mapping engine adds `amount × direction` to its latent like any other vector.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from vjgan.core.errors import UserError

DIRECTION_SEP = "-"  # name of a direction: "<positive>-<negative>"


@torch.no_grad()
def encode_images(model, images: np.ndarray | Sequence[np.ndarray], batch: int = 32) -> np.ndarray:
    """uint8 images (N, H, W, 3) (or a list of differently sized ones) → W+ latents (N, num_ws, w_dim)."""
    if not hasattr(model, "encode_uint8"):
        raise UserError(f"{type(model).__name__} has no image encoder: prototypes need a VAE-GAN model")
    if isinstance(images, np.ndarray) and images.ndim == 4:
        chunks = [images[i : i + batch] for i in range(0, len(images), batch)]
    else:
        chunks = [np.asarray(im)[None] for im in images]
    if not chunks:
        raise UserError("no images to encode")
    return np.concatenate([model.encode_uint8(c) for c in chunks]).astype(np.float32)


def prototype(latents: np.ndarray) -> np.ndarray:
    """Mean latent of a set, (num_ws, w_dim)."""
    latents = np.asarray(latents, np.float32)
    if latents.ndim != 3 or len(latents) == 0:
        raise UserError(f"a prototype needs latents shaped (N, num_ws, w_dim), got {latents.shape}")
    return latents.mean(axis=0)


def direction(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """positive − negative: adding it moves a latent from the negative set's look toward the positive's."""
    if positive.shape != negative.shape:
        raise UserError(f"prototype shapes differ: {positive.shape} vs {negative.shape}")
    return (positive - negative).astype(np.float32)


def apply_direction(latent: np.ndarray, d: np.ndarray, amount: float,
                    layers: tuple[int, int] | None = None) -> np.ndarray:
    """latent + amount·d, optionally only on ws rows [start, stop) (e.g. a layer group)."""
    out = np.array(latent, np.float32, copy=True)
    if layers is None:
        out += amount * d
    else:
        out[..., layers[0] : layers[1], :] += amount * d[layers[0] : layers[1]]
    return out


def morph(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Linear blend (W space is close to linear for these models): t=0 → a, t=1 → b."""
    return ((1.0 - t) * a + t * b).astype(np.float32)


def morph_path(protos: Sequence[np.ndarray], t: float) -> np.ndarray:
    """Position t ∈ [0, 1] along a polyline through several prototypes (e.g. driven by a section counter)."""
    if not protos:
        raise UserError("morph_path needs at least one prototype")
    if len(protos) == 1:
        return np.asarray(protos[0], np.float32)
    x = float(np.clip(t, 0.0, 1.0)) * (len(protos) - 1)
    i = min(int(x), len(protos) - 2)
    return morph(protos[i], protos[i + 1], x - i)


def save_prototypes(path: str | Path, latents: dict[str, np.ndarray], merge: bool = True) -> Path:
    """Write named latents to .npz (plain arrays, loaded with allow_pickle=False). Merges into an existing file."""
    path = Path(path)
    data: dict[str, np.ndarray] = load_prototypes(path) if merge and path.exists() else {}
    shapes = {v.shape for v in latents.values()} | {v.shape for v in data.values()}
    if len(shapes) > 1:
        raise UserError(f"latents of different shapes cannot share {path}: {sorted(shapes)} "
                        "(made with different models?)")
    data.update({k: np.asarray(v, np.float32) for k, v in latents.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(path)
    return path


def load_prototypes(path: str | Path, shape: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    """Named latents from a .npz; `shape` (num_ws, w_dim) checks they fit the running generator."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: np.asarray(f[k], np.float32) for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise UserError(f"cannot read prototypes {path}: {exc}") from exc
    for k, v in data.items():
        if v.ndim != 2 or (shape is not None and v.shape != tuple(shape)):
            want = f"{tuple(shape)}" if shape else "(num_ws, w_dim)"
            raise UserError(f"{path}: latent {k!r} has shape {v.shape}, expected {want} — made for another model?")
    return data


def directions_between(protos: dict[str, np.ndarray], pairs: Iterable[tuple[str, str]]) -> dict[str, np.ndarray]:
    """Named directions "pos-neg" for (pos, neg) pairs of prototype names."""
    out = {}
    for pos, neg in pairs:
        for name in (pos, neg):
            if name not in protos:
                raise UserError(f"no prototype named {name!r} (have: {', '.join(sorted(protos))})")
        out[f"{pos}{DIRECTION_SEP}{neg}"] = direction(protos[pos], protos[neg])
    return out
