"""Every checkpoint format loads into our generator with identical outputs; bad files get clear errors."""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.models.helpers import (
    render,
    rosinality_state,
    small_generator,
    small_generator3,
    write_official_pickle,
    write_official_sg3_pickle,
)
from vjgan.core.errors import UserError
from vjgan.models.loaders import load_generator
from vjgan.models.vjgan_format import save_generator

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gen():
    return small_generator(seed=1)


def test_official_pickle_identical_outputs(gen, tmp_path):
    path = write_official_pickle(gen, tmp_path / "network-snapshot-000100.pkl")
    loaded = load_generator(path)
    assert loaded.img_resolution == 32 and loaded.num_ws == gen.num_ws
    assert torch.equal(render(loaded), render(gen))
    for k, v in gen.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


def test_official_conditional_and_fp16_config(tmp_path):
    g = small_generator(seed=2, c_dim=3, num_fp16_res=2, conv_clamp=256.0)
    loaded = load_generator(write_official_pickle(g, tmp_path / "cond.pkl"))
    assert loaded.c_dim == 3 and loaded.config.num_fp16_res == 2 and loaded.config.conv_clamp == 256.0
    assert torch.equal(render(loaded), render(g))


def test_rosinality_identical_outputs(gen, tmp_path):
    path = tmp_path / "550000.pt"
    torch.save({"g_ema": rosinality_state(gen), "latent_avg": gen.w_avg.clone(),
                "args": argparse.Namespace(size=32, latent=16, n_mlp=2)}, path)
    loaded = load_generator(path)
    assert torch.equal(render(loaded), render(gen))


def test_rosinality_without_latent_avg_estimates_it(gen, tmp_path):
    path = tmp_path / "g.pt"
    torch.save({"g_ema": rosinality_state(gen)}, path)
    loaded = load_generator(path)
    ref = small_generator(seed=1)
    ref.compute_w_avg()
    assert torch.allclose(loaded.w_avg, ref.w_avg)


def test_safetensors_file_and_dir_identical(gen, tmp_path):
    for out in (tmp_path / "m.safetensors", tmp_path / "mdir"):
        save_generator(gen, out)
        assert torch.equal(render(load_generator(out)), render(gen))


def test_malicious_pickle_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": Evil()}))
    with pytest.raises(UserError, match="refused.*system"):
        load_generator(path)
    assert not marker.exists()


def test_malicious_object_hidden_inside_network_refused(gen, tmp_path):
    marker = tmp_path / "pwned2"

    class Evil:
        def __reduce__(self):
            return (eval, (f"open({str(marker)!r}, 'w')",))

    path = write_official_pickle(gen, tmp_path / "trojan.pkl", extra_modules={"augment_pipe": Evil()})
    with pytest.raises(UserError, match="refused"):
        load_generator(path)
    assert not marker.exists()


def test_stylegan3_pickle_loads(tmp_path):
    """StyleGAN3 pickles used to be refused; now they load (details in test_stylegan3.py)."""
    g = small_generator3(seed=3)
    loaded = load_generator(write_official_sg3_pickle(g, tmp_path / "sg3.pkl"))
    assert type(loaded).__name__ == "StyleGAN3Generator"
    assert torch.equal(render(loaded), render(g))


def test_unsupported_class_refused(gen, tmp_path):
    path = write_official_pickle(gen, tmp_path / "d.pkl", class_names={id(gen): "Discriminator"})
    with pytest.raises(UserError, match="unsupported architecture"):
        load_generator(path)


@pytest.mark.parametrize("case", ["truncated_pickle", "garbage", "empty", "truncated_pt", "bad_safetensors",
                                  "no_g_ema", "plain_torch_zip", "missing"])
def test_bad_files_give_user_errors(gen, tmp_path, case):
    p = tmp_path / "bad.bin"
    if case == "truncated_pickle":
        good = write_official_pickle(gen, tmp_path / "good.pkl").read_bytes()
        p.write_bytes(good[: len(good) // 2])
    elif case == "garbage":
        p.write_bytes(os.urandom(4096))
    elif case == "empty":
        p.write_bytes(b"")
    elif case == "truncated_pt":
        torch.save({"g_ema": rosinality_state(gen)}, tmp_path / "g.pt")
        data = (tmp_path / "g.pt").read_bytes()
        p.write_bytes(data[: len(data) // 2])
    elif case == "bad_safetensors":
        save_generator(gen, tmp_path / "m.safetensors")
        data = (tmp_path / "m.safetensors").read_bytes()
        p.write_bytes(data[:200])
    elif case == "no_g_ema":
        p.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    elif case == "plain_torch_zip":
        torch.save({"model": {"w": torch.zeros(2)}}, p)
    elif case == "missing":
        p = tmp_path / "nope.pkl"
    with pytest.raises(UserError):
        load_generator(p)


def test_wrong_resolution(gen, tmp_path):
    out = save_generator(gen, tmp_path / "mdir")
    with pytest.raises(UserError, match="32"):
        load_generator(out, expect_resolution=64)
    cfg = (out / "config.json").read_text().replace('"img_resolution": 32', '"img_resolution": 64')
    (out / "config.json").write_text(cfg)
    with pytest.raises(UserError, match="architecture|shape"):
        load_generator(out)
    (out / "config.json").write_text(cfg.replace('"img_resolution": 64', '"img_resolution": 48'))
    with pytest.raises(UserError, match="power of two"):
        load_generator(out)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vjgan.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_convert_cli_round_trip(gen, tmp_path):
    src = write_official_pickle(gen, tmp_path / "net.pkl")
    out = tmp_path / "net.safetensors"
    res = _cli("convert", str(src), str(out))
    assert res.returncode == 0, res.stderr
    assert torch.equal(render(load_generator(out)), render(gen))
    res = _cli("convert", str(src), str(out))  # exists → refused unless --force
    assert res.returncode == 2 and "--force" in res.stderr
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"\x80\x04garbage")
    res = _cli("convert", str(bad), str(tmp_path / "x.safetensors"))
    assert res.returncode == 2 and "bad.pkl" in res.stderr and "Traceback" not in res.stderr


def test_a_model_spec_means_the_same_network_in_every_command(gen, tmp_path):
    """live, render, mix, project and the live mix all read --model through load_model / load_network."""
    from vjgan.models.default import DEFAULT_MODEL_PATH
    from vjgan.models.loaders import load_model, load_network
    from vjgan.models.procedural import ProceduralGenerator

    path = save_generator(gen, tmp_path / "g.safetensors")
    assert torch.equal(render(load_model(str(path))), render(gen))
    default = load_generator(DEFAULT_MODEL_PATH)
    for spec in (None, "", "default"):
        assert torch.equal(render(load_model(spec)), render(default))
        assert torch.equal(render(load_network(spec, "test")), render(default))
    assert isinstance(load_model("procedural"), ProceduralGenerator)
    with pytest.raises(UserError, match="'procedural' is a painter without weights"):
        load_network("procedural", "vjgan mix A")


@pytest.mark.parametrize("argv", [["mix", "procedural", "default", "-o", "{tmp}/m.safetensors"],
                                  ["project", "{img}", "--model", "procedural", "-o", "{tmp}/p.npz"]])
def test_commands_that_need_weights_refuse_procedural_by_name(tmp_path, argv):
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 30, 30)).save(tmp_path / "r.png")
    args = [a.format(tmp=tmp_path, img=tmp_path / "r.png") for a in argv]
    run = subprocess.run([sys.executable, "-m", "vjgan.cli", *args], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "without weights" in run.stderr and "Traceback" not in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.png"]
