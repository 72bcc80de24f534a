"""The live app's own parameters (registry group "app"): the actions the panel and OSC may call by address.

Why a list of (Param, callback) pairs built here: the running app registers them with its bound actions,
and the OSC docs list them from an inert copy (`app=None`) without starting anything.
"""

from __future__ import annotations

from typing import Any

from vjgan.core.registry import Param


def app_params(app: Any) -> list[tuple[Param, Any]]:
    """The app's own parameters (group "app"); `app=None` gives inert callbacks (docs, address listings)."""

    def call(name: str) -> Any:
        return (lambda v: getattr(app, name)(v)) if app is not None else (lambda v: None)

    return [
        (Param("/vjgan/app/crossfade_ms", "float", "crossfade between generated frames (ms)", 0, 1000,
               app.crossfade_ms if app else 0.0, "app"), call("set_crossfade")),
        (Param("/vjgan/app/audio/file", "str",
               "switch the audio source to this file (looped), inside the media folders (--media-dir)", group="app"),
         call("switch_audio_file")),
        (Param("/vjgan/app/audio/device", "str", "switch the audio source to this input device", group="app"),
         call("switch_audio_device")),
        (Param("/vjgan/app/tempo/auto", "trigger", "drop a tapped/nudged tempo: follow the audio again",
               group="app"), call("auto_tempo")),
        (Param("/vjgan/app/video/source", "str",
               "VAE-GAN: re-render this video source (camera, camera:N, /dev/videoN, black, "
               "or a file in the media folders)",
               group="app"), call("select_video")),
        (Param("/vjgan/app/video/mix", "float", "VAE-GAN: 1 = the video's latent, 0 = the mapped latent", 0, 1,
               app.video_mix if app else 1.0, "app"), call("set_video_mix")),
        (Param("/vjgan/app/route/add", "str", "add a mapping route: 'SOURCE -> TARGET'", group="app"),
         call("add_route")),
        (Param("/vjgan/app/route/remove", "int", "remove mapping route N", 0, 10_000, group="app"),
         call("remove_route")),
        (Param("/vjgan/app/latent/seeds", "str", "latent seeds, comma separated (12 = one per pitch class)",
               group="app"), call("set_seeds")),
        (Param("/vjgan/app/latent/morph_to", "str",
               "latent set B, the far end of the latent.section fader: seeds 'a,b,...' (one seed: every latent "
               "morphs to it) or a prototype name in presets/prototypes", group="app"), call("morph_to")),
        (Param("/vjgan/app/latent/save_prototype", "str",
               "save the current latent as presets/prototypes/NAME.npy", group="app"), call("save_prototype")),
        (Param("/vjgan/app/latent/encode_prototype", "str",
               "VAE-GAN: 'NAME=PATH' encodes an image or a folder of images (in the media folders) into "
               "presets/prototypes/NAME.npy",
               group="app"), call("encode_prototype")),
        (Param("/vjgan/app/pca/compute", "trigger",
               "PCA explorer: compute the GANSpace components of the running generator now (worker thread; "
               "the mapping targets latent.pca.<i> also start it on first use)", group="app"),
         call("compute_pca")),
    ]
