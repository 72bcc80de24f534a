"""A compact StyleGAN3 (alias-free) generator in plain PyTorch (no custom CUDA ops), configs -T and -R.

Parameter and buffer names follow the official stylegan3 generator (`mapping.fc0.weight`,
`synthesis.input.freqs`, `synthesis.L0_36_512.affine.weight`, `...up_filter`, `...down_filter`,
`...magnitude_ema`), so an official G_ema state_dict loads with `load_state_dict` unchanged. The maths
follows the paper's design as the official network computes it: a Fourier-feature input rotated and
translated by a learned affine of w; then layers of modulated convolution (weights and styles
pre-normalised, demodulated, scaled by the tracked input magnitude) and a *filtered* leaky ReLU:
bias → ×up zero insertion + low-pass FIR → leaky ReLU·gain → clamp → low-pass FIR + ×down decimation.
The FIR filters are buffers in the checkpoint; a freshly built model (tests, `scripts/`) designs them
itself (separable Kaiser windows via scipy.signal.firwin; -R's radially symmetric jinc filters).

What is ours: bendable layers (models.bending), a "widescreen" that widens the Fourier canvas, and the
vjgan Generator interface. SG3 has no noise inputs, so noise controls are no-ops on it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vjgan.core.errors import UserError
from vjgan.models.stylegan2 import NOISE_MODES, WIDESCREEN_MODES, FullyConnectedLayer, MappingNetwork
from vjgan.models.stylegan_family import StyleGANFamily


@dataclass
class StyleGAN3Config:
    """Constructor arguments of the official networks_stylegan3.Generator (mapping ones prefixed)."""

    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_resolution: int = 1024
    img_channels: int = 3
    channel_base: int = 32768
    channel_max: int = 512
    num_layers: int = 14  # excluding the Fourier input and ToRGB
    num_critical: int = 2  # critically sampled layers at the end
    first_cutoff: float = 2.0
    first_stopband: float = 2**2.1
    last_stopband_rel: float = 2**0.3
    margin_size: int = 10
    output_scale: float = 0.25
    num_fp16_res: int = 4  # recorded only: this implementation runs fp32
    conv_kernel: int = 3  # 1 for stylegan3-r
    filter_size: int = 6
    lrelu_upsampling: int = 2
    use_radial_filters: bool = False  # True for stylegan3-r
    conv_clamp: float | None = 256.0
    magnitude_ema_beta: float = 0.999  # training only; kept so configs round-trip
    mapping_layers: int = 2
    mapping_lr_multiplier: float = 0.01

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StyleGAN3Config:
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise UserError(f"unknown StyleGAN3 config fields: {sorted(unknown)}")
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        res = self.img_resolution
        if res < 4 or res & (res - 1):
            raise UserError(f"unsupported resolution {res}: StyleGAN3 needs a power of two ≥ 4")
        if self.img_channels not in (1, 3, 4):
            raise UserError(f"unsupported img_channels {self.img_channels} (1, 3 or 4)")
        if not 0 <= self.num_critical < self.num_layers:
            raise UserError(f"StyleGAN3 num_critical={self.num_critical} must be below num_layers={self.num_layers}")
        if self.conv_kernel not in (1, 3, 5):
            raise UserError(f"unsupported StyleGAN3 conv_kernel {self.conv_kernel}")
        if self.lrelu_upsampling < 1 or self.filter_size < 1 or self.margin_size < 0:
            raise UserError("StyleGAN3 lrelu_upsampling/filter_size must be ≥ 1 and margin_size ≥ 0")


@dataclass(frozen=True)
class LayerSpec:
    """One synthesis layer's geometry (the paper's per-layer cutoff/stopband/sampling-rate schedule)."""

    name: str
    idx: int
    is_torgb: bool
    is_critical: bool
    in_channels: int
    out_channels: int
    in_size: int
    out_size: int
    in_rate: int
    out_rate: int
    tmp_rate: int  # rate of the leaky ReLU (lrelu_upsampling × the higher of in/out)
    in_cutoff: float
    out_cutoff: float
    in_half_width: float
    out_half_width: float
    kernel: int
    up: int
    down: int
    up_taps: int
    down_taps: int
    radial: bool
    padding: tuple[int, int, int, int]  # x0, x1, y0, y1 w.r.t. the up-sampled map


@dataclass(frozen=True)
class InputSpec:
    channels: int
    size: int
    rate: int
    bandwidth: float


def network_geometry(cfg: StyleGAN3Config) -> tuple[InputSpec, list[LayerSpec]]:
    """Cutoffs grow geometrically from first_cutoff to res/2 over the non-critical layers; each layer's
    sampling rate is the power of two that holds its stopband (capped at the image resolution); the
    feature maps carry `margin_size` extra pixels each side except the last two (exact image size).
    Computed in float64 like the official network, so filter design and channel rounding agree."""
    n, res = cfg.num_layers, cfg.img_resolution
    last_cutoff = res / 2
    last_stopband = last_cutoff * cfg.last_stopband_rel
    exps = np.minimum(np.arange(n + 1) / (n - cfg.num_critical), 1)
    cutoffs = cfg.first_cutoff * (last_cutoff / cfg.first_cutoff) ** exps
    stopbands = cfg.first_stopband * (last_stopband / cfg.first_stopband) ** exps
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, res))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + cfg.margin_size * 2
    sizes[-2:] = res
    channels = np.rint(np.minimum((cfg.channel_base / 2) / cutoffs, cfg.channel_max))
    channels[-1] = cfg.img_channels
    inp = InputSpec(int(channels[0]), int(sizes[0]), int(rates[0]), float(cutoffs[0]))
    specs = []
    for i in range(n + 1):
        p = max(i - 1, 0)
        torgb = i == n
        in_rate, out_rate = int(rates[p]), int(rates[i])
        tmp_rate = max(in_rate, out_rate) * (1 if torgb else cfg.lrelu_upsampling)
        up, down = int(round(tmp_rate / in_rate)), int(round(tmp_rate / out_rate))
        if up * in_rate != tmp_rate or down * out_rate != tmp_rate:
            raise UserError("StyleGAN3 config gives non-integer resampling factors")
        up_taps = cfg.filter_size * up if up > 1 and not torgb else 1
        down_taps = cfg.filter_size * down if down > 1 and not torgb else 1
        kernel = 1 if torgb else cfg.conv_kernel
        in_size, out_size = int(sizes[p]), int(sizes[i])
        # output size before decimation − input size after the conv and zero insertion + filter shrinkage;
        # the low side gets the extra half sample (symmetric interpretation of sample positions)
        total = (out_size - 1) * down + 1 - (in_size + kernel - 1) * up + up_taps + down_taps - 2
        lo = (total + up) // 2
        hi = total - lo
        out_c = int(channels[i])
        specs.append(LayerSpec(
            name=f"L{i}_{out_size}_{out_c}", idx=i, is_torgb=torgb, is_critical=i >= n - cfg.num_critical,
            in_channels=int(channels[p]), out_channels=out_c, in_size=in_size, out_size=out_size,
            in_rate=in_rate, out_rate=out_rate, tmp_rate=tmp_rate,
            in_cutoff=float(cutoffs[p]), out_cutoff=float(cutoffs[i]),
            in_half_width=float(half_widths[p]), out_half_width=float(half_widths[i]), kernel=kernel,
            up=up, down=down, up_taps=up_taps, down_taps=down_taps,
            radial=cfg.use_radial_filters and not i >= n - cfg.num_critical, padding=(lo, hi, lo, hi)))
    return inp, specs


def design_lowpass(numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False) -> torch.Tensor | None:
    """Kaiser-windowed low-pass FIR: 1-D (applied separably) or a 2-D radially symmetric jinc."""
    if numtaps == 1:
        return None
    import scipy.signal
    import scipy.special

    if not radial:
        return torch.as_tensor(scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs),
                               dtype=torch.float32)
    t = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(t, t))
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(r > 0, scipy.special.j1(2 * np.pi * cutoff * r) / (np.pi * np.where(r > 0, r, 1)), cutoff)
    atten = scipy.signal.kaiser_atten(numtaps, width / (fs / 2))
    win = np.kaiser(numtaps, scipy.signal.kaiser_beta(atten))
    f = f * np.outer(win, win)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


# maps whose sides are this short resample with dense matrix products (BLAS) instead of depthwise
# convolutions: 1.2–1.5× faster per frame on this CPU for small models; identical results
MATMUL_MAX = 192


def fir_filter(x: torch.Tensor, f: torch.Tensor | None, up: int = 1, down: int = 1,
               pad: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Zero-insertion up-sampling, pad (negative = crop), true FIR convolution, decimation.

    The official reference order. A 1-D filter runs separably (rows, then columns; the gain split
    between the passes); the decimation is the convolution's stride, so skipped samples are never
    computed. Small maps take the matrix path instead (`SynthesisLayer._resample`)."""
    b, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(b, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(b, c, h * up, w * up)
    x0, x1, y0, y1 = pad
    if any(p > 0 for p in pad):
        x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    if any(p < 0 for p in pad):
        x = x[:, :, max(-y0, 0):x.shape[2] - max(-y1, 0), max(-x0, 0):x.shape[3] - max(-x1, 0)]
    if f is None:
        if gain != 1:
            x = x * gain
        return x[:, :, ::down, ::down] if down > 1 else x
    k = (f * gain ** (f.ndim / 2)).to(x.dtype).flip(list(range(f.ndim)))
    if f.ndim == 1:
        k = k[None, None].expand(c, 1, -1)
        x = F.conv2d(x, k.unsqueeze(2), groups=c, stride=(1, down))
        return F.conv2d(x, k.unsqueeze(3), groups=c, stride=(down, 1))
    return F.conv2d(x, k[None, None].expand(c, 1, -1, -1), groups=c, stride=down)


def resample_matrix(f: torch.Tensor, n: int, up: int, down: int, p0: int, p1: int, gain: float) -> torch.Tensor:
    """(n_out, n) matrix doing one axis of `fir_filter` with the 1-D filter f: built by running
    fir_filter on the identity, so both paths compute the same thing by construction."""
    eye = torch.eye(n, dtype=f.dtype, device=f.device).reshape(n, 1, 1, n)
    rows = fir_filter(eye, None, up=up, pad=(p0, p1, 0, 0))
    k = (f * gain**0.5).flip(0).reshape(1, 1, 1, -1)
    return F.conv2d(rows, k, stride=(1, down))[:, 0, 0, :].t().contiguous()


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool,
                     padding: int, input_gain: torch.Tensor) -> torch.Tensor:
    """SG3's modulated convolution: one grouped convolution with per-sample weights.

    Weights and styles are normalised first (keeps fp16 in range; demodulation cancels the scale),
    the input magnitude tracked in training (`magnitude_ema`) is divided out through the weights."""
    b = x.shape[0]
    out_c, in_c, kh, kw = weight.shape
    if demodulate:
        weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean().rsqrt()
    w = weight.unsqueeze(0) * styles.reshape(b, 1, in_c, 1, 1)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(b, out_c, 1, 1, 1)
    w = w * input_gain
    y = F.conv2d(x.reshape(1, b * in_c, *x.shape[2:]), w.reshape(b * out_c, in_c, kh, kw).to(x.dtype),
                 padding=padding, groups=b)
    return y.reshape(b, out_c, *y.shape[2:])


class SynthesisInput(torch.nn.Module):
    """Fourier features on a grid: frequencies and phases are buffers; w rotates and translates them."""

    def __init__(self, w_dim: int, spec: InputSpec):
        super().__init__()
        self.channels, self.size, self.rate, self.bandwidth = spec.channels, spec.size, spec.rate, spec.bandwidth
        self.width = spec.size  # widescreen: the canvas grows to the right and left
        freqs = torch.randn(spec.channels, 2)
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * spec.bandwidth  # uniform-ish in the disc
        self.weight = torch.nn.Parameter(torch.randn(spec.channels, spec.channels))
        self.affine = FullyConnectedLayer(w_dim, 4)
        with torch.no_grad():  # identity transform at initialisation
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3))  # user transform of the output (inverse)
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand(spec.channels) - 0.5)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        b = w.shape[0]
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)  # (cos, sin, tx, ty) of the inverse rotation/translation
        eye = torch.eye(3, device=w.device, dtype=t.dtype).unsqueeze(0)
        m_r = eye.repeat(b, 1, 1)
        m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        m_t = eye.repeat(b, 1, 1)
        m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
        transforms = m_r @ m_t @ self.transform.unsqueeze(0)
        freqs = self.freqs.unsqueeze(0)
        phases = self.phases.unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)
        freqs = freqs @ transforms[:, :2, :2]
        # fade out frequencies a user transform pushed beyond the band
        amp = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.rate / 2 - self.bandwidth)).clamp(0, 1)
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = 0.5 * self.width / self.rate
        theta[1, 1] = 0.5 * self.size / self.rate
        grid = F.affine_grid(theta.unsqueeze(0), [1, 1, self.size, self.width], align_corners=False)
        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)  # B,H,W,C
        x = torch.sin((x + phases.unsqueeze(1).unsqueeze(2)) * (np.pi * 2)) * amp.unsqueeze(1).unsqueeze(2)
        x = x @ (self.weight / np.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class SynthesisLayer(torch.nn.Module):
    """Modulated conv + filtered leaky ReLU (or the final ToRGB): the unit that bending hooks."""

    def __init__(self, w_dim: int, spec: LayerSpec, conv_clamp: float | None, design: bool = True):
        super().__init__()
        self.spec = spec
        self.is_torgb = spec.is_torgb
        self.conv_clamp = conv_clamp
        self.resolution = spec.out_size
        self.affine = FullyConnectedLayer(w_dim, spec.in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn(spec.out_channels, spec.in_channels, spec.kernel, spec.kernel))
        self.bias = torch.nn.Parameter(torch.zeros(spec.out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))
        up_f = down_f = None
        if design:
            rate = spec.tmp_rate
            up_f = design_lowpass(spec.up_taps, spec.in_cutoff, spec.in_half_width * 2, rate)
            down_f = design_lowpass(spec.down_taps, spec.out_cutoff, spec.out_half_width * 2, rate, spec.radial)
        elif spec.up_taps > 1 or spec.down_taps > 1:  # placeholders of the right shape, filled by load_state_dict
            up_f = torch.zeros(spec.up_taps) if spec.up_taps > 1 else None
            shape = (spec.down_taps,) * (2 if spec.radial else 1)
            down_f = torch.zeros(shape) if spec.down_taps > 1 else None
        self.register_buffer("up_filter", up_f)
        self.register_buffer("down_filter", down_f)
        self.gain = 1.0 if spec.is_torgb else math.sqrt(2)
        self.slope = 1.0 if spec.is_torgb else 0.2
        self._mats: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.spec
        styles = self.affine(w)
        if s.is_torgb:
            styles = styles * (1 / math.sqrt(s.in_channels * s.kernel**2))
        x = modulated_conv2d(x, self.weight, styles, not s.is_torgb, s.kernel - 1, self.magnitude_ema.rsqrt())
        x = x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)
        x = self._resample(x, self.up_filter, "up", s.up, 1, s.padding, float(s.up**2))
        if self.slope != 1:
            x = F.leaky_relu(x, self.slope)
        if self.gain != 1:
            x = x * self.gain
        if self.conv_clamp is not None:
            x = x.clamp(-self.conv_clamp, self.conv_clamp)
        return self._resample(x, self.down_filter, "down", 1, s.down, (0, 0, 0, 0), 1.0)

    def _resample(self, x: torch.Tensor, f: torch.Tensor | None, tag: str, up: int, down: int,
                  pad: tuple[int, int, int, int], gain: float) -> torch.Tensor:
        h, w = x.shape[2], x.shape[3]
        if f is None or f.ndim != 1 or max(h, w) > MATMUL_MAX:
            return fir_filter(x, f, up=up, down=down, pad=pad, gain=gain)
        # matrices cached per size/device/dtype and per filter contents: any in-place change of the filter
        # (load_state_dict, an edit) bumps its version counter, so a stale matrix is never used
        key = (tag, h, w, x.device, x.dtype, f.data_ptr(), f._version)
        mats = self._mats.get(key)
        if mats is None:
            with torch.inference_mode(False), torch.no_grad():  # plain tensors: usable outside inference too
                fx = f.detach().to(x.dtype)
                mats = (resample_matrix(fx, h, up, down, pad[2], pad[3], gain).t().contiguous(),
                        resample_matrix(fx, w, up, down, pad[0], pad[1], gain).t().contiguous())
            self._mats = {k: v for k, v in self._mats.items() if k[0] != tag} | {key: mats}
        myt, mxt = mats  # both axes as right-multiplications: one large GEMM each, not per-channel ones
        return ((x @ mxt).transpose(2, 3) @ myt).transpose(2, 3)


class SynthesisNetwork(torch.nn.Module):
    def __init__(self, cfg: StyleGAN3Config, design: bool = True):
        super().__init__()
        inp, specs = network_geometry(cfg)
        self.num_ws = cfg.num_layers + 2
        self.output_scale = cfg.output_scale
        self.input = SynthesisInput(cfg.w_dim, inp)
        self.layer_names = [s.name for s in specs]
        self.specs = specs
        for s in specs:
            setattr(self, s.name, SynthesisLayer(cfg.w_dim, s, cfg.conv_clamp, design))

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0])
        for name, w in zip(self.layer_names, ws[1:], strict=True):
            x = getattr(self, name)(x, w)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32)


class StyleGAN3Generator(StyleGANFamily):
    """StyleGAN3 (-T or -R) behind vjgan's Generator interface.

    Layer names are the official ones without the final ToRGB: `input` (the Fourier features: bend it to
    move the whole canvas) then `L0_36_512` … (index_size_channels). `design=False` skips the filter
    design (the filters come from a checkpoint), so loading needs no scipy call."""

    kind = "stylegan3"

    def __init__(self, config: StyleGAN3Config, design: bool = True):
        super().__init__()
        config.validate()
        self.config = config
        self.z_dim, self.c_dim, self.w_dim = config.z_dim, config.c_dim, config.w_dim
        self.img_resolution, self.img_channels = config.img_resolution, config.img_channels
        synthesis = SynthesisNetwork(config, design)
        self.num_ws = synthesis.num_ws
        self._modules["synthesis"] = synthesis
        self._modules["mapping"] = MappingNetwork(config, self.num_ws)  # same maths as StyleGAN2's
        self.layer_names = ("input", *synthesis.layer_names[:-1])
        self.layer_groups = _layer_groups(synthesis.specs, self.num_ws)
        self.widescreen: str | None = None

    def layer_shape(self, name: str) -> tuple[int, int, int]:
        """(channels, height, width) of a layer's output feature map, widescreen included."""
        syn = self.synthesis_network
        if name == "input":
            return (syn.input.channels, syn.input.size, syn.input.width)
        s: LayerSpec = self.layer_module(name).spec  # type: ignore[assignment]
        return (s.out_channels, s.out_size, s.out_size + (s.out_rate if self.widescreen else 0))

    # -- run-time options -------------------------------------------------------------------------
    def set_noise_mode(self, mode: str) -> None:
        """Accepted for interface parity: StyleGAN3 has no noise inputs, so every mode renders the same."""
        if mode not in NOISE_MODES:
            raise UserError(f"noise mode {mode!r} not in {NOISE_MODES}")

    def set_widescreen(self, mode: str | None) -> None:
        """None: square; "mirror": the Fourier canvas extends left and right → twice as wide (nothing is
        mirrored: an alias-free network simply continues the picture); "16:9": that, centre-cropped.

        Every layer's padding stays valid because each widens by exactly its own sampling rate."""
        if mode not in WIDESCREEN_MODES:
            raise UserError(f"widescreen mode {mode!r} not in {WIDESCREEN_MODES}")
        self.widescreen = mode
        inp = self.synthesis_network.input
        inp.width = inp.size + (inp.rate if mode is not None else 0)

    def config_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "config": self.config.to_dict()}


def _layer_groups(specs: list[LayerSpec], num_ws: int) -> dict[str, tuple[int, int]]:
    """ws index ranges by the band a layer draws, like StyleGAN2's 4–8² / 16–32² / finer split:
    coarse = input + layers with cutoff ≤ 4 cycles per image, middle ≤ 16, fine = the rest (ToRGB incl.)."""
    coarse = 1 + sum(1 for s in specs[:-1] if s.out_cutoff <= 4 + 1e-9)
    middle = 1 + sum(1 for s in specs[:-1] if s.out_cutoff <= 16 + 1e-9)
    if not 0 < coarse < middle < num_ws:  # tiny networks: thirds
        coarse, middle = max(1, num_ws // 3), max(2, 2 * num_ws // 3)
    return {"coarse": (0, coarse), "middle": (coarse, middle), "fine": (middle, num_ws)}


def build(config: dict[str, Any]) -> StyleGAN3Generator:
    """vjgan_format builder: filters come from the weights file, so none are designed."""
    return StyleGAN3Generator(StyleGAN3Config.from_dict(config), design=False)
