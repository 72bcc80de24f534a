"""The work folder of a farmed render: one file per frame range, and a manifest that guards resumes.

Segments live in `<output>.parts/` next to the output, named by range (`seg-000060-000120.mp4`), each
written atomically (a hidden temporary file renamed into place), so a killed render leaves only whole
segments. `manifest.json` holds a hash of everything that decides the frames (audio bytes, preset
text, model, size, fps, seed, quality, ...) and the segment plan: a rerun with the same arguments
skips the segments that exist; a changed config deletes them instead of reusing stale ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from vjgan.core.errors import UserError

MANIFEST = "manifest.json"
VERSION = 1


@dataclass(frozen=True)
class Segment:
    first: int  # frame indices [first, last)
    last: int

    @property
    def name(self) -> str:
        return f"seg-{self.first:06d}-{self.last:06d}.mp4"

    @property
    def frames(self) -> int:
        return self.last - self.first


def plan_segments(frames: int, size: int) -> list[Segment]:
    size = max(1, int(size))
    return [Segment(s, min(s + size, frames)) for s in range(0, frames, size)]


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def config_hash(fields: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


class WorkFolder:
    """`<output>.parts/`: finished segments and the manifest they belong to."""

    def __init__(self, output: Path, key: str, segments: list[Segment]) -> None:
        self.path = output.with_name(output.name + ".parts")
        self.key = key
        self.segments = segments
        self.reused = 0  # segments found finished from an earlier run

    def open(self) -> list[Segment]:
        """Create or check the folder; returns the segments still to render."""
        try:
            self.path.mkdir(exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the render's work folder {self.path}: {exc}") from exc
        manifest = self.path / MANIFEST
        old = None
        if manifest.is_file():
            try:
                old = json.loads(manifest.read_text())
            except (OSError, ValueError):
                old = None
        plan = [[s.first, s.last] for s in self.segments]
        if not old or old.get("version") != VERSION or old.get("config") != self.key or old.get("segments") != plan:
            for stale in self.path.glob("seg-*.mp4"):  # another config's frames: never joined into this one
                stale.unlink()
            self._write(manifest, json.dumps({"version": VERSION, "config": self.key, "segments": plan}).encode())
        todo = [s for s in self.segments if not (self.path / s.name).is_file()]
        self.reused = len(self.segments) - len(todo)
        return todo

    def segment_path(self, seg: Segment) -> Path:
        return self.path / seg.name

    def store(self, seg: Segment, data: bytes) -> Path:
        """A finished segment's bytes, atomically under its name."""
        path = self.segment_path(seg)
        self._write(path, data)
        return path

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.partial")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
