"""Offline-render fixtures: a private analysis cache and short generated tracks with known ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.offline.synth import click_track, two_halves, write_wav


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Analysis caches go to a per-session folder, never the user's ~/.cache/vjgan."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("vjgan-cache")
    mp.setenv("VJGAN_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="session")
def click_wav(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    x, times = click_track(6.0)
    return write_wav(tmp_path_factory.mktemp("audio") / "clicks.wav", x), times


@pytest.fixture(scope="session")
def halves_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wav(tmp_path_factory.mktemp("audio") / "halves.wav", two_halves(16.0, 8.0))
