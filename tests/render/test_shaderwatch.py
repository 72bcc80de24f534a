"""The shader folder watcher: a render loop that stops taking results holds the watcher, not memory."""

from __future__ import annotations

import os
import time
from pathlib import Path

from vjgan.render.shaderwatch import ShaderWatcher


def test_an_unread_watcher_stays_bounded_and_ends_with_the_newest_text(tmp_path: Path) -> None:
    shader = tmp_path / "glow.frag"
    shader.write_text("// v0\n")
    watcher = ShaderWatcher(tmp_path, {"glow": shader.stat().st_mtime}, interval=0.005)
    try:
        for i in range(1, 80):  # 79 edits nobody reads for a while
            shader.write_text(f"// v{i}\n")
            os.utime(shader, (1_000_000 + i, 1_000_000 + i))
            time.sleep(0.01)
        assert watcher._out.qsize() <= watcher._out.maxsize == 16
        newest = None
        deadline = time.monotonic() + 10
        while newest != "// v79\n" and time.monotonic() < deadline:
            for scan in watcher.changes():
                newest = scan.changed[-1].source if scan.changed else newest
            time.sleep(0.02)
        assert newest == "// v79\n"
    finally:
        watcher.stop()
