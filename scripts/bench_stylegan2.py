"""StyleGAN2 training benchmark (JSON out): seconds per full training step on the wallpaper crops.

    PYTHONPATH=. .venv/bin/python scripts/bench_stylegan2.py [--device cpu|cuda] [--threads 2] [--batch 16]
        [--res 32 --channel-base 1024 --channel-max 64 --w-dim 64] [--steps 32]

A step is what `SG2Trainer.train_step` does (D: logistic + lazy R1 every 16 steps; G: non-saturating,
style mixing; DiffAugment on both; EMA), timed one by one after 5 warm-up steps; no checkpoints or grids.
Defaults: the tiny config of tests/models/test_stylegan2_train.py. Crops are resized to --res.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from tests.vaegan.wallpapers import wallpaper_crops
from vjgan.models.stylegan2 import StyleGAN2Config
from vjgan.models.stylegan2_train import SG2TrainConfig, SG2Trainer
from vjgan.models.vaegan_data import load_image_folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--res", type=int, default=32)
    ap.add_argument("--channel-base", type=int, default=1024)
    ap.add_argument("--channel-max", type=int, default=64)
    ap.add_argument("--w-dim", type=int, default=64)
    ap.add_argument("--steps", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tmp = Path(tempfile.mkdtemp())
    folder, _, _ = wallpaper_crops(384, 0, tmp / "crops", a.res)
    images = load_image_folder(folder, a.res, progress=False)
    mc = StyleGAN2Config(z_dim=a.w_dim, w_dim=a.w_dim, img_resolution=a.res, channel_base=a.channel_base,
                         channel_max=a.channel_max, mapping_layers=2)
    t = SG2Trainer(images, tmp / "run", mc, SG2TrainConfig(batch=a.batch, max_steps=10**9, snap=0),
                   device=a.device, progress=False)
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    for _ in range(5):
        t.train_step()
    times = []
    for _ in range(a.steps):
        sync()
        t0 = time.perf_counter()
        t.train_step()
        sync()
        times.append(time.perf_counter() - t0)
    params = sum(p.numel() for p in t.G.parameters()), sum(p.numel() for p in t.D.parameters())
    print(json.dumps({"device": a.device, "threads": a.threads, "batch": a.batch, "res": a.res,
                      "g_params": params[0], "d_params": params[1], "s_per_step_mean": statistics.mean(times),
                      "s_per_step_median": statistics.median(times), "s_per_step_min": min(times),
                      "torch": torch.__version__, "machine": platform.processor() or platform.machine()}))


if __name__ == "__main__":
    main()
