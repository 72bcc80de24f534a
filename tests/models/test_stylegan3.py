"""StyleGAN3 (-T and -R): official-structure pickles load safely to identical outputs, convert round trips,
bending hooks every layer, the default preset drives it through the generator thread, bad files are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import wait_for
from tests.models.helpers import (
    render,
    small_generator,
    small_generator3,
    write_official_pickle,
    write_official_sg3_pickle,
)
from vjgan.core.errors import UserError
from vjgan.core.features import Features
from vjgan.core.paths import PRESETS_DIR
from vjgan.mapping.engine import MappingEngine
from vjgan.mapping.presets import load_preset
from vjgan.models.bending import Bender
from vjgan.models.loaders import load_generator
from vjgan.models.runner import GeneratorThread
from vjgan.models.stylegan3 import StyleGAN3Generator
from vjgan.models.vjgan_format import save_generator

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gen_t() -> StyleGAN3Generator:
    return small_generator3(seed=1)


@pytest.fixture(scope="module")
def gen_r() -> StyleGAN3Generator:
    return small_generator3(seed=2, radial=True)


def _same(a: StyleGAN3Generator, b: StyleGAN3Generator) -> None:
    assert a.layer_names == b.layer_names and a.num_ws == b.num_ws
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k, v in sa.items():
        assert torch.equal(sb[k], v), k
    assert torch.equal(render(a), render(b))


@pytest.mark.parametrize("which", ["t", "r"])
def test_official_pickle_loads_identical(which, gen_t, gen_r, tmp_path):
    gen = gen_t if which == "t" else gen_r
    loaded = load_generator(write_official_sg3_pickle(gen, tmp_path / "network-snapshot-000200.pkl"))
    assert isinstance(loaded, StyleGAN3Generator) and loaded.img_resolution == 16
    assert loaded.config.conv_kernel == (1 if which == "r" else 3)
    assert loaded.config.use_radial_filters == (which == "r")
    assert loaded.layer_names[0] == "input" and loaded.layer_names[1].startswith("L0_")
    _same(gen, loaded)
    if which == "r":  # radial filters are 2-D buffers, separable ones 1-D
        assert any(v.ndim == 2 for k, v in loaded.state_dict().items() if k.endswith("down_filter"))


def test_convert_round_trip(gen_t, gen_r, tmp_path):
    for gen, out in ((gen_t, tmp_path / "t.safetensors"), (gen_r, tmp_path / "rdir")):
        save_generator(gen, out)
        back = load_generator(out)
        assert isinstance(back, StyleGAN3Generator) and back.config == gen.config
        _same(gen, back)
    # the CLI: official pickle → vjgan file, checked by the command itself and here
    src = write_official_sg3_pickle(gen_r, tmp_path / "r.pkl")
    res = subprocess.run([sys.executable, "-m", "vjgan.cli", "convert", str(src), str(tmp_path / "r.safetensors")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    _same(gen_r, load_generator(tmp_path / "r.safetensors"))


def test_bends_on_sg3_layers(gen_t):
    """A flip of the Fourier input mirrors that map exactly; a translate by k pixels of a middle layer
    shifts its map by k; each changes the picture; neutral values give the original back."""
    gen = small_generator3(seed=1)
    bender = Bender(gen)
    assert bender.layers == gen.layer_names
    seen: dict[str, torch.Tensor] = {}
    for name in ("input", gen.layer_names[2]):  # registered after the Bender's hooks: sees the bent map
        gen.layer_module(name).register_forward_hook(lambda m, i, o, n=name: seen.__setitem__(n, o.clone()))
    base = render(gen)
    plain = dict(seen)
    bender.set_bends({"input": {"flip_x": 1.0}})
    flipped = render(gen)
    assert torch.allclose(seen["input"], plain["input"].flip(-1), atol=1e-5)
    assert (flipped - base).abs().max() > 1e-3
    layer = gen.layer_names[2]
    w = plain[layer].shape[-1]
    k = 3
    bender.set_bends({layer: {"translate_x": k / w}})
    shifted = render(gen)
    assert torch.allclose(seen[layer][..., k:], plain[layer][..., :-k], atol=1e-4)
    assert (shifted - base).abs().max() > 1e-3
    bender.set_bends({})
    assert torch.allclose(render(gen), base, atol=1e-5)  # kinds stay on: identity up to rounding


def test_default_preset_drives_sg3_through_the_generator_thread(gen_t):
    """The shipped preset's punch on every onset (bend.#1.zoom → layer L0) drives SG3; noise strengths arrive
    and are no-ops (SG3 has no noise inputs)."""
    gen = small_generator3(seed=1)
    engine = MappingEngine(gen, load_preset(PRESETS_DIR / "default.toml"), watch=False)
    th = GeneratorThread(gen).start()
    try:
        th.set_noise_mode("random")  # accepted, changes nothing on SG3
        images = []
        for i in range(6):
            hit = i % 3 == 0
            feats = Features(time=i / 30, kick=1.0 if hit else 0.1, kick_event=hit, kick_count=i // 3 + 1,
                             onset=1.0 if hit else 0.1, onset_event=hit, onset_count=i // 3 + 1,
                             snare_event=i == 4, snare_count=int(i >= 4), rms_smooth=0.3)
            params = engine.step(feats, now=i / 30).generator
            assert params.latent.shape == (gen.num_ws, gen.w_dim)
            th.submit(params)
            assert wait_for(lambda seq=params.seq: th.latest() is not None and th.latest().seq == seq)
            images.append(th.latest().image.numpy().tobytes())
        assert th.stats.errors == 0, th.stats.last_error
        assert params.noise_strength and set(params.noise_strength) <= set(gen.layer_names)  # arrive, no-ops
        assert gen.layer_names[1] in params.bends and "zoom" in params.bends[gen.layer_names[1]]  # bend.#1 → L0
        assert len(set(images)) > 1  # the music moves the picture
        assert th.latest().image.shape == (16, 16, 4) and th.latest().image.dtype == torch.uint8
        th.set_widescreen("16:9")
        assert wait_for(lambda: th.latest().image.shape == (16, 28, 4))
        assert th.stats.errors == 0, th.stats.last_error
    finally:
        th.stop()


def test_widescreen_extends_the_canvas(gen_t):
    gen = small_generator3(seed=1)
    z = torch.from_numpy(np.random.RandomState(0).randn(1, gen.z_dim)).float()
    with torch.no_grad():
        square = gen(z)
        gen.set_widescreen("mirror")
        wide = gen(z)
        gen.set_widescreen(None)
        again = gen(z)
    assert wide.shape[-2:] == (16, 32) and gen.output_size == (16, 16)
    # the canvas continues sideways: the middle of the wide picture is the square picture
    assert torch.allclose(wide[..., 8:24], square, atol=1e-3)
    assert (wide[..., :16] - square).abs().max() > 1e-2  # (the left half is different content)
    assert torch.equal(again, square)
    with pytest.raises(UserError, match="widescreen"):
        gen.set_widescreen("ultra")


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


BAD = {
    "truncated": (lambda g, p: _truncate(write_official_sg3_pickle(g, p)), "truncated|ends early"),
    "wrong channel_max": (lambda g, p: write_official_sg3_pickle(
        g, p, init_kwargs=_kwargs(g, channel_max=8)), "differ"),
    "unknown option": (lambda g, p: write_official_sg3_pickle(
        g, p, init_kwargs=_kwargs(g, use_fancy_layers=True)), "unsupported StyleGAN3 options.*use_fancy_layers"),
    "changed padding": (lambda g, p: write_official_sg3_pickle(
        g, p, extra_state=lambda o: {"padding": [0, 0, 0, 0]} if getattr(o, "spec", None) is not None else {}),
        "padding"),
    "wrong resolution": (lambda g, p: write_official_sg3_pickle(
        g, p, init_kwargs=_kwargs(g, img_resolution=24)), "power of two"),
}


def _kwargs(g: StyleGAN3Generator, **changes) -> dict:
    from tests.models.helpers import official_sg3_init_kwargs

    class Util:
        EasyDict = dict

    return official_sg3_init_kwargs(g, Util) | changes


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sg3_pickles_give_user_errors(gen_t, tmp_path, case):
    make, pattern = BAD[case]
    path = make(gen_t, tmp_path / "bad.pkl")
    with pytest.raises(UserError, match=pattern) as info:
        load_generator(path)
    assert "bad.pkl" in str(info.value)


def test_sg3_weights_missing_refused(gen_t, tmp_path):
    gen = small_generator3(seed=1)
    del gen.synthesis_network.input.freqs  # a network whose state lacks a buffer
    gen.synthesis_network.input.register_buffer("freqs", None)
    with pytest.raises(UserError, match="do not fit|missing"):
        load_generator(write_official_sg3_pickle(gen, tmp_path / "partial.pkl"))


@pytest.mark.parametrize("payload", [
    b"cnumpy\nndarray\n(I5\ntR.",  # the ndarray token called like a class
    b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nccollections\nOrderedDict\n(I0\ntU\x01b\x87R.",  # other subtype
    b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n(I7\ntU\x01b\x87R.",  # non-empty shape
])
def test_numpy_array_allowlist_is_narrow(tmp_path, payload):
    """SG3 pickles need numpy arrays; the door opened for them admits nothing else."""
    path = tmp_path / "np.pkl"
    path.write_bytes(payload)
    with pytest.raises(UserError, match="np.pkl"):
        load_generator(path)


def test_stylegan2_pickle_from_the_stylegan3_repo_flat_kwargs(tmp_path):
    """The stylegan3 repo stores StyleGAN2 synthesis kwargs flat: a non-default channel_base must be read."""
    g = small_generator(seed=5, channel_base=128, channel_max=16)
    loaded = load_generator(write_official_pickle(g, tmp_path / "sg2.pkl", flat_kwargs=True))
    assert loaded.config.channel_base == 128 and loaded.config.channel_max == 16
    assert torch.equal(render(loaded), render(g))


def test_changing_a_filter_in_place_changes_the_picture():
    """The resampling matrices are cached per filter contents: a filter edited after a forward (in place,
    as load_state_dict does) is used at the next frame, and restoring it restores the picture exactly."""
    gen = small_generator3(seed=3)
    before = render(gen)
    f = dict(gen.named_buffers())[f"synthesis.{gen.layer_names[1]}.up_filter"]
    keep = f.clone()
    with torch.no_grad():
        f.mul_(0.5)
    assert not torch.equal(render(gen), before)
    with torch.no_grad():
        f.copy_(keep)
    assert torch.equal(render(gen), before)
