"""Load any supported checkpoint into one of vjgan's generators, deciding by content, not by name.

- official stylegan2-ada-pytorch / stylegan3-repo network pickles (`G_ema`: StyleGAN2, StyleGAN3 -T/-R),
  read by models.safe_pickle (no code from the file runs);
- rosinality stylegan2-pytorch checkpoints (`g_ema` state_dict in a torch.save zip), read with
  `torch.load(weights_only=True)` and renamed onto our parameters;
- vjgan's own safetensors (+ JSON config) file or directory (models.vjgan_format).
"""

from __future__ import annotations

import argparse
import logging
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from vjgan.core.errors import UserError
from vjgan.models.base import Generator
from vjgan.models.safe_pickle import PersistedObject, safe_load_pickle
from vjgan.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, block_resolutions
from vjgan.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator, network_geometry
from vjgan.models.vjgan_format import load_state_checked, load_vjgan

log = logging.getLogger(__name__)

SUPPORTED = "an official StyleGAN2/StyleGAN3 .pkl, a rosinality stylegan2-pytorch .pt, or a vjgan .safetensors file/dir"


def sniff(path: Path) -> str:
    """'vjgan' | 'pickle' | 'torchzip' by the file's first bytes; UserError when none fits."""
    if path.is_dir():
        if (path / "config.json").exists() and (path / "model.safetensors").exists():
            return "vjgan"
        raise UserError(f"{path}: a directory without config.json + model.safetensors")
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise UserError(f"{path}: cannot read checkpoint ({exc.strerror or exc})") from None
    if len(head) < 2:
        raise UserError(f"{path}: empty or truncated checkpoint")
    if head[:4] == b"PK\x03\x04":
        return "torchzip"
    if head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100_000_000:
        return "vjgan"
    raise UserError(f"{path}: unknown checkpoint format (expected {SUPPORTED})")


def load_generator(path: str | Path, device: str = "cpu", expect_resolution: int | None = None) -> Generator:
    """Load a generator for inference (eval mode, no grads) on `device`."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"{path}: no such checkpoint")
    kind = sniff(path)
    if kind == "vjgan":
        gen = load_vjgan(path, "cpu")
    elif kind == "pickle":
        gen = load_official_pickle(path)
    else:
        gen = load_rosinality(path)
    if expect_resolution is not None and gen.img_resolution != expect_resolution:
        raise UserError(f"{path}: the model makes {gen.img_resolution}² images, {expect_resolution}² was asked for")
    try:
        gen = gen.to(device)
    except (RuntimeError, AssertionError) as exc:
        raise UserError(f"device {device!r} is not usable: {exc}") from None
    return gen.eval().requires_grad_(False)


def load_model(spec: str | None, device: str = "cpu") -> Generator:
    """What every `--model` takes: None/"default" (embedded), "procedural", or a checkpoint path.

    One function for live, render, mix, project and the live mix model, so a spec means the same
    network everywhere."""
    if spec == "procedural":
        from vjgan.models.procedural import ProceduralGenerator

        return ProceduralGenerator().to(device)
    if spec in (None, "", "default"):
        from vjgan.models.default import load_default_generator

        return load_default_generator(device)
    return load_generator(spec, device)


def load_network(spec: str | None, why: str, device: str = "cpu") -> Generator:
    """load_model for the commands that need weights (mix, project, the live mix): "procedural" is a
    hand-written painter with none, refused by name rather than failing deep inside torch."""
    if spec == "procedural":
        raise UserError(f"{why}: 'procedural' is a painter without weights; give 'default' or a checkpoint path")
    return load_model(spec, device)


# -- official pickles --------------------------------------------------------------------------------
def load_official_pickle(path: Path) -> Generator:
    data = safe_load_pickle(path)
    if isinstance(data, dict) and "G_ema" in data:
        g = data["G_ema"]
    elif isinstance(data, PersistedObject):
        g = data
    else:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise UserError(f"{path}: no G_ema network in this pickle (found {keys})")
    if not isinstance(g, PersistedObject):
        raise UserError(f"{path}: G_ema is not a persisted network object")
    return generator_from_persisted(g, str(path))


# SynthesisNetwork arguments: nested under synthesis_kwargs (stylegan2-ada-pytorch) or flat in the
# Generator's kwargs (the stylegan3 repo's Generator(**synthesis_kwargs), for both of its networks)
_SG2_SYNTH_KEYS = ("channel_base", "channel_max", "num_fp16_res", "conv_clamp", "architecture", "resample_filter",
                   "use_noise", "fused_modconv_default")


def _synthesis_kwargs(kw: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    sk = dict(kw.get("synthesis_kwargs") or {})
    sk.update({k: kw[k] for k in keys if k in kw})
    return sk


def generator_from_persisted(g: PersistedObject, where: str) -> Generator:
    syn = g.child("synthesis")
    if g.class_name != "Generator" or syn is None or g.child("mapping") is None:
        raise UserError(f"{where}: unsupported architecture: G_ema is a {g.class_name!r}, not a StyleGAN Generator")
    if syn.child("input") is not None or "SynthesisInput" in syn.module_hints:
        return stylegan3_from_persisted(g, syn, where)
    kw = g.init_kwargs
    mk = dict(kw.get("mapping_kwargs") or {})
    sk = _synthesis_kwargs(kw, _SG2_SYNTH_KEYS)
    arch = sk.pop("architecture", "skip")
    if arch != "skip":
        raise UserError(f"{where}: unsupported architecture {arch!r} (only the 'skip' generator, configs E/F)")
    for k, neutral in (("embed_features", None), ("layer_features", None)):
        if mk.get(k, neutral) not in (neutral, kw.get("w_dim")):
            raise UserError(f"{where}: unsupported mapping option {k}={mk[k]}")
    if tuple(sk.get("resample_filter", (1, 3, 3, 1))) != (1, 3, 3, 1):
        raise UserError(f"{where}: unsupported resample_filter {sk['resample_filter']}")
    if sk.get("use_noise", True) is False:
        raise UserError(f"{where}: networks without noise inputs are not supported")
    try:
        cfg = StyleGAN2Config(
            z_dim=int(kw["z_dim"]), c_dim=int(kw.get("c_dim", 0)), w_dim=int(kw["w_dim"]),
            img_resolution=int(kw["img_resolution"]), img_channels=int(kw.get("img_channels", 3)),
            channel_base=int(sk.get("channel_base", 32768)), channel_max=int(sk.get("channel_max", 512)),
            num_fp16_res=int(sk.get("num_fp16_res", 0)),
            conv_clamp=None if sk.get("conv_clamp") is None else float(sk["conv_clamp"]),
            mapping_layers=int(mk.get("num_layers", 8)),
            mapping_lr_multiplier=float(mk.get("lr_multiplier", 0.01)))
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{where}: G_ema constructor arguments are incomplete ({exc})") from None
    gen = StyleGAN2Generator(cfg)
    state = g.tensors()
    load_state_checked(gen, state, where)
    return gen


# StyleGAN3 SynthesisNetwork/SynthesisLayer arguments → our config fields (same names)
_SG3_SYNTH_KEYS = ("channel_base", "channel_max", "num_layers", "num_critical", "first_cutoff", "first_stopband",
                   "last_stopband_rel", "margin_size", "output_scale", "num_fp16_res", "conv_kernel", "filter_size",
                   "lrelu_upsampling", "use_radial_filters", "conv_clamp", "magnitude_ema_beta")
_SG3_FLOATS = {"first_cutoff", "first_stopband", "last_stopband_rel", "output_scale", "magnitude_ema_beta"}


def stylegan3_from_persisted(g: PersistedObject, syn: PersistedObject, where: str) -> StyleGAN3Generator:
    """Map a persisted stylegan3 `training.networks_stylegan3.Generator` onto ours.

    The constructor kwargs give the config; the per-layer geometry the pickle recorded (layer names,
    resampling factors, paddings) must equal what that config computes here, so a fork that changed
    the schedule is refused instead of rendering garbage. Filters come from the weights."""
    kw = g.init_kwargs
    mk = dict(kw.get("mapping_kwargs") or {})
    sk = _synthesis_kwargs(kw, _SG3_SYNTH_KEYS)
    known = {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs",
             *_SG3_SYNTH_KEYS}
    unknown = sorted(set(kw) - known) + sorted(f"synthesis_kwargs.{k}" for k in set(sk) - set(_SG3_SYNTH_KEYS))
    unknown += sorted(f"mapping_kwargs.{k}" for k in set(mk) - {"num_layers", "lr_multiplier", "w_avg_beta"})
    if unknown:
        raise UserError(f"{where}: unsupported StyleGAN3 options {unknown} (a modified network?)")
    try:
        fields: dict[str, Any] = {}
        for k, v in sk.items():
            if k == "conv_clamp":
                fields[k] = None if v is None else float(v)
            elif k == "use_radial_filters":
                fields[k] = bool(v)
            elif k in _SG3_FLOATS:
                fields[k] = float(v)
            else:
                fields[k] = int(v)
        cfg = StyleGAN3Config(
            z_dim=int(kw["z_dim"]), c_dim=int(kw.get("c_dim", 0)), w_dim=int(kw["w_dim"]),
            img_resolution=int(kw["img_resolution"]), img_channels=int(kw.get("img_channels", 3)),
            mapping_layers=int(mk.get("num_layers", 2)), mapping_lr_multiplier=float(mk.get("lr_multiplier", 0.01)),
            **fields)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{where}: G_ema constructor arguments are incomplete ({exc})") from None
    try:
        cfg.validate()
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None
    _check_sg3_geometry(cfg, syn, where)
    gen = StyleGAN3Generator(cfg, design=False)
    load_state_checked(gen, g.tensors(), where)
    return gen


def _check_sg3_geometry(cfg: StyleGAN3Config, syn: PersistedObject, where: str) -> None:
    _, specs = network_geometry(cfg)
    names = [s.name for s in specs]
    recorded = syn.state.get("layer_names")
    if recorded is not None and list(recorded) != names:
        raise UserError(f"{where}: the StyleGAN3 layers in the pickle ({', '.join(map(str, recorded))}) differ from "
                        f"what its config gives ({', '.join(names)}): a modified network?")
    for s in specs:
        layer = syn.child(s.name)
        if layer is None:
            raise UserError(f"{where}: StyleGAN3 synthesis lacks layer {s.name}")
        st = layer.state
        checks = {"up_factor": s.up, "down_factor": s.down, "conv_kernel": s.kernel, "is_torgb": s.is_torgb}
        for key, want in checks.items():
            if key in st and st[key] != want:
                raise UserError(f"{where}: {s.name}.{key} is {st[key]!r} in the pickle, {want!r} from its config")
        if "padding" in st and [int(p) for p in st["padding"]] != list(s.padding):
            raise UserError(f"{where}: {s.name} padding {list(st['padding'])} in the pickle, {list(s.padding)} "
                            "from its config")


# -- rosinality ----------------------------------------------------------------------------------------
def _torch_load(path: Path) -> Any:
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UserError(f"{path}: refused: the checkpoint holds objects other than tensors and plain data "
                        f"({str(exc).splitlines()[0][:200]})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, KeyError, OSError) as exc:
        raise UserError(f"{path}: corrupt or truncated torch checkpoint ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None


def load_rosinality(path: Path) -> StyleGAN2Generator:
    ckpt = _torch_load(path)
    if not isinstance(ckpt, dict) or "g_ema" not in ckpt:
        found = sorted(map(str, ckpt))[:8] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise UserError(f"{path}: a torch checkpoint without 'g_ema' (found {found}); expected {SUPPORTED}")
    sd = ckpt["g_ema"]
    latent_avg = ckpt.get("latent_avg")
    return generator_from_rosinality(sd, latent_avg, str(path))


def generator_from_rosinality(sd: dict[str, torch.Tensor], latent_avg: torch.Tensor | None,
                              where: str) -> StyleGAN2Generator:
    try:
        n_mlp = len({int(m.group(1)) for k in sd if (m := re.match(r"style\.(\d+)\.weight$", k))})
        style_dim = sd["style.1.weight"].shape[1]
        c4 = sd["input.input"].shape[1]
        n_up = len({int(m.group(1)) for k in sd if (m := re.match(r"to_rgbs\.(\d+)\.conv\.weight$", k))})
        res = 4 * 2**n_up
        channels = {4: c4}
        for j in range(n_up):
            channels[8 * 2**j] = sd[f"convs.{2 * j}.conv.weight"].shape[1]
        img_channels = sd["to_rgb1.conv.weight"].shape[1]
    except (KeyError, AttributeError, IndexError) as exc:
        raise UserError(f"{where}: g_ema is not a rosinality StyleGAN2 generator (missing {exc})") from None
    if n_mlp == 0:
        raise UserError(f"{where}: g_ema has no mapping network ('style.N' layers)")
    cfg = StyleGAN2Config(z_dim=style_dim, w_dim=style_dim, img_resolution=res, img_channels=img_channels,
                          mapping_layers=n_mlp, mapping_lr_multiplier=0.01, channels=channels)
    gen = StyleGAN2Generator(cfg)
    own = gen.state_dict()
    out: dict[str, torch.Tensor] = {k: v for k, v in own.items() if k.endswith("resample_filter")}
    out["mapping.w_avg"] = own["mapping.w_avg"]

    def take(key: str) -> torch.Tensor:
        if key not in sd:
            raise UserError(f"{where}: g_ema lacks {key}")
        return sd[key]

    for i in range(n_mlp):
        out[f"mapping.fc{i}.weight"] = take(f"style.{i + 1}.weight")
        out[f"mapping.fc{i}.bias"] = take(f"style.{i + 1}.bias")
    out["synthesis.b4.const"] = take("input.input")[0]

    def conv(src: str, dst: str, noise: str) -> None:
        out[f"{dst}.weight"] = take(f"{src}.conv.weight")[0]
        out[f"{dst}.affine.weight"] = take(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = take(f"{src}.conv.modulation.bias")
        out[f"{dst}.noise_strength"] = take(f"{src}.noise.weight").reshape([])
        out[f"{dst}.bias"] = take(f"{src}.activate.bias")
        out[f"{dst}.noise_const"] = take(noise)[0, 0]

    def torgb(src: str, dst: str) -> None:
        out[f"{dst}.weight"] = take(f"{src}.conv.weight")[0]
        out[f"{dst}.affine.weight"] = take(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = take(f"{src}.conv.modulation.bias")
        out[f"{dst}.bias"] = take(f"{src}.bias").reshape(-1)

    conv("conv1", "synthesis.b4.conv1", "noises.noise_0")
    torgb("to_rgb1", "synthesis.b4.torgb")
    for j, r in enumerate(block_resolutions(res)[1:]):
        conv(f"convs.{2 * j}", f"synthesis.b{r}.conv0", f"noises.noise_{2 * j + 1}")
        conv(f"convs.{2 * j + 1}", f"synthesis.b{r}.conv1", f"noises.noise_{2 * j + 2}")
        torgb(f"to_rgbs.{j}", f"synthesis.b{r}.torgb")
    load_state_checked(gen, out, where)
    if latent_avg is not None and isinstance(latent_avg, torch.Tensor):
        gen.mapping_network.w_avg.copy_(latent_avg.reshape(-1)[: gen.w_dim].float())
    else:
        log.info("%s: no latent_avg stored; estimating w_avg from 10000 samples", where)
        gen.compute_w_avg()
    return gen
