"""Cost of a live model-mix step (models/live_mix.py): writing A + t·w·(B − A) into every mixed weight,
which the generator thread does between two frames whenever the target model.mix moves.

    .venv/bin/python scripts/bench_model_mix.py                 # default model and a 1024² StyleGAN2, CPU
    .venv/bin/python scripts/bench_model_mix.py --device cuda   # on a GPU box

B is A with every synthesis weight moved (the speed does not depend on the values). Prints JSON:
median and p99 ms per step next to the model's own forward, per model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _models(device: str):
    from vjgan.models.default import load_default_generator
    from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator

    yield "default", load_default_generator(device)
    yield "stylegan2-1024", StyleGAN2Generator(StyleGAN2Config(img_resolution=1024)).to(device).eval()


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the live generator process uses 1)")
    p.add_argument("--steps", type=int, default=40)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from vjgan.models.live_mix import ModelMix

    out = {"device": args.device, "threads": args.threads}
    for name, g in _models(args.device):
        g.requires_grad_(False)
        other = {k: (v + 0.01 * torch.randn_like(v)) if k.startswith("synthesis.") and v.is_floating_point() else v
                 for k, v in g.state_dict().items()}  # fmt: skip
        mix = ModelMix(g, other)
        times = []
        for i in range(args.steps):
            _sync(args.device)
            t0 = time.perf_counter()
            mix.set((i % 2) * 0.5 + 0.25)  # moves every step
            _sync(args.device)
            times.append((time.perf_counter() - t0) * 1000)
        with torch.no_grad():
            ws = g.mapping(torch.randn(1, g.z_dim, device=args.device))
            g.synthesis(ws)
            fwd = []
            for _ in range(3):
                _sync(args.device)
                t0 = time.perf_counter()
                g.synthesis(ws)
                _sync(args.device)
                fwd.append((time.perf_counter() - t0) * 1000)
        out[name] = {"mixed_weights": mix.weights, "mixed_tensors": mix.tensors,
                     "step_ms_p50": round(float(np.median(times)), 3),
                     "step_ms_p99": round(float(np.percentile(times, 99)), 3),
                     "forward_ms_p50": round(float(np.median(fwd)), 1)}  # fmt: skip
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
