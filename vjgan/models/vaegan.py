"""VAE-GAN ("Convergence" architecture): VAE encoder + GAN generator + a learned latent mapping.

A VAE alone reconstructs blurrily; a GAN alone is sharp but cannot take an input. Here the VAE's
encoder gives every image (or camera frame) a smooth latent, a small MLP (`latent_map`) maps that
latent into the GAN's W+ space, and the GAN's synthesis network renders it sharply. The GAN side is
a `Generator` like StyleGAN2 (mapping z→w, per-layer styles, named bendable layers), so the mapping
engine, bending and the generator thread drive it unchanged.

Layer layout for resolution R: ws[0] → dense 4×4 map → "b4.conv1", then one upsampling block per
octave ("b8.conv0/conv1" … "bR.conv0/conv1", styled by ws[i]), then toRGB (ws[-1]); num_ws = log2(R).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vjgan.core.errors import UserError
from vjgan.models.base import Generator


@dataclass
class VaeGanConfig:
    """Architecture hyper-parameters; stored as JSON next to the weights."""

    resolution: int = 128
    z_dim: int = 128  # GAN input noise
    w_dim: int = 128  # GAN style latent
    vae_dim: int = 64  # VAE latent
    channel_base: int = 4096  # channels at resolution r = min(channel_max, channel_base // r)
    channel_max: int = 256
    mapping_layers: int = 4
    # how random latents are drawn. "prior": z ~ N(0, I) of the VAE's size through the latent map, so random
    # samples land where reconstructions do. "mapping" (checkpoints from before #16's fix): a separate
    # mapping network; on real photos it collapsed to one texture near w_avg (diversity 0.10 of the
    # photos', against 0.46 through the latent map in the same model)
    sampling: str = "prior"

    def channels(self, res: int) -> int:
        return max(8, min(self.channel_max, self.channel_base // res))

    @property
    def resolutions(self) -> list[int]:
        return [2**i for i in range(2, int(math.log2(self.resolution)) + 1)]

    @classmethod
    def from_dict(cls, d: dict) -> VaeGanConfig:
        known = {f.name for f in fields(cls)}
        return cls(**({"sampling": "mapping"} | {k: v for k, v in d.items() if k in known}))

    def validate(self) -> None:
        r = self.resolution
        if r < 8 or r & (r - 1):
            raise UserError(f"VAE-GAN resolution must be a power of two ≥ 8, got {r}")
        if self.sampling not in ("prior", "mapping"):
            raise UserError(f"VAE-GAN sampling {self.sampling!r}: expected 'prior' or 'mapping'")


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class StyledConv(nn.Module):
    """3×3 conv (optionally 2× upsampling first) whose output channels are scaled/shifted by an affine
    of w — a cheap style modulation — plus per-channel-weighted noise. The unit bending hooks, so it
    owns `weight` (out, in, 3, 3) and `noise_gain` (1, 1, H, W) like StyleGAN2's SynthesisLayer."""

    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, up: bool) -> None:
        super().__init__()
        self.up, self.resolution = up, resolution
        self.weight = nn.Parameter(torch.empty(cout, cin, 3, 3))
        # He init for the leaky ReLU (gain ~1 per layer). PyTorch's default (a=√5) shrinks the signal ~2.5×
        # per conv: an untrained 32² generator's image had ~400× less spatial detail, so the first steps
        # learnt colour through the style shifts (beta) and whether the convs' detail was grown back or left
        # for dead (flat, beta-painted images) hung on the chaotic GAN dynamics — and so on the float path.
        nn.init.kaiming_uniform_(self.weight, a=0.2)
        self.bias = nn.Parameter(torch.zeros(cout))
        self.affine = nn.Linear(w_dim, 2 * cout)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)
        self.noise_weight = nn.Parameter(torch.zeros(cout))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))
        # per-pixel gain on the noise (strength × spatial mask), written in place by models.noise
        self.register_buffer("noise_gain", torch.ones(1, 1, resolution, resolution), persistent=False)
        self.noise_mode = "random"  # "random" while training, "const" (steady frames) or "none" for shows

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = F.conv2d(x, self.weight, self.bias, padding=1)
        gamma, beta = self.affine(w).chunk(2, dim=1)
        x = x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        if self.noise_mode != "none":
            if self.noise_mode == "random":
                n = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
            else:
                n = self.noise_const
            x = x + n * self.noise_gain * self.noise_weight[None, :, None, None]
        return _lrelu(x)


class SynthesisNet(nn.Module):
    """ws (B, num_ws, w_dim) → image (B, 3, R, R).

    ws[0] → dense 4×4 map → "b4.conv1"; ws[i] drives both convs of block i ("b{r}.conv0" upsamples,
    "b{r}.conv1"); ws[-1] modulates toRGB. Layer names follow StyleGAN2's so presets read alike."""

    def __init__(self, cfg: VaeGanConfig) -> None:
        super().__init__()
        res = cfg.resolutions
        self.c4 = cfg.channels(4)
        self.fc = nn.Linear(cfg.w_dim, self.c4 * 16)
        self.layers = nn.ModuleDict()
        self.layers["b4_conv1"] = StyledConv(self.c4, self.c4, cfg.w_dim, 4, up=False)
        self.ws_index = [0]
        for i, (prev, r) in enumerate(zip(res[:-1], res[1:], strict=True), start=1):
            cin, cout = cfg.channels(prev), cfg.channels(r)
            self.layers[f"b{r}_conv0"] = StyledConv(cin, cout, cfg.w_dim, r, up=True)
            self.layers[f"b{r}_conv1"] = StyledConv(cout, cout, cfg.w_dim, r, up=False)
            self.ws_index += [i, i]
        self.num_ws = len(res) + 1
        self.torgb = nn.Conv2d(cfg.channels(res[-1]), 3, 1)
        self.rgb_affine = nn.Linear(cfg.w_dim, cfg.channels(res[-1]))
        nn.init.zeros_(self.rgb_affine.weight)
        nn.init.zeros_(self.rgb_affine.bias)
        # public names use a dot ("b8.conv0"); ModuleDict keys cannot contain one
        self.layer_names = tuple(k.replace("_", ".") for k in self.layers.keys())

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        x = _lrelu(self.fc(ws[:, 0])).view(ws.shape[0], self.c4, 4, 4)
        for i, layer in zip(self.ws_index, self.layers.values(), strict=True):
            x = layer(x, ws[:, i])
        x = x * (1 + self.rgb_affine(ws[:, -1]))[:, :, None, None]
        return self.torgb(x)


class MappingNet(nn.Module):
    """z → w, StyleGAN-style MLP with pixel-normalised input."""

    def __init__(self, cfg: VaeGanConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        dim = cfg.z_dim
        for _ in range(cfg.mapping_layers):
            layers += [nn.Linear(dim, cfg.w_dim), nn.LeakyReLU(0.2)]
            dim = cfg.w_dim
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
        return self.net(z)


class Encoder(nn.Module):
    """Image → (mu, logvar) of the VAE latent.

    It speaks the bending half of the Generator interface (`layer_names`, `layer_module`), so
    `models.bending.Bender(vaegan.encoder)` bends what the encoder sees: "enc.fromrgb" (input
    resolution), then "enc.down{r}" for each stride-2 conv whose output is r×r. Its names are kept
    apart from the generator's `layer_names`, which noise/rewrite/presets enumerate."""

    def __init__(self, cfg: VaeGanConfig) -> None:
        super().__init__()
        res = cfg.resolutions[::-1]
        self.fromrgb = nn.Conv2d(3, cfg.channels(res[0]), 1)
        self.convs = nn.ModuleList(
            nn.Conv2d(cfg.channels(r), cfg.channels(r // 2), 4, stride=2, padding=1) for r in res[:-1]
        )
        self.fc = nn.Linear(cfg.channels(4) * 16, 2 * cfg.vae_dim)
        self.layer_names: tuple[str, ...] = ("enc.fromrgb", *(f"enc.down{r // 2}" for r in res[:-1]))

    def layer_module(self, name: str) -> nn.Module:
        if name not in self.layer_names:
            raise UserError(f"unknown encoder layer {name!r}; layers: {', '.join(self.layer_names)}")
        return self.fromrgb if name == "enc.fromrgb" else self.convs[self.layer_names.index(name) - 1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = _lrelu(self.fromrgb(x))
        for conv in self.convs:
            x = _lrelu(conv(x))
        mu, logvar = self.fc(x.flatten(1)).chunk(2, dim=1)
        return mu, logvar.clamp(-10, 10)


class VaeDecoder(nn.Module):
    """VAE latent → image; trained with the encoder. Only a reference (and the encoder's teacher)."""

    def __init__(self, cfg: VaeGanConfig) -> None:
        super().__init__()
        res = cfg.resolutions
        self.c4 = cfg.channels(4)
        self.fc = nn.Linear(cfg.vae_dim, self.c4 * 16)
        self.convs = nn.ModuleList(
            nn.Conv2d(cfg.channels(prev), cfg.channels(r), 3, padding=1)
            for prev, r in zip(res[:-1], res[1:], strict=True)
        )
        self.torgb = nn.Conv2d(cfg.channels(res[-1]), 3, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = _lrelu(self.fc(z)).view(z.shape[0], self.c4, 4, 4)
        for conv in self.convs:
            x = _lrelu(conv(F.interpolate(x, scale_factor=2.0, mode="nearest")))
        return self.torgb(x)


class LatentMap(nn.Module):
    """VAE latent → W+ of the GAN (offset from w_avg), the bridge that makes reconstructions sharp."""

    def __init__(self, cfg: VaeGanConfig, num_ws: int) -> None:
        super().__init__()
        hidden = max(cfg.w_dim, 2 * cfg.vae_dim)
        self.num_ws, self.w_dim = num_ws, cfg.w_dim
        self.net = nn.Sequential(
            nn.Linear(cfg.vae_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, num_ws * cfg.w_dim),
        )

    def forward(self, mu: torch.Tensor, w_avg: torch.Tensor) -> torch.Tensor:
        return w_avg + self.net(mu).view(-1, self.num_ws, self.w_dim)


class Critic(nn.Module):
    """GAN discriminator: logistic loss + R1 penalty (no normalisation layers, so R1 is per-sample). Training only."""

    def __init__(self, cfg: VaeGanConfig) -> None:
        super().__init__()
        res = cfg.resolutions[::-1]
        self.fromrgb = nn.Conv2d(3, cfg.channels(res[0]), 1)
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(cfg.channels(r), cfg.channels(r // 2), 4, stride=2, padding=1), nn.LeakyReLU(0.2))
            for r in res[:-1]
        )
        self.fc = nn.Sequential(nn.Linear(cfg.channels(4) * 16, cfg.channels(4)), nn.LeakyReLU(0.2),
                                nn.Linear(cfg.channels(4), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _lrelu(self.fromrgb(x))
        for conv in self.convs:
            x = conv(x)
        return self.fc(x.flatten(1)).squeeze(1)


class VaeGan(Generator):
    """The VAE-GAN as a `Generator` (GAN side) plus `encode()` for images and camera frames.

    Bending, rewriting and noise work as for StyleGAN2: `layer_module(name)` is a StyledConv with a
    `weight` (out, in, 3, 3) and a `noise_gain` buffer, so models.bending / rewrite / noise hook it
    without knowing which generator they drive.
    """

    kind = "vaegan"

    def __init__(self, cfg: VaeGanConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.z_dim, self.w_dim = (cfg.vae_dim if cfg.sampling == "prior" else cfg.z_dim), cfg.w_dim
        self.img_resolution = cfg.resolution
        self.img_channels = 3
        self.synthesis_net = SynthesisNet(cfg)
        self.layer_names = self.synthesis_net.layer_names
        self.num_ws = self.synthesis_net.num_ws
        n = self.num_ws
        a, b = max(1, round(n / 3)), max(2, round(2 * n / 3))
        self.layer_groups = {"coarse": (0, a), "middle": (a, b), "fine": (b, n)}
        self.mapping_net = MappingNet(cfg) if cfg.sampling == "mapping" else None
        self.encoder = Encoder(cfg)
        self.vae_decoder = VaeDecoder(cfg)
        self.latent_map = LatentMap(cfg, n)
        self.register_buffer("w_avg_buf", torch.zeros(cfg.w_dim))

    # --- Generator interface -------------------------------------------------------------------
    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        if self.mapping_net is None:  # "prior": the VAE's prior through the latent map, W+
            ws = self.latent_map(z, self.w_avg_buf)
            if truncation_psi != 1.0:  # towards the prior's centre, z = 0
                ws = self.latent_map(torch.zeros_like(z[:1]), self.w_avg_buf).lerp(ws, truncation_psi)
            return ws
        w = self.mapping_net(z)
        if truncation_psi != 1.0:
            w = self.w_avg_buf.lerp(w, truncation_psi)
        return w[:, None, :].repeat(1, self.num_ws, 1)

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        return self.synthesis_net(ws)

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation_psi))

    @property
    def w_avg(self) -> torch.Tensor:
        if self.mapping_net is None:  # the prior's centre, averaged over layers (one w like StyleGAN's)
            with torch.no_grad():
                return self.latent_map(self.w_avg_buf.new_zeros(1, self.z_dim), self.w_avg_buf)[0].mean(0)
        return self.w_avg_buf

    # --- hooks shared with StyleGAN2 (bending, rewrite, noise, vjgan_format) -------------------
    def layer_module(self, name: str) -> nn.Module:
        if name not in self.layer_names:
            raise UserError(f"unknown layer {name!r}; layers: {', '.join(self.layer_names)}")
        return self.synthesis_net.layers[name.replace(".", "_")]

    def layer_shape(self, name: str) -> tuple[int, int, int]:
        mod = self.layer_module(name)
        return (int(mod.weight.shape[0]), mod.resolution, mod.resolution)

    def noise_gain_buffers(self) -> dict[str, torch.Tensor]:
        return {n: self.layer_module(n).noise_gain for n in self.layer_names}

    def set_noise_mode(self, mode: str) -> None:
        if mode not in ("random", "const", "none"):
            raise UserError(f"noise mode {mode!r} not in ('random', 'const', 'none')")
        for n in self.layer_names:
            self.layer_module(n).noise_mode = mode

    def set_widescreen(self, mode: str | None) -> None:
        if mode is not None:
            raise UserError(f"widescreen mode {mode!r}: the VAE-GAN renders square frames only")

    @property
    def output_size(self) -> tuple[int, int]:
        return (self.img_resolution, self.img_resolution)

    def config_dict(self) -> dict:
        return {"kind": self.kind, "config": asdict(self.cfg)}

    def train(self, mode: bool = True) -> VaeGan:
        """Random noise while training; frozen (const) noise in eval so a still latent gives a still frame."""
        super().train(mode)
        self.set_noise_mode("random" if mode else "const")
        return self

    # --- encoder path --------------------------------------------------------------------------
    @property
    def encoder_layer_names(self) -> tuple[str, ...]:
        """Bendable encoder layers ("enc.*"): bend them with `Bender(model.encoder)`."""
        return self.encoder.layer_names

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, R, R) in [-1, 1] → W+ latents (B, num_ws, w_dim) through encoder and latent map."""
        mu, _ = self.encoder(images)
        return self.latent_map(mu, self.w_avg_buf)

    def vae_reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """The VAE decoder's (blurry) reconstruction, for comparison with the GAN path."""
        mu, _ = self.encoder(images)
        return self.vae_decoder(mu)

    @torch.no_grad()
    def encode_uint8(self, frames: np.ndarray) -> np.ndarray:
        """Camera/video frames (B, H, W, 3) or (H, W, 3) uint8 → W+ latents (B, num_ws, w_dim) float32 (CPU)."""
        x = images_to_tensor(frames, self.img_resolution, self.w_avg_buf.device)
        return self.encode(x).float().cpu().numpy()


def images_to_tensor(frames: np.ndarray, resolution: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 HWC frame(s) of any size → (B, 3, R, R) float in [-1, 1]: centre-crop to square, area-resize."""
    arr = np.asarray(frames)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] not in (3, 4):
        raise UserError(f"expected frames shaped (H, W, 3), got {arr.shape}")
    x = torch.from_numpy(np.ascontiguousarray(arr[..., :3])).to(device).permute(0, 3, 1, 2).float()
    h, w = x.shape[2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    x = x[:, :, top : top + s, left : left + s]
    if s != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="area" if s > resolution else "bilinear",
                          align_corners=None if s > resolution else False)
    return x / 127.5 - 1.0


def tensor_to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] → (B, H, W, 3) uint8."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


# --- file format: vjgan's safetensors + JSON config (models.vjgan_format), kind "vaegan" ----------------
def _builder(cfg: dict) -> VaeGan:
    return VaeGan(VaeGanConfig.from_dict(cfg))


def register() -> None:
    """Make vjgan_format (and so loaders.load_generator) able to build kind "vaegan"."""
    from vjgan.models.vjgan_format import register_kind

    register_kind(VaeGan.kind, _builder)


def save_vaegan(model: VaeGan, path: str | Path) -> Path:
    """Write `model` in vjgan's format. `path` ending in .safetensors: one file with the JSON config in its
    metadata; otherwise a folder with model.safetensors (config in metadata too) + config.json. Each file
    is written to a temporary name and renamed, so an interrupted save never leaves a broken model."""
    from safetensors.torch import save_file

    from vjgan.models.vjgan_format import FORMAT_TAG, FORMAT_VERSION

    path = Path(path)
    meta = model.config_dict()
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    file = path if path.suffix == ".safetensors" else path / "model.safetensors"
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": FORMAT_TAG, "version": FORMAT_VERSION,
                                           "vjgan_config": json.dumps(meta)})
    tmp.replace(file)
    if file is not path:
        cfg_tmp = path / "config.json.tmp"
        cfg_tmp.write_text(json.dumps(meta, indent=2) + "\n")
        cfg_tmp.replace(path / "config.json")
    return path


def is_vaegan_file(path: str | Path) -> bool:
    """True if `path` (a .safetensors file, or a folder with model.safetensors) holds a VAE-GAN."""
    p = _resolve(Path(path))
    if p is None:
        return False
    try:
        from safetensors import safe_open

        with safe_open(str(p), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("vjgan_config", "{}"))
        return meta.get("kind") == VaeGan.kind
    except Exception:
        return False


def _resolve(path: Path) -> Path | None:
    if path.is_dir():
        cand = path / "model.safetensors"
        return cand if cand.is_file() else None
    return path if path.is_file() else None


def load_vaegan(path: str | Path, device: str = "cpu") -> VaeGan:
    """Load a VAE-GAN written by `save_vaegan` / `vjgan train` (the file or the training output folder)."""
    from vjgan.models.vjgan_format import load_vjgan

    register()
    p = Path(path).expanduser()
    resolved = _resolve(p)
    if resolved is None:
        raise UserError(f"VAE-GAN model not found: {p} (expected a .safetensors file or a `vjgan train` output folder)")
    model = load_vjgan(resolved, "cpu")
    if not isinstance(model, VaeGan):
        raise UserError(f"{resolved} is a {getattr(model, 'kind', type(model).__name__)} model, not a VAE-GAN "
                        "(encoding needs a model trained with `vjgan train`)")
    try:
        model = model.to(device)
    except (RuntimeError, AssertionError) as exc:
        raise UserError(f"device {device!r} is not usable: {exc}") from None
    return model.eval().requires_grad_(False)
