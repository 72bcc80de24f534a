"""GANSpace on a generator with a known w distribution and on the VAE-GAN; prototype files; `vjgan encode`;
the VAE-GAN under the shared bending / noise hooks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vjgan.cli import main
from vjgan.core.errors import UserError
from vjgan.mapping.ganspace import GanSpace, ganspace
from vjgan.models.base import Generator
from vjgan.models.prototypes import load_prototypes, morph, morph_path, save_prototypes
from vjgan.models.vaegan_data import write_images


class LinearMappingGenerator(Generator):
    """w = A z with A = Q diag(scales): PCA of w must find Q's columns with variances scales²."""

    def __init__(self, scales: list[float], seed: int = 0) -> None:
        super().__init__()
        d = len(scales)
        self.z_dim = self.w_dim = d
        self.num_ws, self.img_resolution = 3, 4
        q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed)))
        self.register_buffer("q", q)
        self.register_buffer("a", q @ torch.diag(torch.tensor(scales)))

    def mapping(self, z, truncation_psi=1.0):
        return (z @ self.a.T)[:, None].repeat(1, self.num_ws, 1)


def test_ganspace_recovers_known_principal_axes():
    scales = [5.0, 3.0, 2.0, 0.5, 0.3, 0.2, 0.1, 0.1]
    g = LinearMappingGenerator(scales)
    gs = ganspace(g, k=3, n_samples=20000)
    assert gs.directions.shape == (3, 8)
    for k in range(3):
        cos = abs(float(np.dot(gs.directions[k], g.q[:, k].numpy())))
        assert cos > 0.99, (k, cos)
    assert gs.explained_variance == pytest.approx(np.square(scales[:3]), rel=0.05)
    total = float(np.square(scales).sum())
    assert gs.explained_variance_ratio == pytest.approx(np.square(scales[:3]) / total, rel=0.05)
    d = gs.latent_direction(0, g.num_ws, layers=(1, 2))
    assert d.shape == (3, 8) and not d[0].any() and not d[2].any()
    assert np.linalg.norm(d[1]) == pytest.approx(gs.std[0], rel=1e-5)


def test_ganspace_on_the_vaegan_and_file_roundtrip(trained, tmp_path):
    m = trained.model
    gs = ganspace(m, k=4, n_samples=2000)
    assert np.allclose(gs.directions @ gs.directions.T, np.eye(4), atol=1e-4)
    assert (np.diff(gs.explained_variance) <= 0).all() and gs.explained_variance_ratio.sum() <= 1.0
    back = GanSpace.load(gs.save(tmp_path / "pcs.npz"))
    assert np.array_equal(back.directions, gs.directions)
    # moving along pc0 by 3σ changes the picture
    with torch.no_grad():
        ws = m.mapping(torch.randn(4, m.z_dim, generator=torch.Generator().manual_seed(0)))
        a = m.synthesis(ws)
        b = m.synthesis(ws + 3 * torch.from_numpy(gs.latent_direction(0, m.num_ws)))
    assert (a - b).abs().mean() > 0.01


def test_prototype_file_roundtrip_merge_and_shape_checks(tmp_path):
    p = tmp_path / "protos.npz"
    a, b = np.zeros((5, 8), np.float32), np.ones((5, 8), np.float32)
    save_prototypes(p, {"a": a})
    save_prototypes(p, {"b": b})  # merged
    got = load_prototypes(p, shape=(5, 8))
    assert set(got) == {"a", "b"} and np.array_equal(got["b"], b)
    assert np.allclose(morph(a, b, 0.25), 0.25)
    assert np.allclose(morph_path([a, b, 2 * b], 0.75), 1.5)
    with pytest.raises(UserError, match="expected \\(6, 8\\)"):
        load_prototypes(p, shape=(6, 8))
    with pytest.raises(UserError, match="different shapes"):
        save_prototypes(p, {"c": np.zeros((6, 8))})
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="cannot read prototypes"):
        load_prototypes(tmp_path / "bad.npz")


def test_encode_command_writes_prototypes_and_directions(trained, tmp_path, capsys):
    red, plain = tmp_path / "red", tmp_path / "plain"
    write_images(trained.train_images[trained.train_has][:20], red)
    write_images(trained.train_images[~trained.train_has][:20], plain)
    out = tmp_path / "protos.npz"
    model = str(trained.out)
    assert main(["encode", str(red), str(plain), "-o", str(out), "--model", model,
                 "--direction", "red", "plain", "--ganspace", "2"]) == 0
    loose = sorted(red.glob("*.png"))[:3]
    assert main(["encode", *map(str, loose), "--name", "three", "-o", str(out), "--model", model]) == 0
    m = trained.model
    got = load_prototypes(out, shape=(m.num_ws, m.w_dim))
    assert set(got) == {"red", "plain", "red-plain", "pc0", "pc1", "three"}
    assert np.allclose(got["red-plain"], got["red"] - got["plain"])
    # bad input: a missing image, a non-image file, no model
    assert main(["encode", str(tmp_path / "nope.png"), "-o", str(out), "--model", model]) == 2
    assert "no such image or folder" in capsys.readouterr().err
    assert main(["encode", str(red), "-o", str(out), "--model", str(tmp_path / "none.safetensors")]) == 2
    assert "not found" in capsys.readouterr().err


def test_bending_and_noise_hooks_drive_the_vaegan(trained):
    from vjgan.models.bending import Bender

    m = trained.model
    ws = m.mapping(torch.randn(1, m.z_dim, generator=torch.Generator().manual_seed(5)))
    with torch.no_grad():
        ref = m.synthesis(ws)
        bender = Bender(m)
        try:
            bender.set_bends({"b16.conv1": {"translate_x": 0.0}})
            assert torch.equal(m.synthesis(ws), ref)  # neutral values are the identity
            # a translate of 1/4 of the b16 map moves features by 4 px there, so 8 px in the 32² output
            bender.set_bends({"b16.conv1": {"translate_x": 0.25}, "b8.conv0": {}})
            shifted = m.synthesis(ws)
        finally:
            bender.remove()
        assert torch.equal(m.synthesis(ws), ref)
    err = [(shifted[..., 10:22, 12 + s : 20 + s] - ref[..., 10:22, 12:20]).abs().mean().item() for s in range(0, 12)]
    assert int(np.argmin(err)) in (7, 8, 9)
    # noise gain buffers exist per layer and change the output when raised (const noise in eval)
    gains = m.noise_gain_buffers()
    assert set(gains) == set(m.layer_names)
    with torch.no_grad():
        for g in gains.values():
            g.fill_(20.0)
        noisy = m.synthesis(ws)
        for g in gains.values():
            g.fill_(1.0)
    assert not torch.equal(noisy, ref)
