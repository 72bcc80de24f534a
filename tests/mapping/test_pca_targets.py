"""GANSpace components as mapping targets (`latent.pca.<i>`): computed off the render thread on first
use, driven by routes, saved in presets; and a VAE-GAN's encoder layers as bend targets."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.mapping.test_signals import engine_for, write
from vjgan.core.errors import UserError
from vjgan.core.features import Features
from vjgan.mapping.engine import MappingEngine
from vjgan.mapping.ganspace import ganspace
from vjgan.mapping.pca import PCA_SAMPLES, PCA_SEED
from vjgan.mapping.presets import load_preset

PRESET = """
[latents]
seeds = [3]
[targets]
"latent.pca.0" = 2.0
[[routes]]
source = "rms"
target = "latent.pca.1"
gain = 4.0
"""


def _wait_pca(eng: MappingEngine, timeout: float = 20.0) -> None:
    end = time.perf_counter() + timeout
    while eng.pca.directions is None and time.perf_counter() < end:
        eng.step(Features(), now=None)  # the render loop goes on while the worker computes
        time.sleep(0.005)
    assert eng.pca.directions is not None, eng.pca.error


def test_pca_targets_follow_base_values_and_routes(tmp_path: Path, gen, effects) -> None:
    eng = engine_for(tmp_path, gen, effects, PRESET)
    assert eng.uses_pca()
    assert "/vjgan/target/latent.pca.7" in {p.address for p in eng.registry.params()}
    base = gen.seeds_to_ws([3])[0]
    first = eng.step(Features(), now=0.0)
    np.testing.assert_array_equal(first.generator.latent, base)  # not computed yet: nothing added, no wait
    done: list = []
    eng.on_pca.append(done.append)
    _wait_pca(eng)
    assert len(done) == 1 and done[0].directions is not None

    gs = ganspace(gen, k=8, n_samples=PCA_SAMPLES, seed=PCA_SEED, batch=500)  # same seed: same components
    d0, d1 = gs.latent_direction(0, gen.num_ws), gs.latent_direction(1, gen.num_ws)
    fp = eng.step(Features(rms=0.25), now=10.0)
    np.testing.assert_allclose(fp.generator.latent, base + 2.0 * d0 + 1.0 * d1, atol=1e-5)
    np.testing.assert_allclose(fp.latent_offset, 2.0 * d0 + 1.0 * d1, atol=1e-5)

    # the panel / OSC move a base value through the registry; saving writes it to [targets]
    _, apply, value, _ = eng.registry.resolve("/vjgan/target/latent.pca.0", -1.5)
    apply(value)
    fp = eng.step(Features(rms=0.0), now=10.1)
    np.testing.assert_allclose(fp.generator.latent, base - 1.5 * d0, atol=1e-5)
    saved = eng.save(str(tmp_path / "saved.toml"))
    again = MappingEngine(gen, load_preset(saved, effects), effects=effects)
    again.pca.compute_now()  # what an offline render does before frame 0
    np.testing.assert_allclose(again.step(Features(rms=0.0), now=0.0).generator.latent, fp.generator.latent,
                               atol=1e-5)


def test_unknown_pca_component_is_a_preset_error(tmp_path: Path, gen, effects) -> None:
    path = write(tmp_path, '[targets]\n"latent.pca.8" = 1.0\n')
    with pytest.raises(UserError, match=r"latent\.pca\.8.*latent\.pca\.0 \.\. latent\.pca\.7"):
        load_preset(path, effects)


def test_encoder_layers_are_bend_targets_for_the_encoder_only(tmp_path: Path, effects) -> None:
    from tests.vaegan.conftest import tiny_config
    from vjgan.models.vaegan import VaeGan

    model = VaeGan(tiny_config()).eval()
    eng = engine_for(tmp_path, model, effects, """
[targets]
"bend.enc.down16.zoom" = 1.5
"bend.#0.rotate" = 10.0
""")
    fp = eng.step(Features(), now=0.0)
    assert fp.generator.encoder_bends == {"enc.down16": {"zoom": 1.5}}
    assert fp.generator.bends == {model.layer_names[0]: {"rotate": 10.0}}
    names = eng.target_names()
    assert "bend.enc.fromrgb.flip_x" in names and "noise.enc.fromrgb" not in names
    with pytest.raises(UserError, match="unknown layer 'enc.nope'"):
        engine_for(tmp_path, model, effects, '[targets]\n"bend.enc.nope.zoom" = 1.5\n')
