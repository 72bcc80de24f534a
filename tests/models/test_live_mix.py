"""Model mixing as a live target (models/live_mix.py): the generator thread blends its weights toward a
second checkpoint by `GeneratorParams.model_mix`, per frame, with rewrites kept on top."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.models.test_mixing import _variant
from vjgan.core.errors import UserError
from vjgan.core.frame import GeneratorParams
from vjgan.models.default import load_default_generator
from vjgan.models.live_mix import ModelMix
from vjgan.models.loaders import load_generator
from vjgan.models.mixing import layer_resolution, mix_generators, parse_layers
from vjgan.models.runner import GeneratorThread, mix_state_for
from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from vjgan.models.vjgan_format import save_generator


@pytest.fixture(scope="module")
def b_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _variant(tmp_path_factory.mktemp("mix"))


def _params(g, mix: float, seq: int, rewrite: dict[str, float] | None = None) -> GeneratorParams:
    latent = g.seeds_to_ws([5])[0]
    return GeneratorParams(latent=latent, model_mix=mix, seq=seq, rewrite=rewrite or {})


def _frame(th: GeneratorThread, params: GeneratorParams) -> np.ndarray:
    return np.asarray(th.render(params).image, dtype=np.int16)


def test_the_ends_are_the_two_models_and_zero_is_exact(b_path: Path) -> None:
    a = load_default_generator()
    a_state = {k: v.clone() for k, v in a.state_dict().items()}
    th = GeneratorThread(a)
    th.set_mix_model(str(b_path))
    own = GeneratorThread(load_default_generator())
    other = GeneratorThread(load_generator(b_path))
    at_a, at_b = _frame(own, _params(a, 0.0, 1)), _frame(other, _params(a, 0.0, 1))
    assert np.abs(at_a - at_b).mean() > 5  # the two models paint differently

    assert (_frame(th, _params(a, 1.0, 2)) == at_b).mean() > 0.99  # B (up to float rounding of a + (b - a))
    assert np.abs(_frame(th, _params(a, 1.0, 2)) - at_b).max() <= 2
    half = _frame(th, _params(a, 0.5, 3))
    assert 2 < np.abs(half - at_a).mean() and 2 < np.abs(half - at_b).mean()
    assert (_frame(th, _params(a, 0.0, 4)) == at_a).all()  # back to A, bit for bit
    assert all(torch.equal(v, a_state[k]) for k, v in a.state_dict().items())
    # the mapping network stays A's, so the same seeds mean the same latents
    assert torch.equal(torch.as_tensor(a.seeds_to_ws([5])), torch.as_tensor(load_default_generator().seeds_to_ws([5])))


def test_layers_pick_which_resolutions_move(b_path: Path) -> None:
    a, b = load_default_generator(), load_generator(b_path)
    mix = ModelMix(a, b.state_dict(), parse_layers("4-16=0,32-128=1"))
    mix.set(1.0)
    want = mix_generators(load_default_generator(), b, parse_layers("4-16=0,32-128=1"), t=1.0).state_dict()
    for key, v in a.state_dict().items():
        res = layer_resolution(key)
        if res is not None and res <= 16 or res is None:
            assert torch.equal(v, want[key]), key  # A's
        else:
            assert torch.allclose(v, want[key], atol=1e-6), key  # B's


def test_rewrites_stay_on_top_of_the_mix_and_both_undo_exactly(b_path: Path) -> None:
    a = load_default_generator()
    a_state = {k: v.clone() for k, v in a.state_dict().items()}
    th = GeneratorThread(a)
    th.set_mix_model(str(b_path))
    layer = a.layer_names[3]
    ref = GeneratorThread(load_generator(b_path))
    rewritten_b = _frame(ref, _params(a, 0.0, 1, {layer: 2.5}))  # B with the rewrite
    _frame(th, _params(a, 0.0, 1, {layer: 2.5}))  # rewrite first, then the mix moves under it
    assert np.abs(_frame(th, _params(a, 1.0, 2, {layer: 2.5})) - rewritten_b).max() <= 2
    _frame(th, _params(a, 0.0, 3))
    assert all(torch.equal(v, a_state[k]) for k, v in a.state_dict().items())


def test_a_mix_model_set_while_a_rewrite_is_on_keeps_the_models_own_weights(b_path: Path) -> None:
    a = load_default_generator()
    a_state = {k: v.clone() for k, v in a.state_dict().items()}
    th = GeneratorThread(a)
    layer = a.layer_names[2]
    _frame(th, _params(a, 0.0, 1, {layer: 3.0}))  # rewritten before the mix model arrives
    th.set_mix_model(str(b_path))
    with_rewrite = _frame(th, _params(a, 0.0, 2, {layer: 3.0}))
    assert (with_rewrite == _frame(GeneratorThread(load_default_generator()), _params(a, 0.0, 1, {layer: 3.0}))).all()
    _frame(th, _params(a, 1.0, 3, {layer: 3.0}))  # the mix moves, rewrite on; then both back
    _frame(th, _params(a, 0.0, 4))
    assert all(torch.equal(v, a_state[k]) for k, v in a.state_dict().items())  # A, not A-with-rewrite


def test_another_architecture_is_a_clear_error(tmp_path: Path, b_path: Path) -> None:
    small = save_generator(StyleGAN2Generator(StyleGAN2Config(img_resolution=32, z_dim=64, w_dim=64,
                                                               channel_base=256, channel_max=64)),
                           tmp_path / "small.safetensors")  # fmt: skip
    with pytest.raises(UserError, match="architecture"):
        mix_state_for(str(small), load_default_generator())
    with pytest.raises(UserError, match="without weights"):
        mix_state_for("procedural", load_default_generator())
    th = GeneratorThread(load_default_generator())
    th.set_mix_model(str(small))  # at run time: reported, the show goes on unmixed
    assert "architecture" in th.stats.last_error and th.mix is None
    assert th.render(_params(th.generator, 1.0, 1)).image is not None
