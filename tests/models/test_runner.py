"""GeneratorThread: frames come out as RGBA on the device, the newest params win, bad params don't stop it."""

from __future__ import annotations

import time

import numpy as np
import torch

from tests.conftest import wait_for
from tests.models.helpers import small_generator
from vjgan.core.frame import GeneratorParams
from vjgan.models.runner import GeneratorThread


def latent(gen, seed: int) -> np.ndarray:
    return gen.seeds_to_ws([seed])[0]


def test_frames_latest_wins_and_errors_do_not_stop_it():
    gen = small_generator(seed=4)
    ref = small_generator(seed=4)
    th = GeneratorThread(gen).start()
    try:
        th.submit(GeneratorParams(latent=latent(ref, 0), truncation=0.5, seq=1), time=1.5)
        assert wait_for(lambda: th.latest() is not None)
        f = th.latest()
        assert f.image.dtype == torch.uint8 and f.image.shape == (32, 32, 4) and f.seq == 1 and f.time == 1.5
        assert bool((f.image[..., 3] == 255).all()) and f.gen_ms > 0
        # same picture as running the generator by hand with ψ around w_avg
        with torch.no_grad():
            ws = ref.w_avg.lerp(torch.from_numpy(latent(ref, 0))[None], 0.5)
            img = ref.synthesis(ws)
        expect = img[0].clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).permute(1, 2, 0)
        assert (f.image[..., :3].int() - expect.int()).abs().max() <= 1

        t0 = time.perf_counter()
        for seq in range(2, 60):  # a burst: submit never blocks, older params get dropped
            th.submit(GeneratorParams(latent=latent(ref, seq % 5), seq=seq,
                                      bends={"b16.conv0": {"rotate": float(seq)}}))
        assert time.perf_counter() - t0 < 0.5
        assert wait_for(lambda: th.latest().seq == 59)
        assert th.stats.dropped > 0 and th.stats.frames < 59 and th.stats.gen_ms_p50 > 0

        th.submit(GeneratorParams(latent=np.zeros((3, 3), np.float32), seq=60))  # wrong shape
        assert wait_for(lambda: th.stats.errors == 1)
        th.submit(GeneratorParams(latent=latent(ref, 1), seq=61, bends={"nope": {"zoom": 2}},
                                  noise_mask="plaid", noise_mask_amount=1.0))
        assert wait_for(lambda: th.stats.errors == 3)  # both reported, and the frame still came out
        assert th.latest().seq == 61 and "plaid" in th.stats.last_error
        th.submit(GeneratorParams(latent=latent(ref, 1), seq=62, noise_strength={"b8.conv0": 3.0},
                                  noise_mask="rings", noise_mask_amount=0.7, rewrite={"b8.conv1": 2.0}))
        assert wait_for(lambda: th.latest().seq == 62)
        th.set_widescreen("mirror")
        assert wait_for(lambda: th.latest().image.shape == (32, 64, 4))
    finally:
        th.stop()
    assert not th._thread.is_alive()


def test_urgent_params_preempt_the_frame_in_progress_but_never_an_urgent_one():
    """An onset's params abandon a routine frame at the next layer boundary; an urgent frame runs whole."""
    import threading

    gen = small_generator(seed=4)
    ref = small_generator(seed=4)
    entered, release = threading.Event(), threading.Event()

    def slow_layer(_module, _args, _out):  # holds a frame inside the forward until the test says so
        entered.set()
        release.wait(5.0)

    th = GeneratorThread(gen).start()
    hook = gen.layer_module(gen.layer_names[1]).register_forward_hook(slow_layer)
    try:
        th.submit(GeneratorParams(latent=latent(ref, 0), seq=1))  # routine
        assert entered.wait(5.0)
        entered.clear()
        th.submit(GeneratorParams(latent=latent(ref, 1), seq=2), urgent=True)  # an onset
        release.set()
        assert wait_for(lambda: th.latest() is not None and th.latest().seq == 2)
        assert th.stats.preempted == 1 and th.stats.frames == 1  # seq 1 was abandoned, never shown

        release.clear()
        entered.clear()  # seq 2 went through the slow layer too
        th.submit(GeneratorParams(latent=latent(ref, 2), seq=3), urgent=True)
        assert entered.wait(5.0)
        th.submit(GeneratorParams(latent=latent(ref, 3), seq=4), urgent=True)  # must not cut seq 3 short
        release.set()
        assert wait_for(lambda: th.latest().seq == 4)
        assert th.stats.preempted == 1 and th.stats.frames == 3
    finally:
        release.set()
        hook.remove()
        th.stop()
