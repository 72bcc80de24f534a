"""Post-FX effect files: `shaders/<name>.frag`, whose controllable uniforms are declared in the source.

A controllable uniform is a line `uniform float NAME; // @param MIN MAX DEFAULT [description]`.
The chain (render) sets them each frame; the mapping engine and OSC see them as targets
`shader.<effect>.<NAME>`. Reading the declarations from the GLSL keeps one source of truth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vjgan.core.paths import SHADERS_DIR

_PARAM = re.compile(
    r"^\s*uniform\s+float\s+(\w+)\s*;\s*//\s*@param\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$", re.MULTILINE
)


@dataclass(frozen=True, slots=True)
class EffectParam:
    name: str
    minimum: float
    maximum: float
    default: float
    doc: str = ""


def parse_effect_params(source: str) -> dict[str, EffectParam]:
    return {
        m[1]: EffectParam(m[1], float(m[2]), float(m[3]), float(m[4]), m[5].strip())
        for m in _PARAM.finditer(source)
    }


def available_effects(shaders_dir: Path = SHADERS_DIR) -> dict[str, dict[str, EffectParam]]:
    """Effect name → its controllable params, for every `*.frag` in shaders/."""
    return {
        p.stem: parse_effect_params(p.read_text(encoding="utf-8")) for p in sorted(shaders_dir.glob("*.frag"))
    }
