"""The ImGui control panel: a second glfw window (GL context shared with the output) drawn by the render loop.

It only reads state (features, stats, the registry, the mapping engine's routes) and turns every user
action into a `ControlMessage` on the app's queue, which the render loop applies at the next frame —
the same path OSC takes, so the panel can never race the generator or the GL context. Closing the
panel window just ends the panel; the output keeps running.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import glfw  # noqa: I001 - glfw before imgui_bundle, so imgui uses this glfw (see shared notes)
import numpy as np
from imgui_bundle import imgui, implot
from imgui_bundle.python_backends.glfw_backend import GlfwRenderer

from vjgan.audio.features import PITCH_CLASSES, SOURCE_NAMES
from vjgan.control.registry import ControlMessage, Param
from vjgan.errors import UserError
from vjgan.paths import PRESETS_DIR

if TYPE_CHECKING:
    from vjgan.app.live import LiveApp

log = logging.getLogger(__name__)

TABS = ("Audio", "Mapping", "Latents", "Bending", "Effects", "Presets", "OSC", "Stats")
PLOT_SOURCES = ("onset", "rms", "kick", "snare", "bass", "mid", "high", "beat_phase")
RED = imgui.ImVec4(1.0, 0.35, 0.3, 1.0)
DIM = imgui.ImVec4(0.6, 0.6, 0.6, 1.0)


class _Renderer(GlfwRenderer):
    """imgui-bundle's GLFW backend with the window sizes cached from callbacks: its per-frame size queries
    are X server round trips (~5 ms each on a loaded machine)."""

    def __init__(self, window: Any) -> None:
        self._win_size = tuple(glfw.get_window_size(window))
        self._fb_size = tuple(glfw.get_framebuffer_size(window))
        self._clock = 0.0
        super().__init__(window)
        glfw.set_framebuffer_size_callback(window, self._fb_callback)

    def _fb_callback(self, window: Any, width: int, height: int) -> None:
        self._fb_size = (width, height)

    def resize_callback(self, window: Any, width: int, height: int) -> None:
        self._win_size = (width, height)
        super().resize_callback(window, width, height)

    def mouse_callback(self, window: Any, x: float, y: float) -> None:  # position comes with the event
        self.io.add_mouse_pos_event(x, y)

    def process_inputs(self) -> None:
        io = imgui.get_io()
        (w, h), (fw, fh) = self._win_size, self._fb_size
        io.display_size = imgui.ImVec2(w, h)
        io.display_framebuffer_scale = imgui.ImVec2(fw / max(w, 1), fh / max(h, 1))
        now = time.perf_counter()
        io.delta_time = max(now - self._clock, 1e-3) if self._clock else 1.0 / 60.0
        self._clock = now


class ControlPanel:
    def __init__(
        self,
        app: LiveApp,
        share: Any = None,
        size: tuple[int, int] = (1100, 760),
        max_fps: float = 15.0,
        tab: str | None = None,
    ) -> None:
        from vjgan.render.window import init_glfw

        init_glfw()
        self.app = app
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        self.window = glfw.create_window(size[0], size[1], "vjgan panel", None, share)
        if not self.window:
            raise UserError("glfw could not create the panel window")
        glfw.make_context_current(self.window)
        glfw.swap_interval(0)  # the output window holds vsync; the panel must never block the loop
        self.imgui_ctx = imgui.create_context()
        imgui.set_current_context(self.imgui_ctx)
        self.implot_ctx = implot.create_context()
        imgui.get_io().set_ini_filename("")
        self.renderer = _Renderer(self.window)
        self.min_interval = 1.0 / max_fps
        self._last_draw = 0.0
        self.values: dict[str, Any] = {}  # last value per address, from any origin (panel, OSC, presets)
        self.tab = tab  # force-select a tab once (screenshots)
        self.frames = 0
        self.last_image = np.zeros((1, 1, 3), np.uint8)
        self._file_text = app.audio_file or ""
        self._preset_name = ""
        self._route_src = 0
        self._route_target = ""
        self._proto_name = "prototype"
        self._learn_target = ""
        self._encode_path = ""
        self._devices: list[str] | None = None
        self._selected_device = 0
        app.queue.listeners.append(self._observe)

    # ---- plumbing ---------------------------------------------------------------------------------
    def _observe(self, m: ControlMessage) -> None:
        self.values[m.address] = m.value

    def post(self, address: str, value: Any) -> None:
        self.values[address] = value
        self.app.queue.post(ControlMessage(address, value, "panel"))

    def value(self, p: Param) -> Any:
        return self.values.get(p.address, p.default)

    def wants_close(self) -> bool:
        """The user closed the panel window (close button / window manager)."""
        return self.window is None or bool(glfw.window_should_close(self.window))

    def draw(self, capture: bool = False) -> bool:
        """Draw one panel frame if due. Returns False once the user closed the panel window.

        `capture` keeps the drawn image (read from the back buffer before the swap) in `last_image`.
        """
        if self.window is None or glfw.window_should_close(self.window):
            return False
        now = time.perf_counter()
        if now - self._last_draw < self.min_interval:
            return True
        self._last_draw = now
        glfw.make_context_current(self.window)
        imgui.set_current_context(self.imgui_ctx)
        implot.set_current_context(self.implot_ctx)
        self.renderer.process_inputs()
        imgui.new_frame()
        try:
            self._ui()
        except Exception as exc:  # noqa: BLE001 - a panel bug must never stop the show
            log.exception("panel error: %s", exc)
        imgui.render()
        from OpenGL import GL as gl

        w, h = self.renderer._fb_size
        gl.glViewport(0, 0, w, h)
        gl.glClearColor(0.08, 0.08, 0.1, 1.0)
        gl.glClear(gl.GL_COLOR_BUFFER_BIT)
        self.renderer.render(imgui.get_draw_data())
        if capture:
            gl.glReadBuffer(gl.GL_BACK)
            gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 1)
            data = gl.glReadPixels(0, 0, w, h, gl.GL_RGB, gl.GL_UNSIGNED_BYTE)
            self.last_image = np.frombuffer(data, np.uint8).reshape(h, w, 3)[::-1].copy()
        glfw.swap_buffers(self.window)
        self.frames += 1
        return True

    def screenshot(self, path: str | Path) -> np.ndarray:
        """Draw one panel frame now and save it as a PNG; returns the image (H, W, 3)."""
        from PIL import Image

        previous = glfw.get_current_context()
        self._last_draw = 0.0
        self.draw(capture=True)
        if previous:
            glfw.make_context_current(previous)
        Image.fromarray(self.last_image).save(path)
        return self.last_image

    def close(self) -> None:
        if self.window is None:
            return
        if self._observe in self.app.queue.listeners:
            self.app.queue.listeners.remove(self._observe)
        glfw.make_context_current(self.window)
        imgui.set_current_context(self.imgui_ctx)
        self.renderer.shutdown()
        implot.destroy_context(self.implot_ctx)
        imgui.destroy_context(self.imgui_ctx)
        glfw.destroy_window(self.window)
        self.window = None

    # ---- generic parameter widget -----------------------------------------------------------------
    def param_widget(self, p: Param, label: str | None = None) -> None:
        label = f"{label or p.address.rsplit('/', 1)[-1]}##{p.address}"
        v = self.value(p)
        changed, new = False, v
        if p.kind == "float":
            lo = -1.0 if p.minimum is None else p.minimum
            hi = 1.0 if p.maximum is None else p.maximum
            x = float(v if isinstance(v, int | float) else (lo + hi) / 2)
            if hi - lo > 1000:
                changed, new = imgui.drag_float(label, x, 0.01)
            else:
                changed, new = imgui.slider_float(label, x, lo, hi)
        elif p.kind == "int":
            lo = 0 if p.minimum is None else int(p.minimum)
            hi = 100 if p.maximum is None else int(p.maximum)
            x = int(v if isinstance(v, int | float) else lo)
            if hi - lo > 1000:
                changed, new = imgui.input_int(label, x)
            else:
                changed, new = imgui.slider_int(label, x, lo, hi)
        elif p.kind == "bool":
            changed, new = imgui.checkbox(label, bool(v))
        elif p.kind == "trigger":
            changed, new = imgui.button(label), 1
        else:
            changed, new = imgui.input_text(label, str(v or ""), imgui.InputTextFlags_.enter_returns_true.value)
        if imgui.is_item_hovered() and p.doc:
            imgui.set_tooltip(f"{p.address}\n{p.doc}")
        if changed:
            self.post(p.address, new)

    def _params(self, prefix: str) -> list[Param]:
        return [p for p in self.app.registry.params() if p.address.startswith(prefix)]

    # ---- layout -----------------------------------------------------------------------------------
    def _ui(self) -> None:
        io = imgui.get_io()
        imgui.set_next_window_pos(imgui.ImVec2(0, 0))
        imgui.set_next_window_size(io.display_size)
        flags = (
            imgui.WindowFlags_.no_title_bar
            | imgui.WindowFlags_.no_resize
            | imgui.WindowFlags_.no_move
            | imgui.WindowFlags_.no_collapse
        )
        imgui.begin("vjgan", None, flags)
        s = self.app.stats
        imgui.text(
            f"render {s.render_fps:5.1f} fps   generator {s.gen_fps:5.1f} fps   "
            f"audio->screen {s.latency_ms:6.1f} ms   late frames {s.late_frames}   "
            f"generator dropped {s.gen_dropped}   audio overflows {s.audio_overflows}"
        )
        errors = self.app.chain.errors
        if errors:
            imgui.text_colored(RED, f"shader errors: {', '.join(errors)} (last good version running; see Effects)")
        imgui.separator()
        left_w = 360.0
        imgui.begin_child("meters", imgui.ImVec2(left_w, 0))
        self._meters()
        imgui.end_child()
        imgui.same_line()
        imgui.begin_child("tabs", imgui.ImVec2(0, 0))
        if imgui.begin_tab_bar("tabs"):
            for name in TABS:
                flags = imgui.TabItemFlags_.set_selected.value if self.tab == name else 0
                selected, _ = imgui.begin_tab_item(name, None, flags)
                if selected:
                    getattr(self, f"_tab_{name.lower()}")()
                    imgui.end_tab_item()
            self.tab = None
            imgui.end_tab_bar()
        imgui.end_child()
        imgui.end()

    def _meters(self) -> None:
        f = self.app.bus.latest
        imgui.text(f"audio t {f.time:7.2f} s   tempo {f.tempo:5.1f} BPM   beat {f.beat_count}")
        for name in ("rms", "onset", "kick", "snare", "bass", "mid", "high", "beat_phase", "bar_phase"):
            x = float(getattr(f, name))
            imgui.progress_bar(min(max(x, 0.0), 1.0), imgui.ImVec2(-70, 0), f"{x:.2f}")
            imgui.same_line()
            imgui.text(name)
        chroma = np.asarray(f.chroma, np.float64)
        if implot.begin_plot("chroma", imgui.ImVec2(-1, 110), implot.Flags_.no_legend | implot.Flags_.no_mouse_text):
            implot.setup_axes("", "", implot.AxisFlags_.no_tick_labels, implot.AxisFlags_.no_tick_labels)
            implot.setup_axes_limits(-0.5, 11.5, 0, 1, implot.Cond_.always.value)
            implot.plot_bars("chroma", np.arange(12, dtype=np.float64), chroma, 0.7)
            implot.end_plot()
        imgui.text("  ".join(PITCH_CLASSES))
        hist = self.app.bus.history(300)
        if hist and implot.begin_plot("features (3 s)", imgui.ImVec2(-1, 220)):
            implot.setup_axes("frames", "", 0, 0)
            implot.setup_axes_limits(0, 300, 0, 1.05, implot.Cond_.always.value)
            for name in ("onset", "rms", "kick", "bass"):
                implot.plot_line(name, np.array([float(getattr(x, name)) for x in hist], np.float64))
            implot.end_plot()

    # ---- tabs -------------------------------------------------------------------------------------
    def _tab_audio(self) -> None:
        stats = getattr(self.app.audio, "stats", None)
        imgui.text(f"source: {getattr(stats, 'source', '') or self.app.audio_file or 'live input'}")
        if stats is not None:
            imgui.text(
                f"analysis {getattr(stats, 'analysis_ms_p50', 0):.2f} ms p50 / "
                f"{getattr(stats, 'analysis_ms_p99', 0):.2f} ms p99   input->features "
                f"{getattr(stats, 'latency_ms', 0):.1f} ms   overflows {getattr(stats, 'overflows', 0)}"
            )
        imgui.separator()
        imgui.text("Play a file on loop (what the audience hears drives the images)")
        _, self._file_text = imgui.input_text("file##audio", self._file_text)
        imgui.same_line()
        if imgui.button("play file"):
            self.post("/vjgan/app/audio/file", self._file_text)
        imgui.separator()
        imgui.text("Live input device")
        if self._devices is None and imgui.button("list input devices"):
            self._devices = _input_devices()
        if self._devices:
            _, self._selected_device = imgui.combo("device", self._selected_device, self._devices)
            if imgui.button("use device"):
                self.post("/vjgan/app/audio/device", self._devices[self._selected_device].split(":", 1)[0])
        for p in self._params("/vjgan/player/") + self._params("/vjgan/tempo/"):
            self.param_widget(p)
        for line in list(self.app.messages)[-8:]:
            imgui.text_colored(DIM, line)

    def _tab_mapping(self) -> None:
        m = self.app.mapping
        routes = m.cur.routes
        if getattr(m, "last_error", ""):
            imgui.text_colored(RED, m.last_error)
        outs = m.route_outputs()
        flags = imgui.TableFlags_.borders | imgui.TableFlags_.row_bg | imgui.TableFlags_.scroll_y
        if imgui.begin_table("routes", 8, flags, imgui.ImVec2(0, 330)):
            for col in ("on", "source", "target", "gain", "offset", "curve", "out", ""):
                imgui.table_setup_column(col)
            imgui.table_headers_row()
            for i, r in enumerate(routes):
                base = f"/vjgan/route/{i}"
                imgui.table_next_row()
                imgui.table_next_column()
                ch, on = imgui.checkbox(f"##on{i}", bool(r.spec.enabled))
                if ch:
                    self.post(f"{base}/enabled", on)
                imgui.table_next_column()
                imgui.text(r.spec.source)
                imgui.table_next_column()
                imgui.text(r.spec.target)
                imgui.table_next_column()
                imgui.set_next_item_width(80)
                ch, g = imgui.drag_float(f"##gain{i}", float(r.spec.gain), 0.01)
                if ch:
                    self.post(f"{base}/gain", g)
                imgui.table_next_column()
                imgui.set_next_item_width(80)
                ch, o = imgui.drag_float(f"##off{i}", float(r.spec.offset), 0.01)
                if ch:
                    self.post(f"{base}/offset", o)
                imgui.table_next_column()
                imgui.text(r.spec.curve)
                imgui.table_next_column()
                out = outs[i] if i < len(outs) else 0.0
                imgui.progress_bar(float(min(max(abs(out), 0.0), 1.0)), imgui.ImVec2(60, 0), f"{out:.2f}")
                imgui.table_next_column()
                if imgui.small_button(f"remove##{i}"):
                    self.post("/vjgan/app/route/remove", i)
            imgui.end_table()
        imgui.text("add a route")
        sources = list(SOURCE_NAMES)
        imgui.set_next_item_width(160)
        _, self._route_src = imgui.combo("source##new", self._route_src, sources)
        imgui.same_line()
        imgui.set_next_item_width(260)
        _, self._route_target = imgui.input_text("target##new", self._route_target)
        imgui.same_line()
        if imgui.button("add"):
            self.post("/vjgan/app/route/add", f"{sources[self._route_src]} -> {self._route_target}")
        if imgui.collapsing_header("route modifiers (all parameters)"):
            for p in self._params("/vjgan/route/"):
                self.param_widget(p, p.address.removeprefix("/vjgan/route/"))

    def _tab_latents(self) -> None:
        for p in self._params("/vjgan/latent/"):
            self.param_widget(p)
        spec = getattr(getattr(getattr(self.app.mapping, "cur", None), "preset", None), "latents", None)
        if spec is not None:
            imgui.separator()
            imgui.text("latent seeds (12 = one per pitch class for chroma-driven groups)")
            seeds = list(spec.seeds)
            for i, s in enumerate(seeds):
                label = PITCH_CLASSES[i] if len(seeds) == 12 else str(i)
                imgui.text(f"{label:<2}")  # "C#" must not touch ImGui's "##" id separator
                imgui.same_line()
                imgui.set_next_item_width(110)
                ch, v = imgui.input_int(f"##seed{i}", int(s))
                if ch:
                    seeds[i] = v
                    self.post("/vjgan/app/latent/seeds", ",".join(str(x) for x in seeds))
                if i % 4 != 3:
                    imgui.same_line()
            imgui.new_line()
            if imgui.button("12 chroma latents from seed 0..11"):
                self.post("/vjgan/app/latent/seeds", ",".join(str(x) for x in range(12)))
            for g, driver in spec.groups.items():
                imgui.text(f"{g}: {driver}")
        imgui.separator()
        imgui.set_next_item_width(200)
        _, self._proto_name = imgui.input_text("name##proto", self._proto_name)
        imgui.same_line()
        if imgui.button("save current latent as prototype"):
            self.post("/vjgan/app/latent/save_prototype", self._proto_name)
        if hasattr(self.app.generator, "encode_uint8"):
            _, self._encode_path = imgui.input_text("images (file or folder)##enc", self._encode_path)
            if imgui.button("encode images into prototype"):
                self.post("/vjgan/app/latent/encode_prototype", f"{self._proto_name}={self._encode_path}")
        for line in list(self.app.messages)[-3:]:
            imgui.text_colored(DIM, line)
        self._pca_explorer()
        for p in self._params("/vjgan/target/latent."):
            if not p.address.startswith("/vjgan/target/latent.pca."):  # the PCA explorer shows those
                self.param_widget(p, p.address.removeprefix("/vjgan/target/"))

    def _pca_explorer(self) -> None:
        """GANSpace sliders: the mapping targets latent.pca.<i> (one standard deviation along component i;
        saved in presets, routable); the components are computed off the render thread."""
        pca = getattr(getattr(self.app, "mapping", None), "pca", None)
        if pca is None or not pca.available:
            return
        imgui.separator()
        imgui.text("PCA explorer (GANSpace)")
        if pca.busy:
            imgui.text_colored(DIM, "computing…")
        elif pca.directions is None and imgui.button("compute PCA directions"):
            self.post("/vjgan/app/pca/compute", 1)
        ratio = pca.variance_ratio
        for p in self._params("/vjgan/target/latent.pca."):
            i = int(p.address.rsplit(".", 1)[-1])
            share = f"{100 * float(ratio[i]):.0f}% var" if ratio is not None and i < len(ratio) else "not computed"
            self.param_widget(p, f"pc{i} ({share})")
        if imgui.button("reset PCA sliders"):
            for p in self._params("/vjgan/target/latent.pca."):
                self.post(p.address, 0.0)

    def _tab_bending(self) -> None:
        gen = self.app.generator
        # a VAE-GAN's encoder layers (enc.*) bend what the encoder sees of the --video input
        layers = tuple(getattr(gen, "layer_names", ())) + tuple(getattr(gen, "encoder_layer_names", ()))
        if not layers:
            imgui.text("this generator has no bendable layers")
        params = self._params("/vjgan/target/bend.") + self._params("/vjgan/target/rewrite.")
        for layer in layers:
            mine = [
                p
                for p in params
                if p.address.removeprefix("/vjgan/target/") in (f"rewrite.{layer}",)
                or p.address.removeprefix("/vjgan/target/").startswith(f"bend.{layer}.")
            ]
            if mine and imgui.collapsing_header(layer):
                for p in mine:
                    self.param_widget(p, p.address.removeprefix("/vjgan/target/"))
        for p in self._params("/vjgan/target/noise") + self._params("/vjgan/target/truncation"):
            self.param_widget(p, p.address.removeprefix("/vjgan/target/"))

    def _tab_effects(self) -> None:
        chain = self.app.chain
        for name in chain.order:
            effect = chain.effects[name]
            ch, on = imgui.checkbox(f"##{name}", effect.enabled)
            if ch:
                self.post(f"/vjgan/shader/{name}/enabled", on)
            imgui.same_line()
            imgui.set_next_item_open(name in ("color", "strobe"), imgui.Cond_.once)
            if imgui.collapsing_header(name):
                for pname in effect.params:
                    p = self.app.registry.get(f"/vjgan/target/shader.{name}.{pname}") or self.app.registry.get(
                        f"/vjgan/shader/{name}/{pname}"
                    )
                    if p is not None:
                        if p.address not in self.values:
                            self.values[p.address] = chain.value(name, pname)
                        self.param_widget(p, pname)
            if effect.error:
                imgui.text_colored(RED, effect.error)
        imgui.text_colored(DIM, f"shaders: {chain.shaders_dir} (edit and save: hot reload)")

    def _tab_presets(self) -> None:
        m = self.app.mapping
        current = m.preset.name
        imgui.text(f"running: {current}   crossfade progress {getattr(m, 'fade', 1.0):.2f}")
        p = self.app.registry.get("/vjgan/preset/crossfade")
        if p is not None:
            self.param_widget(p, "crossfade beats")
        for path in sorted(PRESETS_DIR.glob("*.toml")):
            if imgui.button(f"load##{path.stem}"):
                self.post("/vjgan/preset/load", str(path))
            imgui.same_line()
            imgui.text(path.stem)
        imgui.separator()
        _, self._preset_name = imgui.input_text("name##save", self._preset_name)
        imgui.same_line()
        if imgui.button("save live state"):
            self.post("/vjgan/preset/save", self._preset_name)

    def _tab_osc(self) -> None:
        osc = self.app.osc
        if osc is None:
            imgui.text("OSC is off: start with --osc-port 9000 (see docs/osc.md)")
            return
        imgui.text(f"listening on {osc.host}:{osc.port}")
        st = osc.stats
        imgui.text_colored(DIM, "  ".join(f"{k} {v}" for k, v in vars(st).items() if isinstance(v, int))
                           if hasattr(st, "__dict__") else str(st))
        learn = osc.learn
        imgui.separator()
        imgui.text(f"OSC learn: {'waiting for a message for ' + learn.armed if learn.armed else 'idle'}")
        imgui.set_next_item_width(320)
        _, self._learn_target = imgui.input_text("parameter address##learn", self._learn_target)
        imgui.same_line()
        if imgui.button("learn"):
            try:
                learn.arm(self._learn_target)  # OscLearn is locked; no GL or generator state involved
            except UserError as exc:
                self.app.note(str(exc))
        imgui.same_line()
        if imgui.button("cancel"):
            learn.cancel()
        for b in learn.bindings():
            if imgui.small_button(f"unbind##{b.source}"):
                learn.unbind(b.source)
            imgui.same_line()
            imgui.text(f"{b.source} -> {b.target}{' (scaled)' if b.scale else ''}")

    def _tab_stats(self) -> None:
        s = self.app.stats
        if imgui.begin_table("stats", 2, imgui.TableFlags_.borders.value):
            rows = [(f"{k} ms", f"{v:.2f}") for k, v in s.stage_ms.items()]
            rows += [
                ("frame ms p50 / p99", f"{s.frame_ms_p50:.2f} / {s.frame_ms_p99:.2f}"),
                ("render fps", f"{s.render_fps:.1f}"),
                ("generator fps", f"{s.gen_fps:.1f}"),
                ("generator ms p50", f"{s.gen_ms:.1f}"),
                ("audio->screen (generator) ms", f"{s.latency_ms:.1f}"),
                ("audio->screen (shaders) ms", f"{s.shader_latency_ms:.1f}"),
                ("late frames (> 2 intervals)", str(s.late_frames)),
                ("generator frames dropped", str(s.gen_dropped)),
                ("audio overflows", str(s.audio_overflows)),
                ("recorder dropped", str(s.recorder_dropped)),
                ("control applied / rejected", f"{self.app.queue.stats.applied} / {self.app.queue.stats.rejected}"),
            ]
            for k, v in rows:
                imgui.table_next_row()
                imgui.table_next_column()
                imgui.text(k)
                imgui.table_next_column()
                imgui.text(v)
            imgui.end_table()
        if self.app.queue.stats.last_error:
            imgui.text_colored(RED, self.app.queue.stats.last_error)


def _input_devices() -> list[str]:
    try:
        import sounddevice as sd

        return [f"{i}: {d['name']}" for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]
    except Exception as exc:  # noqa: BLE001 - no PortAudio / server: show why
        return [f"(no devices: {exc})"]
