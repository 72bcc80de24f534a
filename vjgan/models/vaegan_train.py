"""Training the VAE-GAN: all three parts in one loop, one step per batch.

Per step: (1) VAE: encoder + decoder, reconstruction + KL; (2) critic: the non-saturating logistic GAN
loss (softplus) on real images vs. both random samples G(mapping(z)) and reconstructions
G(latent_map(mu)), with a lazy R1 penalty on the reals; (3) generator, mapping and latent map:
non-saturating adversarial loss + L1 reconstruction of the input through the latent map (so the GAN's
latent space covers the data and encoded inputs come back sharp). The encoder's mu is detached for
(2)/(3): the encoder is shaped by the VAE objective only, which keeps its latent smooth for morphs.

Checkpoints (safetensors + JSON metadata, never pickle) are written atomically every epoch and on
Ctrl-C, so an interrupted run resumes with `resume=True` from the last one.
"""

from __future__ import annotations

import copy
import json
import logging
import math
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
from vjgan.models.train_guard import DivergenceError, DivergenceGuard, give_up_after, grad_norm, rewind_bar
from vjgan.models.vaegan import Critic, VaeGan, VaeGanConfig, load_vaegan, save_vaegan, tensor_to_uint8

log = logging.getLogger(__name__)

MODEL_FILE = "model.safetensors"
STATE_FILE = "checkpoint/train_state.safetensors"


@dataclass
class TrainConfig:
    epochs: int = 100
    batch: int = 32
    lr: float = 1e-3
    # generator, mapping, latent map and critic; Adam betas (0, 0.99). An "equalised" rate: each weight
    # tensor's step is lr_gan / sqrt(fan_in) (its init scale), biases lr_gan. One plain rate for all
    # tensors moved a 4096-input layer ~60x further, relative to its weights, than a 1-input one: the
    # wide critic of a real-size model swung its logits by tens per step and diverged (#16).
    lr_gan: float = 5e-3
    # β of the VAE: a real VAE (its decoder sees noisy latents, so it blurs); the GAN path reads the mean
    kl_weight: float = 0.05
    rec_weight: float = 30.0  # L1 reconstruction through the latent map, relative to the adversarial loss
    r1_gamma: float = 1.0  # R1 penalty γ/2·|∇D(real)|² on the critic
    r1_every: int = 4  # lazy R1 (weight scaled up to match): saves a double backward on most steps
    flip: bool = True  # horizontal-flip augmentation
    seed: int = 0
    sample_every: int = 1  # epochs between sample grids
    max_steps: int | None = None  # stop (with a checkpoint) after this many steps in total
    ema_beta: float = 0.99  # the saved model is an exponential moving average of the trained weights
    lr_mode: str = "fan_in"  # "plain": one rate for all tensors (checkpoints from before #16 resume so)
    guard_factor: float = 1000.0  # a loss or gradient norm this many times its running mean is a divergence
    max_rollbacks: int = 3  # divergences survived (each: back to the last checkpoint, rates halved)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class TrainResult:
    model: VaeGan
    steps: int
    epochs: int
    images_per_s: float
    losses: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    rollbacks: int = 0  # divergences caught and rolled back
    history: list[dict[str, float]] = field(default_factory=list)  # losses of every step this run passed


def _flatten_opt(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list]:
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for key, val in st.items():
            t = val if isinstance(val, torch.Tensor) else torch.tensor(val)
            tensors[f"{prefix}.{idx}.{key}"] = t.detach().cpu().contiguous()
    return tensors, sd["param_groups"]


def _unflatten_opt(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, t in tensors.items():
        if name.startswith(prefix + "."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = t
    opt.load_state_dict({"state": dict(sorted(state.items())), "param_groups": groups})


def _lr_groups(params, mode: str) -> list[dict]:
    """One Adam group per tensor with lr_scale 1/sqrt(fan_in) for weights, 1 for biases ("fan_in");
    one group at scale 1 ("plain": runs started before #16, whose optimiser state has one group)."""
    params = list(params)
    if mode == "plain":
        return [{"params": params, "lr_scale": 1.0}]
    return [{"params": [p], "lr_scale": 1.0 / math.sqrt(p[0].numel()) if p.ndim > 1 else 1.0} for p in params]


class Trainer:
    """Owns the model, critic, optimisers and the loop; `run()` trains until `epochs` or `max_steps`."""

    def __init__(self, images: torch.Tensor, out_dir: str | Path, model_cfg: VaeGanConfig | None = None,
                 cfg: TrainConfig | None = None, device: str = "cpu", resume: bool = False,
                 progress: bool = True, override: tuple[str, ...] = ()) -> None:
        """`override`: fields of `cfg` that replace the resumed run's own (e.g. "lr_gan" after a divergence)."""
        self.out = Path(out_dir)
        self.device = torch.device(device)
        self.progress = progress
        self.cfg = cfg or TrainConfig()
        self.step = 0
        self.epoch = 0
        self.guard = DivergenceGuard(self.cfg.guard_factor, 10 * self.cfg.guard_factor)
        self.rollbacks = 0
        self.last_r1 = 0.0
        self.saved_step: int | None = None  # step of the checkpoint on disk: the one a divergence rolls back to
        torch.manual_seed(self.cfg.seed)
        if resume:
            self._resume(model_cfg, ("epochs", "max_steps", "sample_every", *override))
            log.info("resumed from %s at epoch %d, step %d", self.out, self.epoch, self.step)
        else:
            mcfg = model_cfg or VaeGanConfig(resolution=int(images.shape[-1]))
            self.model = VaeGan(mcfg).to(self.device)
            self.critic = Critic(mcfg).to(self.device)
            self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
            self._make_opts()
        if images.shape[-1] != self.model.img_resolution:
            raise UserError(f"images are {images.shape[-1]}² but the model is {self.model.img_resolution}²")
        self.images = images  # uint8 on the CPU; batches are moved per step
        self.rng = np.random.default_rng(self.cfg.seed + self.step)

    def _make_opts(self) -> None:
        m, c = self.model, self.cfg
        betas = (0.0, 0.99)
        self.opt_vae = torch.optim.Adam([*m.encoder.parameters(), *m.vae_decoder.parameters()], lr=c.lr)
        mapping = [] if m.mapping_net is None else [*m.mapping_net.parameters()]
        gen = [*m.synthesis_net.parameters(), *mapping, *m.latent_map.parameters()]
        self.opt_g = torch.optim.Adam(_lr_groups(gen, c.lr_mode), lr=c.lr_gan, betas=betas)
        self.opt_c = torch.optim.Adam(_lr_groups(self.critic.parameters(), c.lr_mode), lr=c.lr_gan, betas=betas)
        self._apply_lrs()

    def _apply_lrs(self) -> None:
        """Set every group's rate from the config (after loading optimiser state, or halving on a rollback)."""
        for opt, base in ((self.opt_vae, self.cfg.lr), (self.opt_g, self.cfg.lr_gan), (self.opt_c, self.cfg.lr_gan)):
            for g in opt.param_groups:
                g["lr"] = base * g.get("lr_scale", 1.0)

    # --- checkpoints --------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Model (loadable on its own) + critic and optimiser state for resuming; both atomic.

        Refuses non-finite weights (DivergenceError), so the last good checkpoint is never replaced by
        a broken one."""
        for name, net in (("model", self.model), ("critic", self.critic), ("averaged model", self.ema)):
            if not all(bool(torch.isfinite(t).all()) for t in net.state_dict().values()):
                raise DivergenceError(f"non-finite weights in the {name} at step {self.step}")
        tensors = {f"critic.{k}": v.detach().cpu().contiguous() for k, v in self.critic.state_dict().items()}
        tensors |= {f"raw.{k}": v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        groups = {}
        for name, opt in (("opt_vae", self.opt_vae), ("opt_g", self.opt_g), ("opt_c", self.opt_c)):
            t, g = _flatten_opt(name, opt)
            tensors.update(t)
            groups[name] = g
        meta = {"step": str(self.step), "epoch": str(self.epoch), "param_groups": json.dumps(groups),
                "guard": json.dumps(self.guard.state_dict()),
                "train_config": json.dumps(asdict(self.cfg)), "format": "vjgan-vaegan-train"}
        state_path = self.out / STATE_FILE
        state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = state_path.with_name(state_path.name + ".tmp")
        save_file(tensors, str(tmp), metadata=meta)
        tmp.replace(state_path)
        save_vaegan(self.ema, self.out)
        self.saved_step = self.step
        return self.out / MODEL_FILE

    def _resume(self, model_cfg: VaeGanConfig | None, keep: tuple[str, ...]) -> None:
        """Load the checkpoint in `out`: weights, optimiser and guard state, step; the run's own
        hyper-parameters except the fields named in `keep`, which come from the current config."""
        state_path = self.out / STATE_FILE
        if not (self.out / MODEL_FILE).is_file() or not state_path.is_file():
            raise UserError(f"nothing to resume in {self.out}: no {MODEL_FILE} and {STATE_FILE} there "
                            "(start without --resume)")
        model = load_vaegan(self.out, str(self.device))
        if model_cfg is not None and model_cfg.resolution != model.cfg.resolution:
            raise UserError(f"--res {model_cfg.resolution} does not match the checkpoint in {self.out} "
                            f"({model.cfg.resolution}²)")
        self.ema = model
        self.model = copy.deepcopy(model).train().requires_grad_(True)
        self.critic = Critic(model.cfg).to(self.device)
        try:
            with safe_open(str(state_path), framework="pt") as f:
                meta = f.metadata()
                tensors = {k: f.get_tensor(k) for k in f.keys()}
            self.critic.load_state_dict({k[7:]: v for k, v in tensors.items() if k.startswith("critic.")})
            self.model.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("raw.")})
        except Exception as exc:
            raise UserError(f"cannot read training state {state_path}: {exc}") from exc
        old_dict = json.loads(meta["train_config"])
        old_dict.setdefault("lr_mode", "plain")  # runs from before per-tensor rates: one group per optimiser
        old = asdict(TrainConfig.from_dict(old_dict))
        self.cfg = TrainConfig(**{**old, **{k: getattr(self.cfg, k) for k in keep}})
        self._make_opts()
        groups = json.loads(meta["param_groups"])
        for name in ("opt_vae", "opt_g", "opt_c"):
            _unflatten_opt(name, getattr(self, name), tensors, groups[name])
        self._apply_lrs()
        self.guard = DivergenceGuard(self.cfg.guard_factor, 10 * self.cfg.guard_factor)
        self.guard.load_state_dict(json.loads(meta.get("guard", "{}")))
        self.step, self.epoch = int(meta["step"]), int(meta["epoch"])
        self.saved_step = self.step

    # --- training ------------------------------------------------------------------------------------
    def _batch(self, idx: np.ndarray) -> torch.Tensor:
        x = self.images[torch.from_numpy(idx)].to(self.device).float() / 127.5 - 1.0
        if self.cfg.flip:
            flip = torch.from_numpy(self.rng.random(len(idx)) < 0.5).to(self.device)
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return x

    def train_step(self, x: torch.Tensor) -> dict[str, float]:
        m, c = self.model, self.cfg
        b = x.shape[0]
        # (1) VAE
        mu, logvar = m.encoder(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        rec_vae = m.vae_decoder(z)
        loss_rec_vae = F.mse_loss(rec_vae, x)
        kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.square() - logvar.exp(), dim=1)) / x[0].numel()
        loss_vae = loss_rec_vae + c.kl_weight * kl * x[0].numel() / 64
        self.opt_vae.zero_grad(set_to_none=True)
        loss_vae.backward()
        self.opt_vae.step()
        # generator forward once, used by the critic (detached) and the generator step
        zg = torch.randn(b, m.z_dim, device=self.device)
        ws_rand = m.mapping(zg)
        ws_rec = m.latent_map(mu.detach(), m.w_avg_buf)
        fake = m.synthesis(torch.cat([ws_rand, ws_rec]))
        fake_rec = fake[b:]
        # (2) critic: non-saturating logistic loss, lazy R1 on the reals
        real_score = self.critic(x)
        fake_score = self.critic(fake.detach())
        loss_logistic = F.softplus(fake_score).mean() + F.softplus(-real_score).mean()
        loss_c = loss_logistic
        every = max(1, c.r1_every)
        if c.r1_gamma > 0 and self.step % every == 0:
            xr = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.critic(xr).sum(), xr, create_graph=True)
            r1 = grad.flatten(1).square().sum(1).mean()
            loss_c = loss_c + 0.5 * c.r1_gamma * every * r1
            self.last_r1 = r1.item()
        self.opt_c.zero_grad(set_to_none=True)
        loss_c.backward()
        grad_c = grad_norm(self.critic.parameters())
        self.opt_c.step()
        # (3) generator + mapping + latent map
        self.critic.requires_grad_(False)
        loss_adv = F.softplus(-self.critic(fake)).mean()
        self.critic.requires_grad_(True)
        loss_rec_gan = F.l1_loss(fake_rec, x)
        loss_g = loss_adv + c.rec_weight * loss_rec_gan
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        grad_g = grad_norm(p for group in self.opt_g.param_groups for p in group["params"])
        self.opt_g.step()
        with torch.no_grad():
            if m.mapping_net is not None:  # "prior" sampling: latent-map offsets are relative to a fixed w_avg
                m.w_avg_buf.lerp_(ws_rand[:, 0].mean(0), 0.02)
            beta = min(c.ema_beta, (1 + self.step) / (10 + self.step))  # short memory early on
            for pe, p in zip(self.ema.parameters(), m.parameters(), strict=True):
                pe.lerp_(p, 1 - beta)
            for be, b_ in zip(self.ema.buffers(), m.buffers(), strict=True):
                be.copy_(b_)
        self.step += 1
        # "critic": the logistic part (bounded, ~1.39 at balance); "r1": |∇D(real)|² at the last R1 step
        return {"vae": loss_rec_vae.item(), "kl": kl.item(), "critic": loss_logistic.item(), "r1": self.last_r1,
                "adv": loss_adv.item(), "rec": loss_rec_gan.item(), "grad_c": grad_c, "grad_g": grad_g}

    @torch.no_grad()
    def sample_grid(self, path: Path, n: int = 8) -> Path:
        """Rows: real | VAE decoder | GAN through latent map | random GAN samples."""
        m = self.ema
        idx = np.linspace(0, len(self.images) - 1, n).astype(int)
        x = self.images[torch.from_numpy(idx)].to(self.device).float() / 127.5 - 1.0
        g = torch.Generator(device="cpu").manual_seed(1234)
        z = torch.randn(n, m.z_dim, generator=g).to(self.device)
        rows = [x, m.vae_reconstruct(x), m.synthesis(m.encode(x)), m.synthesis(m.mapping(z))]
        arr = np.concatenate([np.concatenate(list(tensor_to_uint8(r)), axis=1) for r in rows], axis=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(path)
        return path

    def _rollback(self, reason: str, bar: tqdm) -> None:
        """Back to the last good checkpoint with halved learning rates, or DivergenceError after max_rollbacks."""
        bad_step = self.step
        self.rollbacks += 1
        give_up_after(self.rollbacks, self.cfg.max_rollbacks, bad_step, reason, self.saved_step, self.out,
                      f"vjgan train --resume --out {self.out} --lr {self.cfg.lr_gan / 4:.2g}")
        lr, lr_gan = self.cfg.lr / 2, self.cfg.lr_gan / 2
        msg = (f"divergence at step {bad_step}: {reason}; rolling back to step {self.saved_step} with halved "
               f"learning rates (lr_gan {lr_gan:.2g}), try {self.rollbacks} of {self.cfg.max_rollbacks}")
        log.warning(msg)
        self.cfg.lr, self.cfg.lr_gan = lr, lr_gan
        self._resume(None, ("epochs", "max_steps", "sample_every", "lr", "lr_gan", "max_rollbacks"))
        self.model.train()
        rewind_bar(bar, self.step)

    def run(self) -> TrainResult:
        """Train to `epochs`/`max_steps`; every step passes the divergence guard or is rolled back."""
        c = self.cfg
        n = len(self.images)
        b = min(c.batch, n)
        steps_per_epoch = max(1, n // b)
        total = c.epochs * steps_per_epoch
        if c.max_steps is not None:
            total = min(total, c.max_steps)
        self.model.train()
        losses: dict[str, float] = {}
        history: list[dict[str, float]] = []
        t0, step0 = time.perf_counter(), self.step
        if self.saved_step is None:  # a fresh run: a step-0 checkpoint to roll back to
            self.save_checkpoint()
        bar = tqdm(total=total, initial=min(self.step, total), desc="training VAE-GAN", unit="step",
                   disable=not self.progress, dynamic_ncols=True)
        interrupted = False
        try:
            while self.epoch < self.cfg.epochs and self.step < total:
                perm = self.rng.permutation(n)
                for i in range(steps_per_epoch):
                    if self.step >= total:
                        break
                    losses = self.train_step(self._batch(perm[i * b : (i + 1) * b]))
                    reason = self.guard.check(losses)
                    if reason is not None:
                        self._rollback(reason, bar)
                        break
                    history.append(losses)
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()} | (
                        {"rollbacks": self.rollbacks} if self.rollbacks else {}), refresh=False)
                else:
                    self.epoch += 1
                    if self.cfg.sample_every and self.epoch % self.cfg.sample_every == 0:
                        self.sample_grid(self.out / "samples" / f"epoch_{self.epoch:04d}.png")
                    self._save_or_rollback(bar)
        except KeyboardInterrupt:
            interrupted = True
            path = self.save_checkpoint()
            log.warning("interrupted at step %d: checkpoint saved to %s; continue with --resume", self.step, path)
            raise
        finally:
            bar.close()
        if not interrupted and self.saved_step != self.step:
            self.save_checkpoint()
        dt = time.perf_counter() - t0
        ips = (self.step - step0) * b / dt if dt > 0 else 0.0
        return TrainResult(self.ema, self.step, self.epoch, ips, losses, interrupted, self.rollbacks, history)

    def _save_or_rollback(self, bar: tqdm) -> None:
        try:
            self.save_checkpoint()
        except DivergenceError as exc:
            self._rollback(str(exc), bar)
