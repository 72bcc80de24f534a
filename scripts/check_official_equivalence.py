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
from pathlib import Path

import torch
from official_compare import compare_outputs, diff, import_official, randomise_sg2

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
    import_official(args.checkout)
    import dnnlib  # type: ignore[import-not-found]
    from training.networks import Generator as Official  # type: ignore[import-not-found]

    worst = 0.0
    for case in CASES:
        torch.manual_seed(0)
        og = Official(z_dim=32, c_dim=case["c_dim"], w_dim=32, img_resolution=case["res"], img_channels=3,
                      mapping_kwargs=dnnlib.EasyDict(num_layers=3),
                      synthesis_kwargs=dnnlib.EasyDict(channel_base=512, channel_max=64, num_fp16_res=case["fp16"],
                                                       conv_clamp=case["clamp"])).eval()
        randomise_sg2(og)
        ours = StyleGAN2Generator(StyleGAN2Config(
            z_dim=32, c_dim=case["c_dim"], w_dim=32, img_resolution=case["res"], channel_base=512, channel_max=64,
            num_fp16_res=case["fp16"], conv_clamp=case["clamp"], mapping_layers=3)).eval()
        ours.load_state_dict(og.state_dict())
        z = torch.randn(4, 32)
        c = torch.zeros(4, case["c_dim"])
        if case["c_dim"]:
            c[:, 1] = 1
        worst = max(worst, compare_outputs(og, ours, z, c, str(case), noise_mode="const",
                                           force_fp32=True))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "snapshot.pkl"
            with open(path, "wb") as fh:
                pickle.dump(dict(G=copy.deepcopy(og), G_ema=og, D=None, augment_pipe=None,
                                 training_set_kwargs=dnnlib.EasyDict(resolution=case["res"])), fh)
            loaded = load_generator(path)
            with torch.no_grad():
                a = og(z, c, truncation_psi=0.6, noise_mode="const", force_fp32=True)
                b = loaded.synthesis(loaded.mapping(z, 0.6, c=c if case["c_dim"] else None))
            d = diff(a, b)
            worst = max(worst, d)
            print(f"{case} official pickle via vjgan's safe loader: image max|d|={d:.3g}")
    print(f"worst max |difference|: {worst:.3g}")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
