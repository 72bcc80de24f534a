"""A compact StyleGAN2 discriminator (residual architecture) for training, in plain PyTorch.

The official design (stylegan2-ada-pytorch `networks.Discriminator`, resnet variant, no conditioning)
without its custom CUDA ops: equalised learning rate (weights stored N(0, 1), scaled by 1/sqrt(fan_in)
at run time, so Adam moves every layer alike), FIR-blurred down-sampling, residual blocks scaled by
sqrt(0.5), and an epilogue with minibatch standard deviation (lets D see a collapsed batch).
Widths follow the generator's `channels_at`, so one StyleGAN2Config sizes both networks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vjgan.models.stylegan2 import StyleGAN2Config, block_resolutions, fir, setup_filter

SQRT2 = math.sqrt(2.0)


class EqConv(torch.nn.Module):
    """Equalised-lr convolution; `down=2` blurs (the [1,3,3,1] filter) then strides, as the official does."""

    def __init__(self, in_c: int, out_c: int, k: int, bias: bool = True, lrelu: bool = True, down: int = 1):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(out_c, in_c, k, k))
        self.bias = torch.nn.Parameter(torch.zeros(out_c)) if bias else None
        self.gain = 1 / math.sqrt(in_c * k * k)
        self.k, self.lrelu, self.down = k, lrelu, down
        self.register_buffer("resample_filter", setup_filter((1, 3, 3, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.gain
        if self.down == 2 and self.k == 1:  # blur, subsample, 1×1
            x = F.conv2d(fir(x, self.resample_filter, (1, 1, 1, 1), 1.0)[:, :, ::2, ::2], w)
        elif self.down == 2:  # blur with padding 2, strided 3×3 without padding
            x = F.conv2d(fir(x, self.resample_filter, (2, 2, 2, 2), 1.0), w, stride=2)
        else:
            x = F.conv2d(x, w, padding=self.k // 2)
        if self.bias is not None:
            x = x + self.bias.reshape(1, -1, 1, 1)
        return F.leaky_relu(x, 0.2) * SQRT2 if self.lrelu else x


class EqLinear(torch.nn.Module):
    def __init__(self, in_f: int, out_f: int, lrelu: bool = True):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(out_f, in_f))
        self.bias = torch.nn.Parameter(torch.zeros(out_f))
        self.gain, self.lrelu = 1 / math.sqrt(in_f), lrelu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.gain, self.bias)
        return F.leaky_relu(x, 0.2) * SQRT2 if self.lrelu else x


class DiscBlock(torch.nn.Module):
    """Two 3×3 convolutions (the second halves the resolution) plus a 1×1 down-sampled skip."""

    def __init__(self, in_c: int, out_c: int):
        super().__init__()
        self.conv0 = EqConv(in_c, in_c, 3)
        self.conv1 = EqConv(in_c, out_c, 3, down=2)
        self.skip = EqConv(in_c, out_c, 1, bias=False, lrelu=False, down=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.skip(x) + self.conv1(self.conv0(x))) * math.sqrt(0.5)


class StyleGAN2Discriminator(torch.nn.Module):
    """fromRGB at full resolution, residual blocks down to 4×4, minibatch stddev, conv, two linears → a logit."""

    def __init__(self, cfg: StyleGAN2Config, mbstd_group: int = 4):
        super().__init__()
        res = cfg.img_resolution
        self.mbstd_group = mbstd_group
        self.from_rgb = EqConv(cfg.img_channels, cfg.channels_at(res), 1)
        self.blocks = torch.nn.ModuleList(
            DiscBlock(cfg.channels_at(r), cfg.channels_at(r // 2)) for r in reversed(block_resolutions(res)) if r > 4)
        c4 = cfg.channels_at(4)
        self.conv = EqConv(c4 + 1, c4, 3)
        self.fc = EqLinear(c4 * 16, c4)
        self.out = EqLinear(c4, 1, lrelu=False)

    def minibatch_std(self, x: torch.Tensor) -> torch.Tensor:
        """Append one channel: the std over groups of samples, averaged over features and pixels."""
        b, c, h, w = x.shape
        g = math.gcd(min(self.mbstd_group, b), b)
        y = x.reshape(g, -1, c, h, w)
        y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt().mean(dim=(1, 2, 3))  # (b/g,)
        y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.from_rgb(img)
        for block in self.blocks:
            x = block(x)
        x = self.conv(self.minibatch_std(x))
        return self.out(self.fc(x.flatten(1))).squeeze(1)
