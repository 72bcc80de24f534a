"""The rehearsal file player: seamless loops, and the analyzer gets exactly what goes out to the server."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.audio.conftest import SR
from vjgan.audio.player import FilePlayer
from vjgan.audio.sources import LiveInput


def _test_file(tmp_path: Path, seconds: float = 1.0) -> tuple[Path, np.ndarray]:
    """Noise through a slow chirp filter: no two stretches alike, so alignment is unambiguous."""
    rng = np.random.default_rng(7)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    x = 0.3 * rng.standard_normal(n) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.2 * np.sin(
        2 * np.pi * (200 + 400 * t) * t
    )
    x = np.clip(x, -0.95, 0.95).astype(np.float32)
    path = tmp_path / "noise.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    return path, x


def test_loop_is_sample_continuous_and_played_audio_is_what_is_analysed(pulse_ready: str, tmp_path: Path) -> None:
    path, x = _test_file(tmp_path)
    a, b = round(0.2 * SR), round(0.7 * SR)
    # generous buffers: this checks what is played, not how fast, and CI machines are busy (with
    # 20-60 ms buffers an overloaded 2-core machine makes the ALSA→Pulse bridge drop whole periods)
    player = FilePlayer(path, loop=True, loop_region=(0.2, 0.7), play=True, latency=0.25)
    monitor = LiveInput(None, latency=0.25)  # records the sink's monitor: what the audience would hear
    recorded: list[np.ndarray] = []

    def drain(seconds: float) -> None:  # the test reads the monitor as the analyzer would: continuously
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(0.05)
            recorded.append(monitor.ring.read_available()[:, 0])

    monitor.start()
    drain(0.2)
    player.start()
    drain(2.5)
    player.stop()
    drain(0.3)
    monitor.stop()
    assert monitor.overflows == 0

    fed = player.ring.read_available()[:, 0]
    assert len(fed) > 2.0 * SR and player.loops >= 3
    # what the analyzer receives is the loop region repeated, sample for sample: no gap, no repeat
    expected = np.tile(x[a:b], len(fed) // (b - a) + 1)[: len(fed)]
    assert np.array_equal(fed, expected)

    # what went out through the server (its monitor) is that same stream. On a loaded machine the
    # server may run dry for a moment and play silence (nothing PortAudio reports): those gaps are cut
    # out (runs of exact zeros; the test signal has none)
    rec = np.concatenate(recorded)
    zero = rec == 0.0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], zero.astype(np.int8), [0]))))
    keep = np.ones(len(rec), bool)
    gaps = 0
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start >= 32:
            keep[start:stop] = False
            gaps += 0 < start and stop < len(rec)  # before the start / after the end is not a glitch
    played = rec[keep]
    # every 50 ms of what was played is found verbatim in what the analyzer got (the stream is the loop
    # region repeated, so one period of it holds every possible chunk). A chunk can only fail where the
    # transport glitched (a server gap, or a period the ALSA→Pulse bridge dropped on an xrun).
    period = b - a
    chunk = SR // 20
    verbatim = failed = 0
    for k in range(0, len(played) - chunk, chunk):
        piece = played[k : k + chunk]
        if not np.any(piece):
            continue  # silence before the player started
        corr = np.correlate(fed[: period + chunk], piece, mode="valid")
        j = int(np.argmax(corr))
        if np.max(np.abs(fed[j : j + chunk] - piece)) < 1e-3:  # 16-bit server samples
            verbatim += 1
        else:
            failed += 1
    assert verbatim * chunk > 1.5 * SR, f"only {verbatim} chunks of 50 ms were heard"
    glitches = gaps + player.status_flags + monitor.status_flags
    assert failed <= 2 * glitches, f"{failed} chunks played that the analyzer never got ({glitches} glitches)"


def test_pause_seek_and_loop_region_render() -> None:
    x = np.arange(SR, dtype=np.float32)[:, None] / SR  # a ramp: every sample says where it came from
    p = FilePlayer("ramp.wav", data=x, loop=True, play=False)
    first = p.render(441)[:, 0]
    assert np.array_equal(first, x[:441, 0])
    p.pause()
    assert not p.render(441).any()
    p.resume()
    p.seek(0.5)
    assert p.render(10)[0, 0] == x[SR // 2, 0]
    p.set_loop_region(0.25, 0.26)
    block = p.render(1000)[:, 0]
    a, b = int(0.25 * SR), int(0.26 * SR)
    assert np.array_equal(block, np.tile(x[a:b, 0], 3)[:1000])  # jumps into the region, then loops
    no_loop = FilePlayer("ramp.wav", data=x, loop=False, play=False)
    no_loop.seek(1.0 - 100 / SR)
    tail = no_loop.render(441)[:, 0]
    assert np.array_equal(tail[:100], x[-100:, 0]) and not tail[100:].any() and no_loop.finished
    from vjgan.core.errors import UserError

    with pytest.raises(UserError, match="loop region"):
        p.set_loop_region(0.5, 0.5)


def test_player_without_output_feeds_the_analyzer_in_real_time() -> None:
    x = np.zeros((SR * 3, 1), np.float32)
    p = FilePlayer("silent.wav", data=x, loop=True, play=False)
    p.start()
    time.sleep(1.0)
    p.stop()
    n = p.ring.available
    assert 0.8 * SR < n < 1.2 * SR, n


def _wrap_pairs(block: np.ndarray) -> set[tuple[int, int]]:
    """(start, end) of every loop wrap in a rendered ramp: the sample before a jump is end-1, after it start."""
    v = block[:, 0].astype(np.int64)
    jumps = np.flatnonzero(np.diff(v) != 1)
    return {(int(v[k + 1]), int(v[k]) + 1) for k in jumps}


def test_loop_region_change_is_never_seen_half_done() -> None:
    """The callback's render runs at every bytecode boundary of set_loop_region (a trace hook stands in
    for the audio thread preempting the setter anywhere): each block loops a region that was set."""
    import sys

    x = np.arange(SR, dtype=np.float32)[:, None]  # a ramp: sample value = sample index
    p = FilePlayer("ramp.wav", data=x, loop=True, play=False)
    regions = [(1000, 2000), (1500, 2500), (1200, 1700)]  # a mix of two (new start, old end) still loops
    seen: set[tuple[int, int]] = set()

    def render_now() -> None:
        seen.update(_wrap_pairs(p.render(3000)))

    def tracer(frame, event, arg):  # noqa: ANN001, ANN202
        if frame.f_code.co_name in ("set_loop_region", "clear_loop_region"):
            frame.f_trace_opcodes = True
            return local
        return None

    def local(frame, event, arg):  # noqa: ANN001, ANN202
        if event == "opcode":
            render_now()
        return local

    p.set_loop_region(regions[0][0] / SR, regions[0][1] / SR)
    sys.settrace(tracer)
    try:
        for a, b in regions[1:] * 2 + regions[:1]:
            p.set_loop_region(a / SR, b / SR)
        p.clear_loop_region()
    finally:
        sys.settrace(None)
    render_now()
    assert seen, "no loop wrap was rendered"
    assert seen <= {*regions, (0, SR)}, f"blocks looped regions nobody set: {seen - {*regions, (0, SR)}}"


@pytest.mark.parametrize("channels", [1, 2])
def test_audio_callback_allocates_nothing_per_block(channels: int) -> None:
    """The output callback, called as PortAudio calls it (its own outdata, 441 frames): no per-block
    buffers. Peak traced memory over 2000 blocks stays below one block's samples; none accumulates."""
    import tracemalloc

    x = np.random.default_rng(1).uniform(-0.5, 0.5, (SR, channels)).astype(np.float32)
    p = FilePlayer("noise.wav", data=x, loop=True, loop_region=(0.1, 0.6), play=False)
    outdata = np.zeros((441, 2), np.float32)
    for _ in range(10):  # first calls may set up lazily (ring views, counters)
        p._callback(outdata, 441, None, None)
        p.ring.skip_to_latest(0)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for i in range(2000):
            p._callback(outdata, 441, None, None)
            if i % 100 == 99:
                p.ring.skip_to_latest(0)  # the analysis thread's read, without its copy
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_block = 441 * 4  # a mono float32 block; the old code allocated 1-3 of these per call
    assert peak - before < one_block, f"transient allocation of {peak - before} bytes in the callback"
    assert after - before < 1024, f"{after - before} bytes accumulated over 2000 blocks"
    assert p.loops > 0 and outdata.any()  # it did play the loop


def test_input_callback_allocates_nothing_per_block(pulse_server: str) -> None:
    """The live input's callback (stereo mixdown), called with PortAudio-shaped indata: no per-block buffers."""
    import tracemalloc

    live = LiveInput(None)  # the server's monitor source: opened, not started
    try:
        indata = np.random.default_rng(2).uniform(-0.5, 0.5, (441, 2)).astype(np.float32)
        for _ in range(10):
            live._callback(indata, 441, None, None)
        live.ring.skip_to_latest(0)
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            for i in range(2000):
                live._callback(indata, 441, None, None)
                if i % 100 == 99:
                    live.ring.skip_to_latest(0)
            after, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak - before < 441 * 4, f"transient allocation of {peak - before} bytes in the callback"
        assert after - before < 1024
        live._callback(indata, 441, None, None)
        got = live.ring.read_available()[:, 0]
        assert np.array_equal(got, indata.mean(axis=1))  # what it wrote is the mixdown
    finally:
        live.stop()
