"""GANSpace components of the running generator, for the `latent.pca.<i>` mapping targets.

The components are a property of the model, not of a preset: computed once per generator (a fixed
seed, so a saved preset's `latent.pca.3 = 1.5` gives the same picture next time) on a worker thread,
so neither a preset load nor the panel's "compute" button ever holds a rendered frame. Amounts set
before the components exist wait for them.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

import numpy as np

from vjgan.core.errors import UserError
from vjgan.core.generator import LatentModel
from vjgan.mapping.latents import weighted_sum
from vjgan.mapping.targets import PCA_COMPONENTS

log = logging.getLogger(__name__)
PCA_SAMPLES = 2000  # mapping samples: well under a second of mapping MLP on a CPU, stable top-8 axes
PCA_SEED = 0


@dataclass(frozen=True, slots=True)
class PcaResult:
    """What the worker hands to the render thread: the directions, or why there are none."""

    directions: np.ndarray | None  # (k, num_ws, w_dim): one standard deviation along each component
    variance_ratio: np.ndarray | None  # (k,) share of the variance of w per component
    error: str = ""


def has_mapping(generator: LatentModel) -> bool:
    """GANSpace needs z → w; the procedural stand-in has no mapping network."""
    return callable(getattr(generator, "mapping", None)) and bool(getattr(generator, "z_dim", 0))


def compute_pca(generator: LatentModel, k: int = PCA_COMPONENTS, samples: int = PCA_SAMPLES) -> PcaResult:
    """Synchronous GANSpace → W+ directions (also what the worker runs; offline renders call it directly)."""
    from vjgan.mapping.ganspace import ganspace

    if not has_mapping(generator):
        raise UserError(f"PCA: {type(generator).__name__} has no mapping network to analyse")
    gs = ganspace(generator, k=k, n_samples=samples, seed=PCA_SEED, batch=500)
    num_ws = int(generator.num_ws)
    dirs = np.stack([gs.latent_direction(i, num_ws) for i in range(len(gs.directions))]).astype(np.float32)
    return PcaResult(dirs, gs.explained_variance_ratio.astype(np.float32))


class PcaExplorer:
    """Owns the components of one generator. `request()` from any thread; `poll()` on the render thread."""

    def __init__(self, generator: LatentModel, k: int = PCA_COMPONENTS, samples: int = PCA_SAMPLES) -> None:
        self.generator, self.k, self.samples = generator, k, samples
        self.directions: np.ndarray | None = None
        self.variance_ratio: np.ndarray | None = None
        self.error = ""
        self.busy = False
        self._results: queue.SimpleQueue[PcaResult] = queue.SimpleQueue()  # one job at a time (busy): at most one

    @property
    def available(self) -> bool:
        return has_mapping(self.generator)

    def request(self) -> bool:
        """Start the worker unless it is running or there is nothing to analyse; True if started."""
        if self.busy or not self.available:
            return False
        self.busy = True

        def work() -> None:
            try:
                self._results.put(compute_pca(self.generator, self.k, self.samples))
            except Exception as exc:  # noqa: BLE001 - reported in the panel, the show goes on
                self._results.put(PcaResult(None, None, str(exc)))

        threading.Thread(target=work, name="pca-explorer", daemon=True).start()
        return True

    def compute_now(self) -> None:
        """Blocking (offline renders, tests): the same result the worker would post."""
        if self.directions is None and self.available:
            self._take(compute_pca(self.generator, self.k, self.samples))

    def poll(self) -> PcaResult | None:
        """The finished result, once (render thread)."""
        res = None
        while not self._results.empty():
            res = self._results.get_nowait()
            self.busy = False
            self._take(res)
        return res

    def _take(self, res: PcaResult) -> None:
        if res.directions is None:
            self.error = res.error
            log.error("PCA not computed: %s", res.error)
            return
        self.directions, self.variance_ratio, self.error = res.directions, res.variance_ratio, ""

    def offset(self, amounts: dict[int, float], shape: tuple[int, ...]) -> np.ndarray | None:
        """Σ amount_i × direction_i for the non-zero amounts, or None (nothing to add yet)."""
        dirs = self.directions
        if dirs is None or dirs.shape[1:] != shape:
            return None
        return weighted_sum((a, dirs[i]) for i, a in amounts.items() if i < len(dirs))
