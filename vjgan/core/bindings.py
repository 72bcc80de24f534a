"""An OSC-learn binding: an incoming controller address bound to a registry target.

Shared ground because presets store bindings (mapping validates them) and OSC applies them (control).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vjgan.core.errors import UserError
from vjgan.core.registry import ParamRegistry


@dataclass(frozen=True, slots=True)
class Binding:
    """Incoming `source` address → registry `target` address.

    With `scale`, the first argument is mapped linearly from [in_min, in_max] (TouchOSC's default 0..1)
    onto the target's [minimum, maximum]; without it the value passes unchanged (the queue still clamps).
    """

    source: str
    target: str
    scale: bool = False
    in_min: float = 0.0
    in_max: float = 1.0

    def translate(self, value: Any, registry: ParamRegistry) -> Any:
        if not self.scale or isinstance(value, bool | str | bytes) or value is None:
            return value
        param = registry.get(self.target)
        if param is None or param.minimum is None or param.maximum is None or self.in_max == self.in_min:
            return value
        x = float(value)
        if not math.isfinite(x):
            return x  # left for the registry to reject and count
        t = (x - self.in_min) / (self.in_max - self.in_min)
        return param.minimum + t * (param.maximum - param.minimum)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "scale": self.scale,
            "in_min": self.in_min,
            "in_max": self.in_max,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "OSC bindings") -> Binding:
        try:
            source, target = d["source"], d["target"]
            if not (isinstance(source, str) and source.startswith("/")):
                raise ValueError(f"source must be an OSC address starting with '/', got {source!r}")
            if not (isinstance(target, str) and target.startswith("/")):
                raise ValueError(f"target must be an OSC address starting with '/', got {target!r}")
            in_min, in_max = float(d.get("in_min", 0.0)), float(d.get("in_max", 1.0))
            if not (math.isfinite(in_min) and math.isfinite(in_max)):
                raise ValueError("in_min/in_max must be finite numbers")
            return cls(source, target, bool(d.get("scale", False)), in_min, in_max)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:  # float(10**400): OverflowError
            raise UserError(f"{where}: invalid binding {d!r}: {exc}") from exc
