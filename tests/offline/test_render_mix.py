"""`vjgan render --mix-model B`: the preset's target model.mix blends the weights toward B, as live."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.models.test_mixing import _variant
from tests.offline.probe import decoded_frames
from vjgan.cli import main


def _preset(tmp_path: Path, mix: float) -> str:
    p = tmp_path / f"mix{mix}.toml"
    p.write_text(f'[latents]\nseeds = [7]\n[targets]\n"model.mix" = {mix}\n')
    return str(p)


def test_model_mix_1_renders_the_mix_model(click_wav, tmp_path: Path) -> None:
    audio, _ = click_wav
    b = _variant(tmp_path)
    args = ["--size", "96x54", "--fps", "6", "--duration", "1", "--crf", "0", "--no-fx"]
    runs = {
        "mixed": ["--model", "default", "--mix-model", str(b), "--preset", _preset(tmp_path, 1.0)],
        "b": ["--model", str(b), "--preset", _preset(tmp_path, 0.0)],
        "a": ["--model", "default", "--preset", _preset(tmp_path, 0.0)],
    }
    frames = {}
    for name, extra in runs.items():
        out = tmp_path / f"{name}.mp4"
        assert main(["render", str(audio), "-o", str(out), *args, *extra]) == 0
        frames[name] = np.stack(decoded_frames(out)).astype(np.float32)
    assert frames["mixed"].shape == frames["b"].shape == (6, 54, 96, 3)
    assert np.abs(frames["mixed"] - frames["b"]).mean() < 1.0  # B's pictures (float rounding of A + (B - A))
    assert np.abs(frames["mixed"] - frames["a"]).mean() > 5.0  # not the default model's


def test_a_missing_mix_model_is_refused_and_writes_nothing(click_wav, tmp_path: Path, capsys) -> None:
    audio, _ = click_wav
    rc = main(["render", str(audio), "-o", str(tmp_path / "x.mp4"), "--size", "32x32", "--duration", "0.5",
               "--mix-model", str(tmp_path / "missing.safetensors")])  # fmt: skip
    assert rc != 0
    assert "missing.safetensors" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()
