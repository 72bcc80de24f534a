"""Model mixing as a live control: the generator's weights blended toward a second checkpoint per frame.

`vjgan mix` (mixing.py) writes a third checkpoint; on stage the blend itself should move with the music.
`ModelMix` keeps A's synthesis weights and the difference B − A for every tensor B changes, and writes
W = A + amount · w_res · (B − A) into the parameters' own storage (so captured CUDA graphs see it),
where w_res is the `--mix-layers` weight of the tensor's resolution (coarse from one model, fine from the
other). The mapping network stays A's, so seeds, prototypes and presets keep their meaning.

It runs on the generator's thread, between two forwards, only when the amount has moved by more than
`STEP` (so a held value costs nothing): one fused multiply-add per mixed weight. On one CPU thread a step
costs 0.2 ms for the default model (whose forward takes 31 ms) and 14 ms for a 1024² StyleGAN2 (forward
3.7 s), so a mix driven every frame stalls nothing (scripts/bench_model_mix.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from vjgan.core.errors import UserError
from vjgan.models.base import Generator
from vjgan.models.mixing import layer_resolution, layer_weight

STEP = 1.0 / 512  # amounts closer than this to the applied one are not re-applied


class ModelMix:
    """A's weights ↔ B's, by one amount in 0..1 (0 = A exactly, bit for bit)."""

    def __init__(self, generator: Generator, other: Mapping[str, torch.Tensor],
                 layers: dict[tuple[int, int], float] | None = None) -> None:  # fmt: skip
        """`other`: B's state dict (same architecture); `layers`: weight of B per resolution range
        (mixing.parse_layers; resolutions not listed: 1). Raises UserError when B does not fit A."""
        own = dict(generator.named_parameters())
        buffers = dict(generator.named_buffers())
        missing = sorted(k for k in own if k.startswith("synthesis.") and k not in other)
        if missing:
            raise UserError(f"the mix model lacks {len(missing)} of this model's layers ({', '.join(missing[:3])}, "
                            "...): live mixing needs two checkpoints of one architecture")  # fmt: skip
        layers = layers or {}
        self._tensors: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]] = []
        with torch.no_grad():
            for key, p in {**buffers, **own}.items():
                res = layer_resolution(key)
                if res is None or not p.is_floating_point() or key.endswith("resample_filter"):
                    continue  # the mapping network, fixed filters, integer buffers: A's
                b = other.get(key)
                if b is None:
                    continue
                if tuple(b.shape) != tuple(p.shape):
                    raise UserError(f"{key}: shapes {tuple(p.shape)} vs {tuple(b.shape)} in the mix model: live "
                                    "mixing needs two checkpoints of one architecture")  # fmt: skip
                w = layer_weight(layers, res, 1.0)
                delta = b.detach().to(p.device, p.dtype) - p.detach()
                if w == 0.0 or not bool(delta.any()):
                    continue
                self._tensors.append((p, p.detach().clone(), delta, float(w)))
        self.amount = 0.0
        self.tensors = len(self._tensors)
        self.weights = sum(t[1].numel() for t in self._tensors)

    @torch.no_grad()
    def set(self, amount: float) -> bool:
        """Blend to `amount` (clamped to 0..1); True when the weights were written."""
        amount = min(max(float(amount), 0.0), 1.0)
        if abs(amount - self.amount) < STEP and not (amount in (0.0, 1.0) and amount != self.amount):
            return False
        for p, a, delta, w in self._tensors:
            if amount == 0.0:
                p.copy_(a)  # exactly A again
            else:
                torch.add(a, delta, alpha=amount * w, out=p)
        self.amount = amount
        return True

    def undo(self) -> None:
        self.set(0.0)
