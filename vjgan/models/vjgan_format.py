"""vjgan's own checkpoint format: safetensors weights + a JSON config, nothing executable.

One file `NAME.safetensors` whose metadata holds the config (`vjgan_config`), or a directory holding
`model.safetensors` + `config.json`. The config's "kind" picks the generator class from a registry,
so other generators (the VAE-GAN) plug in with `register_kind` and the same save/load code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from vjgan.core.errors import UserError
from vjgan.models.base import Generator

FORMAT_TAG = "vjgan"
FORMAT_VERSION = "1"

# kind -> builder(config dict) -> Generator (with random weights, to be filled by load_state_dict)
_KINDS: dict[str, Callable[[dict[str, Any]], Generator]] = {}


def register_kind(kind: str, builder: Callable[[dict[str, Any]], Generator]) -> None:
    """Let a generator class be saved/loaded: its `config_dict()` must return {"kind": kind, "config": {...}}."""
    _KINDS[kind] = builder


def _stylegan2_builder(cfg: dict[str, Any]) -> Generator:
    from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator

    return StyleGAN2Generator(StyleGAN2Config.from_dict(cfg))


register_kind("stylegan2", _stylegan2_builder)


def _stylegan3_builder(cfg: dict[str, Any]) -> Generator:
    from vjgan.models.stylegan3 import build

    return build(cfg)  # filters are in the weights: nothing designed


register_kind("stylegan3", _stylegan3_builder)


# kinds whose module registers itself when imported lazily (module must define register())
_LAZY_KINDS = {"vaegan": "vjgan.models.vaegan"}


def build_generator(meta: dict[str, Any], where: str) -> Generator:
    kind = meta.get("kind")
    if kind not in _KINDS and kind in _LAZY_KINDS:
        import importlib

        importlib.import_module(_LAZY_KINDS[kind]).register()
    if kind not in _KINDS:
        raise UserError(f"{where}: unsupported generator kind {kind!r} (known: {', '.join(sorted(_KINDS))})")
    try:
        return _KINDS[kind](meta.get("config") or {})
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None
    except (TypeError, ValueError, KeyError) as exc:
        raise UserError(f"{where}: invalid {kind} config: {exc}") from None


def save_generator(gen: Generator, path: str | Path, half: bool = False) -> Path:
    """Write `gen` as one .safetensors file (or, if `path` has no suffix, a directory). Returns the path."""
    from safetensors.torch import save_file

    meta = gen.config_dict()  # type: ignore[attr-defined]
    state = {k: v.detach().contiguous().cpu() for k, v in gen.state_dict().items()}
    if half:  # halves the file; w_avg and filters stay fp32
        state = {k: (v.half() if v.is_floating_point() and v.ndim >= 2 else v) for k, v in state.items()}
    path = Path(path)
    if path.suffix:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(state, str(path), metadata={"format": FORMAT_TAG, "version": FORMAT_VERSION,
                                               "vjgan_config": json.dumps(meta)})
    else:
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
        save_file(state, str(path / "model.safetensors"), metadata={"format": FORMAT_TAG, "version": FORMAT_VERSION})
    return path


def is_vjgan_file(path: Path) -> bool:
    if path.is_dir():
        return (path / "config.json").exists() and (path / "model.safetensors").exists()
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
        n = int.from_bytes(head, "little")
        return len(head) == 8 and 2 <= n < 100_000_000
    except OSError:
        return False


def load_vjgan(path: str | Path, device: str = "cpu") -> Generator:
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    file = path / "model.safetensors" if path.is_dir() else path
    try:
        with safe_open(str(file), framework="pt", device="cpu") as fh:
            md = fh.metadata() or {}
            state = {k: fh.get_tensor(k) for k in fh.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise UserError(f"{file}: not a readable safetensors checkpoint ({exc})") from None
    if path.is_dir():
        try:
            meta = json.loads((path / "config.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{path / 'config.json'}: unreadable config ({exc})") from None
    else:
        if md.get("format") != FORMAT_TAG or "vjgan_config" not in md:
            raise UserError(f"{file}: a safetensors file without a vjgan config; convert it with 'vjgan convert'")
        try:
            meta = json.loads(md["vjgan_config"])
        except json.JSONDecodeError as exc:
            raise UserError(f"{file}: corrupt vjgan config metadata ({exc})") from None
    gen = build_generator(meta, str(path))
    load_state_checked(gen, state, str(path))
    return gen.to(device).eval().requires_grad_(False)


def load_state_checked(gen: Generator, state: dict[str, torch.Tensor], where: str) -> None:
    """load_state_dict with errors a user can act on (missing/unexpected keys, shape mismatches)."""
    own = gen.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise UserError(f"{where}: weights do not fit the architecture (missing {missing[:4]}, "
                        f"unexpected {unexpected[:4]}{'...' if len(missing) + len(unexpected) > 8 else ''})")
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise UserError(f"{where}: {k} has shape {tuple(v.shape)}, the architecture needs {tuple(own[k].shape)} "
                            "(wrong resolution or channel counts in the config?)")
        if not torch.isfinite(v.float()).all():
            raise UserError(f"{where}: {k} holds NaN/inf values (corrupt checkpoint)")
    gen.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
