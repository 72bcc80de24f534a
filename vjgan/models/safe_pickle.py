"""Read official StyleGAN network pickles without running any code from them.

An official pickle (stylegan2-ada-pytorch, stylegan3) stores every network as a call to
`torch_utils.persistence._reconstruct_persistent_obj(meta)`, where `meta` carries the class name, the
class's whole module *source code* and the object's state (its `__dict__`: `_parameters`, `_buffers`,
`_modules`, `_init_kwargs`, ...). Unpickling normally executes that source. Here `find_class` only hands
out an allowlist of harmless callables: the persistence hook becomes a `PersistedObject` that merely
records class name and state, tensors are rebuilt by torch's tensor rebuild functions (storages through
`torch.load(weights_only=True)`), EasyDicts become dicts, numpy arrays/scalars of plain (non-object)
dtypes are rebuilt from raw bytes (StyleGAN3 modules keep sizes as small arrays). Any other global
(`os.system`, `builtins.eval`, `subprocess.Popen`, ...) stops the load with a UserError *before*
anything is called: pickle calls a global only after `find_class` returned it.
"""

from __future__ import annotations

import collections
import hashlib
import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from vjgan.core.errors import UserError


@dataclass
class PersistedObject:
    """What an official persistent object was, as data: never instantiated, never executed."""

    class_name: str
    state: dict[str, Any]
    module_src_sha1: str = ""
    module_hints: set[str] = field(default_factory=set)  # class names defined in its source

    @property
    def init_kwargs(self) -> dict[str, Any]:
        return dict(self.state.get("_init_kwargs") or {})

    def child(self, name: str) -> PersistedObject | None:
        mod = (self.state.get("_modules") or {}).get(name)
        return mod if isinstance(mod, PersistedObject) else None

    def tensors(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """Flattened parameters and persistent buffers, named like `Module.state_dict()` would."""
        out: dict[str, torch.Tensor] = {}
        skip = set(self.state.get("_non_persistent_buffers_set") or ())
        for key in ("_parameters", "_buffers"):
            for name, t in (self.state.get(key) or {}).items():
                if t is not None and name not in skip and isinstance(t, torch.Tensor):
                    out[prefix + name] = t.detach()
        for name, mod in (self.state.get("_modules") or {}).items():
            if isinstance(mod, PersistedObject):
                out.update(mod.tensors(prefix + name + "."))
        return out


class EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict: plain data."""


def _reconstruct_persistent_obj(meta: Any) -> PersistedObject:
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise pickle.UnpicklingError("unexpected persistence record")
    src = meta.get("module_src") or ""
    hints = {line.split("class ", 1)[1].split("(")[0].split(":")[0].strip()
             for line in src.splitlines() if line.startswith("class ")}
    state = meta.get("state") or {}
    if not isinstance(state, dict):
        raise pickle.UnpicklingError("unexpected persistent object state")
    return PersistedObject(str(meta.get("class_name")), state, hashlib.sha1(src.encode()).hexdigest(), hints)


def _load_from_bytes(b: bytes) -> Any:
    # a storage saved by torch.save: read back by torch's own restricted unpickler
    return torch.load(io.BytesIO(b), weights_only=True, map_location="cpu")


def _rebuild_parameter(data: torch.Tensor, requires_grad: bool, backward_hooks: Any, *state: Any) -> torch.Tensor:
    return data  # plain tensor: we copy values into our own parameters


def _rebuild_from_type_v2(func: Any, new_type: Any, args: tuple, state: Any) -> torch.Tensor:
    if new_type not in (torch.Tensor, torch.nn.Parameter) or func not in _TENSOR_FUNCS:
        raise pickle.UnpicklingError("unexpected tensor subclass")
    return func(*args)


def _np_dtype(name: Any, *args: Any) -> np.dtype:
    dt = np.dtype(name)
    if dt.hasobject:
        raise pickle.UnpicklingError("object arrays are not allowed")
    return dt


def _np_scalar(dtype: np.dtype, data: bytes = b"") -> Any:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise pickle.UnpicklingError("object scalars are not allowed")
    return np.frombuffer(data, dtype=dtype)[0]


class _Token:
    """A global handed out as a plain marker: not callable, not a class, so pickle cannot invoke it."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<token {self.name}>"


_NDARRAY = _Token("numpy.ndarray")


def _np_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's array pickling: an empty plain ndarray that the following BUILD fills through
    `ndarray.__setstate__` from raw bytes and a dtype (rebuilt by `_np_dtype`: never an object dtype).
    StyleGAN3 modules keep small int arrays (sizes) in their state."""
    if subtype is not _NDARRAY or not isinstance(shape, tuple) or any(shape):
        raise pickle.UnpicklingError("unexpected ndarray reconstruction")
    return np.empty(0, dtype=np.uint8)


_TENSOR_FUNCS = {torch._utils._rebuild_tensor_v2, _rebuild_parameter}

ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch", "Tensor"): torch.Tensor,
    ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("torch", "Size"): torch.Size,
    ("numpy", "dtype"): _np_dtype,
    ("numpy.core.multiarray", "scalar"): _np_scalar,
    ("numpy._core.multiarray", "scalar"): _np_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy", "ndarray"): _NDARRAY,
}
for _name in ("float32", "float16", "float64", "bfloat16", "int64", "int32", "uint8", "bool"):
    ALLOWED[("torch", _name)] = getattr(torch, _name)

# globals we recognise only to explain why they are refused
_EXPLAINED = {
    ("dnnlib.tflib.network", "Network"): "a TensorFlow StyleGAN pickle: convert it first with "
    "stylegan2-ada-pytorch's legacy.py (python legacy.py --source IN.pkl --dest OUT.pkl), then load OUT.pkl",
}


class SafeUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, where: str):
        super().__init__(file)
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key in ALLOWED:
            return ALLOWED[key]
        if key in _EXPLAINED:
            raise UserError(f"{self.where}: {_EXPLAINED[key]}")
        raise UserError(
            f"{self.where}: refused: the pickle asks for '{module}.{name}', which is not one of the data types "
            "a network pickle needs (it may try to run code). Nothing from it was executed. If you trust the "
            "file, re-export the network with its own code, or convert it on a machine you can risk")

    def persistent_load(self, pid: Any) -> Any:
        raise UserError(f"{self.where}: refused: persistent ids are not used by network pickles")


def safe_load_pickle(path: str | Path) -> Any:
    """Unpickle `path` with the allowlist above; UserError on anything unexpected, truncated or corrupt."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return SafeUnpickler(fh, str(path)).load()
    except UserError:
        raise
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except EOFError:
        raise UserError(f"{path}: the pickle ends early (truncated download?)") from None
    except (pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError,
            MemoryError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: corrupt or unsupported pickle ({type(exc).__name__}: {exc})") from None
