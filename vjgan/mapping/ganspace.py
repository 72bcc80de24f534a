"""GANSpace: principal components of a generator's mapping-network outputs as latent sliders.

An unlabelled model still has a few directions along which its w's vary most; PCA of w = mapping(z)
over many random z finds them (Härkönen et al. 2020). Moving a latent along component k by
`amount × σ_k`, optionally only on a range of ws rows (coarse/middle/fine), gives interpretable edits
(pose, colour, lighting…). Works for any `LatentModel`: it only calls `mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vjgan.core.errors import UserError
from vjgan.core.generator import LatentModel


@dataclass(frozen=True)
class GanSpace:
    """Top-k principal directions of w. `directions` rows are unit vectors (k, w_dim), ordered by variance."""

    directions: np.ndarray  # (k, w_dim)
    explained_variance: np.ndarray  # (k,) variance of w along each direction
    explained_variance_ratio: np.ndarray  # (k,) fraction of the total variance of w
    mean: np.ndarray  # (w_dim,) mean w of the samples

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.explained_variance)

    def latent_direction(self, k: int, num_ws: int, layers: tuple[int, int] | None = None) -> np.ndarray:
        """Component k as a W+ direction (num_ws, w_dim) scaled to one standard deviation, zero outside
        `layers` ([start, stop) of ws rows; None = all), ready to add to `GeneratorParams.latent`."""
        if not 0 <= k < len(self.directions):
            raise UserError(f"GANSpace has {len(self.directions)} components; component {k} does not exist")
        d = np.zeros((num_ws, self.directions.shape[1]), np.float32)
        start, stop = layers if layers is not None else (0, num_ws)
        d[start:stop] = self.directions[k] * self.std[k]
        return d

    def latent_directions(self, num_ws: int, layers: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
        """All components, named "pc0", "pc1", … (the format of prototypes.save_prototypes)."""
        return {f"pc{k}": self.latent_direction(k, num_ws, layers) for k in range(len(self.directions))}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        np.savez(path, directions=self.directions, explained_variance=self.explained_variance,
                 explained_variance_ratio=self.explained_variance_ratio, mean=self.mean)
        return path

    @classmethod
    def load(cls, path: str | Path) -> GanSpace:
        try:
            with np.load(path, allow_pickle=False) as f:
                return cls(f["directions"], f["explained_variance"], f["explained_variance_ratio"], f["mean"])
        except (OSError, KeyError, ValueError) as exc:
            raise UserError(f"cannot read GANSpace components {path}: {exc}") from exc


@torch.no_grad()
def ganspace(generator: LatentModel, k: int = 10, n_samples: int = 10_000, seed: int = 0,
             batch: int = 1000) -> GanSpace:
    """PCA of w = generator.mapping(z) (first ws row; mapping broadcasts one w to all rows) over
    `n_samples` random z. Cost: n_samples mapping-MLP forwards, about a second on a CPU."""
    if n_samples < 2:
        raise UserError("GANSpace needs at least 2 samples")
    sources = (getattr(generator, "parameters", None), getattr(generator, "buffers", None))
    tensors = [f() for f in sources if callable(f)]
    device = next((t.device for it in tensors for t in it), torch.device("cpu"))  # where the mapping network lives
    g = torch.Generator().manual_seed(seed)
    ws = []
    for i in range(0, n_samples, batch):
        z = torch.randn(min(batch, n_samples - i), generator.z_dim, generator=g).to(device)
        ws.append(generator.mapping(z)[:, 0].double().cpu())
    w = torch.cat(ws)
    mean = w.mean(0)
    x = w - mean
    # SVD of the centred samples: right singular vectors are the principal axes
    _, s, vh = torch.linalg.svd(x, full_matrices=False)
    var = s.square() / (len(w) - 1)
    k = min(k, vh.shape[0])
    total = var.sum().clamp_min(1e-30)
    vh = vh[:k]
    # fix each axis's sign (largest component positive) so results are reproducible across runs
    sign = torch.sign(vh.gather(1, vh.abs().argmax(1, keepdim=True)))
    vh = vh * sign
    return GanSpace(vh.float().numpy(), var[:k].float().numpy(), (var[:k] / total).float().numpy(),
                    mean.float().numpy())
