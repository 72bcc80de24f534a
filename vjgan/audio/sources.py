"""Audio sources: live input, rehearsal file player, silence; and the choice between them."""

from __future__ import annotations

import logging
from pathlib import Path

from vjgan.audio.base import AudioSource, SilenceSource
from vjgan.audio.live import LiveInput, NoInputDevice, list_input_devices
from vjgan.audio.player import FilePlayer
from vjgan.core.errors import UserError

__all__ = ["AudioSource", "FilePlayer", "LiveInput", "SilenceSource", "list_input_devices", "make_source"]

log = logging.getLogger(__name__)


def make_source(
    audio_file: str | Path | None,
    device: str | int | None = None,
    loop: bool = True,
    play: bool = True,
) -> AudioSource:
    """A file player when a file is given, else the live input; the show goes on without devices.

    - no input device / no audio server → a logged warning and a SilenceSource;
    - a file but no output device → the file is analysed in real time without being heard;
    - a device that was named but does not exist, or an unreadable file → UserError (fix the flag).
    """
    if audio_file is not None:
        if play:
            try:
                return FilePlayer(audio_file, loop=loop, play=True)
            except UserError as exc:
                if "cannot open audio output" not in str(exc):
                    raise  # bad file: the user must know
                log.warning("%s; analysing the file without playing it", exc)
            except OSError as exc:  # PortAudio library missing
                log.warning("no audio output (%s); analysing the file without playing it", exc)
        return FilePlayer(audio_file, loop=loop, play=False)
    try:
        return LiveInput(device)
    except NoInputDevice as exc:
        log.warning("%s: continuing on silence (use --audio FILE to play a track instead)", exc)
        return SilenceSource(reason=str(exc))
