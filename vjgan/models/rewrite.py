"""Model rewriting: live per-layer weight scale/offset, undone exactly.

Demodulated convolutions normalise each output channel, so scaling a whole weight tensor would change
nothing; instead a fixed random half of the layer's weights (a per-layer mask, seeded) is scaled and
shifted: W' = W · (1 + (scale − 1)·M) + offset · std(W) · M. That reshapes what each channel responds to.
The original weights are kept (a clone taken on first use) and every update writes from them into the
parameter's storage in place (so captured graphs see it), and neutral values (scale 1, offset 0) copy
the clone back bit for bit.
"""

from __future__ import annotations

import torch

from vjgan.core.errors import UserError
from vjgan.models.base import Generator


class Rewriter:
    def __init__(self, generator: Generator, seed: int = 0):
        self.generator = generator
        self.layers = tuple(generator.layer_names)
        self.seed = seed
        self._orig: dict[str, torch.Tensor] = {}
        self._mask: dict[str, torch.Tensor] = {}
        self._std: dict[str, float] = {}
        self._current: dict[str, tuple[float, float]] = {}

    def _weight(self, layer: str) -> torch.nn.Parameter:
        if layer not in self.layers:
            raise UserError(f"rewrite: unknown layer {layer!r}; layers: {', '.join(self.layers)}")
        w = getattr(self.generator.layer_module(layer), "weight", None)
        if not isinstance(w, torch.Tensor):
            raise UserError(f"rewrite: layer {layer} has no weight")
        return w  # type: ignore[return-value]

    def set(self, scale: dict[str, float], offset: dict[str, float] | None = None) -> None:
        """Target state for all layers (missing → neutral); only layers whose values change are touched."""
        offset = offset or {}
        wanted = {n: (float(scale.get(n, 1.0)), float(offset.get(n, 0.0))) for n in set(scale) | set(offset)}
        for n in list(self._current):
            wanted.setdefault(n, (1.0, 0.0))
        for n, (s, o) in wanted.items():
            if self._current.get(n, (1.0, 0.0)) == (s, o):
                continue
            self._apply(n, s, o)

    @torch.no_grad()
    def _apply(self, layer: str, s: float, o: float) -> None:
        w = self._weight(layer)
        if layer not in self._orig:
            self._orig[layer] = w.detach().clone()
            g = torch.Generator().manual_seed(self.seed * 1000 + self.layers.index(layer))
            self._mask[layer] = (torch.rand(w.shape, generator=g) < 0.5).to(w.device, w.dtype)
            self._std[layer] = float(self._orig[layer].float().std())
        orig = self._orig[layer]
        if s == 1.0 and o == 0.0:
            w.copy_(orig)
            self._current.pop(layer, None)
            return
        m = self._mask[layer]
        w.copy_(orig * (1 + (s - 1) * m) + (o * self._std[layer]) * m)
        self._current[layer] = (s, o)

    @torch.no_grad()
    def rebase(self) -> None:
        """The weights under the rewrites were replaced (a live model mix wrote them, rewrites lost): take
        them as the new originals and apply the current rewrites on top again."""
        current = dict(self._current)
        for layer, orig in self._orig.items():
            orig.copy_(self._weight(layer))
            self._std[layer] = float(orig.float().std())
        self._current.clear()
        for layer, (s, o) in current.items():
            self._apply(layer, s, o)

    def undo(self) -> None:
        """Restore every rewritten layer's original weights exactly."""
        for n in list(self._current):
            self._apply(n, 1.0, 0.0)

    @property
    def active(self) -> dict[str, tuple[float, float]]:
        return dict(self._current)
