"""The live app's video outputs (NDI, v4l2 virtual camera, Syphon, Spout): started from the command line, and
started, stopped and renamed live from the panel and OSC (/vjgan/output/<kind>/enabled, .../name).

Why a hub here: the render loop asks it once per frame whether any output wants the frame (one readback
shared with the PNG writer and the recorder) and hands it over; each output is a `ThreadedOutput`, so a
slow or dead receiver costs the loop one queue put. A backend that cannot start (no v4l2loopback device,
Syphon off macOS, no NDI runtime) becomes a note for the panel; the show goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from vjgan.core.errors import UserError
from vjgan.core.panel_state import OutputView
from vjgan.core.registry import Param, ParamRegistry
from vjgan.video.outputs import ThreadedOutput

log = logging.getLogger(__name__)

# kind → (what it is, its target in words, default target)
KINDS: dict[str, tuple[str, str, str]] = {
    "ndi": ("NDI source", "source name", "vjgan"),
    "v4l2": ("v4l2loopback virtual camera", "device", "/dev/video10"),
    "syphon": ("Syphon server (macOS)", "server name", "vjgan"),
    "spout": ("Spout sender (Windows)", "sender name", "vjgan"),
}


def make_sink(kind: str, target: str, fps: float) -> Any:
    """The backend of `kind` for `target` (imported only when asked for); UserError when it cannot be used here."""
    if kind == "ndi":
        from vjgan.video.out_ndi import NdiSink

        return NdiSink(target, fps)
    if kind == "v4l2":
        from vjgan.video.out_v4l2 import V4l2Sink

        return V4l2Sink(target, fps)
    if kind == "syphon":
        from vjgan.video.out_syphon import SyphonSink

        return SyphonSink(target)
    if kind == "spout":
        from vjgan.video.out_spout import SpoutSink

        return SpoutSink(target)
    raise UserError(f"unknown video output {kind!r} (one of {', '.join(KINDS)})")


class VideoOutputs:
    """The outputs of one show. Every method runs on the render thread (registry callbacks included)."""

    def __init__(self, note: Callable[[str], None], fps: float, queue_size: int = 2) -> None:
        self.note = note
        self.fps = fps
        self.queue_size = queue_size
        self.targets = {kind: default for kind, (_, _, default) in KINDS.items()}
        self.running: dict[str, ThreadedOutput] = {}
        self.errors: dict[str, str] = {}  # kind → why it is not running (a start that failed)
        self._reported: dict[str, int] = {}  # kind → the error count already noted

    # ---- control ----------------------------------------------------------------------------------
    def start(self, kind: str, target: str | None = None) -> bool:
        """Start (or restart) output `kind` on `target` (default: the last one set); False and a note if it cannot."""
        if target is not None:
            self.targets[kind] = target
        self.stop(kind)
        target = self.targets[kind]
        try:
            sink = make_sink(kind, target, self.fps)
        except UserError as exc:
            self.errors[kind] = str(exc)
            self.note(f"{KINDS[kind][0]} not started: {exc}")
            return False
        self.errors.pop(kind, None)
        self._reported[kind] = 0
        self.running[kind] = ThreadedOutput(f"{kind} {target}", sink, self.queue_size)
        self.note(f"{KINDS[kind][0]} {target}: on")
        return True

    def stop(self, kind: str) -> None:
        out = self.running.pop(kind, None)
        if out is not None:
            out.close()
            self.note(f"{KINDS[kind][0]} {self.targets[kind]}: off ({out.stats.sent} sent, "
                      f"{out.stats.dropped} dropped)")

    def set_enabled(self, kind: str, on: bool) -> None:
        """On: start it, or start again one that failed; one already running stays as it is."""
        out = self.running.get(kind)
        if on and out is not None and not out.failed:
            return
        if on:
            self.start(kind)
        else:
            self.stop(kind)
            self.errors.pop(kind, None)

    def set_target(self, kind: str, target: str) -> None:
        """Rename the NDI / Syphon / Spout source, or move the camera to another device; a running output restarts."""
        target = target.strip()
        if not target:
            self.note(f"{KINDS[kind][0]}: an empty {KINDS[kind][1]} is ignored")
            return
        if kind in self.running:
            self.start(kind, target)
        else:
            self.targets[kind] = target

    def register(self, registry: ParamRegistry) -> None:
        registry.replace_group("output", output_params(self))

    # ---- per frame ----------------------------------------------------------------------------------
    def wants_frame(self) -> bool:
        """Whether any output takes frames now; also turns new failures of the sender threads into notes."""
        wants = False
        for kind, out in self.running.items():
            errors = out.stats.errors
            if errors != self._reported.get(kind, 0) and (errors < 10 or out.failed):
                self._reported[kind] = errors
                self.note(f"{KINDS[kind][0]} {self.targets[kind]}: {out.stats.error}")
            wants = wants or not out.failed
        return wants

    def send(self, image: np.ndarray, time: float) -> None:
        for out in self.running.values():
            out.send(image, time)

    def close(self) -> None:
        for kind, out in self.running.items():
            out.close()
            log.info("%s %s: %d frames sent, %d dropped, %d errors", KINDS[kind][0], self.targets[kind],
                     out.stats.sent, out.stats.dropped, out.stats.errors)
        self.running.clear()

    def views(self) -> tuple[OutputView, ...]:
        """What the panel shows of each kind (copied on the render thread)."""
        views = []
        for kind, (what, target_word, _) in KINDS.items():
            out = self.running.get(kind)
            stats = out.stats if out is not None else None
            error = (stats.error if stats is not None and stats.error else self.errors.get(kind, ""))
            views.append(OutputView(kind, what, target_word, self.targets[kind], out is not None and not out.failed,
                                    stats.sent if stats else 0, stats.dropped if stats else 0,
                                    stats.errors if stats else 0, error))
        return tuple(views)


def output_params(hub: VideoOutputs | None) -> list[tuple[Param, Any]]:
    """The outputs' parameters (group "output"); `hub=None` gives inert callbacks (the OSC docs). Under
    /vjgan/output/, apart from OSC out's feature stream, which sends /vjgan/out/*."""
    items: list[tuple[Param, Any]] = []
    for kind, (what, target_word, default) in KINDS.items():
        def enabled(v: Any, kind: str = kind) -> None:
            if hub is not None:
                hub.set_enabled(kind, bool(v))

        def target(v: Any, kind: str = kind) -> None:
            if hub is not None:
                hub.set_target(kind, str(v))

        word = "name" if kind != "v4l2" else "device"
        article = "an" if what[0] in "AEIOUN" else "a"
        items.append((Param(f"/vjgan/output/{kind}/enabled", "bool",
                            f"send the output frames to other apps as {article} {what} (on/off)",
                            default=kind in hub.running if hub else False, group="output"), enabled))
        items.append((Param(f"/vjgan/output/{kind}/{word}", "str",
                            f"{target_word} of the {what} (default {default}); a running one restarts on it",
                            default=hub.targets[kind] if hub else default, group="output"), target))
    return items
