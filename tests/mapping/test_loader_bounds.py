"""A flood of preset loads (OSC at any rate) costs the load in progress and the newest request, nothing
queued without end (#14 item 8)."""

from __future__ import annotations

import time

from vjgan.core.paths import PRESETS_DIR
from vjgan.mapping.loader import PresetLoader
from vjgan.models.default import load_default_generator


def test_only_the_newest_waiting_preset_load_is_made() -> None:
    loader = PresetLoader(load_default_generator(), None, poll_s=0.05)
    loader.start()
    try:
        names = ["default", "drums", "chroma", "loops"] * 50
        for name in names:  # 200 requests at once, each load takes tens of ms
            loader.request(name, 4.0, PRESETS_DIR)
        results, deadline = [], time.monotonic() + 30
        while time.monotonic() < deadline and not (results and results[-1].path.stem == names[-1]):
            results += loader.results()
            time.sleep(0.05)
        time.sleep(0.3)
        results += loader.results()
    finally:
        loader.stop()
    assert all(r.error is None for r in results), [r.error for r in results]
    assert results and results[-1].path.stem == "loops"  # the newest request wins
    assert len(results) <= 2 and loader.superseded >= len(names) - 2, (len(results), loader.superseded)
