"""Divergence guard for GAN training: notices a run going wrong instead of training through it.

A diverging GAN does not stop by itself: its losses drift to 10⁷ (an unbounded critic) or NaN, its
gradients explode, and hours later the samples are flat colour fields (#16). The guard watches each
step's losses and gradient norms against their own history and calls a step divergent when a value
is not finite, exceeds `factor` × its running mean (a sudden explosion), or `drift_factor` × the
lowest running mean seen (a slow one, which a running mean would follow: #16's critic loss grew 10×
per 75 steps). Losses are measured against at least `loss_floor`, since a logistic GAN loss of a few
units is normal. Healthy runs on wallpaper photos peaked at 155× the running mean and 480× the lowest
(a critic's gradient norm for one step, on an outlier batch), so the defaults leave 6–20× margin.
The trainer then rolls back to its last good checkpoint — which it never overwrites after a
divergent step — with lower learning rates, and gives up with a clear error after a few tries.
Plain floats in and out, so the StyleGAN2 trainer can share it; its state is JSON for the
checkpoint's metadata.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from vjgan.core.errors import UserError


class DivergenceError(UserError):
    """Training diverged more often than `max_rollbacks`; the last good checkpoint is left on disk."""


def give_up_after(rollbacks: int, max_rollbacks: int, bad_step: int, reason: str, saved_step: int | None,
                  out: object, resume: str) -> None:
    """Raise DivergenceError once a run has diverged more than `max_rollbacks` times; `resume` is the command
    line that continues from the last good checkpoint with a lower rate."""
    if rollbacks > max_rollbacks:
        raise DivergenceError(
            f"training diverged at step {bad_step} ({reason}), {rollbacks} times in this run; the last good "
            f"checkpoint (step {saved_step}) is in {out}. Resume it with a lower rate: {resume}")


def rewind_bar(bar, step: int) -> None:
    """Show a rolled-back step count on a tqdm bar. Setting `n` alone leaves tqdm waiting (silently) until
    the count passes the last printed one again: a 128² run rolled back at step 79 printed nothing for
    the next 79 steps (10 minutes)."""
    bar.n = bar.last_print_n = step
    bar.refresh()


def grad_norm(params: Iterable[torch.nn.Parameter]) -> float:
    """L2 norm of all gradients together (inf/nan pass through, which is what the guard wants to see)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))


class DivergenceGuard:
    """Per-quantity running means (EMA of the accepted values); `check()` names what diverged, or None.

    Quantities whose name starts with "grad" are judged against their own history only; losses against
    at least loss_floor. During the first `warmup` steps of a quantity (its mean is still settling; the first
    steps of a GAN swing widely) only non-finite values and values beyond `ceiling` are judged: an absurd
    rate reaches 10¹⁶ within a step or two, and a checkpoint taken then could not be rolled back to.
    """

    def __init__(self, factor: float = 1000.0, drift_factor: float = 10000.0, warmup: int = 20, beta: float = 0.98,
                 loss_floor: float = 1.0, ceiling: float = 1e6) -> None:
        self.factor, self.drift_factor, self.warmup, self.ceiling = factor, drift_factor, warmup, ceiling
        self.beta, self.loss_floor = beta, loss_floor
        self.mean: dict[str, float] = {}
        self.low: dict[str, float] = {}  # lowest running mean since warm-up
        self.count: dict[str, int] = {}

    def bound(self, key: str) -> float:
        """The value above which `key` counts as diverged (`ceiling` while it is warming up)."""
        if self.count.get(key, 0) < self.warmup:
            return self.ceiling
        floor = 0.0 if key.startswith("grad") else self.loss_floor
        return min(self.factor * max(self.mean[key], floor), self.drift_factor * max(self.low[key], floor))

    def check(self, values: dict[str, float]) -> str | None:
        """Judge one step; on success fold its values into the running means."""
        for key, v in values.items():
            if not math.isfinite(v):
                return f"{key} is {v}"
            b = self.bound(key)
            if abs(v) > b:
                if key not in self.low:
                    return f"{key} {v:.4g} > {b:.4g} during warm-up"
                return (f"{key} {v:.4g} > {b:.4g} (running mean {self.mean[key]:.4g}, "
                        f"lowest {self.low[key]:.4g})")
        for key, v in values.items():
            n = self.count.get(key, 0)
            # plain average over the first steps, then an EMA (a short memory that still ignores one spike)
            w = max(1.0 - self.beta, 1.0 / (n + 1))
            self.mean[key] = self.mean.get(key, 0.0) * (1 - w) + abs(v) * w
            self.count[key] = n + 1
            if n + 1 >= self.warmup:
                self.low[key] = min(self.low.get(key, math.inf), self.mean[key])
        return None

    def state_dict(self) -> dict:
        return {"mean": dict(self.mean), "low": dict(self.low), "count": dict(self.count)}

    def load_state_dict(self, d: dict) -> None:
        self.mean = {k: float(v) for k, v in d.get("mean", {}).items()}
        self.low = {k: float(v) for k, v in d.get("low", {}).items()}
        self.count = {k: int(v) for k, v in d.get("count", {}).items()}
