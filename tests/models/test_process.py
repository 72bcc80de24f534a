"""GeneratorProcess: the generator in a child process gives the same frames as the thread, newest params
win, a child that dies or hangs is replaced while the last frame stays available, nothing waits on a
hung child, and the child runs only the calls in its table."""

from __future__ import annotations

import os
import signal
import threading
import time
from functools import partial

import numpy as np
import pytest

from tests import conftest
from tests.models import seq_generator
from vjgan.core.frame import GeneratorParams
from vjgan.models.procedural import ProceduralGenerator
from vjgan.models.process import CALLS, Call, GeneratorProcess, load_model
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
        os.kill(proc.pid, signal.SIGKILL)  # a crash of the generator (out of memory, a driver bug)
        assert wait_for(lambda: (proc.latest(), proc.restarts)[1] == 1), proc.stats
        assert proc.latest().seq == 1 and "exited" in proc.stats.last_error
        assert wait_for(lambda: proc.ready)
        proc.submit(GeneratorParams(latent=ws, seq=2))
        assert wait_for(lambda: proc.latest().seq == 2)  # the new child renders
    finally:
        proc.stop()


def test_every_frame_carries_its_own_seq_under_concurrent_publishes() -> None:
    """The child publishes as fast as it can while the parent copies 1 MB frames out of the ring: each
    frame's image (stamped with the seq it was made from) must match the frame's seq and time."""
    proc = GeneratorProcess(seq_generator.make, seq_generator.make()).start()
    try:
        assert wait_for(lambda: proc.ready)
        checked, bad, seq, last = 0, [], 0, -1
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            seq += 1
            proc.submit(GeneratorParams(latent=seq_generator.latent(seq), seq=seq), float(seq))
            frame = proc.latest()
            if frame is None or frame.seq == last:
                continue
            last = frame.seq
            stamped, whole = seq_generator.stamped_seq(frame.image.numpy())
            checked += 1
            if not (whole and stamped == frame.seq and frame.time == float(frame.seq)):
                bad.append((frame.seq, stamped, whole))
        assert checked > 30, checked
        assert not bad, f"{len(bad)} of {checked} frames carry another frame's seq: {bad[:5]}"
    finally:
        proc.stop()


def test_a_hung_child_is_replaced_and_nothing_waits_on_it() -> None:
    """A stopped (SIGSTOP) child neither reads its pipe nor beats: submits keep returning at once while its
    pipe fills, the watchdog kills and replaces it within hang_s (+ the restart), and stop() of a hung
    child is bounded."""
    gen = ProceduralGenerator()
    proc = GeneratorProcess("procedural", gen, hang_s=1.0).start()
    slowest: list[float] = []
    try:
        ws = gen.seeds_to_ws([1, 2])
        proc.submit(GeneratorParams(latent=ws[0], seq=1))
        assert wait_for(lambda: proc.latest() is not None)
        os.kill(proc.pid, signal.SIGSTOP)  # hung, not dead: alive, silent, its pipe unread
        hung_at = time.monotonic()

        def submit_and_watch() -> None:  # the render loop's part: submit every frame, poll latest()
            seq = 1
            while proc.restarts == 0 and time.monotonic() - hung_at < 15.0:
                seq += 1
                t0 = time.perf_counter()
                proc.submit(GeneratorParams(latent=ws[seq % 2], seq=seq))
                proc.latest()
                slowest.append(time.perf_counter() - t0)
                time.sleep(0.002)

        loop = threading.Thread(target=submit_and_watch, daemon=True)
        loop.start()
        loop.join(20.0)
        assert not loop.is_alive(), "submit() blocked on the hung child"
        detected = time.monotonic() - hung_at
        assert proc.restarts == 1 and "hung" in proc.stats.last_error, proc.stats
        assert 1.0 <= detected < 5.0, detected  # hang_s + one render-loop poll; a loaded 2-core machine stalls
        # 100+ submits went out while the child was stopped (the old code blocked for good after ~50: pipe
        # full); the watchdog's kill + respawn is the one slow latest() call
        assert len(slowest) > 100 and sorted(slowest)[-2] < 0.5, sorted(slowest)[-3:]  # blocked for good before
        assert proc.latest().seq == 1  # the last frame stays on screen
        assert wait_for(lambda: proc.ready)
        proc.submit(GeneratorParams(latent=ws[1], seq=1000))
        assert wait_for(lambda: proc.latest().seq == 1000)  # the new child renders
        os.kill(proc.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        proc.stop()
        assert time.monotonic() - t0 < 2.5  # grace (1 s), then killed
    finally:
        proc.stop()
    print(f"hang detected after {detected:.2f} s; slowest submit+latest {sorted(slowest)[-2] * 1000:.1f} ms "
          f"(the restart call {max(slowest) * 1000:.0f} ms); stop of a hung child {time.monotonic() - t0:.2f} s")


def test_the_child_runs_only_the_calls_in_its_table() -> None:
    gen = ProceduralGenerator()
    proc = GeneratorProcess("procedural", gen).start()
    try:
        with pytest.raises(ValueError, match="no call 'stop'.*set_widescreen"):
            proc.call("stop")  # refused before it is sent
        assert "stop" not in CALLS and "render" not in CALLS
        assert wait_for(lambda: proc.ready)
        proc._link.post(Call("stop", ()))  # a message that names a method anyway: the child refuses it
        assert wait_for(lambda: (proc.latest(), proc.stats.errors)[1] >= 1)
        assert "refused call 'stop'" in proc.stats.last_error
        proc.submit(GeneratorParams(latent=gen.seeds_to_ws([1])[0], seq=7))  # its generator thread still runs
        assert wait_for(lambda: proc.latest() is not None and proc.latest().seq == 7)
    finally:
        proc.stop()


def test_a_hung_childs_outbox_stays_small() -> None:
    """The child stops reading (SIGSTOP) while a thousand submits and calls arrive: the outbox keeps one
    submit and the newest call of each method, not the backlog (#14 item 8)."""
    gen = ProceduralGenerator()
    proc = GeneratorProcess("procedural", gen, hang_s=60.0).start()  # no restart during the test
    try:
        assert wait_for(lambda: proc.ready)
        os.kill(proc.pid, signal.SIGSTOP)
        ws = gen.seeds_to_ws([1])[0]
        big = np.repeat(ws[None], 64, axis=0).reshape(-1, ws.shape[-1])  # fills the pipe's buffer fast
        for i in range(1000):
            proc.submit(GeneratorParams(latent=big, seq=i + 1))
            proc.call("set_noise_mode", "random" if i % 2 else "const")
            proc.call("set_widescreen", None)
        link = proc._link
        with link._cond:
            kinds = [type(m).__name__ + (f".{m.method}" if isinstance(m, Call) else "") for m in link._outbox]
        assert len(kinds) <= 3 and len(set(kinds)) == len(kinds), kinds
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.stop()
