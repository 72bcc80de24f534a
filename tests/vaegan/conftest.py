"""One small VAE-GAN trained once per session on generated coloured shapes, reused by several tests.

200 training + 40 held-out images at 32², half with a red square at a fixed place (the known
attribute for the prototype test). Training is short (TRAIN_STEPS) but long enough for the encoder,
latent map and generator to learn the set's colours and layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from vjgan.models.vaegan import VaeGan, VaeGanConfig
from vjgan.models.vaegan_data import load_image_folder, make_shapes, write_images
from vjgan.models.vaegan_train import TrainConfig, Trainer, TrainResult

RES = 32
N_TRAIN, N_HELD = 200, 40
TRAIN_STEPS = 400


def tiny_config() -> VaeGanConfig:
    return VaeGanConfig(resolution=RES, z_dim=32, w_dim=64, vae_dim=32, channel_base=256, channel_max=64,
                        mapping_layers=2)


def tiny_train_config(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": 1000, "batch": 16, "flip": False, "sample_every": 10, **kw})


@dataclass
class Trained:
    model: VaeGan
    result: TrainResult
    out: Path
    train_dir: Path
    train_images: np.ndarray
    train_has: np.ndarray
    held_images: np.ndarray
    held_has: np.ndarray


@pytest.fixture(scope="session")
def shapes(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    images, has = make_shapes(N_TRAIN + N_HELD, RES, seed=0)
    folder = tmp_path_factory.mktemp("shapes")
    write_images(images[:N_TRAIN], folder)
    return folder, images, has


@pytest.fixture(scope="session")
def trained(shapes, tmp_path_factory) -> Trained:
    folder, images, has = shapes
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("vaegan_run")
    data = load_image_folder(folder, RES, progress=False)
    trainer = Trainer(data, out, tiny_config(), tiny_train_config(max_steps=TRAIN_STEPS), progress=False)
    result = trainer.run()
    return Trained(result.model, result, out, folder, images[:N_TRAIN], has[:N_TRAIN], images[N_TRAIN:],
                   has[N_TRAIN:])
