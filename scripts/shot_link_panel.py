#!/usr/bin/env python3
"""docs/img/panel_audio_link.png: the Audio tab following a Link session (peer A at 128 BPM).

Run under X (scripts/services.sh) inside a private network namespace, so Link never uses the real network:
  unshare -n sh -c 'ip link set lo up && ip link set lo multicast on && exec "$@"' sh \\
      .venv/bin/python scripts/shot_link_panel.py docs/img/panel_audio_link.png
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    from tests.app.link_scenario import PeerA
    from tests.app.test_headless import click_track
    from vjgan.app.live import LiveApp, LiveConfig

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img/panel_audio_link.png")
    audio = Path(tempfile.mkdtemp()) / "clicks.wav"
    click_track(audio, seconds=20.0)
    a = PeerA(90.0)
    app = LiveApp(LiveConfig(audio=str(audio), model="procedural", size=(320, 180), fps=30.0, link=True,
                             tempo_source="link", rehearsal=False))
    app.start()
    try:
        a.set_tempo(128.0)
        app.panel.tab = "Audio"
        end = time.perf_counter() + 4.0
        while time.perf_counter() < end:
            app.step()
            app._pace()
        print(f"tempo {app.bus.latest.tempo:.2f}: {app.tempo_sources.status()}")
        app.panel.screenshot(out)
    finally:
        app.stop()
        a.stop()


if __name__ == "__main__":  # the generator process is spawned: it re-imports this file
    main()
