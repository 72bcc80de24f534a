"""Compare vjgan's StyleGAN3 with the official stylegan3 generator (-T and -R; docs/models.md).

The official code is imported at run time from a checkout YOU supply (never copied into vjgan); on
CPU its custom ops run their pure-PyTorch reference paths (`requests` and `pkg_resources` are
stubbed when missing: the networks do not use them). Small random networks with every parameter and
buffer randomised so each one matters, the official state_dict loaded into ours, same z / ψ / class;
prints the max |difference| of ws, images and the designed filters, checks that an official
`network-snapshot` pickle of each loads through vjgan's safe loader to the same pictures, and that a
StyleGAN2 pickle written by the stylegan3 repo (flat constructor kwargs) still loads exactly.

    .venv/bin/python scripts/check_official_sg3.py ~/src/stylegan3
"""

from __future__ import annotations

import argparse
import copy
import math
import pickle
import sys
import tempfile
from pathlib import Path

import torch
from official_compare import compare_outputs, diff, import_official, randomise_sg2

from vjgan.models.loaders import load_generator
from vjgan.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator

CASES = [
    dict(name="stylegan3-t 64²", res=64, num_layers=8, channel_base=1024, channel_max=64, c_dim=0,
         conv_kernel=3, use_radial_filters=False),
    dict(name="stylegan3-r 32² conditional", res=32, num_layers=6, channel_base=2048, channel_max=128, c_dim=2,
         conv_kernel=1, use_radial_filters=True),
]
Z = 32


@torch.no_grad()
def _randomise(og: torch.nn.Module) -> None:
    """Everything that is constant at initialisation gets a random value, so a wrong use shows."""
    for n, p in og.named_parameters():
        if n.endswith("bias") or n.endswith("input.affine.weight"):
            p.normal_(0, 0.5)
    for n, b in og.named_buffers():
        if n.endswith("magnitude_ema"):
            b.uniform_(0.3, 3.0)
        elif n.endswith("w_avg"):
            b.normal_()
        elif n.endswith("input.transform"):  # a user transform: small rotation + translation
            a = 0.3
            b.copy_(torch.tensor([[math.cos(a), -math.sin(a), 0.1], [math.sin(a), math.cos(a), -0.2], [0, 0, 1]]))


@torch.no_grad()
def _sensitivity(gen: StyleGAN3Generator, z: torch.Tensor) -> str:
    """Proof the comparison is not vacuous: every parameter/buffer moves the picture."""
    ref = gen(z)
    hits, dead = 0, []
    for k, v in gen.state_dict().items():
        if k.endswith("w_avg"):
            continue  # only used by truncation (compared through ws with psi 0.7)
        keep = v.clone()
        v.add_(0.05 * (v.abs().mean() + 0.1))
        if diff(gen(z), ref) > 0:
            hits += 1
        else:
            dead.append(k)
        v.copy_(keep)
    return f"{hits}/{hits + len(dead)}" + (f" (no effect: {dead})" if dead else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkout", type=Path, help="a stylegan3 checkout (github.com/NVlabs/stylegan3)")
    args = ap.parse_args()
    import_official(args.checkout)
    import dnnlib  # type: ignore[import-not-found]
    from training.augment import AugmentPipe  # type: ignore[import-not-found]
    from training.networks_stylegan2 import Discriminator  # type: ignore[import-not-found]
    from training.networks_stylegan2 import Generator as OfficialSG2  # type: ignore[import-not-found]
    from training.networks_stylegan3 import Generator as Official  # type: ignore[import-not-found]

    worst = 0.0
    for case in CASES:
        torch.manual_seed(0)
        og = Official(z_dim=Z, c_dim=case["c_dim"], w_dim=Z, img_resolution=case["res"], img_channels=3,
                      mapping_kwargs=dnnlib.EasyDict(num_layers=2), channel_base=case["channel_base"],
                      channel_max=case["channel_max"], num_layers=case["num_layers"], conv_kernel=case["conv_kernel"],
                      use_radial_filters=case["use_radial_filters"], magnitude_ema_beta=0.99).eval()
        _randomise(og)
        cfg = StyleGAN3Config(z_dim=Z, c_dim=case["c_dim"], w_dim=Z, img_resolution=case["res"],
                              channel_base=case["channel_base"], channel_max=case["channel_max"],
                              num_layers=case["num_layers"], conv_kernel=case["conv_kernel"],
                              use_radial_filters=case["use_radial_filters"], magnitude_ema_beta=0.99)
        ours = StyleGAN3Generator(cfg).eval()  # designs its own filters: compare them before loading
        assert list(og.synthesis.layer_names) == list(ours.synthesis_network.layer_names), "layer names differ"
        od, md = og.state_dict(), ours.state_dict()
        assert od.keys() == md.keys(), sorted(set(od) ^ set(md))
        d_filt = max(diff(od[k], md[k]) for k in od if k.endswith("_filter"))
        print(f"{case['name']}: {sum(k.endswith('_filter') for k in od)} designed filters max|d|={d_filt:.3g}")
        worst = max(worst, d_filt)
        ours.load_state_dict(od)
        z = torch.randn(4, Z)
        c = torch.zeros(4, case["c_dim"])
        if case["c_dim"]:
            c[:, 1] = 1
        worst = max(worst, compare_outputs(og, ours, z, c, " "))
        print(f"  state entries that change the image when perturbed: {_sensitivity(ours, z[:1])}")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "network-snapshot.pkl"
            with open(path, "wb") as fh:
                # everything a real network-snapshot holds: D and the ADA pipeline too
                disc = Discriminator(c_dim=case["c_dim"], img_resolution=case["res"], img_channels=3,
                                     channel_base=case["channel_base"], channel_max=case["channel_max"])
                aug = AugmentPipe(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=1,
                                  contrast=1, lumaflip=1, hue=1, saturation=1)
                pickle.dump(dict(G=copy.deepcopy(og), D=disc, G_ema=og, augment_pipe=aug,
                                 training_set_kwargs=dnnlib.EasyDict(resolution=case["res"], use_labels=False)), fh)
            loaded = load_generator(path)
            with torch.no_grad():
                a = og(z, c, truncation_psi=0.6)
                b = loaded.synthesis(loaded.mapping(z, 0.6, c=c if case["c_dim"] else None))
            d = diff(a, b)
            worst = max(worst, d)
            print(f"  official pickle via vjgan's safe loader ({type(loaded).__name__}): image max|d|={d:.3g}")

    # a StyleGAN2 pickle from the stylegan3 repo: constructor kwargs flat (channel_base at top level)
    torch.manual_seed(1)
    og2 = OfficialSG2(z_dim=Z, c_dim=0, w_dim=Z, img_resolution=32, img_channels=3,
                        mapping_kwargs=dnnlib.EasyDict(num_layers=3), channel_base=512, channel_max=64,
                        fused_modconv_default="inference_only").eval()
    randomise_sg2(og2)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sg2.pkl"
        with open(path, "wb") as fh:
            pickle.dump(dict(G_ema=og2), fh)
        loaded = load_generator(path)
        z = torch.randn(4, Z)
        with torch.no_grad():
            a = og2(z, None, truncation_psi=0.6, noise_mode="const", force_fp32=True)
            b = loaded.synthesis(loaded.mapping(z, 0.6))
        d = diff(a, b)
        worst = max(worst, d)
        print(f"stylegan3-repo StyleGAN2 pickle (channel_base 512) via vjgan's safe loader: image max|d|={d:.3g}")
    print(f"worst max |difference|: {worst:.3g}")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
