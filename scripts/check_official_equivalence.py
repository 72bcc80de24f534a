"""Compare vjgan's StyleGAN2 with the official stylegan2-ada-pytorch generator (docs/models.md).

The official code is imported at run time from a checkout YOU supply (never copied into vjgan); on
CPU its ops run their pure-PyTorch reference paths. Random small networks, weights copied over,
same z / ψ / class / constant noise; prints the max |difference| of ws and images, and checks that
an official pickle loads through vjgan's safe loader to the same pictures.

    .venv/bin/python scripts/check_official_equivalence.py ~/src/stylegan2-ada-pytorch
"""

from __future__ import annotations

import argparse
import copy
import pickle
import sys
import tempfile
import types
from pathlib import Path

import torch

from vjgan.models.loaders import load_generator
from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator

CASES = [
    dict(res=64, fp16=0, clamp=None, c_dim=0),
    dict(res=32, fp16=2, clamp=256.0, c_dim=3),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkout", type=Path, help="a stylegan2-ada-pytorch checkout")
    args = ap.parse_args()
    sys.path.insert(0, str(args.checkout))
    try:
        import requests  # noqa: F401  (dnnlib imports it; networks do not need it)
    except ImportError:
        sys.modules["requests"] = types.ModuleType("requests")
    import dnnlib  # type: ignore[import-not-found]
    from training.networks import Generator as Official  # type: ignore[import-not-found]

    worst = 0.0
    for case in CASES:
        torch.manual_seed(0)
        og = Official(z_dim=32, c_dim=case["c_dim"], w_dim=32, img_resolution=case["res"], img_channels=3,
                      mapping_kwargs=dnnlib.EasyDict(num_layers=3),
                      synthesis_kwargs=dnnlib.EasyDict(channel_base=512, channel_max=64, num_fp16_res=case["fp16"],
                                                       conv_clamp=case["clamp"])).eval()
        with torch.no_grad():
            for n, p in og.named_parameters():
                if "noise_strength" in n or n.endswith("bias"):
                    p.normal_(0, 0.5)
            og.mapping.w_avg.normal_()
        ours = StyleGAN2Generator(StyleGAN2Config(
            z_dim=32, c_dim=case["c_dim"], w_dim=32, img_resolution=case["res"], channel_base=512, channel_max=64,
            num_fp16_res=case["fp16"], conv_clamp=case["clamp"], mapping_layers=3)).eval()
        ours.load_state_dict(og.state_dict())
        z = torch.randn(4, 32)
        c = torch.zeros(4, case["c_dim"])
        if case["c_dim"]:
            c[:, 1] = 1
        with torch.no_grad():
            for psi in (1.0, 0.7):
                wo = og.mapping(z, c, truncation_psi=psi)
                wm = ours.mapping(z, psi, c=c if case["c_dim"] else None)
                for b in (1, 4):
                    io = og.synthesis(wo[:b], noise_mode="const", force_fp32=True)
                    im = ours.synthesis(wo[:b])
                    d_ws, d_img = (wo - wm).abs().max().item(), (io - im).abs().max().item()
                    worst = max(worst, d_ws, d_img)
                    print(f"{case} psi={psi} batch={b}: ws max|d|={d_ws:.3g} image max|d|={d_img:.3g} "
                          f"(image range ±{io.abs().max().item():.1f})")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "snapshot.pkl"
            with open(path, "wb") as fh:
                pickle.dump(dict(G=copy.deepcopy(og), G_ema=og, D=None, augment_pipe=None,
                                 training_set_kwargs=dnnlib.EasyDict(resolution=case["res"])), fh)
            loaded = load_generator(path)
            with torch.no_grad():
                a = og(z, c, truncation_psi=0.6, noise_mode="const", force_fp32=True)
                b = loaded.synthesis(loaded.mapping(z, 0.6, c=c if case["c_dim"] else None))
            d = (a - b).abs().max().item()
            worst = max(worst, d)
            print(f"{case} official pickle via vjgan's safe loader: image max|d|={d:.3g}")
    print(f"worst max |difference|: {worst:.3g}")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
