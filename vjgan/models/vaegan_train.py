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
from vjgan.models.vaegan import Critic, VaeGan, VaeGanConfig, load_vaegan, save_vaegan, tensor_to_uint8

log = logging.getLogger(__name__)

MODEL_FILE = "model.safetensors"
STATE_FILE = "checkpoint/train_state.safetensors"


@dataclass
class TrainConfig:
    epochs: int = 100
    batch: int = 32
    lr: float = 1e-3
    lr_gan: float = 1e-3  # generator, mapping, latent map and critic; Adam betas (0, 0.99)
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


class Trainer:
    """Owns the model, critic, optimisers and the loop; `run()` trains until `epochs` or `max_steps`."""

    def __init__(self, images: torch.Tensor, out_dir: str | Path, model_cfg: VaeGanConfig | None = None,
                 cfg: TrainConfig | None = None, device: str = "cpu", resume: bool = False,
                 progress: bool = True) -> None:
        self.out = Path(out_dir)
        self.device = torch.device(device)
        self.progress = progress
        self.cfg = cfg or TrainConfig()
        self.step = 0
        self.epoch = 0
        torch.manual_seed(self.cfg.seed)
        if resume:
            self._resume(model_cfg)
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
        self.opt_g = torch.optim.Adam([*m.synthesis_net.parameters(), *m.mapping_net.parameters(),
                                       *m.latent_map.parameters()], lr=c.lr_gan, betas=betas)
        self.opt_c = torch.optim.Adam(self.critic.parameters(), lr=c.lr_gan, betas=betas)

    # --- checkpoints --------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Model (loadable on its own) + critic and optimiser state for resuming; both atomic."""
        tensors = {f"critic.{k}": v.detach().cpu().contiguous() for k, v in self.critic.state_dict().items()}
        tensors |= {f"raw.{k}": v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        groups = {}
        for name, opt in (("opt_vae", self.opt_vae), ("opt_g", self.opt_g), ("opt_c", self.opt_c)):
            t, g = _flatten_opt(name, opt)
            tensors.update(t)
            groups[name] = g
        meta = {"step": str(self.step), "epoch": str(self.epoch), "param_groups": json.dumps(groups),
                "train_config": json.dumps(asdict(self.cfg)), "format": "vjgan-vaegan-train"}
        state_path = self.out / STATE_FILE
        state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = state_path.with_name(state_path.name + ".tmp")
        save_file(tensors, str(tmp), metadata=meta)
        tmp.replace(state_path)
        save_vaegan(self.ema, self.out)
        return self.out / MODEL_FILE

    def _resume(self, model_cfg: VaeGanConfig | None) -> None:
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
        old = TrainConfig.from_dict(json.loads(meta["train_config"]))
        # keep the run's hyper-parameters; only the length and sampling may change on resume
        self.cfg = TrainConfig(**{**asdict(old), "epochs": self.cfg.epochs, "max_steps": self.cfg.max_steps,
                                  "sample_every": self.cfg.sample_every})
        self._make_opts()
        groups = json.loads(meta["param_groups"])
        for name in ("opt_vae", "opt_g", "opt_c"):
            _unflatten_opt(name, getattr(self, name), tensors, groups[name])
        self.step, self.epoch = int(meta["step"]), int(meta["epoch"])
        log.info("resumed from %s at epoch %d, step %d", self.out, self.epoch, self.step)

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
        loss_c = F.softplus(fake_score).mean() + F.softplus(-real_score).mean()
        every = max(1, c.r1_every)
        if c.r1_gamma > 0 and self.step % every == 0:
            xr = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.critic(xr).sum(), xr, create_graph=True)
            r1 = grad.flatten(1).square().sum(1).mean()
            loss_c = loss_c + 0.5 * c.r1_gamma * every * r1
        self.opt_c.zero_grad(set_to_none=True)
        loss_c.backward()
        self.opt_c.step()
        # (3) generator + mapping + latent map
        self.critic.requires_grad_(False)
        loss_adv = F.softplus(-self.critic(fake)).mean()
        self.critic.requires_grad_(True)
        loss_rec_gan = F.l1_loss(fake_rec, x)
        loss_g = loss_adv + c.rec_weight * loss_rec_gan
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        with torch.no_grad():
            m.w_avg_buf.lerp_(ws_rand[:, 0].mean(0), 0.02)
            beta = min(c.ema_beta, (1 + self.step) / (10 + self.step))  # short memory early on
            for pe, p in zip(self.ema.parameters(), m.parameters(), strict=True):
                pe.lerp_(p, 1 - beta)
            for be, b_ in zip(self.ema.buffers(), m.buffers(), strict=True):
                be.copy_(b_)
        self.step += 1
        return {"vae": loss_rec_vae.item(), "kl": kl.item(), "critic": loss_c.item(),
                "adv": loss_adv.item(), "rec": loss_rec_gan.item()}

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

    def run(self) -> TrainResult:
        c = self.cfg
        n = len(self.images)
        b = min(c.batch, n)
        steps_per_epoch = max(1, n // b)
        total = c.epochs * steps_per_epoch
        if c.max_steps is not None:
            total = min(total, c.max_steps)
        self.model.train()
        losses: dict[str, float] = {}
        t0, step0 = time.perf_counter(), self.step
        bar = tqdm(total=total, initial=min(self.step, total), desc="training VAE-GAN", unit="step",
                   disable=not self.progress, dynamic_ncols=True)
        interrupted = False
        try:
            while self.epoch < c.epochs and self.step < total:
                perm = self.rng.permutation(n)
                for i in range(steps_per_epoch):
                    if self.step >= total:
                        break
                    losses = self.train_step(self._batch(perm[i * b : (i + 1) * b]))
                    if not all(math.isfinite(v) for v in losses.values()):
                        raise UserError(f"training diverged at step {self.step} (losses {losses}); "
                                        "resume from the last checkpoint with a lower learning rate")
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
                else:
                    self.epoch += 1
                    if c.sample_every and self.epoch % c.sample_every == 0:
                        self.sample_grid(self.out / "samples" / f"epoch_{self.epoch:04d}.png")
                    self.save_checkpoint()
        except KeyboardInterrupt:
            interrupted = True
            path = self.save_checkpoint()
            log.warning("interrupted at step %d: checkpoint saved to %s; continue with --resume", self.step, path)
            raise
        finally:
            bar.close()
        if not interrupted:
            self.save_checkpoint()
        dt = time.perf_counter() - t0
        ips = (self.step - step0) * b / dt if dt > 0 else 0.0
        return TrainResult(self.ema, self.step, self.epoch, ips, losses, interrupted)
