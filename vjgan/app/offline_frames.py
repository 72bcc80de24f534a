"""One offline frame's stages: mapping + generator, then post-FX, for frame indices of a clip.

Frame i's picture is a pure function of the track analysis, the preset, the model, the seed and i:
the mapping engine is stepped once per frame in order from frame 0 (its envelopes, LFOs and walks carry
state from frame to frame), and the torch RNG is reseeded per frame from (seed, i), so a generator that
draws noise does not depend on how many frames this process made before. A frame range that does not
start at 0 therefore first runs the mapping alone (no generator, no GL: about 0.3 ms a frame) up to its
start (`seek`), which leaves the engine exactly where a single-process render has it. A Ray worker gets
its ranges in increasing order and goes on from its last one instead of from frame 0.

The post-FX chain's `feedback` effect reads the previous output frame; a range that starts after
frame 0 does not have it, so such a range fails (`HistoryError`) if any of its frames reads it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from vjgan.audio.trackanalysis import TrackAnalysis
from vjgan.core.errors import UserError
from vjgan.core.frame import GeneratedFrame, ShaderParams
from vjgan.core.registry import ParamRegistry
from vjgan.mapping.engine import MappingEngine
from vjgan.models.base import Generator
from vjgan.models.runner import GeneratorThread


class HistoryError(UserError):
    """A frame range after frame 0 used an effect that reads the previous frame (trails)."""


@dataclass(frozen=True)
class Clip:
    """Which frames to render: frame i shows audio time start + i / fps."""

    start: float
    fps: int
    frames: int

    def time(self, i: int) -> float:
        return self.start + i / self.fps


@dataclass(frozen=True)
class GeneratedJob:
    """Generator stage → post-FX stage: one frame's picture and its shader values."""

    index: int
    frame: GeneratedFrame
    shader: ShaderParams
    time: float
    onset: float
    beat_phase: float
    rms: float


def frame_seed(seed: int, index: int) -> int:
    """The torch seed for frame `index`: per frame, so noise never depends on earlier frames."""
    return (seed * 1_000_003 + index * 7919 + 12345) % (2**63 - 1)


class FrameStages:
    """The live stages for offline frames. `generate` runs on one thread, `draw` on the GL context's."""

    def __init__(
        self,
        generator: Generator,
        analysis: TrackAnalysis,
        clip: Clip,
        size: tuple[int, int],
        device: str = "cpu",
        no_fx: bool = False,
        sharp: bool = True,
    ) -> None:
        from vjgan.render.postfx import PostFXChain
        from vjgan.render.upload import FrameUploader
        from vjgan.render.window import headless_context

        self.generator = generator.eval()
        self.analysis = analysis
        self.clip = clip
        self.ctx = headless_context()
        self.chain = PostFXChain(self.ctx, size)
        self.chain.plain = no_fx
        self.chain.sharp = sharp
        self.chain.gil_free_waits()  # every frame is read back at once: wait without blocking the other stages
        self.uploader = FrameUploader(self.ctx)
        # The live generator thread's own per-frame code (bends, noise, rewrite, ψ), run synchronously:
        # the thread is never started, so every frame is generated, none dropped, in order.
        self._runner = GeneratorThread(self.generator, device=device)
        self.mapping: MappingEngine | None = None
        self.seed = 0
        self._next = 0  # the frame the mapping engine steps next
        self._first = 0  # the first frame of this range (history is only valid after it)
        self.stage_ms: dict[str, list[float]] = {"mapping": [], "generator": [], "postfx": []}

    def set_mix_state(self, state: dict[str, torch.Tensor], layers: dict[tuple[int, int], float]) -> None:
        """The weights the target model.mix blends toward (applied before the next frame)."""
        self._runner.set_mix_state(state, layers)

    def begin(self, mapping: MappingEngine, registry: ParamRegistry, seed: int, first: int = 0) -> None:
        """A fresh mapping engine for a range starting at frame `first`: step it alone up to there."""
        self.mapping, self.seed = mapping, seed
        self.chain.register(registry)
        self._next = 0
        self.seek(first)

    def can_seek(self, first: int) -> bool:
        """Whether the running mapping can go on to `first` (a worker's next range lies ahead of it)."""
        return self.mapping is not None and self._next <= first

    def seek(self, first: int) -> None:
        """Step the running mapping alone from where it is up to frame `first`."""
        for i in range(self._next, first):
            params = self._step(i)
            self.chain.set_uniforms(params.shader)  # the chain's on/off state follows the preset too
        self._first = first
        self.uploader.seq = -1  # frame seqs restart with each range
        self.chain.history_reads = 0

    def _step(self, i: int):
        if i != self._next or self.mapping is None:
            raise RuntimeError(f"mapping stepped out of order: frame {i}, expected {self._next}")
        t = self.clip.time(i)
        prev = self.clip.time(i - 1) if i > 0 else None
        features = self.analysis.features_at(t, prev, frame=i, wall=0.0)
        params = self.mapping.step(features, t)  # audio time as the clock: reproducible LFOs
        self._next += 1
        params.generator.seq = i + 1  # a new seq every frame so neither the runner nor the uploader skips one
        self._features = features
        return params

    def generate(self, i: int) -> GeneratedJob:
        """Mapping + generator for frame i (frames in order)."""
        t0 = time.perf_counter()
        params = self._step(i)
        f = self._features
        shader = ShaderParams(
            uniforms={k: dict(v) for k, v in params.shader.uniforms.items()}, chain=tuple(params.shader.chain)
        )  # a copy: the GL thread reads it while the next frame is mapped
        t1 = time.perf_counter()
        torch.manual_seed(frame_seed(self.seed, i))
        gen = self._runner.render(params.generator, f.time)  # UserError on bad params (e.g. latent shape)
        gen.seq = i + 1
        t2 = time.perf_counter()
        self.stage_ms["mapping"].append((t1 - t0) * 1000)
        self.stage_ms["generator"].append((t2 - t1) * 1000)
        return GeneratedJob(i, gen, shader, f.time, f.onset, f.beat_phase, f.rms)

    def draw(self, job: GeneratedJob) -> np.ndarray:
        """Upload, post-FX, read back: (H, W, 3) uint8 (read-only). On the GL context's thread."""
        from vjgan.render.postfx import FrameInputs

        t0 = time.perf_counter()
        self.uploader.upload(job.frame)
        self.chain.set_uniforms(job.shader)
        inputs = FrameInputs(time=job.time, onset=job.onset, beat_phase=job.beat_phase, rms=job.rms)
        self.chain.render(self.uploader.current, None, 1.0, inputs)
        if self._first > 0 and self.chain.history_reads:
            raise HistoryError(
                f"frame {job.index}: the preset's trail effect (feedback) reads the previous frame, so a frame "
                "range cannot start after frame 0 in the single-process state; render this preset without --ray"
            )
        image = self.chain.read()  # a fresh buffer every frame: no copy needed to hand it on
        self.stage_ms["postfx"].append((time.perf_counter() - t0) * 1000)
        return image

    def medians(self) -> dict[str, float]:
        return {k: float(np.median(v)) if v else 0.0 for k, v in self.stage_ms.items()}

    def release(self) -> None:
        self.chain.release()
        self.uploader.release()
        self.ctx.release()
