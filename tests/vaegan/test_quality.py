"""The must-show properties of a trained VAE-GAN, on held-out images of the generated shapes set."""

from __future__ import annotations

import numpy as np
import torch

from vjgan.models.prototypes import direction, encode_images, prototype
from vjgan.models.vaegan import images_to_tensor, load_vaegan, tensor_to_uint8
from vjgan.models.vaegan_data import red_square_box, redness


def high_freq_energy(x: torch.Tensor) -> float:
    """Fraction of spectral energy above a quarter of the sampling rate (per image, averaged)."""
    x = x - x.mean(dim=(2, 3), keepdim=True)
    power = torch.fft.fft2(x).abs().square()
    f = torch.fft.fftfreq(x.shape[-1]).abs()
    high = (f[:, None] > 0.25) | (f[None, :] > 0.25)
    return float((power * high).sum() / power.sum())


def test_reconstruction_beats_the_mean_image(trained):
    m = trained.model
    x = images_to_tensor(trained.held_images, m.img_resolution)
    mean_img = images_to_tensor(trained.train_images, m.img_resolution).mean(0, keepdim=True)
    with torch.no_grad():
        rec = m.synthesis(m.encode(x))
    err_gan = (rec - x).square().mean().item()
    err_mean = (mean_img - x).square().mean().item()
    print(f"held-out MSE: GAN path {err_gan:.4f}, mean image {err_mean:.4f}")
    assert err_gan < 0.8 * err_mean


def high_band_error(x: torch.Tensor, ref: torch.Tensor) -> float:
    """Energy of (x − ref) above a quarter of the sampling rate, relative to ref's own energy there: 1 for an
    image without fine detail (a blur), about 1 or more for detail in the wrong places (noise texture)."""
    f = torch.fft.fftfreq(ref.shape[-1]).abs()
    high = (f[:, None] > 0.25) | (f[None, :] > 0.25)
    ref = ref - ref.mean(dim=(2, 3), keepdim=True)
    x = x - x.mean(dim=(2, 3), keepdim=True)
    err = (torch.fft.fft2(x - ref).abs().square() * high).sum()
    return float(err / (torch.fft.fft2(ref).abs().square() * high).sum())


def test_gan_path_renders_the_fine_detail(trained):
    """The GAN path keeps the edges a blurry decoder loses, and puts them where the input has them."""
    m = trained.model
    x = images_to_tensor(trained.held_images, m.img_resolution)
    with torch.no_grad():
        gan = m.synthesis(m.encode(x))
        vae = m.vae_reconstruct(x)
    hf_gan, hf_vae, hf_real = high_freq_energy(gan), high_freq_energy(vae), high_freq_energy(x)
    err_gan, err_vae = high_band_error(gan, x), high_band_error(vae, x)
    print(f"high-frequency energy: GAN path {hf_gan:.4f}, VAE decoder {hf_vae:.4f}, real {hf_real:.4f}; "
          f"high-band error vs real: GAN path {err_gan:.3f}, VAE decoder {err_vae:.3f}")
    assert hf_gan > 0.6 * hf_real  # not blurred
    assert err_gan < 0.85  # the detail is the input's (an untrained model scores 1.00, noise texture 0.99)


def test_red_square_prototype_adds_the_attribute(trained):
    m = trained.model
    imgs, has = trained.train_images, trained.train_has
    d = direction(prototype(encode_images(m, imgs[has])), prototype(encode_images(m, imgs[~has])))
    assert d.shape == (m.num_ws, m.w_dim)
    box = red_square_box(m.img_resolution)
    base = encode_images(m, trained.held_images[~trained.held_has])  # held-out images without the square
    with torch.no_grad():
        before = tensor_to_uint8(m.synthesis(torch.from_numpy(base)))
        after = tensor_to_uint8(m.synthesis(torch.from_numpy(base + d)))
        # also on random samples of the GAN, not only on encoded images
        ws = m.mapping(torch.randn(32, m.z_dim, generator=torch.Generator().manual_seed(3)))
        rand_before = tensor_to_uint8(m.synthesis(ws))
        rand_after = tensor_to_uint8(m.synthesis(ws + torch.from_numpy(d)))
    r0, r1 = redness(before, box), redness(after, box)
    q0, q1 = redness(rand_before, box), redness(rand_after, box)
    real_gap = redness(imgs[has], box).mean() - redness(imgs[~has], box).mean()
    print(f"redness in the square: encoded {r0.mean():.1f} → {r1.mean():.1f}, random {q0.mean():.1f} → "
          f"{q1.mean():.1f} (real with/without: gap {real_gap:.1f})")
    assert r1.mean() - r0.mean() > 0.3 * real_gap
    assert (r1 > r0).mean() > 0.9
    assert q1.mean() - q0.mean() > 0.2 * real_gap  # random samples often carry some red already


def test_checkpoint_loads_and_renders_identically(trained):
    m = trained.model
    loaded = load_vaegan(trained.out)  # the training folder works as --model
    z = torch.randn(2, m.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = m.synthesis(m.mapping(z))
        b = loaded.synthesis(loaded.mapping(z))
    assert torch.equal(a, b)
    assert np.array_equal(m.encode_uint8(trained.held_images[:2]), loaded.encode_uint8(trained.held_images[:2]))
    samples = sorted((trained.out / "samples").glob("epoch_*.png"))
    assert samples, "a sample grid is written during training"


def test_loads_through_the_generic_loader(trained):
    from vjgan.models.loaders import load_generator
    from vjgan.models.vaegan import VaeGan, register

    register()
    g = load_generator(trained.out)  # the training folder is a vjgan model folder
    assert isinstance(load_generator(trained.out / "model.safetensors"), VaeGan)
    assert isinstance(g, VaeGan) and g.num_ws == trained.model.num_ws
    ws = g.seeds_to_ws([1, 2])
    assert ws.shape == (2, g.num_ws, g.w_dim)
