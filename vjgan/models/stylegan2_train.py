"""Training a StyleGAN2 on a folder of images (`vjgan train --arch stylegan2`).

The official recipe (stylegan2-ada-pytorch, config "auto") minus path-length regularisation: the
non-saturating logistic loss, lazy R1 on the reals every `r1_every` steps (with the official lr/beta
correction for the skipped steps), Adam betas (0, 0.99), random noise and style mixing while
training, an EMA of G whose half-life ramps up with the images seen: the EMA G is the saved model.
DiffAugment on reals and fakes alike lets a few hundred images train (D memorises them otherwise).

Files in `out`: model.safetensors (the EMA G in vjgan's format: `vjgan live/render --model` load it),
checkpoint/train_state.safetensors (G, EMA G, D, optimiser states, RNG states; config, step and guard
state as JSON metadata; never pickle), samples/step_NNNNNN.png. Both are written atomically, the state
first; resume reads only the state. The divergence guard of the VAE-GAN trainer watches every step;
a divergent step rolls back to the last checkpoint with halved rates, which is never overwritten by
non-finite weights.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm import tqdm

from vjgan.core.errors import UserError
from vjgan.models.diffaugment import POLICIES, diff_augment
from vjgan.models.loaders import load_generator
from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from vjgan.models.stylegan2_disc import StyleGAN2Discriminator
from vjgan.models.train_guard import DivergenceError, DivergenceGuard, give_up_after, grad_norm, rewind_bar
from vjgan.models.vaegan_train import _flatten_opt, _unflatten_opt
from vjgan.models.vjgan_format import save_generator

log = logging.getLogger(__name__)

MODEL_FILE = "model.safetensors"
STATE_FILE = "checkpoint/train_state.safetensors"
FORMAT = "vjgan-stylegan2-train"


@dataclass
class SG2TrainConfig:
    batch: int = 32
    lr: float = 0.0025  # G and D (equalised layers: one plain rate fits all)
    r1_gamma: float | None = None  # None: the official heuristic 0.0002 · res² / batch
    r1_every: int = 16
    ema_kimg: float | None = None  # EMA half-life in thousands of images; None: batch · 10 / 32 (official)
    ema_rampup: float = 0.05  # the half-life is at most this fraction of the images seen so far
    style_mixing: float = 0.9
    augment: str = "color,translation,cutout"  # DiffAugment policies; "" for none
    flip: bool = True
    max_steps: int = 10000
    snap: int = 200  # steps between a sample grid and a checkpoint
    seed: int = 0
    guard_factor: float = 1000.0
    max_rollbacks: int = 3

    @classmethod
    def from_dict(cls, d: dict) -> SG2TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def default_config(res: int, channel_base: int = 16384, channel_max: int = 512, w_dim: int = 512) -> StyleGAN2Config:
    """The official "auto" config's network: 2 mapping layers, z = w = 512, widths 16384/res capped at 512."""
    return StyleGAN2Config(z_dim=w_dim, w_dim=w_dim, img_resolution=res, channel_base=channel_base,
                           channel_max=channel_max, mapping_layers=2)


@dataclass
class SG2Result:
    model: StyleGAN2Generator
    steps: int
    s_per_step: float
    losses: dict[str, float] = field(default_factory=dict)
    rollbacks: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


class SG2Trainer:
    """Owns G, EMA G, D, optimisers and the loop; `run()` trains to `cfg.max_steps`."""

    def __init__(self, images: torch.Tensor, out_dir: str | Path, model_cfg: StyleGAN2Config | None = None,
                 cfg: SG2TrainConfig | None = None, device: str = "cpu", resume: bool = False,
                 init_from: str | Path | None = None, progress: bool = True, override: tuple[str, ...] = ()) -> None:
        """`init_from`: a StyleGAN2 checkpoint to fine-tune (G and EMA G start from it, D fresh).
        `override`: fields of `cfg` that replace a resumed run's own (max_steps and snap always do)."""
        self.out = Path(out_dir)
        self.device = torch.device(device)
        self.progress = progress
        self.cfg = cfg or SG2TrainConfig()
        self.images = images  # uint8 (N, 3, R, R) on the CPU
        self.step = 0
        self.rollbacks = 0
        self.last_r1 = 0.0
        self.saved_step: int | None = None
        res = int(images.shape[-1])
        unknown = set(filter(None, self.cfg.augment.split(","))) - set(POLICIES)
        if unknown:
            raise UserError(f"unknown augmentation {', '.join(sorted(unknown))} (known: {', '.join(POLICIES)})")
        if resume:
            self._resume(("max_steps", "snap", *override))
        else:
            torch.manual_seed(self.cfg.seed)
            if init_from is not None:
                src = load_generator(init_from)  # vjgan, official .pkl or rosinality .pt
                if not isinstance(src, StyleGAN2Generator) or src.config.head or src.config.c_dim:
                    raise UserError(f"--from {init_from}: not an unconditional StyleGAN2 checkpoint")
                mcfg = src.config
            else:
                src, mcfg = None, model_cfg or default_config(res)
            self._build(mcfg)
            if src is not None:
                self.G.load_state_dict(src.state_dict())
                self.G_ema.load_state_dict(src.state_dict())
            self.rng = np.random.default_rng(self.cfg.seed)
            self.guard = DivergenceGuard(self.cfg.guard_factor, 10 * self.cfg.guard_factor)
        if res != self.G.img_resolution:
            raise UserError(f"images are {res}² but the model makes {self.G.img_resolution}² (use --res "
                            f"{self.G.img_resolution}, or a checkpoint of this resolution)")

    # --- setup and checkpoints -------------------------------------------------------------------
    def _build(self, mcfg: StyleGAN2Config) -> None:
        self.G = StyleGAN2Generator(mcfg).to(self.device).train()
        self.G.set_noise_mode("random")
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.G_ema.set_noise_mode("const")
        self.D = StyleGAN2Discriminator(mcfg).to(self.device).train()
        c = self.cfg
        ratio = c.r1_every / (c.r1_every + 1)  # lazy regularisation: the official correction
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=c.lr, betas=(0.0, 0.99), eps=1e-8)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=c.lr * ratio, betas=(0.0, 0.99 ** ratio), eps=1e-8)

    def _apply_lrs(self) -> None:
        ratio = self.cfg.r1_every / (self.cfg.r1_every + 1)
        for g in self.opt_g.param_groups:
            g["lr"] = self.cfg.lr
        for g in self.opt_d.param_groups:
            g["lr"] = self.cfg.lr * ratio

    @property
    def r1_gamma(self) -> float:
        c = self.cfg
        return c.r1_gamma if c.r1_gamma is not None else 0.0002 * self.G.img_resolution ** 2 / c.batch

    def save_checkpoint(self) -> Path:
        """Training state, then the EMA G as a vjgan model; refuses non-finite weights (DivergenceError)."""
        nets = {"G": self.G, "G_ema": self.G_ema, "D": self.D}
        for name, net in nets.items():
            if not all(bool(torch.isfinite(t).all()) for t in net.state_dict().values()):
                raise DivergenceError(f"non-finite weights in {name} at step {self.step}")
        tensors = {f"{n}.{k}": v.detach().cpu().contiguous() for n, net in nets.items()
                   for k, v in net.state_dict().items()}
        groups = {}
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            t, g = _flatten_opt(name, opt)
            tensors.update(t)
            groups[name] = g
        tensors["rng.torch"] = torch.get_rng_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        meta = {"format": FORMAT, "step": str(self.step), "param_groups": json.dumps(groups),
                "guard": json.dumps(self.guard.state_dict()), "train_config": json.dumps(asdict(self.cfg)),
                "model_config": json.dumps(self.G.config.to_dict()),
                "rng_numpy": json.dumps(self.rng.bit_generator.state), "last_r1": str(self.last_r1)}
        state = self.out / STATE_FILE
        state.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(state.with_name(state.name + ".tmp")), metadata=meta)
        state.with_name(state.name + ".tmp").replace(state)
        tmp = save_generator(self.G_ema, self.out / "model.tmp.safetensors")
        tmp.replace(self.out / MODEL_FILE)
        self.saved_step = self.step
        return self.out / MODEL_FILE

    def _resume(self, keep: tuple[str, ...]) -> None:
        """Everything from the state file: weights, optimisers, RNGs, guard, step, the run's own
        hyper-parameters except the fields in `keep`, which come from the current config."""
        path = self.out / STATE_FILE
        if not path.is_file():
            raise UserError(f"nothing to resume in {self.out}: no {STATE_FILE} (start without --resume)")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata()
                tensors = {k: f.get_tensor(k) for k in f.keys()}
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, not {FORMAT}")
            old = SG2TrainConfig.from_dict(json.loads(meta["train_config"]))
            self.cfg = SG2TrainConfig(**{**asdict(old), **{k: getattr(self.cfg, k) for k in keep}})
            self._build(StyleGAN2Config.from_dict(json.loads(meta["model_config"])))
            for name in ("G", "G_ema", "D"):
                net = getattr(self, name)
                net.load_state_dict({k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")})
            groups = json.loads(meta["param_groups"])
            for name in ("opt_g", "opt_d"):
                _unflatten_opt(name, getattr(self, name), tensors, groups[name])
            torch.set_rng_state(tensors["rng.torch"])
            if self.device.type == "cuda" and "rng.cuda" in tensors:
                torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        except (ValueError, KeyError, RuntimeError, OSError) as exc:
            raise UserError(f"cannot read training state {path}: {exc}") from exc
        self._apply_lrs()
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = json.loads(meta["rng_numpy"])
        self.guard = DivergenceGuard(self.cfg.guard_factor, 10 * self.cfg.guard_factor)
        self.guard.load_state_dict(json.loads(meta["guard"]))
        self.step = self.saved_step = int(meta["step"])
        self.last_r1 = float(meta.get("last_r1", 0.0))

    # --- training --------------------------------------------------------------------------------
    def _reals(self) -> torch.Tensor:
        idx = self.rng.integers(0, len(self.images), min(self.cfg.batch, len(self.images)))
        x = self.images[torch.from_numpy(idx)].to(self.device).float() / 127.5 - 1.0
        if self.cfg.flip:
            flip = torch.from_numpy(self.rng.random(len(idx)) < 0.5).to(self.device)
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return x

    def _ws(self, b: int) -> torch.Tensor:
        """Mapped latents with style mixing: from a random layer on, the ws of a second z."""
        G = self.G
        ws = G.mapping(torch.randn(b, G.z_dim, device=self.device))
        if self.cfg.style_mixing > 0:
            cut = torch.randint(1, G.num_ws, (b, 1, 1), device=self.device)
            mix = torch.rand(b, 1, 1, device=self.device) < self.cfg.style_mixing
            ws2 = G.mapping(torch.randn(b, G.z_dim, device=self.device))
            later = torch.arange(G.num_ws, device=self.device)[None, :, None] >= cut
            ws = torch.where(later & mix, ws2, ws)
        return ws

    def _aug(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.cfg.augment) if self.cfg.augment else x

    def train_step(self) -> dict[str, float]:
        c, G, D = self.cfg, self.G, self.D
        real = self._reals()
        b = real.shape[0]
        # D: logistic loss on augmented reals and fakes; lazy R1 through the augmentation
        with torch.no_grad():
            fake = G.synthesis(self._ws(b))
        r1_now = c.r1_every > 0 and self.step % c.r1_every == 0 and self.r1_gamma > 0
        real.requires_grad_(r1_now)
        real_logits = D(self._aug(real))
        loss_d = F.softplus(D(self._aug(fake))).mean() + F.softplus(-real_logits).mean()
        total_d = loss_d
        if r1_now:
            (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            r1 = grad.square().sum(dim=(1, 2, 3)).mean()
            total_d = total_d + 0.5 * self.r1_gamma * c.r1_every * r1
            self.last_r1 = r1.item()
        self.opt_d.zero_grad(set_to_none=True)
        total_d.backward()
        grad_d = grad_norm(D.parameters())
        self.opt_d.step()
        # G: non-saturating loss through the same augmentation
        D.requires_grad_(False)
        ws = self._ws(b)
        loss_g = F.softplus(-D(self._aug(G.synthesis(ws)))).mean()
        D.requires_grad_(True)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        grad_g = grad_norm(G.parameters())
        self.opt_g.step()
        self.step += 1
        with torch.no_grad():
            G.mapping_network.w_avg.lerp_(ws[:, 0].mean(0), 1 - 0.995)
            ema_nimg = (c.ema_kimg if c.ema_kimg is not None else b * 10 / 32) * 1000
            if c.ema_rampup:
                ema_nimg = min(ema_nimg, self.step * b * c.ema_rampup)
            beta = 0.5 ** (b / max(ema_nimg, 1e-8))
            for pe, p in zip(self.G_ema.parameters(), G.parameters(), strict=True):
                pe.copy_(p.lerp(pe, beta))
            for be, b_ in zip(self.G_ema.buffers(), G.buffers(), strict=True):
                be.copy_(b_)
        # "d": the logistic part (~1.39 at balance); "r1": |∇D(real)|² at the last R1 step
        return {"d": loss_d.item(), "g": loss_g.item(), "r1": self.last_r1, "grad_d": grad_d, "grad_g": grad_g}

    @torch.no_grad()
    def sample_grid(self, path: Path, rows: int = 4, cols: int = 8) -> Path:
        """EMA G on fixed latents (the same in every grid of a run, so grids show progress)."""
        g = torch.Generator().manual_seed(1234)
        z = torch.randn(rows * cols, self.G_ema.z_dim, generator=g).to(self.device)
        img = self.G_ema.synthesis(self.G_ema.mapping(z))
        arr = ((img.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        r = arr.shape[1]
        grid = arr.reshape(rows, cols, r, r, 3).transpose(0, 2, 1, 3, 4).reshape(rows * r, cols * r, 3)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grid).save(path)
        return path

    def _rollback(self, reason: str, bar: tqdm) -> None:
        """Back to the last good checkpoint with the rate halved, or DivergenceError after max_rollbacks."""
        bad_step = self.step
        self.rollbacks += 1
        give_up_after(self.rollbacks, self.cfg.max_rollbacks, bad_step, reason, self.saved_step, self.out,
                      f"vjgan train --arch stylegan2 --resume --out {self.out} --lr {self.cfg.lr / 4:.2g}")
        self.cfg.lr /= 2
        log.warning("divergence at step %d: %s; rolling back to step %d with lr %.2g, try %d of %d", bad_step,
                    reason, self.saved_step, self.cfg.lr, self.rollbacks, self.cfg.max_rollbacks)
        self._resume(("max_steps", "snap", "lr", "max_rollbacks"))
        rewind_bar(bar, self.step)

    def run(self) -> SG2Result:
        """Train to max_steps; a grid and a checkpoint every `snap` steps and at the end."""
        c = self.cfg
        history: list[dict[str, float]] = []
        losses: dict[str, float] = {}
        if self.saved_step is None:  # a fresh run: a step-0 checkpoint to roll back to
            self.save_checkpoint()
        bar = tqdm(total=c.max_steps, initial=min(self.step, c.max_steps), desc="training StyleGAN2", unit="step",
                   disable=not self.progress, dynamic_ncols=True)
        t0, step0 = time.perf_counter(), self.step
        try:
            while self.step < self.cfg.max_steps:
                losses = self.train_step()
                reason = self.guard.check(losses)
                if reason is not None:
                    self._rollback(reason, bar)
                    continue
                history.append(losses)
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()} | (
                    {"rollbacks": self.rollbacks} if self.rollbacks else {}), refresh=False)
                if self.cfg.snap and self.step % self.cfg.snap == 0:
                    self._snapshot(bar)
        except KeyboardInterrupt:
            if self.saved_step != self.step:
                self.save_checkpoint()
            log.warning("interrupted at step %d: checkpoint in %s; continue with --resume", self.step, self.out)
            raise
        finally:
            bar.close()
        if self.saved_step != self.step:
            self._snapshot(bar)
        dt = time.perf_counter() - t0
        steps = max(1, self.step - step0)
        return SG2Result(self.G_ema, self.step, dt / steps, losses, self.rollbacks, history)

    def _snapshot(self, bar: tqdm) -> None:
        try:
            self.save_checkpoint()
        except DivergenceError as exc:
            self._rollback(str(exc), bar)
            return
        self.sample_grid(self.out / "samples" / f"step_{self.step:06d}.png")
