"""The live app's panel/OSC actions (group "app"), as a mixin of `LiveApp`.

They are called on the render thread by the ControlQueue. Anything that decodes, hashes, starts or
joins audio streams, runs the mapping network or writes a file goes to the app's `Worker`
(vjgan/app/workers.py): here only the request is checked (cheap, so a bad one is still a rejected
control message) and the worker's result is applied at a later frame, so the show never waits for it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vjgan.core.errors import UserError
from vjgan.core.paths import PathRefused, confine
from vjgan.core.registry import ParamError

if TYPE_CHECKING:
    from vjgan.app.workers import Worker

log = logging.getLogger(__name__)
_CAMERA_SPEC = re.compile(r"black|camera(:\d+)?|\d+|/dev/video\d+")  # video specs that are not files


class AppActions:
    """Mixin: needs the LiveApp attributes used below (audio, mapping, worker, presets_dir, ...)."""

    worker: Worker
    presets_dir: Path
    media_dirs: list[Path]
    messages: Any
    audio: Any
    mapping: Any
    generator: Any
    last_latent: np.ndarray | None
    audio_file: str | None
    rehearsal: Any
    crossfade_ms: float
    video_mix: float
    video: Any  # VideoInput or None
    audio_in_flight: list[Any]  # engines started by a switch and not yet swapped in
    _edit_base: Any = None  # the compiled preset a chain of pending edits started from
    _edit_pending: Any = None  # the newest edited Preset not yet compiled

    def _remote_path(self, text: str, roots: list[Path], what: str, suffix: str = "") -> Path:
        """paths.confine for a request from OSC or the panel; a refusal is a note in the panel and a rejected
        control message (logged by the queue with its origin)."""
        try:
            return confine(text, roots, what, suffix)
        except PathRefused as exc:
            self.messages.append(f"{time.strftime('%H:%M:%S')} {exc}")
            raise ParamError(str(exc)) from exc

    def note(self, text: str) -> None:
        log.info(text)
        self.messages.append(f"{time.strftime('%H:%M:%S')} {text}")

    def _failed(self, what: str) -> Any:
        return lambda exc: self.note(f"{what}: {exc}")

    def offload(self, name: str, work: Any, apply: Any = None) -> None:
        """Run `work` on the worker, `apply` its result at a later frame; failures become panel notes."""
        self.worker.submit(name, work, apply, self._failed(name))

    def set_crossfade(self, ms: float) -> None:
        self.crossfade_ms = float(ms)

    def set_video_mix(self, mix: float) -> None:
        self.video_mix = float(mix)

    def auto_tempo(self, _value: Any = None) -> None:
        if callable(getattr(self.audio, "auto_tempo", None)):
            self.audio.auto_tempo()
            self.note("tempo: following the audio again")

    # ---- audio source --------------------------------------------------------------------------------
    def switch_audio_file(self, path: str) -> None:
        """OSC / panel: a file inside the media folders ('' = back to the default input)."""
        text = str(path).strip()
        self.switch_audio(str(self._remote_path(text, self.media_dirs, "audio file")) if text else None, None)

    def switch_audio_device(self, device: str) -> None:
        self.switch_audio(None, str(device) or None)

    def switch_audio(self, audio_file: str | None, device: str | None) -> None:
        """Replace the audio source; on bad input the old one keeps running. The decode, the analyser's
        warm-up, the stream start and the track's analysis lookup (SHA-256) run on the worker; the swap is
        a few assignments on the render thread; the old engine is stopped (a join) on the worker."""

        def work() -> tuple[Any, Any]:
            new = self._make_audio(audio_file, device)
            self.audio_in_flight.append(new)  # stop() ends it if the app stops before it is applied
            if self.worker.stopping:  # the show ended during the decode: start nothing
                self.audio_in_flight.remove(new)
                raise UserError("the app is stopping")
            new.start()
            try:
                return new, self._make_rehearsal(new)
            except BaseException:
                self.audio_in_flight.remove(new)
                new.stop()
                raise

        def apply(made: tuple[Any, Any]) -> None:
            self.audio_in_flight.remove(made[0])
            old = self.audio
            self.audio, self.rehearsal = made
            self.audio_file = audio_file
            self._register_transport()
            self.note(f"audio source: {audio_file or device or 'default input'}")
            self.worker.submit("audio/stop-old", old.stop, failed=self._failed("stopping the old audio source"))

        def failed(exc: BaseException) -> None:
            if not isinstance(exc, UserError):
                log.error("audio switch failed", exc_info=exc)
            self.note(f"audio source not changed: {exc}")

        self.worker.submit("audio/switch", work, apply, failed)

    def select_video(self, spec: str) -> None:
        """OSC / panel: a camera, black, or a video file inside the media folders. Opening it (a device, a
        container) and stopping the old source (a join) run on the worker."""
        spec = str(spec).strip()
        if not _CAMERA_SPEC.fullmatch(spec):
            spec = str(self._remote_path(spec, self.media_dirs, "video file"))
        video = self.video
        if video is None:
            raise ParamError("no video input: start with --video SPEC and a VAE-GAN model")

        def done(ok: bool) -> None:
            self.note(f"video: re-rendering {spec}" if ok else
                      f"video: {video.last_error}; the show goes on with the mapped latents")

        self.worker.submit("video/source", lambda: video.select(spec), done, self._failed("video source"))

    # ---- preset structure (routes, latents) ----------------------------------------------------------
    def _edit_preset(self, edit: Any, what: str) -> None:
        """Change the running preset's structure: snapshot, edit (here), compile (worker: latents may run
        the mapping network), swap (render thread). Edits made before the previous one is compiled build
        on it, so quick successive edits all land; a preset loaded meanwhile wins over a pending edit."""
        chained = self._edit_pending is not None and self._edit_base is self.mapping.cur
        base = self._edit_pending if chained else self.mapping.snapshot()
        preset = replace(base, routes=list(base.routes))  # the worker may still be reading `base`
        edit(preset)
        self._edit_base, self._edit_pending = self.mapping.cur, preset
        mapping = self.mapping

        def apply(compiled: Any) -> None:
            if mapping is not self.mapping or self._edit_base is not mapping.cur:
                self.note(f"{what}: not applied, the preset changed meanwhile")
            else:
                cur = mapping.cur  # base and user values set while this compiled (an OSC fader) are kept
                for name, v in cur.bases.items():
                    compiled.targets.setdefault(name, cur.targets[name])
                    compiled.bases[name] = v
                compiled.user.update({k: v for k, v in cur.user.items() if k in compiled.user})
                mapping.install(compiled, 0.0)
                self._edit_base = mapping.cur
                self.note(what)
            if self._edit_pending is preset:
                self._edit_pending = None

        def failed(exc: BaseException) -> None:
            if self._edit_pending is preset:
                self._edit_pending = None
            self.note(f"{what}: {exc}")

        self.worker.submit(f"preset edit: {what}", lambda: mapping.compile(preset), apply, failed)

    def add_route(self, text: str) -> None:
        from vjgan.mapping.spec import RouteSpec
        from vjgan.mapping.targets import TargetError

        source, sep, target = (x.strip() for x in str(text).partition("->"))
        if not sep or not source or not target:
            raise ParamError(f"route must look like 'SOURCE -> TARGET', got {text!r}")
        try:
            self.mapping.parse_target(target)  # a bad target is a rejected message now, not a note later
        except TargetError as exc:
            raise ParamError(str(exc)) from exc
        self._edit_preset(lambda p: p.routes.append(RouteSpec(source, target)), f"route {source} -> {target} added")

    def remove_route(self, index: int) -> None:
        n = len(self._edit_pending.routes) if self._edit_pending is not None and self._edit_base is \
            self.mapping.cur else len(getattr(getattr(self.mapping, "cur", None), "routes", []))
        if not 0 <= index < n:
            raise ParamError(f"route {index} does not exist ({n} routes)")
        self._edit_preset(lambda p: p.routes.pop(index), f"route {index} removed")

    def set_seeds(self, text: str) -> None:
        try:
            seeds = tuple(int(x) for x in str(text).replace(" ", "").split(",") if x)
        except ValueError as exc:
            raise ParamError(f"seeds must be integers separated by commas, got {text!r}") from exc
        if not seeds:
            raise ParamError("no seeds given")

        def edit(p: Any) -> None:
            p.latents = replace(p.latents, seeds=seeds, file=None)

        self._edit_preset(edit, f"latent seeds {','.join(map(str, seeds))}")

    def morph_to(self, text: str) -> None:
        """Latent interpolation for the panel/OSC: set B of the running preset, then `latent.section`
        (a fader, a route) moves every group's latent from A to B."""
        spec = str(text).strip()
        protos = self.presets_dir / "prototypes"
        if spec.replace(",", "").replace(" ", "").isdigit():
            seeds = tuple(int(x) for x in spec.replace(" ", "").split(",") if x)

            def edit(p: Any) -> None:
                p.latents = replace(p.latents, seeds_b=seeds, file_b=None)
        elif spec and (proto := self._remote_path(spec, [protos], "prototype", ".npy")).is_file():
            def edit(p: Any) -> None:
                # relative to the preset file, so a saved preset keeps finding it
                where = Path(os.path.relpath(proto, p.path.parent)) if p.path is not None else proto
                p.latents = replace(p.latents, seeds_b=None, file_b=where)
        else:
            raise ParamError(f"morph target must be seeds 'a,b,...' or a prototype in {protos}, got {spec!r}")
        self._edit_preset(edit, f"latent set B: {spec} (fade with latent.section)")

    # ---- prototypes ----------------------------------------------------------------------------------
    def save_prototype(self, name: str) -> None:
        """The current latent (copied now) written by the worker."""
        if not re.fullmatch(r"[\w.-]{1,64}", str(name)) or self.last_latent is None:
            raise ParamError(f"prototype name must be letters, digits, '-', '_' or '.', got {name!r}")
        folder = self.presets_dir / "prototypes"
        out = self._remote_path(f"{name}.npy", [folder], "prototype")
        latent = np.array(self.last_latent, copy=True)

        def work() -> None:
            out.parent.mkdir(parents=True, exist_ok=True)
            np.save(out, latent)

        self.worker.submit("prototype/save", work,
                           lambda _: self.note(f"prototype saved: {out} (use it as a latent direction file in a "
                                               "preset)"), self._failed(f"prototype {name} not saved"))

    def encode_prototype(self, text: str) -> None:
        """Encode images into a prototype latent on a thread of its own (long: the worker stays free)."""
        name, sep, path_text = str(text).partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[\w.-]{1,64}", name) or name.startswith("."):
            raise ParamError(f"expected 'NAME=PATH' with a plain NAME, got {text!r}")
        if not hasattr(self.generator, "encode_uint8"):
            raise ParamError(f"{type(self.generator).__name__} has no image encoder (prototypes need a VAE-GAN)")
        path = self._remote_path(path_text, self.media_dirs, "images")
        out = self._remote_path(f"{name}.npy", [self.presets_dir / "prototypes"], "prototype")
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")) \
            if path.is_dir() else [path]
        files = [self._remote_path(str(f), self.media_dirs, "image") for f in files]  # symlinks in the folder
        if not files or not all(f.is_file() for f in files):
            raise ParamError(f"no images at {path} (an image file or a folder of .png/.jpg)")

        def work() -> None:
            from PIL import Image

            from vjgan.models.prototypes import encode_images

            try:
                images = [np.array(Image.open(f).convert("RGB")) for f in files]  # writable for torch
                latent = encode_images(self.generator, images).mean(axis=0)
                out.parent.mkdir(parents=True, exist_ok=True)
                np.save(out, latent.astype(np.float32))
                self.note(f"prototype {name}: {len(files)} images encoded into {out}")
            except Exception as exc:  # noqa: BLE001 - report in the panel, the show goes on
                self.note(f"prototype {name} not made: {exc}")

        threading.Thread(target=work, name="encode-prototype", daemon=True).start()

    def compute_pca(self, _value: Any = None) -> None:
        """GANSpace of the running generator on the mapping engine's worker thread (the render thread
        never waits); the amounts are the mapping targets latent.pca.<i>, so routes drive them and
        presets save them."""
        pca = self.mapping.pca
        if not pca.available:
            raise ParamError(f"PCA explorer: {type(self.generator).__name__} has no mapping network to analyse")
        if not pca.request():
            raise ParamError("PCA explorer: a computation is already running")

    def _pca_done(self, res: Any) -> None:
        if res.directions is None:
            self.note(f"PCA explorer: not computed: {res.error}")
            return
        share = ", ".join(f"{100 * r:.0f}%" for r in res.variance_ratio)
        self.note(f"PCA explorer: {len(res.directions)} directions (variance {share})")
