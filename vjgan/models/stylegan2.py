"""A compact StyleGAN2 generator in plain PyTorch (no custom CUDA ops).

Parameter and buffer names follow the official stylegan2-ada-pytorch generator (`mapping.fc0.weight`,
`synthesis.b8.conv0.affine.bias`, `synthesis.b4.const`, ...), so an official G_ema state_dict loads
with `load_state_dict` as is, and the maths follows it op for op (same gains, same FIR filter, same
transposed-conv up-sampling), so outputs match for the same weights, latents and constant noise.

What is ours: bendable layers (see models.bending), per-layer noise gain buffers, a widescreen mode,
and a CUDA fast path (fp16 on the high-resolution blocks, channels_last) chosen at run time.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vjgan.core.errors import UserError
from vjgan.models.contour_head import FIELDS, build_head
from vjgan.models.stylegan_family import StyleGANFamily

SQRT2 = math.sqrt(2.0)
NOISE_MODES = ("const", "random", "none")
WIDESCREEN_MODES = (None, "mirror", "16:9")


@dataclass
class StyleGAN2Config:
    """Everything needed to rebuild the network; stored as JSON next to the weights."""

    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_resolution: int = 256
    img_channels: int = 3
    channel_base: int = 32768
    channel_max: int = 512
    num_fp16_res: int = 0  # how many of the highest-resolution blocks run in fp16 on CUDA
    conv_clamp: float | None = None
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    resample_filter: tuple[int, ...] = (1, 3, 3, 1)
    # explicit channels per resolution (overrides channel_base/max; rosinality checkpoints need it)
    channels: dict[int, int] = field(default_factory=dict)
    # ours: a painting head after the synthesis network (models.contour_head), e.g. {"kind": "contour"}
    head: dict[str, Any] = field(default_factory=dict)

    def channels_at(self, res: int) -> int:
        if self.channels:
            return int(self.channels[res])
        return min(self.channel_base // res, self.channel_max)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["resample_filter"] = list(self.resample_filter)
        d["channels"] = {str(k): v for k, v in self.channels.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StyleGAN2Config:
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise UserError(f"unknown StyleGAN2 config fields: {sorted(unknown)}")
        d = dict(d)
        if "resample_filter" in d:
            d["resample_filter"] = tuple(int(v) for v in d["resample_filter"])
        if "channels" in d:
            d["channels"] = {int(k): int(v) for k, v in (d["channels"] or {}).items()}
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        res = self.img_resolution
        if res < 4 or res & (res - 1):
            raise UserError(f"unsupported resolution {res}: StyleGAN2 needs a power of two ≥ 4")
        if self.img_channels not in (1, 3, 4):
            raise UserError(f"unsupported img_channels {self.img_channels} (1, 3 or 4)")
        if self.head and self.img_channels != FIELDS:
            raise UserError(f"a painting head reads {FIELDS} field channels, not img_channels {self.img_channels}")
        for r in block_resolutions(res):
            if self.channels_at(r) <= 0:
                raise UserError(f"no channel count for resolution {r}")


def block_resolutions(img_resolution: int) -> list[int]:
    return [2**i for i in range(2, int(np.log2(img_resolution)) + 1)]


def setup_filter(taps: tuple[int, ...] | list[int]) -> torch.Tensor:
    """Normalised 2-D FIR filter (outer product), as the official `upfirdn2d.setup_filter` builds it."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def fir(x: torch.Tensor, f: torch.Tensor, pad: tuple[int, int, int, int], gain: float, up: int = 1) -> torch.Tensor:
    """Up-sample by zero insertion, pad (x0, x1, y0, y1), then a depthwise FIR convolution.

    The same sequence as the official reference `upfirdn2d` (filter flipped → true convolution)."""
    b, c, h, w = x.shape
    if up > 1:
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(b, c, h * up, w * up)
    x = F.pad(x, list(pad))
    k = (f * gain).flip([0, 1]).to(x.dtype)
    k = k[None, None].expand(c, 1, *k.shape)
    return F.conv2d(x, k, groups=c)


def upsample2d(img: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    fw = f.shape[-1]
    p0, p1 = (fw + 1) // 2, (fw - 2) // 2
    return fir(img, f, (p0, p1, p0, p1), gain=4.0, up=2)


def bias_act(x: torch.Tensor, b: torch.Tensor, lrelu: bool, gain: float, clamp: float | None) -> torch.Tensor:
    x = x + b.to(x.dtype).reshape(1, -1, 1, 1)
    if lrelu:
        x = F.leaky_relu(x, 0.2) * gain
    elif gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class FullyConnectedLayer(torch.nn.Module):
    """Equalised-learning-rate linear layer (weights stored unscaled, scaled at run time)."""

    def __init__(self, in_f: int, out_f: int, lrelu: bool = False, lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.lrelu = lrelu
        self.weight = torch.nn.Parameter(torch.randn(out_f, in_f) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.full((out_f,), float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_f)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype)
        if self.bias_gain != 1:
            b = b * self.bias_gain
        if not self.lrelu:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return F.leaky_relu(x.matmul(w.t()) + b, 0.2) * SQRT2


class MappingNetwork(torch.nn.Module):
    def __init__(self, cfg: StyleGAN2Config, num_ws: int):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = cfg.z_dim, cfg.c_dim, cfg.w_dim, num_ws
        self.num_layers = cfg.mapping_layers
        embed = cfg.w_dim if cfg.c_dim else 0
        feats = [cfg.z_dim + embed] + [cfg.w_dim] * cfg.mapping_layers
        if cfg.c_dim:
            self.embed = FullyConnectedLayer(cfg.c_dim, embed)
        for i in range(cfg.mapping_layers):
            lin = FullyConnectedLayer(feats[i], feats[i + 1], lrelu=True, lr_multiplier=cfg.mapping_lr_multiplier)
            setattr(self, f"fc{i}", lin)
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        x = normalize_2nd_moment(z.float()) if self.z_dim else None
        if self.c_dim:
            if c is None:  # class 0 unless told otherwise
                c = torch.zeros(z.shape[0], self.c_dim, device=z.device)
                c[:, 0] = 1
            y = normalize_2nd_moment(self.embed(c.float()))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            if truncation_cutoff is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                x[:, :truncation_cutoff] = self.w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
        return x


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, noise: torch.Tensor | None,
                     up: int, demodulate: bool, f: torch.Tensor | None, fused: bool) -> torch.Tensor:
    """Modulate the weight by per-sample styles, demodulate, convolve (transposed when up=2), add noise.

    `fused` folds the styles into the weight (grouped convolution: cheap at batch 1, the live case);
    otherwise activations are scaled so one shared-weight convolution does the whole batch (training).
    The choice follows the official one (fused when not training and fp32 or batch 1)."""
    b = x.shape[0]
    out_c, in_c, kh, kw = weight.shape
    if x.dtype == torch.float16 and demodulate:  # keep fp16 in range, as the official fp16 path does
        weight = weight * (1 / math.sqrt(in_c * kh * kw) / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)
    pad = kw // 2
    dcoefs = None
    if demodulate or fused:
        w = weight.unsqueeze(0) * styles.reshape(b, 1, -1, 1, 1)
        if demodulate:
            dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
    if fused:
        if demodulate:
            w = w * dcoefs.reshape(b, -1, 1, 1, 1)
        w = w.to(x.dtype)
        xg = x.reshape(1, -1, *x.shape[2:])
        if up > 1:
            wt = w.reshape(b, out_c, in_c, kh, kw).transpose(1, 2).reshape(b * in_c, out_c, kh, kw)
            y = F.conv_transpose2d(xg, wt, stride=up, groups=b)
        else:
            y = F.conv2d(xg, w.reshape(b * out_c, in_c, kh, kw), padding=pad, groups=b)
        y = y.reshape(b, out_c, *y.shape[2:])
    else:
        y = x * styles.to(x.dtype).reshape(b, -1, 1, 1)
        wx = weight.to(x.dtype)
        if up > 1:
            y = F.conv_transpose2d(y, wx.transpose(0, 1), stride=up)
        else:
            y = F.conv2d(y, wx, padding=pad)
        if dcoefs is not None:
            y = y * dcoefs.to(x.dtype).reshape(b, -1, 1, 1)
    if up > 1:
        fw = f.shape[-1]
        # official conv2d_resample padding for a transposed conv followed by the FIR filter
        p0 = pad + (fw + up - 1) // 2 - (kw - 1)
        p1 = pad + (fw - up) // 2 - (kw - up)
        y = fir(y, f, (p0, p1, p0, p1), gain=float(up * up))
    if noise is not None:
        y = y + noise.to(y.dtype)
    return y


class SynthesisLayer(torch.nn.Module):
    """One modulated 3×3 convolution (+noise, bias, leaky ReLU): the unit that bending hooks."""

    def __init__(self, in_c: int, out_c: int, w_dim: int, resolution: int, up: int, f: torch.Tensor,
                 conv_clamp: float | None):
        super().__init__()
        self.resolution, self.up, self.conv_clamp = resolution, up, conv_clamp
        self.register_buffer("resample_filter", f.clone())
        self.affine = FullyConnectedLayer(w_dim, in_c, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn(out_c, in_c, 3, 3))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros(out_c))
        # ours, not in checkpoints: per-pixel gain on the noise (strength × spatial mask), set in place
        self.register_buffer("noise_gain", torch.ones(1, 1, resolution, resolution), persistent=False)
        self.noise_mode = "const"
        self.wide = False

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)
        noise = None
        if self.noise_mode != "none":
            h, wd = x.shape[2] * self.up, x.shape[3] * self.up
            if self.noise_mode == "random":
                n = torch.randn(x.shape[0], 1, h, wd, device=x.device, dtype=torch.float32)
            else:
                n = self.noise_const
                if self.wide:
                    n = torch.cat([n, n.flip(-1)], dim=-1)
            noise = n * self.noise_strength * self.noise_gain
        fused = not self.training and (x.dtype == torch.float32 or x.shape[0] == 1)
        x = modulated_conv2d(x, self.weight, styles, noise, self.up, True, self.resample_filter, fused)
        return bias_act(x, self.bias, True, SQRT2, self.conv_clamp)


class ToRGBLayer(torch.nn.Module):
    def __init__(self, in_c: int, out_c: int, w_dim: int, conv_clamp: float | None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_c, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn(out_c, in_c, 1, 1))
        self.bias = torch.nn.Parameter(torch.zeros(out_c))
        self.weight_gain = 1 / math.sqrt(in_c)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        fused = not self.training and (x.dtype == torch.float32 or x.shape[0] == 1)
        x = modulated_conv2d(x, self.weight, styles, None, 1, False, None, fused)
        return bias_act(x, self.bias, False, 1.0, self.conv_clamp)


class SynthesisBlock(torch.nn.Module):
    def __init__(self, in_c: int, out_c: int, w_dim: int, resolution: int, img_channels: int, use_fp16: bool,
                 cfg: StyleGAN2Config):
        super().__init__()
        self.in_c, self.resolution, self.use_fp16 = in_c, resolution, use_fp16
        f = setup_filter(cfg.resample_filter)
        self.register_buffer("resample_filter", f)
        self.num_conv = 0
        if in_c == 0:
            self.const = torch.nn.Parameter(torch.randn(out_c, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_c, out_c, w_dim, resolution, 2, f, cfg.conv_clamp)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_c, out_c, w_dim, resolution, 1, f, cfg.conv_clamp)
        self.num_conv += 1
        self.torgb = ToRGBLayer(out_c, img_channels, w_dim, cfg.conv_clamp)
        self.num_torgb = 1
        self.wide = False

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor, fp16: bool,
                channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
        dtype = torch.float16 if (fp16 and self.use_fp16) else torch.float32
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        if self.in_c == 0:
            c = self.const
            if self.wide:  # mirror the 4×4 constant → every layer and the output double in width
                c = torch.cat([c, c.flip(-1)], dim=-1)
            x = c.to(dtype=dtype).unsqueeze(0).repeat(ws.shape[0], 1, 1, 1).to(memory_format=fmt)
            x = self.conv1(x, ws[:, 0])
        else:
            x = x.to(dtype=dtype, memory_format=fmt)
            x = self.conv0(x, ws[:, 0])
            x = self.conv1(x, ws[:, 1])
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        y = self.torgb(x, ws[:, self.num_conv]).to(dtype=torch.float32, memory_format=torch.contiguous_format)
        img = img + y if img is not None else y
        return x, img


class SynthesisNetwork(torch.nn.Module):
    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.img_resolution = cfg.img_resolution
        self.block_resolutions = block_resolutions(cfg.img_resolution)
        log2 = int(np.log2(cfg.img_resolution))
        fp16_res = max(2 ** (log2 + 1 - cfg.num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            in_c = cfg.channels_at(res // 2) if res > 4 else 0
            block = SynthesisBlock(in_c, cfg.channels_at(res), cfg.w_dim, res, cfg.img_channels,
                                   res >= fp16_res, cfg)
            self.num_ws += block.num_conv
            if res == cfg.img_resolution:
                self.num_ws += block.num_torgb
            setattr(self, f"b{res}", block)
        self.fp16 = False
        self.channels_last = False

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block: SynthesisBlock = getattr(self, f"b{res}")
            cur = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            x, img = block(x, img, cur, self.fp16, self.channels_last)
            w_idx += block.num_conv
        return img


class StyleGAN2Generator(StyleGANFamily):
    """StyleGAN2 (config E/F family, skip generator) behind vjgan's Generator interface.

    The submodules are registered as `mapping` and `synthesis` so state_dict keys equal the official
    ones; the base-class methods of the same names shadow attribute access, so the modules are
    reached through `mapping_network` / `synthesis_network`."""

    kind = "stylegan2"

    def __init__(self, config: StyleGAN2Config):
        super().__init__()
        config.validate()
        self.config = config
        self.z_dim, self.c_dim, self.w_dim = config.z_dim, config.c_dim, config.w_dim
        self.img_resolution, self.img_channels = config.img_resolution, config.img_channels
        synthesis = SynthesisNetwork(config)
        self.num_ws = synthesis.num_ws
        self._modules["synthesis"] = synthesis
        self._modules["mapping"] = MappingNetwork(config, self.num_ws)
        names = []
        for res in synthesis.block_resolutions:
            if res > 4:
                names.append(f"b{res}.conv0")
            names.append(f"b{res}.conv1")
        self.layer_names = tuple(names)
        # ws indices: b4 uses 0-1, b8 1-3, b16 3-5, b32 5-7, b64 7-9 ...
        self.layer_groups = {"coarse": (0, min(3, self.num_ws)), "middle": (min(3, self.num_ws), min(7, self.num_ws)),
                             "fine": (min(7, self.num_ws), self.num_ws)}
        self.widescreen: str | None = None
        self._modules["head"] = build_head(config.head)  # no weights: state_dict keys stay the official ones

    def noise_gain_buffers(self) -> dict[str, torch.Tensor]:
        return {n: self.layer_module(n).noise_gain for n in self.layer_names}

    def layer_shape(self, name: str) -> tuple[int, int, int]:
        """(channels, height, width) of a layer's output feature map, widescreen included."""
        mod: SynthesisLayer = self.layer_module(name)  # type: ignore[assignment]
        return (mod.weight.shape[0], mod.resolution, mod.resolution * (2 if mod.wide else 1))

    # -- run-time options (structural: change them between frames, not every frame) --------------
    def set_noise_mode(self, mode: str) -> None:
        if mode not in NOISE_MODES:
            raise UserError(f"noise mode {mode!r} not in {NOISE_MODES}")
        for n in self.layer_names:
            self.layer_module(n).noise_mode = mode

    def set_widescreen(self, mode: str | None) -> None:
        """None: square; "mirror": constant input mirrored → twice as wide; "16:9": mirror, centre-cropped."""
        if mode not in WIDESCREEN_MODES:
            raise UserError(f"widescreen mode {mode!r} not in {WIDESCREEN_MODES}")
        if mode is not None and self.head is not None:
            raise UserError(f"this model paints {self.head.output_size[0]}x{self.head.output_size[1]} natively; "
                            "widescreen modes are for square models")
        wide = mode is not None
        self.widescreen = mode
        syn = self.synthesis_network
        for res in syn.block_resolutions:
            getattr(syn, f"b{res}").wide = wide
        for n in self.layer_names:
            mod: SynthesisLayer = self.layer_module(n)  # type: ignore[assignment]
            mod.wide = wide
            h = mod.resolution
            shape = (1, 1, h, 2 * h if wide else h)
            if tuple(mod.noise_gain.shape) != shape:
                mod.noise_gain = torch.ones(shape, device=mod.noise_gain.device)

    def set_fast_path(self, fp16: bool | None = None, channels_last: bool | None = None) -> None:
        """fp16 on the blocks the config marks (num_fp16_res) and channels_last: CUDA only.

        On CPU fp16 convolutions are slow or missing, so they stay off there whatever is asked."""
        cuda = next(self.parameters()).device.type == "cuda"
        syn = self.synthesis_network
        if fp16 is not None:
            syn.fp16 = bool(fp16) and cuda
        if channels_last is not None:
            syn.channels_last = bool(channels_last)

    def config_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "config": self.config.to_dict()}

