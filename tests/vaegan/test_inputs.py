"""Bad input to `vjgan train`: clear errors or notes, and an interrupted run that resumes."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from tests.vaegan.conftest import RES, tiny_train_config
from vjgan.cli import main
from vjgan.models.vaegan_data import MIN_IMAGES, load_image_folder, make_shapes, write_images
from vjgan.models.vaegan_train import Trainer


def test_empty_folder_is_a_clear_error(tmp_path, capsys):
    rc = main(["train", "--images", str(tmp_path), "--res", "32", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "no images in" in err and str(tmp_path) in err


def test_missing_folder_and_bad_resolution(tmp_path, capsys):
    assert main(["train", "--images", str(tmp_path / "nope"), "--res", "32"]) == 2
    assert "image folder not found" in capsys.readouterr().err
    assert main(["train", "--images", str(tmp_path), "--res", "100"]) == 2
    assert "power of two" in capsys.readouterr().err


def test_too_few_images_names_the_minimum(tmp_path, capsys):
    imgs, _ = make_shapes(MIN_IMAGES - 1, RES, seed=1)
    write_images(imgs, tmp_path)
    rc = main(["train", "--images", str(tmp_path), "--res", "32", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and f"only {MIN_IMAGES - 1} usable" in err and f"at least {MIN_IMAGES}" in err


def test_unreadable_skipped_and_mixed_sizes_resized_with_a_note(tmp_path, caplog):
    imgs, _ = make_shapes(MIN_IMAGES, 48, seed=2)
    write_images(imgs, tmp_path)
    Image.fromarray(imgs[0]).resize((80, 60)).save(tmp_path / "wide.jpg")  # other size and aspect
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (tmp_path / "notes.txt").write_text("ignored: not an image extension")
    with caplog.at_level(logging.INFO):
        data = load_image_folder(tmp_path, RES, progress=False)
    assert data.shape == (MIN_IMAGES + 1, 3, RES, RES) and data.dtype == torch.uint8
    text = caplog.text
    assert "skipped 1 unreadable image" in text and "broken.png" in text
    assert f"were not {RES}×{RES}" in text and "resized" in text


def test_existing_output_needs_resume(tmp_path, capsys, shapes):
    folder, _, _ = shapes
    (tmp_path / "model.safetensors").write_bytes(b"x")
    assert main(["train", "--images", str(folder), "--res", "32", "--out", str(tmp_path)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--images", str(folder), "--res", "32", "--out", str(tmp_path / "new"), "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_training_resumes_from_its_checkpoint(tmp_path, shapes, sig):
    """A real Ctrl-C (SIGINT) or `kill` (SIGTERM) to a running `vjgan train`: it saves a checkpoint, exits
    130, and resumes."""
    folder = tmp_path / "images"
    write_images(shapes[1][:32], folder)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "vjgan.cli", "train", "--images", str(folder), "--res", "32", "--out", str(out),
           "--batch", "16", "--epochs", "100000", "--channel-base", "128", "--no-flip"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        # a fresh run writes a step-0 checkpoint (to roll back to) at once: wait for the first epoch's samples
        first_epoch = out / "samples" / "epoch_0001.png"
        while not first_epoch.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "--resume" in err
    data = load_image_folder(folder, RES, progress=False)
    resumed = Trainer(data, out, None, tiny_train_config(epochs=100000), resume=True, progress=False)
    stopped_at = resumed.step
    assert stopped_at >= 2  # at least the first epoch (2 steps) was done
    resumed.cfg.max_steps = stopped_at + 2
    result = resumed.run()
    assert result.steps == stopped_at + 2


def test_train_command_end_to_end_and_resume(tmp_path, shapes, capsys):
    folder = tmp_path / "images"
    write_images(shapes[1][:32], folder)
    out = tmp_path / "cli"
    args = ["train", "--images", str(folder), "--res", "32", "--out", str(out), "--batch", "16",
            "--channel-base", "128", "--no-flip"]
    assert main([*args, "--epochs", "1"]) == 0
    assert (out / "model.safetensors").exists() and (out / "config.json").exists()
    assert (out / "samples" / "epoch_0001.png").exists()
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    assert (out / "samples" / "epoch_0002.png").exists()
    grid = np.asarray(Image.open(out / "samples" / "epoch_0002.png"))
    assert grid.shape == (4 * RES, 8 * RES, 3)
