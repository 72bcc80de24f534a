"""VAE-GAN benchmark (JSON out): training throughput, time to a usable model, per-frame encode+generate latency.

    .venv/bin/python scripts/bench_vaegan.py [--device cpu|cuda] [--res 128] [--steps 20] [--usable]

- train_images_per_s: images/s of the full training step (VAE + logistic critic with lazy R1 + generator/latent map),
  default `vjgan train` architecture at --res, batch 32, on generated shapes.
- usable (with --usable): trains on 600 generated 128² images until the held-out reconstruction MSE of
  the GAN path is below half of the mean-image MSE, reports the wall time (goal on an H100: ≤ 15 min).
- frame_ms: a 640×480 camera-sized frame → resize → encoder → latent map → synthesis, batch 1 (p50/p99).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import numpy as np
import torch

from vjgan.app.train_cmd import default_model_config
from vjgan.models.vaegan import VaeGan, images_to_tensor
from vjgan.models.vaegan_data import make_shapes
from vjgan.models.vaegan_train import TrainConfig, Trainer


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_train(res: int, steps: int, device: str, batch: int) -> dict:
    imgs, _ = make_shapes(max(64, batch * 2), res, seed=0)
    data = torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous()
    with tempfile.TemporaryDirectory() as out:
        tr = Trainer(data, out, default_model_config(res), TrainConfig(batch=batch), device=device, progress=False)
        x = tr._batch(np.arange(batch))
        for _ in range(3):
            tr.train_step(x)
        sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            tr.train_step(tr._batch(np.arange(batch)))
        sync(device)
        dt = time.perf_counter() - t0
    params = sum(p.numel() for p in tr.model.parameters()) + sum(p.numel() for p in tr.critic.parameters())
    return {"res": res, "batch": batch, "steps": steps, "step_ms": 1000 * dt / steps,
            "train_images_per_s": steps * batch / dt, "params_total": params}


@torch.no_grad()
def bench_frame(res: int, device: str, n: int) -> dict:
    m = VaeGan(default_model_config(res)).to(device).eval()
    frame = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    times = []
    for i in range(n + 5):
        sync(device)
        t0 = time.perf_counter()
        ws = m.encode(images_to_tensor(frame, res, device))
        img = m.synthesis(ws)
        img.cpu()
        if i >= 5:
            times.append(1000 * (time.perf_counter() - t0))
    return {"frame_ms_p50": float(np.percentile(times, 50)), "frame_ms_p99": float(np.percentile(times, 99))}


def bench_usable(device: str, res: int = 128, n: int = 600, limit_s: float = 3600) -> dict:
    imgs, _ = make_shapes(n + 60, res, seed=1)
    data = torch.from_numpy(imgs[:n]).permute(0, 3, 1, 2).contiguous()
    held = images_to_tensor(imgs[n:], res, device)
    mean_err = float((images_to_tensor(imgs[:n], res, device).mean(0, keepdim=True) - held).square().mean())
    with tempfile.TemporaryDirectory() as out:
        tr = Trainer(data, out, default_model_config(res), TrainConfig(epochs=10_000, sample_every=0),
                     device=device, progress=False)
        t0 = time.perf_counter()
        history = []
        while time.perf_counter() - t0 < limit_s:
            tr.cfg.max_steps = tr.step + 100
            tr.run()
            m = tr.ema
            with torch.no_grad():
                err = float((m.synthesis(m.encode(held)) - held).square().mean())
            history.append((round(time.perf_counter() - t0, 1), tr.step, err))
            if err < 0.5 * mean_err:
                break
    return {"usable_after_s": history[-1][0], "steps": history[-1][1], "mean_image_mse": mean_err,
            "history": history}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--res", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--usable", action="store_true", help="also measure time to a usable 128² model (long)")
    ap.add_argument("--out", help="write the JSON here too")
    args = ap.parse_args()
    result = {"device": torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor()
              or platform.machine(), "torch_threads": torch.get_num_threads(), "runs": []}
    for res in args.res:
        run = bench_train(res, args.steps, args.device, args.batch)
        run.update(bench_frame(res, args.device, 20))
        result["runs"].append(run)
        print(json.dumps(run), flush=True)
    if args.usable:
        result["usable_128"] = bench_usable(args.device)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
