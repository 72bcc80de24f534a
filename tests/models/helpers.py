"""Small real StyleGAN2 networks and checkpoint writers shared by the models tests."""

from __future__ import annotations

import collections
import contextlib
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import torch

from vjgan.models import stylegan2 as sg
from vjgan.models import stylegan3 as sg3
from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from vjgan.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator

SMALL = dict(z_dim=16, w_dim=16, img_resolution=32, channel_base=256, channel_max=32, mapping_layers=2)


def small_generator(seed: int = 0, **overrides) -> StyleGAN2Generator:
    """Random weights, with noise strengths, biases and w_avg non-zero so every parameter matters."""
    torch.manual_seed(seed)
    gen = StyleGAN2Generator(StyleGAN2Config(**(SMALL | overrides))).eval()
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if name.endswith("noise_strength") or name.endswith(".bias"):
                p.normal_(0, 0.3)
        gen.mapping_network.w_avg.normal_()
    return gen.requires_grad_(False)


def render(gen, seed: int = 0, psi: float = 0.7) -> torch.Tensor:
    z = torch.from_numpy(np.random.RandomState(seed).randn(2, gen.z_dim)).float()
    with torch.no_grad():
        return gen.synthesis(gen.mapping(z, psi))


# -- official-structure pickles, written without any official code ------------------------------------
OFFICIAL_NAMES = {
    StyleGAN2Generator: "Generator", sg.MappingNetwork: "MappingNetwork", sg.SynthesisNetwork: "SynthesisNetwork",
    sg.SynthesisBlock: "SynthesisBlock", sg.SynthesisLayer: "SynthesisLayer", sg.ToRGBLayer: "ToRGBLayer",
    sg.FullyConnectedLayer: "FullyConnectedLayer",
}
MODULE_SRC = ("import torch\n\nclass MappingNetwork(torch.nn.Module):\n    pass\n\n"
              "class Generator(torch.nn.Module):\n    pass\n")


def _fake_modules() -> tuple[types.ModuleType, types.ModuleType]:
    """Stand-ins for torch_utils.persistence / dnnlib.util so pickle writes the same global names."""
    pers = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):  # never called by vjgan's loader
        raise AssertionError("must not run")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    pers._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util = types.ModuleType("dnnlib.util")

    class EasyDict(dict):
        pass

    EasyDict.__module__ = "dnnlib.util"
    EasyDict.__qualname__ = "EasyDict"
    util.EasyDict = EasyDict
    return pers, util


@contextlib.contextmanager
def official_modules():
    """The official `torch_utils.persistence` / `dnnlib.util` stand-ins installed in sys.modules while a
    pickle is written (the pickler names them), restored afterwards."""
    pers, util = _fake_modules()
    names = ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util")
    saved = {k: sys.modules.get(k) for k in names}
    sys.modules.update({"torch_utils": types.ModuleType("torch_utils"), "torch_utils.persistence": pers,
                        "dnnlib": types.ModuleType("dnnlib"), "dnnlib.util": util})
    try:
        yield pers, util
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


class OfficialStylePickler(pickle.Pickler):
    """Pickles nn.Modules the way torch_utils.persistence does: (_reconstruct_persistent_obj, (meta,))
    with meta = {type, version, module_src, class_name, state=__dict__-like state}."""

    def __init__(self, file, pers, util, class_names=None, init_kwargs=None, module_src=MODULE_SRC, extra_state=None):
        super().__init__(file, protocol=4)
        self.pers, self.util = pers, util
        self.class_names = class_names or {}
        self.init_kwargs = init_kwargs or {}
        self.module_src = module_src
        self.extra_state = extra_state  # obj -> dict of further official attributes (StyleGAN3 geometry)

    def reducer_override(self, obj):
        if isinstance(obj, torch.nn.Module):
            name = self.class_names.get(id(obj)) or OFFICIAL_NAMES.get(type(obj), type(obj).__name__)
            nonpersistent = getattr(obj, "_non_persistent_buffers_set", set())
            state = {
                "training": obj.training,
                "_parameters": collections.OrderedDict(obj._parameters),
                "_buffers": collections.OrderedDict((k, v) for k, v in obj._buffers.items() if k not in nonpersistent),
                "_non_persistent_buffers_set": set(),
                "_modules": collections.OrderedDict(obj._modules),
                "_forward_hooks": collections.OrderedDict(),
                "_init_args": (),
                "_init_kwargs": self.util.EasyDict(self.init_kwargs.get(id(obj), {})),
                "img_resolution_log2": np.int64(5),  # official modules carry numpy scalars too
            }
            if self.extra_state is not None:
                state.update(self.extra_state(obj))
            meta = dict(type="class", version=4, module_src=self.module_src, class_name=name, state=state)
            return self.pers._reconstruct_persistent_obj, (meta,)
        return NotImplemented


def official_init_kwargs(gen: StyleGAN2Generator, util) -> dict:
    c = gen.config
    return dict(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, img_resolution=c.img_resolution,
                img_channels=c.img_channels,
                mapping_kwargs=util.EasyDict(num_layers=c.mapping_layers, lr_multiplier=c.mapping_lr_multiplier),
                synthesis_kwargs=util.EasyDict(channel_base=c.channel_base, channel_max=c.channel_max,
                                               num_fp16_res=c.num_fp16_res, conv_clamp=c.conv_clamp,
                                               architecture="skip"))


def write_official_pickle(gen: StyleGAN2Generator, path: Path, extra_modules=None, class_names=None,
                          flat_kwargs: bool = False) -> Path:
    """A network-snapshot-like pickle: G, D, G_ema, augment_pipe, training_set_kwargs.

    flat_kwargs: constructor kwargs as the stylegan3 repo's StyleGAN2 stores them (synthesis
    arguments at top level instead of in synthesis_kwargs)."""
    with official_modules() as (pers, util):
        disc = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
        data = dict(G=gen, D=disc, G_ema=gen, augment_pipe=None,
                    training_set_kwargs=util.EasyDict(path="~/datasets/x.zip", resolution=32, xflip=False))
        data.update(extra_modules or {})
        kw = official_init_kwargs(gen, util)
        if flat_kwargs:
            kw.update(kw.pop("synthesis_kwargs"), fused_modconv_default="inference_only")
        with open(path, "wb") as fh:
            OfficialStylePickler(fh, pers, util, class_names=class_names, init_kwargs={id(gen): kw}).dump(data)
    return path


# -- rosinality stylegan2-pytorch state_dict, from our weights ------------------------------------------
def rosinality_state(gen: StyleGAN2Generator) -> dict[str, torch.Tensor]:
    sd = gen.state_dict()
    out: dict[str, torch.Tensor] = {}
    for i in range(gen.config.mapping_layers):
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
    out["input.input"] = sd["synthesis.b4.const"][None]
    blur = torch.ones(4, 4)

    def conv(dst: str, src: str, noise: str, up: bool) -> None:
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        if up:
            out[f"{dst}.conv.blur.kernel"] = blur
        out[f"{dst}.noise.weight"] = sd[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = sd[f"{src}.bias"]
        out[noise] = sd[f"{src}.noise_const"][None, None]

    def torgb(dst: str, src: str) -> None:
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.bias"] = sd[f"{src}.bias"].reshape(1, -1, 1, 1)

    conv("conv1", "synthesis.b4.conv1", "noises.noise_0", False)
    torgb("to_rgb1", "synthesis.b4.torgb")
    for j, r in enumerate(gen.synthesis_network.block_resolutions[1:]):
        conv(f"convs.{2 * j}", f"synthesis.b{r}.conv0", f"noises.noise_{2 * j + 1}", True)
        conv(f"convs.{2 * j + 1}", f"synthesis.b{r}.conv1", f"noises.noise_{2 * j + 2}", False)
        torgb(f"to_rgbs.{j}", f"synthesis.b{r}.torgb")
        out[f"to_rgbs.{j}.upsample.kernel"] = blur
    return {k: v.clone() for k, v in out.items()}


# -- StyleGAN3: tiny networks and official-structure pickles ---------------------------------------------
SMALL3 = dict(z_dim=16, w_dim=16, img_resolution=16, channel_base=256, channel_max=16, num_layers=4,
              mapping_layers=2)
OFFICIAL_NAMES3 = {
    StyleGAN3Generator: "Generator", sg.MappingNetwork: "MappingNetwork", sg3.SynthesisNetwork: "SynthesisNetwork",
    sg3.SynthesisInput: "SynthesisInput", sg3.SynthesisLayer: "SynthesisLayer",
    sg.FullyConnectedLayer: "FullyConnectedLayer",
}
MODULE_SRC3 = ("import torch\n\nclass SynthesisInput(torch.nn.Module):\n    pass\n\n"
               "class SynthesisLayer(torch.nn.Module):\n    pass\n\nclass Generator(torch.nn.Module):\n    pass\n")


def small_generator3(seed: int = 0, radial: bool = False, **overrides) -> StyleGAN3Generator:
    """A tiny -T (or -R: 1×1 kernels, radial filters) network with every parameter and buffer mattering."""
    torch.manual_seed(seed)
    cfg = SMALL3 | ({"conv_kernel": 1, "use_radial_filters": True} if radial else {}) | overrides
    gen = StyleGAN3Generator(StyleGAN3Config(**cfg)).eval()
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if name.endswith(".bias") or name.endswith("input.affine.weight"):
                p.normal_(0, 0.3)
        for name, b in gen.named_buffers():
            if name.endswith("magnitude_ema"):
                b.uniform_(0.5, 2.0)
        gen.mapping_network.w_avg.normal_()
    return gen.requires_grad_(False)


def official_sg3_init_kwargs(gen: StyleGAN3Generator, util) -> dict:
    """The stylegan3 repo's Generator kwargs: synthesis arguments flat, as train.py passes them."""
    c = gen.config
    kw = dict(z_dim=c.z_dim, c_dim=c.c_dim, w_dim=c.w_dim, img_resolution=c.img_resolution,
              img_channels=c.img_channels,
              mapping_kwargs=util.EasyDict(num_layers=c.mapping_layers, lr_multiplier=c.mapping_lr_multiplier),
              channel_base=c.channel_base, channel_max=c.channel_max, magnitude_ema_beta=c.magnitude_ema_beta,
              num_layers=c.num_layers, conv_clamp=c.conv_clamp)
    if c.conv_kernel != 3:
        kw.update(conv_kernel=c.conv_kernel, use_radial_filters=c.use_radial_filters)
    return kw


def _sg3_official_state(obj) -> dict:
    """Attributes the official modules carry besides tensors: numpy arrays and scalars included."""
    if isinstance(obj, sg3.SynthesisNetwork):
        return {"layer_names": list(obj.layer_names), "num_ws": obj.num_ws, "output_scale": obj.output_scale}
    if isinstance(obj, sg3.SynthesisInput):
        return {"size": np.broadcast_to(np.asarray(obj.size), [2]), "sampling_rate": np.float64(obj.rate),
                "bandwidth": np.float64(obj.bandwidth), "channels": obj.channels}
    if isinstance(obj, sg3.SynthesisLayer):
        s = obj.spec
        return {"in_size": np.broadcast_to(np.asarray(s.in_size), [2]),
                "out_size": np.broadcast_to(np.asarray(s.out_size), [2]), "up_factor": s.up, "down_factor": s.down,
                "conv_kernel": s.kernel, "is_torgb": s.is_torgb, "padding": list(s.padding),
                "in_cutoff": np.float64(s.in_cutoff), "up_taps": s.up_taps, "down_taps": s.down_taps}
    return {}


def write_official_sg3_pickle(gen: StyleGAN3Generator, path: Path, init_kwargs: dict | None = None,
                              extra_state=None) -> Path:
    """A stylegan3 network-snapshot-like pickle of `gen` (official module/attribute structure)."""
    with official_modules() as (pers, util):
        names = {id(m): OFFICIAL_NAMES3[type(m)] for m in gen.modules() if type(m) in OFFICIAL_NAMES3}
        kw = official_sg3_init_kwargs(gen, util) if init_kwargs is None else init_kwargs

        def extra(obj):
            return _sg3_official_state(obj) | (extra_state(obj) if extra_state else {})

        data = dict(G=gen, D=None, G_ema=gen, augment_pipe=None,
                    training_set_kwargs=util.EasyDict(path="~/datasets/x.zip", resolution=gen.img_resolution))
        with open(path, "wb") as fh:
            OfficialStylePickler(fh, pers, util, class_names=names, init_kwargs={id(gen): kw},
                                 module_src=MODULE_SRC3, extra_state=extra).dump(data)
    return path
