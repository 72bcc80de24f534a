"""The VAE-GAN's encoder bends through the same Bender API as its generator (an untrained tiny model:
the checks are exact geometry, not quality)."""

from __future__ import annotations

import pytest
import torch

from tests.vaegan.conftest import tiny_config
from vjgan.core.errors import UserError
from vjgan.models.bending import Bender
from vjgan.models.vaegan import VaeGan


@pytest.fixture(scope="module")
def model() -> VaeGan:
    torch.manual_seed(0)
    m = VaeGan(tiny_config()).eval()
    with torch.no_grad():  # untrained weights start at zero here; random ones make every layer matter
        for p in m.latent_map.parameters():
            p.normal_(0, 0.2)
    return m


@pytest.fixture()
def images() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.rand(2, 3, 32, 32, generator=g) * 2 - 1


@torch.no_grad()
def test_encoder_layers_are_named_apart_from_the_generator(model: VaeGan) -> None:
    assert model.encoder_layer_names == ("enc.fromrgb", "enc.down16", "enc.down8", "enc.down4")
    assert not set(model.encoder_layer_names) & set(model.layer_names)
    assert model.layer_names[0] == "b4.conv1"  # generator names unchanged
    assert model.encoder.layer_module("enc.down16") is model.encoder.convs[0]
    with pytest.raises(UserError, match="enc.fromrgb"):
        model.encoder.layer_module("b4.conv1")


@torch.no_grad()
def test_neutral_bend_keeps_the_latent_and_flip_equals_encoding_the_flipped_image(
        model: VaeGan, images: torch.Tensor) -> None:
    plain = model.encode(images)
    bender = Bender(model.encoder)
    try:
        bender.set_bends({})
        assert torch.equal(model.encode(images), plain)

        # fromrgb is a 1×1 conv: mirroring its output is mirroring the input image
        bender.set_bends({"enc.fromrgb": {"flip_x": 1.0}})
        bent = model.encode(images)
        assert (bent - plain).abs().max() > 1e-3
        bender.remove()
        flipped = model.encode(images.flip(-1))
        torch.testing.assert_close(bent, flipped, atol=1e-5, rtol=1e-4)

        # a deeper layer: a quarter-width shift changes the encoded latent; back to neutral restores it
        bender = Bender(model.encoder)
        bender.set_bends({"enc.down16": {"translate_x": 0.25}})
        assert (model.encode(images) - plain).abs().max() > 1e-3
        bender.set_bends({"enc.down16": {"translate_x": 0.0}})  # the geom op now runs, as the identity
        torch.testing.assert_close(model.encode(images), plain, atol=1e-5, rtol=1e-4)
        with pytest.raises(UserError, match="unknown layer"):
            bender.set_bends({"b4.conv1": {"zoom": 2.0}})
    finally:
        bender.remove()
    assert torch.equal(model.encode(images), plain)  # hooks removed: the encoder is untouched
