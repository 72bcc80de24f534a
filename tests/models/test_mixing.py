"""`vjgan mix`: coarse layers from one checkpoint, fine from another; the result loads like any checkpoint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vjgan.core.errors import UserError
from vjgan.models.default import load_default_generator
from vjgan.models.loaders import load_generator
from vjgan.models.mixing import layer_resolution, mix_generators, parse_layers
from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from vjgan.models.vjgan_format import save_generator


def _variant(tmp_path: Path) -> Path:
    """The default model with every synthesis weight moved: a second checkpoint of the same architecture."""
    g = load_default_generator()
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in g.named_parameters():
            if name.startswith("synthesis."):
                p.add_(0.1 * torch.randn_like(p))
    return save_generator(g, tmp_path / "b.safetensors")


def test_coarse_from_a_fine_from_b_through_the_cli(tmp_path: Path) -> None:
    b_path = _variant(tmp_path)
    out = tmp_path / "c.safetensors"
    run = subprocess.run([sys.executable, "-m", "vjgan.cli", "mix", "default", str(b_path), "-o", str(out),
                          "--layers", "4-16=0,32-128=1"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    a, b, c = load_default_generator().state_dict(), load_generator(b_path).state_dict(), load_generator(out)
    seen = set()
    for key, v in c.state_dict().items():
        res = layer_resolution(key)
        want = a[key] if res is None or res <= 16 else b[key]  # mapping from A (the default)
        assert torch.equal(v, want), key
        seen.add(res)
    assert seen == {None, 4, 8, 16, 32, 64, 128}
    with torch.no_grad():  # it paints, and differently from both parents
        ws = torch.from_numpy(c.seeds_to_ws([3]))
        img_c, img_a = c.synthesis(ws), load_default_generator().synthesis(ws)
    assert torch.isfinite(img_c).all() and (img_c - img_a).abs().mean() > 1e-3


def test_halfway_is_the_mean_and_the_ends_are_the_parents(tmp_path: Path) -> None:
    a, b = load_default_generator(), load_generator(_variant(tmp_path))
    half = mix_generators(a, b, {}, t=0.5, mapping_t=0.5).state_dict()
    sa, sb = a.state_dict(), b.state_dict()
    for key, v in half.items():
        if v.is_floating_point():
            assert torch.allclose(v, (sa[key] + sb[key]) / 2, atol=1e-6), key
    assert all(torch.equal(v, sa[k]) for k, v in mix_generators(a, b, {}, t=0.0).state_dict().items())


def test_mixing_refuses_two_architectures_and_bad_specs() -> None:
    a = load_default_generator()
    other = StyleGAN2Generator(StyleGAN2Config(z_dim=64, w_dim=64, img_resolution=32, channel_base=1024,
                                               channel_max=32, mapping_layers=2))
    with pytest.raises(UserError, match="different architectures"):
        mix_generators(a, other, {})
    for bad in ("4-16", "16-4=0", "8=2", "a=1"):
        with pytest.raises(UserError, match="--layers"):
            parse_layers(bad)
    assert parse_layers("4-16=0, 64=0.25") == {(4, 16): 0.0, (64, 64): 0.25}
