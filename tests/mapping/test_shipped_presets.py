"""Every shipped preset loads, runs on the default model over the demo track (real OnlineAnalyzer
features) and moves every one of its targets: no dead routes."""

from __future__ import annotations

import time

import numpy as np
import pytest

from vjgan.core.paths import PRESETS_DIR
from vjgan.core.registry import ParamRegistry
from vjgan.mapping.engine import MappingEngine
from vjgan.mapping.presets import list_presets, load_preset

SECONDS = 16.0  # 8 bars at 120 BPM: every envelope, LFO and loop segment gets exercised
RENDER_FPS = 50.0
PRESETS = list_presets()


@pytest.fixture(scope="module")
def demo_features():
    from vjgan.audio.analysis import OnlineAnalyzer
    from vjgan.audio.decode import load_audio
    from vjgan.audio.demo import demo_track_path

    samples, sr = load_audio(demo_track_path(), 44100, mono=True)
    analyzer = OnlineAnalyzer(sr)
    features = analyzer.process_array(samples[: int(SECONDS * sr), 0])
    # the mapping reads the analyzer's own event counters (never rebuilt here): they must count its events
    for name in ("onset", "kick", "snare"):
        counts = [getattr(f, f"{name}_count") for f in features]
        assert counts == np.cumsum([getattr(f, f"{name}_event") for f in features]).tolist(), name
        assert counts[-1] > 0, f"no {name} events counted on the demo track"
    return features


@pytest.fixture(scope="module")
def default_generator():
    from vjgan.models.default import load_default_generator

    return load_default_generator("cpu")


def test_presets_are_shipped():
    names = {p.stem for p in PRESETS}
    assert {"default", "chroma", "drums", "sections", "loops", "bending"} <= names
    assert (PRESETS_DIR / "default.toml").is_file()


@pytest.fixture(scope="module")
def generator_thread(default_generator):
    """The models stage's real generator thread (bends, noise, masks, rewrite applied), one per module."""
    from vjgan.models.runner import GeneratorThread

    thread = GeneratorThread(default_generator, "cpu").start()
    yield thread
    thread.stop()


def _render(thread, params_list) -> list[np.ndarray]:
    images = []
    for gp in params_list:
        thread.submit(gp)
        deadline = time.monotonic() + 60
        while (frame := thread.latest()) is None or frame.seq != gp.seq:
            assert time.monotonic() < deadline, f"no frame from the generator: {thread.stats}"
            time.sleep(0.005)
        images.append(frame.image.cpu().numpy().astype(np.float32))
    assert thread.stats.errors == 0, thread.stats.last_error
    return images


@pytest.mark.parametrize("path", PRESETS, ids=[p.stem for p in PRESETS])
def test_shipped_preset_runs_and_every_route_moves(path, demo_features, default_generator, generator_thread):
    preset = load_preset(path)  # the real shaders/ effects
    engine = MappingEngine(default_generator, preset, ParamRegistry())
    outs, latents, values, frames = [], [], [], []
    n = int(SECONDS * RENDER_FPS)
    for i in range(n):
        f = demo_features[min(int(i * 100 / RENDER_FPS), len(demo_features) - 1)]
        fp = engine.step(f, now=i / RENDER_FPS)
        outs.append(engine.route_outputs())
        latents.append(fp.generator.latent)
        values.append(engine.target_values())
        frames.append(fp)
    outs_a = np.array(outs)
    for r, route in enumerate(engine.cur.routes):
        spread = float(np.ptp(outs_a[n // 8 :, r]))  # after the analyzer's first second of warm-up
        assert spread > 1e-3, f"{path.name}: route {r} ({route.spec.source} → {route.spec.target}) is dead"
        target = np.array([v[route.spec.target] for v in values[n // 8 :]])
        assert np.ptp(target) > 1e-4, f"{path.name}: target {route.spec.target} never moves"
    lat = np.array(latents)
    assert float(np.abs(np.diff(lat, axis=0)).max()) > 1e-3, f"{path.name}: the latent never moves"
    assert np.isfinite(lat).all()
    # the default model renders them: the frames where the routes are most and least active (fixed times
    # can all fall where every envelope has decayed) give different images
    activity = np.abs(outs_a - np.median(outs_a[n // 8 :], axis=0)).sum(axis=1)
    busiest = n // 8 + int(np.argmax(activity[n // 8 :]))
    quietest = n // 8 + int(np.argmin(activity[n // 8 :]))
    images = _render(generator_thread, [frames[i].generator for i in (n // 2, busiest, quietest)])
    assert all(np.isfinite(im).all() for im in images)
    assert float(np.abs(images[1] - images[2]).mean()) > 1e-4, f"{path.name}: the routes do not change the image"
