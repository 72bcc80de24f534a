"""The embedded default model loads offline and draws varied pictures at its native size."""

from __future__ import annotations

import numpy as np
import torch

from vjgan.models.default import DEFAULT_MODEL_PATH, load_default_generator


def test_default_model_is_small_and_varied():
    assert DEFAULT_MODEL_PATH.stat().st_size <= 20 * 1024 * 1024
    gen = load_default_generator("cpu")
    assert gen.img_resolution == 128
    ws = torch.from_numpy(gen.seeds_to_ws([0, 1, 2, 3])).float()
    with torch.no_grad():
        imgs = gen.synthesis(ws)
    assert imgs.shape == (4, 3, 128, 128) and torch.isfinite(imgs).all()
    for i in range(4):
        assert imgs[i].std() > 0.1  # not a flat colour
        assert imgs[i].std(dim=(1, 2)).max() > 0.1
    for i in range(4):
        for j in range(i + 1, 4):
            assert (imgs[i] - imgs[j]).abs().mean() > 0.1, (i, j)  # different seeds differ clearly
    # small latent steps make small picture changes (smooth), big ones big changes
    z = torch.from_numpy(np.random.RandomState(7).randn(2, gen.z_dim)).float()
    with torch.no_grad():
        a, b, c = (gen.synthesis(gen.mapping(zz[None])) for zz in (z[0], z[0] + 0.05 * z[1], z[1]))
    assert (a - b).abs().mean() < 0.3 * (a - c).abs().mean()
