"""The embedded default model loads offline and paints varied, structured pictures at its native size."""

from __future__ import annotations

import numpy as np
import torch

from vjgan.models.default import DEFAULT_MODEL_PATH, load_default_generator


def grey_gradient(img: torch.Tensor) -> float:
    """Mean |horizontal| + |vertical| grey-level difference in 0..255 units (show_metrics' detail figure)."""
    grey = (img.clamp(-1, 1) + 1).mul(127.5).mean(0)
    return float(grey.diff(dim=0).abs().mean() + grey.diff(dim=1).abs().mean())


def test_default_model_is_small_varied_and_structured():
    assert DEFAULT_MODEL_PATH.stat().st_size <= 20 * 1024 * 1024
    gen = load_default_generator("cpu")
    assert gen.img_resolution == 128 and gen.output_size == (456, 256)  # 16:9 natively, through its head
    ws = torch.from_numpy(gen.seeds_to_ws(list(range(8)))).float()
    with torch.no_grad():
        imgs = gen.synthesis(ws)
    assert imgs.shape == (8, 3, 256, 456) and torch.isfinite(imgs).all()
    for i in range(8):
        assert imgs[i].std(dim=(1, 2)).max() > 0.2  # light and dark, not a flat colour
        # edges: a soft colour field scores < 1 here, the painter's contour bands several units
        assert grey_gradient(imgs[i]) > 2.5, i
    for i in range(8):
        for j in range(i + 1, 8):
            assert (imgs[i] - imgs[j]).abs().mean() > 0.15, (i, j)  # different seeds differ clearly
    # small latent steps make small picture changes (smooth), big ones big changes
    z = torch.from_numpy(np.random.RandomState(7).randn(2, gen.z_dim)).float()
    with torch.no_grad():
        a, b, c = (gen.synthesis(gen.mapping(zz[None])) for zz in (z[0], z[0] + 0.05 * z[1], z[1]))
    assert (a - b).abs().mean() < 0.3 * (a - c).abs().mean()


def test_the_head_paints_what_the_fields_say():
    """Bending the last layer changes the picture (the head follows the network, it paints no fixed image)."""
    from vjgan.models.bending import Bender

    gen = load_default_generator("cpu")
    ws = torch.from_numpy(gen.seeds_to_ws([3])).float()
    bender = Bender(gen)
    with torch.no_grad():
        plain = gen.synthesis(ws)
        bender.set_bends({gen.layer_names[-1]: {"invert": 1.0}})
        bent = gen.synthesis(ws)
    bender.remove()
    assert (plain - bent).abs().mean() > 0.1


def test_the_head_travels_with_the_checkpoint(tmp_path):
    """A saved model paints the same way after loading (the head's settings are in its config), and
    misuse is refused with a clear error."""
    import pytest

    from vjgan.core.errors import UserError
    from vjgan.models.contour_head import ContourHeadConfig
    from vjgan.models.vjgan_format import load_vjgan, save_generator

    gen = load_default_generator("cpu")
    path = save_generator(gen, tmp_path / "copy.safetensors")
    back = load_vjgan(path)
    assert back.config.head == gen.config.head
    ws = torch.from_numpy(gen.seeds_to_ws([5])).float()
    with torch.no_grad():
        assert torch.equal(gen.synthesis(ws), back.synthesis(ws))
    with pytest.raises(UserError, match="natively"):
        back.set_widescreen("16:9")
    with pytest.raises(UserError, match="unknown painting head"):
        ContourHeadConfig.from_dict({"kind": "spiral"})
    with pytest.raises(UserError, match="unknown contour head fields"):
        ContourHeadConfig.from_dict({"kind": "contour", "bandz": 2})
