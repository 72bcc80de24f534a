"""The generator thread: turns the newest GeneratorParams into frames, never blocking its callers.

`submit()` only swaps a slot under a lock (the previous unconsumed params are dropped: latest wins);
`latest()` returns the newest finished GeneratedFrame. The thread copies each params' values into
preallocated device tensors (latent, ψ, bends, noise gains, rewritten weights) and runs the forward;
with `cuda_graph=True` (CUDA) the forward is captured once and replayed, re-captured only when the
Bender's structure version or a structural option (widescreen, noise mode) changes.
Bad params (unknown layer, wrong latent shape) are reported in `stats.last_error`, logged once, and the
thread keeps going with the last good state.

Urgent params (`submit(..., urgent=True)`: the ones made for an onset) preempt the frame in progress on
the eager path: a pre-hook on every bendable layer aborts the running forward at the next layer boundary,
so a kick reaches the screen one generator frame after it was heard instead of up to two. An urgent frame
is never preempted itself, so a stream of onsets cannot starve the generator. Captured (CUDA graph) and
compiled forwards run whole: on a GPU a frame is too short for preemption to matter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from vjgan.core.errors import UserError
from vjgan.core.frame import GeneratedFrame, GeneratorParams
from vjgan.models.base import Generator
from vjgan.models.bending import Bender
from vjgan.models.live_mix import ModelMix
from vjgan.models.noise import NoiseControl
from vjgan.models.rewrite import Rewriter

log = logging.getLogger(__name__)


@dataclass(slots=True)
class GeneratorStats:
    frames: int = 0
    dropped: int = 0  # params replaced before the thread took them
    gen_ms_p50: float = 0.0
    gen_ms_p99: float = 0.0
    fps: float = 0.0
    errors: int = 0
    last_error: str = ""
    preempted: int = 0  # frames abandoned mid-forward for urgent params


class _Preempted(Exception):
    """Raised inside the forward (layer pre-hook) when urgent params are waiting."""


def to_rgba(img: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) in [-1, 1] → (H, W, 4) uint8 RGBA on the same device."""
    x = img[0, :3].clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    alpha = torch.full_like(x[:1], 255)
    return torch.cat([x, alpha], 0).permute(1, 2, 0).contiguous()


def mix_state_for(path: str, generator: Generator) -> dict[str, torch.Tensor]:
    """The weights of the checkpoint to mix toward, checked against the performed model's architecture."""
    from vjgan.models.loaders import load_network

    other = load_network(path, f"mix model {path}")
    if other.config_dict() != generator.config_dict():
        raise UserError(f"mix model {path}: a different architecture from the performed model (its config "
                        "differs); live mixing needs two checkpoints of one architecture")  # fmt: skip
    return other.state_dict()


class GeneratorThread:
    def __init__(self, generator: Generator, device: str = "cpu", cuda_graph: bool = False,
                 compile: bool = False, precision: str = "fp32", channels_last: bool = False,
                 name: str = "generator", on_frame: Callable[[GeneratedFrame], None] | None = None,
                 on_error: Callable[[str], None] | None = None, on_beat: Callable[[], None] | None = None):
        """precision: "fp32"; "bf16" (autocast, CPUs with AVX512-BF16 or CUDA); "fp16" (CUDA: the
        generator's own fp16 blocks, StyleGAN2 num_fp16_res). cuda_graph / compile: see module doc.
        on_frame / on_error: called on this thread after each new frame / with each error message (how
        the generator process publishes them); on_beat: called by this thread at least every 0.1 s while
        idle and after each frame, so a stuck forward shows as missing beats (the process's watchdog)."""
        if precision not in ("fp32", "bf16", "fp16"):
            raise UserError(f"precision {precision!r} not in fp32, bf16, fp16")
        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval().requires_grad_(False)
        self.precision = precision
        if hasattr(self.generator, "set_fast_path"):
            self.generator.set_fast_path(fp16=precision == "fp16", channels_last=channels_last)
        self.bender = Bender(self.generator)
        self.noise = NoiseControl(self.generator)
        self.rewriter = Rewriter(self.generator)
        self.mix: ModelMix | None = None  # set_mix_model: weights blended toward a second checkpoint
        n, d = generator.num_ws, generator.w_dim
        self._ws_in = torch.zeros(1, n, d, device=self.device)
        self._psi = torch.ones((), device=self.device)
        self._w_avg = generator.w_avg.detach().to(self.device).float()
        self._host_ws = torch.zeros(1, n, d)
        self._cuda_graph = cuda_graph and self.device.type == "cuda"
        self._compiled = torch.compile(self._forward) if compile else None
        self._graph: torch.cuda.CUDAGraph | None = None
        self._graph_key: tuple | None = None
        self._graph_out: torch.Tensor | None = None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: tuple[GeneratorParams, float, bool] | None = None
        self._busy = False  # a frame is in progress (set under the lock)
        self._busy_urgent = False
        self._preempt = False  # read by the layer pre-hooks without the lock (a bool store is atomic)
        self._preempt_hooks = []
        if not self._cuda_graph and self._compiled is None:  # hooks would break graphs and compilation
            for layer in generator.layer_names:
                hook = self.generator.layer_module(layer).register_forward_pre_hook(self._check_preempt)
                self._preempt_hooks.append(hook)
        self._structural: dict[str, object] = {}
        self._latest: GeneratedFrame | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._times: deque[float] = deque(maxlen=240)
        self._done: deque[float] = deque(maxlen=120)
        self._last_seq: int | None = None
        self._errors_seen: set[str] = set()
        self.stats = GeneratorStats()
        self.on_frame, self.on_error, self.on_beat = on_frame, on_error, on_beat

    # -- caller side (any thread, never blocks on the generator) --------------------------------------
    def start(self) -> GeneratorThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def submit(self, params: GeneratorParams, time: float = 0.0, urgent: bool = False) -> None:
        """Latest wins. `urgent`: also abandon a non-urgent frame in progress (see the module doc)."""
        with self._wake:
            if self._pending is not None:
                self.stats.dropped += 1
                urgent = urgent or self._pending[2]  # an urgent job replaced by newer params stays urgent
            self._pending = (params, time, urgent)
            if urgent and self._busy and not self._busy_urgent:
                self._preempt = True
            self._wake.notify()

    def _check_preempt(self, _module: torch.nn.Module, _args: object) -> None:
        if self._preempt:
            raise _Preempted

    def latest(self) -> GeneratedFrame | None:
        return self._latest

    def set_widescreen(self, mode: str | None) -> None:
        """Applied by the thread between frames (structural: buffers change shape)."""
        with self._wake:
            self._structural["widescreen"] = mode
            self._wake.notify()

    def set_noise_mode(self, mode: str) -> None:
        with self._wake:
            self._structural["noise_mode"] = mode
            self._wake.notify()

    # -- generator thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        last_params: tuple[GeneratorParams, float, bool] | None = None
        while not self._stop.is_set():
            with self._wake:
                while self._pending is None and not self._structural and not self._stop.is_set():
                    if self.on_beat is not None:
                        self.on_beat()
                    self._wake.wait(0.1)
                job, self._pending = self._pending, None
                structural, self._structural = self._structural, {}
                self._preempt = False
                self._busy, self._busy_urgent = job is not None, bool(job and job[2])
            if self._stop.is_set():
                break
            if structural:
                self._apply_structural(structural)
                job = job or last_params
                self._last_seq = None
            if job is None:
                continue
            last_params = job
            try:
                self._frame(job[0], job[1])
            except _Preempted:
                self.stats.preempted += 1  # the urgent params are pending: the loop takes them now
                self._last_seq = None
            except UserError as exc:
                self._error(str(exc))
            except Exception as exc:  # keep the show going; the renderer keeps the last frame
                log.exception("generator frame failed")
                self._error(f"{type(exc).__name__}: {exc}")
            finally:
                self._busy = False
                if self.on_beat is not None:
                    self.on_beat()

    def _error(self, msg: str) -> None:
        self.stats.errors += 1
        self.stats.last_error = msg
        if self.on_error is not None:
            self.on_error(msg)
        if msg not in self._errors_seen:
            self._errors_seen.add(msg)
            log.error("generator: %s", msg)

    def _apply_structural(self, changes: dict[str, object]) -> None:
        try:
            if "widescreen" in changes:
                self.generator.set_widescreen(changes["widescreen"])  # type: ignore[arg-type]
                self.noise.refresh(self.generator)
            if "noise_mode" in changes and hasattr(self.generator, "set_noise_mode"):
                self.generator.set_noise_mode(changes["noise_mode"])  # type: ignore[attr-defined]
            if "mix_model" in changes:
                state, layers = changes["mix_model"]  # type: ignore[misc]
                if self.mix is not None:
                    self.mix.undo()
                    self.rewriter.rebase()
                    self.mix = None
                if state is not None:  # A's weights are read without rewrites: those go back on top after
                    active = self.rewriter.active
                    self.rewriter.undo()
                    self.mix = ModelMix(self.generator, state, layers)
                    self.rewriter.set({k: s for k, (s, _) in active.items()}, {k: o for k, (_, o) in active.items()})
        except UserError as exc:
            self._error(str(exc))
        self._graph_key = None

    def render(self, params: GeneratorParams, time: float = 0.0) -> GeneratedFrame:
        """One frame synchronously on the caller's thread (offline rendering, benchmarks).

        Use it instead of start()/submit(), never alongside a started thread."""
        if self._structural:
            structural, self._structural = self._structural, {}
            self._apply_structural(structural)
        self._last_seq = None
        self._frame(params, time)
        assert self._latest is not None
        return self._latest

    def _frame(self, params: GeneratorParams, t: float) -> None:
        if params.seq == self._last_seq and self._latest is not None:
            return
        latent = np.asarray(params.latent, dtype=np.float32)
        if latent.shape != tuple(self._ws_in.shape[1:]):
            raise UserError(f"latent has shape {latent.shape}, this generator needs {tuple(self._ws_in.shape[1:])}")
        t0 = time.perf_counter()
        problems = self._apply_controls(params)
        self._host_ws.numpy()[0] = latent
        self._ws_in.copy_(self._host_ws, non_blocking=True)
        self._psi.fill_(float(params.truncation))
        with torch.inference_mode():
            image = self._run_forward()
        if self.device.type == "cuda":
            torch.cuda.current_stream(self.device).synchronize()
        now = time.perf_counter()
        gen_ms = (now - t0) * 1000
        self._latest = GeneratedFrame(image=image, seq=params.seq, time=t, gen_ms=gen_ms, wall=now)
        for msg in problems:  # reported after the frame: a typo in a preset must not freeze the picture
            self._error(msg)
        self._last_seq = params.seq
        self._times.append(gen_ms)
        self._done.append(now)
        s = self.stats
        s.frames += 1
        arr = np.fromiter(self._times, float)
        s.gen_ms_p50, s.gen_ms_p99 = float(np.percentile(arr, 50)), float(np.percentile(arr, 99))
        if len(self._done) > 1:
            s.fps = (len(self._done) - 1) / max(self._done[-1] - self._done[0], 1e-9)
        if self.on_frame is not None:
            self.on_frame(self._latest)

    def _apply_controls(self, params: GeneratorParams) -> list[str]:
        """Bends, noise, rewrites into their preallocated tensors; bad entries skipped and returned."""
        problems = self.bender.set_bends(params.bends, strict=False)
        known = set(self.generator.layer_names)
        bad = sorted((set(params.noise_strength) | set(params.rewrite)) - known)
        if bad:
            problems.append(f"unknown layers {bad} in noise_strength/rewrite; layers: {', '.join(known)}")
        strength = {k: v for k, v in params.noise_strength.items() if k in self.noise.layers}
        try:
            self.noise.set(strength, params.noise_mask, params.noise_mask_amount)
        except UserError as exc:
            problems.append(str(exc))
            self.noise.set(strength, None, 0.0)
        if self.mix is not None and self.mix.set(params.model_mix):
            self.rewriter.rebase()  # the mix rewrote the weights under any rewrites
        self.rewriter.set({k: v for k, v in params.rewrite.items() if k in known})
        return problems

    def set_mix_model(self, path: str | None, layers: str = "") -> None:
        """Blend toward checkpoint `path` ("default": the embedded model) by `GeneratorParams.model_mix`;
        None: no mix, A's weights back. `layers`: B's weight per resolution as `vjgan mix --layers`
        ("4-16=0,32-128=1"), others 1. The checkpoint loads on the caller's thread; the generator thread
        swaps it in between frames. Only ever called with a path from the command line or a preset file,
        never from the network."""
        from vjgan.models.mixing import parse_layers

        try:
            state = None if path is None else mix_state_for(path, self.generator)
            parsed = parse_layers(layers)
        except UserError as exc:
            self._error(str(exc))
            return
        self.set_mix_state(state, parsed)

    def set_mix_state(self, state: dict[str, torch.Tensor] | None, layers: dict[tuple[int, int], float]) -> None:
        """`set_mix_model` with the checkpoint already loaded and checked (`mix_state_for`) and the layers
        parsed: swapped in between frames."""
        with self._wake:
            self._structural["mix_model"] = (state, layers)
            self._wake.notify()

    def _forward(self) -> torch.Tensor:
        ws = self._w_avg.lerp(self._ws_in, self._psi)
        if self.precision == "bf16":
            with torch.autocast(self.device.type, dtype=torch.bfloat16):
                img = self.generator.synthesis(ws)
            return to_rgba(img.float())
        return to_rgba(self.generator.synthesis(ws))

    def _run_forward(self) -> torch.Tensor:
        if self._cuda_graph:
            key = (self.bender.version, getattr(self.generator, "widescreen", None))
            if key != self._graph_key:
                self._capture()
                self._graph_key = key
            self._graph.replay()  # type: ignore[union-attr]
            return self._graph_out.clone()  # type: ignore[union-attr]
        if self._compiled is not None:
            return self._compiled()
        return self._forward()

    def _capture(self) -> None:
        """Warm up on a side stream, then record the whole forward (bends included) into one graph."""
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            for _ in range(3):
                self._forward()
        torch.cuda.current_stream(self.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._graph_out = self._forward()
        self._graph = graph
