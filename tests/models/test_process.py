"""GeneratorProcess: the generator in a child process gives the same frames as the thread, newest params
win, and a child that dies is replaced while the last frame stays available."""

from __future__ import annotations

import os
import signal
from functools import partial

import numpy as np
import pytest

from tests import conftest
from vjgan.mapping.frame import GeneratorParams
from vjgan.models.process import GeneratorProcess, load_model
from vjgan.models.runner import GeneratorThread

wait_for = partial(conftest.wait_for, timeout=60.0)  # a child process loads its own model first


@pytest.fixture(scope="module")
def model():
    return load_model("default")


def test_frames_equal_the_threads_and_latest_wins(model) -> None:
    proc = GeneratorProcess("default", model).start()
    try:
        ws = model.seeds_to_ws([3])[0]
        params = GeneratorParams(latent=ws, truncation=0.7, seq=1, bends={model.layer_names[2]: {"rotate": 20.0}})
        proc.submit(params, 1.25)
        assert wait_for(lambda: proc.latest() is not None), proc.stats
        frame = proc.latest()
        assert frame.seq == 1 and frame.time == 1.25 and frame.gen_ms > 0
        expect = GeneratorThread(model).render(params).image.cpu().numpy()
        np.testing.assert_array_equal(frame.image.numpy(), expect)  # same model, same code, same pixels

        for seq in range(2, 40):  # a burst: never blocks, the newest wins
            proc.submit(GeneratorParams(latent=model.seeds_to_ws([seq % 4])[0], seq=seq))
        assert wait_for(lambda: proc.latest().seq == 39)
        assert proc.stats.dropped > 0 and proc.stats.frames < 39 and proc.stats.gen_ms_p50 > 0

        proc.submit(GeneratorParams(latent=np.zeros((2, 2), np.float32), seq=40))  # bad params: reported
        assert wait_for(lambda: (proc.latest(), proc.stats.errors)[1] >= 1)
        assert "shape" in proc.stats.last_error and proc.latest().seq == 39
    finally:
        proc.stop()
    assert proc.latest().seq == 39  # still the last frame after stop


def test_a_dead_child_is_replaced_and_the_last_frame_stays(model) -> None:
    proc = GeneratorProcess("default", model).start()
    try:
        ws = model.seeds_to_ws([1])[0]
        proc.submit(GeneratorParams(latent=ws, seq=1))
        assert wait_for(lambda: proc.latest() is not None)
        os.kill(proc._proc.pid, signal.SIGKILL)  # a crash of the generator (out of memory, a driver bug)
        assert wait_for(lambda: (proc.latest(), proc.restarts)[1] == 1), proc.stats
        assert proc.latest().seq == 1 and "exited" in proc.stats.last_error
        assert wait_for(lambda: proc.ready)
        proc.submit(GeneratorParams(latent=ws, seq=2))
        assert wait_for(lambda: proc.latest().seq == 2)  # the new child renders
    finally:
        proc.stop()
