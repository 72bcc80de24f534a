"""Fixtures for mapping tests: a tiny real Generator subclass and deterministic feature timelines."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from vjgan.core.effects import EffectParam
from vjgan.core.features import PITCH_CLASSES, Features
from vjgan.models.base import Generator


class TinyGenerator(Generator):
    """A small linear StyleGAN-shaped generator: enough structure (groups, layers) for mapping tests."""

    def __init__(self) -> None:
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws, self.img_resolution = 8, 16, 6, 16
        self.layer_names = ("b4.conv1", "b8.conv0", "b8.conv1", "b16.conv0", "b16.conv1")
        self.layer_groups = {"coarse": (0, 2), "middle": (2, 4), "fine": (4, 6)}
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(8, 16)

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        w = self.lin(z)
        w = self.w_avg + (w - self.w_avg) * truncation_psi
        return w[:, None, :].repeat(1, self.num_ws, 1)

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        x = ws.mean(dim=(1, 2)).tanh()
        return x[:, None, None, None].expand(-1, 3, 16, 16)

    @property
    def w_avg(self) -> torch.Tensor:
        return self.lin.bias.detach()


@pytest.fixture
def gen() -> TinyGenerator:
    return TinyGenerator()


@pytest.fixture
def effects() -> dict[str, dict[str, EffectParam]]:
    """A fixed effect table (the real shaders/ belongs to the render stage and may change)."""
    return {
        "bloom": {"amount": EffectParam("amount", 0.0, 2.0, 0.5)},
        "feedback": {"decay": EffectParam("decay", 0.0, 1.0, 0.9), "zoom": EffectParam("zoom", 0.5, 2.0, 1.0)},
    }


def chroma_of(name: str) -> tuple[float, ...]:
    return tuple(1.0 if p == name else 0.0 for p in PITCH_CLASSES)


def timeline(
    seconds: float, fps: float = 100.0, bpm: float = 120.0, **fields: object
) -> Iterator[tuple[float, Features]]:
    """A steady beat clock (bar = 4 beats from t=0) with constant other fields: (time, Features)."""
    n = int(round(seconds * fps))
    for i in range(n + 1):
        t = i / fps
        beats = t * bpm / 60.0
        count = int(np.floor(beats + 1e-9))
        yield t, Features(
            time=t, frame=i, tempo=bpm, beat_count=count, beat_phase=beats - count,
            bar_phase=(beats % 4.0) / 4.0, **fields,  # type: ignore[arg-type]
        )
