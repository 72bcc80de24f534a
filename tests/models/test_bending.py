"""Bending transforms have the geometric effect they claim; values update in place without rebuilding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.models.helpers import render, small_generator
from vjgan.core.errors import UserError
from vjgan.models.bending import Bender, compute_channel_clusters
from vjgan.models.noise import NoiseControl, procedural_mask
from vjgan.models.rewrite import Rewriter

LAYER = "b16.conv1"


@pytest.fixture()
def gen():
    return small_generator(seed=3)


def bend(bender: Bender, x: torch.Tensor, **values: float) -> torch.Tensor:
    bender.set_bends({LAYER: values})
    return bender.apply(bender.index[LAYER], x)


@pytest.fixture()
def setup(gen):
    b = Bender(gen)
    torch.manual_seed(0)
    x = torch.randn(1, gen.layer_shape(LAYER)[0], 16, 16)
    return b, x


@pytest.mark.parametrize("k", [1, 3])
def test_translate_shifts_by_k_pixels(setup, k):
    b, x = setup
    out = bend(b, x, translate_x=k / 16)
    torch.testing.assert_close(out[..., k:], x[..., :-k], atol=1e-5, rtol=0)
    out = bend(b, x, translate_y=-k / 16)
    torch.testing.assert_close(out[..., :-k, :], x[..., k:, :], atol=1e-5, rtol=0)


def test_rotate_90_is_rot90_and_flips(setup):
    b, x = setup
    torch.testing.assert_close(bend(b, x, rotate=90), torch.rot90(x, 1, dims=(2, 3)), atol=1e-5, rtol=0)
    torch.testing.assert_close(bend(b, x, rotate=180), torch.rot90(x, 2, dims=(2, 3)), atol=1e-5, rtol=0)
    torch.testing.assert_close(bend(b, x, flip_x=1), x.flip(-1), atol=1e-5, rtol=0)
    torch.testing.assert_close(bend(b, x, flip_y=1), x.flip(-2), atol=1e-5, rtol=0)


def test_mirror_folds_left_half_onto_right(setup):
    b, x = setup
    out = bend(b, x, mirror_x=1)
    torch.testing.assert_close(out[..., :8], x[..., :8], atol=1e-5, rtol=0)
    torch.testing.assert_close(out[..., 8:], x[..., :8].flip(-1), atol=1e-5, rtol=0)
    out = bend(b, x, mirror_y=1)
    torch.testing.assert_close(out[..., 8:, :], x[..., :8, :].flip(-2), atol=1e-5, rtol=0)


def test_zoom_2_magnifies_the_centre(setup):
    b, x = setup
    out = bend(b, x, zoom=2)
    ref = F.interpolate(x[..., 4:12, 4:12], scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(out[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1], atol=1e-5, rtol=0)


def test_morphology_threshold_invert(setup):
    b, x = setup
    torch.testing.assert_close(bend(b, x, dilate=1), F.max_pool2d(x, 3, 1, 1), atol=1e-6, rtol=0)
    torch.testing.assert_close(bend(b, x, erode=2), -F.max_pool2d(F.max_pool2d(-x, 3, 1, 1), 3, 1, 1),
                               atol=1e-6, rtol=0)
    assert torch.equal(bend(b, x, threshold=0.5), (x > 0.5).float())
    inv = x.amax(dim=(2, 3), keepdim=True) + x.amin(dim=(2, 3), keepdim=True) - x
    torch.testing.assert_close(bend(b, x, invert=1), inv)


def test_ablation_fraction_index_set_and_cluster(setup):
    b, x = setup
    c = x.shape[1]
    out = bend(b, x, ablate=0.5)
    zero = (out.abs().sum(dim=(0, 2, 3)) == 0)
    assert int(zero.sum()) == c // 2
    assert torch.equal(out[:, ~zero], x[:, ~zero])
    b.set_bends({})
    b.set_ablation(LAYER, [1, 3])
    out = b.apply(b.index[LAYER], x)
    assert out[:, [1, 3]].abs().sum() == 0 and torch.equal(out[:, 0], x[:, 0])
    b.set_ablation(LAYER, [])
    labels = torch.arange(c) % 3
    b.set_clusters(LAYER, labels)
    out = bend(b, x, ablate_cluster=2)  # cluster ids are 1-based: drops label 1
    assert out[:, labels == 1].abs().sum() == 0 and torch.equal(out[:, labels != 1], x[:, labels != 1])


def test_neutral_values_are_identity_and_tensors_are_reused(gen):
    b = Bender(gen)
    ref = render(gen)
    ptr, version = b.values.data_ptr(), b.version
    b.set_bends({"b8.conv0": {"rotate": 30, "zoom": 1.3, "dilate": 1.5, "invert": 0.5, "ablate": 0.3}})
    bent = render(gen)
    assert (bent - ref).abs().mean() > 0.05
    assert b.version > version
    v2 = b.version
    b.set_bends({"b8.conv0": {"rotate": 45}})
    assert b.version == v2 and b.values.data_ptr() == ptr  # same kinds: nothing new, same tensor
    b.set_bends({})
    torch.testing.assert_close(render(gen), ref, atol=1e-4, rtol=0)
    b.remove()
    assert torch.equal(render(gen), ref)


def test_bad_bend_names(gen):
    b = Bender(gen)
    with pytest.raises(UserError, match="unknown layer"):
        b.set_bends({"b999.conv0": {"zoom": 2}})
    with pytest.raises(UserError, match="unknown transform"):
        b.set_bends({LAYER: {"wobble": 2}})


def test_channel_clusters_round_trip(gen, tmp_path):
    labels = compute_channel_clusters(gen, LAYER, k=3, samples=4)
    assert labels.shape == (gen.layer_shape(LAYER)[0],) and set(labels.tolist()) <= {0, 1, 2}
    b = Bender(gen)
    b.set_clusters(LAYER, labels)
    b.save_clusters(tmp_path / "clusters.json")
    b2 = Bender(gen)
    b2.load_clusters(tmp_path / "clusters.json")
    assert torch.equal(b2.cluster_labels[b2.index[LAYER]], labels.float())


def test_rewrite_changes_and_undo_restores_exact_weights(gen):
    before = {k: v.clone() for k, v in gen.state_dict().items()}
    ref = render(gen)
    rw = Rewriter(gen)
    rw.set({"b8.conv1": 3.0, "b16.conv0": 0.2}, {"b16.conv0": 0.5})
    assert (render(gen) - ref).abs().mean() > 0.02
    rw.set({"b8.conv1": 1.5})  # b16.conv0 back to neutral, b8.conv1 changed
    assert torch.equal(gen.state_dict()["synthesis.b16.conv0.weight"], before["synthesis.b16.conv0.weight"])
    rw.undo()
    for k, v in gen.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert torch.equal(render(gen), ref)


def test_noise_strength_and_masks(gen, tmp_path):
    nc = NoiseControl(gen)
    ref = render(gen)
    nc.set({n: 0.0 for n in gen.layer_names})
    no_noise = render(gen)
    gen.set_noise_mode("none")
    assert torch.equal(render(gen), no_noise)
    gen.set_noise_mode("const")
    nc.set({}, mask="radial", amount=1.0)
    gain = gen.layer_module("b32.conv1").noise_gain[0, 0]
    expect = F.interpolate(procedural_mask("radial")[None, None], size=(32, 32), mode="bilinear",
                           align_corners=False)[0, 0]
    torch.testing.assert_close(gain, expect)
    assert not torch.equal(render(gen), ref)
    from PIL import Image

    img = np.zeros((20, 20), np.uint8)
    img[:, 10:] = 255
    Image.fromarray(img).save(tmp_path / "mask.png")
    nc.set({"b32.conv1": 2.0}, mask=str(tmp_path / "mask.png"), amount=1.0)
    gain = gen.layer_module("b32.conv1").noise_gain[0, 0]
    assert gain[:, :12].max() < 0.1 and gain[:, 20:].min() > 1.9
    nc.set({})
    assert torch.equal(render(gen), ref)
    with pytest.raises(UserError, match="noise mask"):
        nc.set({}, mask="plaid", amount=1.0)


def test_widescreen_mirror_and_16_9(gen):
    gen.set_widescreen("mirror")
    img = render(gen)
    assert img.shape[-2:] == (32, 64) and gen.output_size == (64, 32)
    b = Bender(gen)  # bending and noise keep working on the wide maps
    b.set_bends({"b16.conv1": {"rotate": 90, "mirror_x": 1}})
    NoiseControl(gen).set({}, mask="radial", amount=1.0)
    assert render(gen).shape[-1] == 64
    gen.set_widescreen("16:9")
    assert render(gen).shape[-2:] == (32, 56) and gen.output_size == (56, 32)
