"""StyleGAN2 training (`vjgan train --arch stylegan2`) on real wallpaper crops at 32², tiny networks.

Properties with margin, not values of one float path: losses stay finite and near the logistic
balance (log 4 ≈ 1.39 for D; a collapsed or diverged run leaves that range by orders of magnitude),
the checkpoint loads and renders, resume continues from the saved step (and, on one machine, the
same trajectory as a run that never stopped), and an absurd learning rate is caught by the guard
without touching the last good checkpoint.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from tests.vaegan.wallpapers import wallpaper_crops
from vjgan.cli import main
from vjgan.core.errors import UserError
from vjgan.models.diffaugment import diff_augment
from vjgan.models.loaders import load_generator
from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from vjgan.models.stylegan2_disc import StyleGAN2Discriminator
from vjgan.models.stylegan2_train import MODEL_FILE, STATE_FILE, SG2TrainConfig, SG2Trainer
from vjgan.models.train_guard import DivergenceError
from vjgan.models.vaegan_data import load_image_folder

RES = 32


def tiny() -> StyleGAN2Config:
    return StyleGAN2Config(z_dim=64, w_dim=64, img_resolution=RES, channel_base=1024, channel_max=64,
                           mapping_layers=2)


def tcfg(**kw) -> SG2TrainConfig:
    return SG2TrainConfig(**{"batch": 8, "r1_every": 4, "snap": 10, **kw})


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    folder, _, _ = wallpaper_crops(128, 0, tmp_path_factory.mktemp("crops"), RES, seed=5)
    return folder


@pytest.fixture(scope="module")
def photos(crops):
    return load_image_folder(crops, RES, progress=False)


def digest(out) -> dict[str, str]:
    return {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in (MODEL_FILE, STATE_FILE)}


def test_discriminator_and_augmentation_shapes_and_gradients():
    D = StyleGAN2Discriminator(tiny())
    x = torch.randn(6, 3, RES, RES, requires_grad=True)  # 6: not a multiple of the stddev group
    y = diff_augment(x)
    assert y.shape == x.shape
    logits = D(y)
    assert logits.shape == (6,) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # augmentation is differentiable


def test_training_on_wallpapers_keeps_losses_bounded_and_the_model_renders(photos, tmp_path):
    out = tmp_path / "run"
    result = SG2Trainer(photos, out, tiny(), tcfg(max_steps=40), progress=False).run()
    assert result.steps == 40 and result.rollbacks == 0 and len(result.history) == 40
    d = np.array([h["d"] for h in result.history])
    g = np.array([h["g"] for h in result.history])
    print(f"d {d.min():.3f}..{d.max():.3f}, g {g.min():.3f}..{g.max():.3f}, {result.s_per_step:.3f} s/step")
    assert all(math.isfinite(v) for h in result.history for v in h.values())
    assert 0.2 < d.min() and d.max() < 5 and g.max() < 10  # logistic balance is log 4 ≈ 1.39 / log 2 ≈ 0.69
    assert (out / "samples" / "step_000040.png").is_file()
    gen = load_generator(out / MODEL_FILE)
    assert isinstance(gen, StyleGAN2Generator) and gen.img_resolution == RES
    with torch.no_grad():
        img = gen(torch.randn(2, gen.z_dim))
    assert img.shape == (2, 3, RES, RES) and torch.isfinite(img).all() and img.std() > 1e-3


def test_resume_continues_from_the_same_step_and_trajectory(photos, tmp_path):
    straight = SG2Trainer(photos, tmp_path / "a", tiny(), tcfg(max_steps=14), progress=False)
    straight.run()
    SG2Trainer(photos, tmp_path / "b", tiny(), tcfg(max_steps=10), progress=False).run()
    resumed = SG2Trainer(photos, tmp_path / "b", cfg=tcfg(max_steps=14), resume=True, progress=False)
    assert resumed.step == 10
    result = resumed.run()
    assert result.steps == 14 and len(result.history) == 4
    # same RNG, optimiser and guard state: the same steps as the run that never stopped
    for (k, a), b in zip(straight.G_ema.state_dict().items(), resumed.G_ema.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-3), k


def test_forced_divergence_is_caught_and_the_last_good_checkpoint_survives(photos, tmp_path):
    out = tmp_path / "run"
    SG2Trainer(photos, out, tiny(), tcfg(max_steps=20), progress=False).run()  # guard warmed up (20 steps)
    good = digest(out)
    absurd = SG2Trainer(photos, out, cfg=tcfg(max_steps=40, lr=1e4), resume=True, progress=False,
                        override=("lr",))
    with pytest.raises(DivergenceError, match=r"diverged at step \d+ .*last good checkpoint \(step 20\)"):
        absurd.run()
    assert absurd.rollbacks == absurd.cfg.max_rollbacks + 1
    assert digest(out) == good
    gen = load_generator(out / MODEL_FILE)
    with torch.no_grad():
        assert torch.isfinite(gen(torch.randn(2, gen.z_dim))).all()
    again = SG2Trainer(photos, out, cfg=tcfg(max_steps=22), resume=True, progress=False)
    assert again.step == 20 and again.run().steps == 22


def test_fine_tuning_starts_from_the_checkpoint_and_needs_its_resolution(photos, tmp_path):
    src = StyleGAN2Generator(tiny())
    from vjgan.models.vjgan_format import save_generator

    path = save_generator(src, tmp_path / "src.safetensors")
    t = SG2Trainer(photos, tmp_path / "ft", cfg=tcfg(max_steps=2), init_from=path, progress=False)
    for k, v in src.state_dict().items():
        assert torch.equal(t.G_ema.state_dict()[k], v), k
    assert t.run().steps == 2
    big = save_generator(StyleGAN2Generator(StyleGAN2Config(**{**tiny().to_dict(), "img_resolution": 64,
                                                               "channels": {}, "resample_filter": (1, 3, 3, 1)})),
                         tmp_path / "big.safetensors")
    with pytest.raises(UserError, match="64"):
        SG2Trainer(photos, tmp_path / "ft2", cfg=tcfg(), init_from=big, progress=False)


def test_cli_trains_resumes_and_refuses_bad_input(crops, tmp_path):
    out = tmp_path / "cli"
    common = ["train", "--arch", "stylegan2", "--images", str(crops), "--res", "32", "--out", str(out),
              "--batch", "8", "--channel-base", "1024", "--channel-max", "64", "--w-dim", "64", "--snap", "2"]
    assert main([*common, "--max-steps", "2"]) == 0
    assert load_generator(out / MODEL_FILE).img_resolution == RES
    assert main([*common, "--max-steps", "2"]) == 2  # already holds a model: needs --resume
    assert main([*common, "--max-steps", "3", "--resume"]) == 0
    assert (out / "samples" / "step_000003.png").is_file()
    assert main([*common, "--max-steps", "3", "--resume", "--from", str(out / MODEL_FILE)]) == 2
    assert main([*common[:-2], "--augment", "rotate", "--out", str(tmp_path / "x")]) == 2


def test_the_trained_checkpoint_plays_in_vjgan_live_headless(photos, tmp_path):
    """What a VJ does next: perform with it (the real CLI in a subprocess, a file as audio)."""
    SG2Trainer(photos, tmp_path / "run", tiny(), tcfg(max_steps=4), progress=False).run()
    t = np.arange(44100) / 44100
    sf.write(tmp_path / "a.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 44100)
    cmd = [sys.executable, "-m", "vjgan.cli", "live", "--headless", "--frames", "5", "--out", str(tmp_path / "f"),
           "--audio", str(tmp_path / "a.wav"), "--model", str(tmp_path / "run" / MODEL_FILE), "--size", "128x72"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr[-3000:]
    frames = sorted((tmp_path / "f").glob("frame_*.png"))
    assert len(frames) == 5
    first = np.asarray(Image.open(frames[0]))
    assert first.shape == (72, 128, 3) and first.std() > 1  # the model's picture, not a blank frame
