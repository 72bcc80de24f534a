"""The divergence guard on real photos: a forced divergence (an absurd learning rate) is caught, the
last good checkpoint stays on disk untouched and loadable, and a run can come back from it.

Before #16 a run whose critic loss reached −10⁷ trained on silently; only NaN stopped it.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch

from tests.vaegan.conftest import RES, tiny_config, tiny_train_config
from tests.vaegan.wallpapers import wallpaper_crops
from vjgan.models.train_guard import DivergenceGuard
from vjgan.models.vaegan import load_vaegan
from vjgan.models.vaegan_data import load_image_folder
from vjgan.models.vaegan_train import MODEL_FILE, STATE_FILE, DivergenceError, Trainer


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder, _, _ = wallpaper_crops(160, 0, tmp_path_factory.mktemp("crops"), RES, seed=3)
    return load_image_folder(folder, RES, progress=False)  # 10 steps per epoch at batch 16


def digest(out) -> dict[str, str]:
    return {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in (MODEL_FILE, STATE_FILE)}


def test_forced_divergence_is_caught_and_the_last_good_checkpoint_survives(photos, tmp_path):
    out = tmp_path / "run"
    Trainer(photos, out, tiny_config(), tiny_train_config(max_steps=20), progress=False).run()
    good = digest(out)
    absurd = Trainer(photos, out, cfg=tiny_train_config(max_steps=60, lr_gan=1e4), resume=True, progress=False,
                     override=("lr_gan",))
    with pytest.raises(DivergenceError, match=r"diverged at step \d+ .*last good checkpoint \(step 20\)"):
        absurd.run()
    assert absurd.rollbacks == absurd.cfg.max_rollbacks + 1
    assert digest(out) == good  # never overwritten by a divergent state
    model = load_vaegan(out)
    assert all(torch.isfinite(t).all() for t in model.state_dict().values())
    with torch.no_grad():
        assert torch.isfinite(model(torch.randn(4, model.z_dim))).all()
    # and the run goes on from it at a sane rate
    again = Trainer(photos, out, cfg=tiny_train_config(max_steps=30), resume=True, progress=False)
    assert again.step == 20
    result = again.run()
    assert result.steps == 30 and result.rollbacks == 0


def test_a_divergence_is_rolled_back_with_lower_rates_and_training_goes_on(photos, tmp_path):
    """Halving from an absurd rate reaches a workable one: the run survives, reported, not silent."""
    cfg = tiny_train_config(max_steps=30, lr_gan=1e3, max_rollbacks=30)
    result = Trainer(photos, tmp_path / "run", tiny_config(), cfg, progress=False).run()
    print(f"rollbacks: {result.rollbacks}")
    assert result.rollbacks >= 1 and result.steps == 30
    assert all(math.isfinite(v) for s in result.history for v in s.values())
    assert load_vaegan(tmp_path / "run") is not None


def test_guard_flags_spikes_and_nan_not_noise():
    rng = np.random.default_rng(0)
    guard = DivergenceGuard(factor=1000, drift_factor=10000, warmup=20)
    assert guard.check({"critic": float("nan")}) == "critic is nan"  # even before warm-up
    assert "warm-up" in guard.check({"adv": 1e16})  # so is an absurd value: an lr of 1e3 gives one at step 1
    for _ in range(500):  # a noisy but healthy run: log-normal losses and gradient norms
        assert guard.check({"critic": 1.4 * rng.lognormal(0, 0.5), "grad_c": 3 * rng.lognormal(0, 0.8)}) is None
    assert "grad_c" in guard.check({"critic": 1.4, "grad_c": 3 * 5000})
    assert "critic" in guard.check({"critic": -2e7, "grad_c": 3.0})  # the WGAN-GP run of #16
    assert guard.check({"critic": 1.4, "grad_c": float("inf")}) == "grad_c is inf"
    restored = DivergenceGuard(factor=1000, drift_factor=10000, warmup=20)
    restored.load_state_dict(guard.state_dict())
    assert restored.bound("grad_c") == guard.bound("grad_c")


def test_guard_catches_a_slow_drift():
    """#16's critic loss grew ~10× per 75 steps: a running mean follows that, the lowest one does not."""
    guard = DivergenceGuard(factor=1000, drift_factor=10000, warmup=20)
    for _ in range(100):
        assert guard.check({"grad_c": 2.0}) is None
    value, caught = 2.0, None
    for _ in range(2000):
        value *= 10 ** (1 / 75)
        caught = guard.check({"grad_c": value})
        if caught:
            break
    assert caught and "lowest" in caught and value < 2.0 * 11000


def test_the_progress_bar_counts_on_right_after_a_rollback():
    """A bar rewound from step 79 to 0 prints step 1 next, not nothing until step 80."""
    import io

    from tqdm import tqdm

    from vjgan.models.train_guard import rewind_bar

    out = io.StringIO()
    bar = tqdm(total=1000, file=out, mininterval=0, ascii=True)
    for _ in range(79):
        bar.update(1)
    rewind_bar(bar, 0)
    assert " 0/1000" in out.getvalue().rsplit("\r", 1)[-1]
    before = len(out.getvalue())
    bar.update(1)
    assert "1/1000" in out.getvalue()[before:]
    bar.close()
