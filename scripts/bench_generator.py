"""Generator frame rate, batch 1, through the real per-frame path (GeneratorThread.render: params copied
into device tensors, bending, truncation, RGBA conversion) — JSON out.

    .venv/bin/python scripts/bench_generator.py --models default,small-256 --modes fp32,channels_last,bf16
    .venv/bin/python scripts/bench_generator.py --device cuda --models config-f-1024 \
        --modes fp32,fp16,compile,cuda_graph --bend --official ~/src/stylegan2-ada-pytorch

Modes: fp32, channels_last, bf16 (autocast), fp16 (CUDA: fp16 high-res blocks), compile (torch.compile),
cuda_graph (CUDA: whole forward captured and replayed; add fp16 with "fp16+cuda_graph").
`--official DIR` also times the official stylegan2-ada-pytorch network (imported from a checkout you
supply, with the same weights) side by side. StyleGAN3 shapes: sg3-t-tiny-32, sg3-t-256, sg3-t-1024,
sg3-r-1024 (random weights; `--official` applies to StyleGAN2 only).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

from vjgan.core.errors import UserError
from vjgan.core.frame import GeneratorParams
from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator

CONFIGS = {
    "small-256": dict(z_dim=128, w_dim=128, img_resolution=256, channel_base=4096, channel_max=128, mapping_layers=4),
    "config-f-256": dict(img_resolution=256, channel_base=16384, channel_max=512, num_fp16_res=4, conv_clamp=256.0),
    "config-f-512": dict(img_resolution=512, channel_base=32768, channel_max=512, num_fp16_res=4, conv_clamp=256.0),
    "config-f-1024": dict(img_resolution=1024, channel_base=32768, channel_max=512, num_fp16_res=4, conv_clamp=256.0),
}
# StyleGAN3 (alias-free): official -T and -R shapes, and a tiny -T that a CPU can run live
CONFIGS3 = {
    "sg3-t-tiny-32": dict(z_dim=64, w_dim=64, img_resolution=32, channel_base=1024, channel_max=64, num_layers=6),
    "sg3-t-256": dict(img_resolution=256, channel_base=32768, channel_max=512),
    "sg3-t-1024": dict(img_resolution=1024, channel_base=32768, channel_max=512),
    "sg3-r-1024": dict(img_resolution=1024, channel_base=65536, channel_max=1024, conv_kernel=1,
                       use_radial_filters=True),
}
BENDS = {"b16.conv0": {"rotate": 12.0, "zoom": 1.1}, "b32.conv1": {"translate_x": 0.1, "dilate": 1.0},
         "b64.conv0": {"invert": 0.3, "ablate": 0.2}}


def make_model(name: str):
    if name == "default":
        from vjgan.models.default import load_default_generator

        return load_default_generator("cpu")
    if name in CONFIGS:
        torch.manual_seed(0)
        return StyleGAN2Generator(StyleGAN2Config(**CONFIGS[name])).eval()
    if name in CONFIGS3:
        from vjgan.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator

        torch.manual_seed(0)
        return StyleGAN3Generator(StyleGAN3Config(**CONFIGS3[name])).eval()
    from vjgan.models.loaders import load_generator

    return load_generator(name, "cpu")


def official_generator(ours: StyleGAN2Generator, checkout: Path):
    """The official network with our weights (code imported from the user's checkout, never copied)."""
    sys.path.insert(0, str(checkout))
    try:
        import requests  # noqa: F401  (dnnlib imports it; not needed for networks)
    except ImportError:
        sys.modules["requests"] = types.ModuleType("requests")
    from training.networks import Generator as OfficialGenerator  # type: ignore[import-not-found]

    c = ours.config
    og = OfficialGenerator(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, img_resolution=c.img_resolution,
                           img_channels=c.img_channels,
                           mapping_kwargs=dict(num_layers=c.mapping_layers, lr_multiplier=c.mapping_lr_multiplier),
                           synthesis_kwargs=dict(channel_base=c.channel_base, channel_max=c.channel_max,
                                                 num_fp16_res=c.num_fp16_res, conv_clamp=c.conv_clamp))
    og.load_state_dict(ours.state_dict())
    return og.eval().requires_grad_(False)


def time_calls(fn, warmup: int, iters: int, budget_s: float, sync) -> dict:
    for _ in range(warmup):
        fn()
    sync()
    times = []
    end = time.perf_counter() + budget_s
    while len(times) < iters and (time.perf_counter() < end or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    arr = np.array(times)
    return {"ms_p50": round(float(np.median(arr)), 3), "ms_mean": round(float(arr.mean()), 3),
            "ms_min": round(float(arr.min()), 3), "fps": round(1000 / float(np.median(arr)), 2), "iters": len(times)}


def bench_ours(gen, device: str, mode: str, bend: bool, args) -> dict:
    from vjgan.models.runner import GeneratorThread

    modes = set(mode.split("+"))
    th = GeneratorThread(gen, device=device, cuda_graph="cuda_graph" in modes, compile="compile" in modes,
                         precision="bf16" if "bf16" in modes else "fp16" if "fp16" in modes else "fp32",
                         channels_last="channels_last" in modes)
    ws = gen.seeds_to_ws([0])[0]
    params = GeneratorParams(latent=ws, truncation=0.7, bends=BENDS if bend else {})
    if bend and any(layer not in gen.layer_names for layer in BENDS):  # other layer names (StyleGAN3, small
        names = gen.layer_names                                       # models): same bends, spread by index
        picks = [names[len(names) * k // 4] for k in (1, 2, 3)]
        params.bends = dict(zip(picks, BENDS.values(), strict=True))
    seq = [0]

    def one():
        seq[0] += 1
        params.seq = seq[0]
        th.render(params)

    return time_calls(one, args.warmup, args.iters, args.budget, _sync(device))


def bench_official(og, device: str, mode: str, args) -> dict:
    og = og.to(device)
    z = torch.randn(1, og.z_dim, device=device)
    ws = og.mapping(z, None, truncation_psi=0.7)
    force_fp32 = "fp16" not in mode

    def one():
        with torch.no_grad():
            og.synthesis(ws, noise_mode="const", force_fp32=force_fp32)

    return time_calls(one, args.warmup, args.iters, args.budget, _sync(device))


def _sync(device: str):
    if device.startswith("cuda"):
        return torch.cuda.synchronize
    return lambda: None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="default,small-256",
                    help=f"comma list: default, {', '.join(CONFIGS)}, or checkpoint paths")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--modes", default="fp32,channels_last,bf16,compile")
    ap.add_argument("--bend", action="store_true", help="bending active on three layers")
    ap.add_argument("--official", type=Path, help="a stylegan2-ada-pytorch checkout to time side by side")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--budget", type=float, default=10.0, help="seconds per case")
    ap.add_argument("--out", type=Path, help="write JSON here as well as to stdout")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    env = {"torch": torch.__version__, "device": args.device, "threads": torch.get_num_threads(),
           "cpu": platform.processor() or platform.machine(),
           "gpu": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else None}
    results = []
    for name in args.models.split(","):
        try:
            gen = make_model(name)
        except UserError as exc:
            results.append({"model": name, "error": str(exc)})
            continue
        og = None
        if args.official and isinstance(gen, StyleGAN2Generator):
            og = official_generator(gen, args.official)
        for mode in args.modes.split(","):
            row = {"model": name, "impl": "vjgan", "resolution": gen.img_resolution, "mode": mode,
                   "bend": args.bend, "device": args.device}
            try:
                row |= bench_ours(make_model(name) if mode != args.modes.split(",")[0] else gen, args.device,
                                  mode, args.bend, args)
            except Exception as exc:  # a mode this machine cannot run (no CUDA, no bf16 kernels, ...)
                row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            print(json.dumps(row), file=sys.stderr)
            results.append(row)
            if og is not None and mode in ("fp32", "fp16"):
                orow = {"model": name, "impl": "official", "resolution": gen.img_resolution, "mode": mode,
                        "bend": False, "device": args.device}
                try:
                    orow |= bench_official(og, args.device, mode, args)
                except Exception as exc:
                    orow["error"] = f"{type(exc).__name__}: {exc}"
                print(json.dumps(orow), file=sys.stderr)
                results.append(orow)
    out = json.dumps({"env": env, "results": results}, indent=2)
    print(out)
    if args.out:
        args.out.write_text(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
