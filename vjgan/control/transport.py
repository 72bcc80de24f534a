"""OSC/panel addresses for the file player's transport and the tempo tap/nudge.

The player and the tempo tracker are duck-typed so this module does not depend on the audio stage:
  player: pause(), seek(seconds: float), and
          play() or resume() (vjgan.audio.player.FilePlayer has resume()),
          set_loop(start | None, end | None) (None, None clears) or set_loop_region(a, b) + clear_loop_region();
          optional attribute `duration` (seconds) bounds the seek/loop ranges.
  tempo:  tap(), nudge(bpm: float)
The callbacks run on the render thread (ControlQueue.drain), like every registry apply; an exception they
raise (e.g. UserError for a too-short loop) is counted and logged by the queue, never fatal.
"""

from __future__ import annotations

from typing import Any

from vjgan.core.registry import Param, ParamRegistry

GROUP = "transport"
PLAYER = "/vjgan/player"
TEMPO = "/vjgan/tempo"


class _Loop:
    """Loop region state: OSC sets the two ends and the on/off switch separately (one value per message)."""

    def __init__(self, player: Any) -> None:
        self.player = player
        self.start = 0.0
        self.end: float | None = None
        self.enabled = False

    def push(self) -> None:
        on = self.enabled and self.end is not None and self.end > self.start
        if callable(getattr(self.player, "set_loop", None)):
            if on:
                self.player.set_loop(self.start, self.end)
            else:
                self.player.set_loop(None, None)
        elif on:
            self.player.set_loop_region(self.start, self.end)
        else:
            self.player.clear_loop_region()

    def set_start(self, v: float) -> None:
        self.start = float(v)
        self.push()

    def set_end(self, v: float) -> None:
        self.end = float(v)
        self.push()

    def set_enabled(self, v: bool) -> None:
        self.enabled = bool(v)
        self.push()


def register_transport(registry: ParamRegistry, player: Any | None, tempo: Any | None) -> None:
    """(Re)register the transport group; either object may be None (e.g. live input has no player)."""
    items: list[tuple[Param, Any]] = []
    if player is not None:
        duration = getattr(player, "duration", None)
        top = float(duration) if isinstance(duration, int | float) and duration > 0 else 24 * 3600.0
        loop = _Loop(player)
        play = player.play if callable(getattr(player, "play", None)) else player.resume  # FilePlayer.play is a flag
        items += [
            (Param(f"{PLAYER}/play", "trigger", "start/resume file playback", group=GROUP), lambda _v: play()),
            (Param(f"{PLAYER}/pause", "trigger", "pause file playback", group=GROUP), lambda _v: player.pause()),
            (
                Param(
                    f"{PLAYER}/seek",
                    "float",
                    "jump to this position (seconds; range = the file length)",
                    0.0,
                    top,
                    0.0,
                    GROUP,
                ),
                lambda v: player.seek(float(v)),
            ),
            (
                Param(f"{PLAYER}/loop", "bool", "loop the region loop_start..loop_end (0/1)", None, None, False, GROUP),
                loop.set_enabled,
            ),
            (
                Param(
                    f"{PLAYER}/loop_start",
                    "float",
                    "loop region start (seconds; range = the file length)",
                    0.0,
                    top,
                    0.0,
                    GROUP,
                ),
                loop.set_start,
            ),
            (
                Param(
                    f"{PLAYER}/loop_end",
                    "float",
                    "loop region end (seconds; range = the file length)",
                    0.0,
                    top,
                    top,
                    GROUP,
                ),
                loop.set_end,
            ),
        ]
    if tempo is not None:
        items += [
            (Param(f"{TEMPO}/tap", "trigger", "tap tempo: one tap per beat", group=GROUP), lambda _v: tempo.tap()),
            (
                Param(f"{TEMPO}/nudge", "float", "shift the tempo by this many BPM", -20.0, 20.0, 0.0, GROUP),
                lambda v: tempo.nudge(float(v)),
            ),
        ]
    registry.replace_group(GROUP, items)
