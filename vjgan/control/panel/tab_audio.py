"""The Audio tab: the source (file on loop, input device), tempo and beat (tap, nudge, auto), the player's
transport and, for a VAE-GAN, the video source it re-renders."""

from __future__ import annotations

from imgui_bundle import imgui

from vjgan.control.panel.widgets import DIM, PanelUI
from vjgan.core.clock import TEMPO_SOURCES
from vjgan.core.panel_state import PanelState

NUDGES = (-1.0, -0.1, 0.1, 1.0)  # BPM steps of the nudge buttons
SOURCE = "/vjgan/tempo/source"  # vjgan.app.tempo_source.ADDRESS


class AudioTab:
    name = "Audio"

    def __init__(self, audio_file: str | None) -> None:
        self.file_text = audio_file or ""
        self.devices: list[str] | None = None  # listed on request: PortAudio's query is slow
        self.selected_device = 0
        self.video_text = ""

    def draw(self, ui: PanelUI, st: PanelState) -> None:
        imgui.text(f"source: {st.audio_source}")
        a = st.audio
        if a is not None:
            imgui.text(f"analysis {a.analysis_ms_p50:.2f} ms p50 / {a.analysis_ms_p99:.2f} ms p99   input->"
                       f"features {a.latency_ms:.1f} ms   overflows {a.overflows}   {a.status}")
        self._tempo(ui, st)
        imgui.separator()
        imgui.text("Play a file on loop (what the audience hears drives the images)")
        _, self.file_text = imgui.input_text("file##audio", self.file_text)
        imgui.same_line()
        if imgui.button("play file"):
            ui.post("/vjgan/app/audio/file", self.file_text)
        imgui.separator()
        imgui.text("Live input device")
        if self.devices is None and imgui.button("list input devices"):
            self.devices = _input_devices()
        if self.devices:
            _, self.selected_device = imgui.combo("device", self.selected_device, self.devices)
            if imgui.button("use device"):
                ui.post("/vjgan/app/audio/device", self.devices[self.selected_device].split(":", 1)[0])
        for p in ui.params("/vjgan/player/"):
            ui.param_widget(p)
        self._video(ui, st)
        for line in st.messages[-8:]:
            imgui.text_colored(DIM, line)

    def _tempo(self, ui: PanelUI, st: PanelState) -> None:
        """Tempo and beat, tap / nudge / auto (the same addresses as OSC)."""
        f = ui.features
        imgui.separator()
        imgui.text(f"tempo {f.tempo:6.1f} BPM   beat {f.beat_count}   "
                   + (f"from {st.tempo_source}" if st.tempo_source != "analysis"
                      else "held (tapped / nudged)" if st.tempo_held else "from the audio"))
        imgui.progress_bar(min(max(float(f.beat_phase), 0.0), 1.0), imgui.ImVec2(260, 0), "beat")
        self._source(ui, st)
        if st.params.get("/vjgan/tempo/tap") is None:
            return  # no tempo tracker (e.g. no audio engine)
        imgui.button("TAP##tempo", imgui.ImVec2(90, 36))
        if imgui.is_item_visible():  # the main thread posts the tap at the press itself (ControlPanel._press)
            lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
            ui.tap_next = (lo.x, lo.y, hi.x, hi.y)
        if imgui.is_item_hovered():
            imgui.set_tooltip("/vjgan/tempo/tap: click on every beat; from the second tap the tempo is held")
        for step in NUDGES:
            imgui.same_line()
            if imgui.button(f"{step:+g}##nudge", imgui.ImVec2(0, 36)):
                ui.post("/vjgan/tempo/nudge", step)
        imgui.same_line()
        imgui.text("BPM")
        imgui.same_line()
        if imgui.button("auto tempo", imgui.ImVec2(0, 36)):
            ui.post("/vjgan/app/tempo/auto", 1)
        if imgui.is_item_hovered():
            imgui.set_tooltip("/vjgan/app/tempo/auto: drop the tapped / nudged tempo, follow the audio again")

    def _source(self, ui: PanelUI, st: PanelState) -> None:
        """The tempo source combo: every source, the ones not enabled marked (choosing one says why)."""
        if st.params.get(SOURCE) is None:
            return
        labels = [s if s in st.tempo_sources else f"{s} (off)" for s in TEMPO_SOURCES]
        current = TEMPO_SOURCES.index(st.tempo_source) if st.tempo_source in TEMPO_SOURCES else 0
        imgui.set_next_item_width(180)
        changed, chosen = imgui.combo("tempo source", current, labels)
        if changed and chosen != current:
            ui.post(SOURCE, TEMPO_SOURCES[chosen])
        if imgui.is_item_hovered():
            imgui.set_tooltip(f"{SOURCE}: analysis | link (--link) | midi | leader")
        if st.tempo_status:
            imgui.same_line()
            imgui.text_colored(DIM, st.tempo_status)

    def _video(self, ui: PanelUI, st: PanelState) -> None:
        """VAE-GAN video re-rendering: the source and the mix."""
        if st.video is None and not st.can_encode:
            return
        imgui.separator()
        imgui.text("Video source (VAE-GAN: the encoded frames replace the mapped latent)")
        if st.video is None:
            imgui.text_colored(DIM, "no video input: start with --video SPEC (camera, camera:N, /dev/videoN, "
                                    "a video file, black)")
            return
        imgui.text(f"now: {st.video}")
        if st.video_note:
            imgui.text_colored(DIM, st.video_note)
        imgui.set_next_item_width(320)
        _, self.video_text = imgui.input_text("##videosource", self.video_text)
        imgui.same_line()
        if imgui.button("use source##video") and self.video_text.strip():
            ui.post("/vjgan/app/video/source", self.video_text.strip())
        p = st.params.get("/vjgan/app/video/mix")
        if p is not None:
            ui.values.setdefault(p.address, st.video_mix)
            ui.param_widget(p, "video mix (1 = video, 0 = mapping)")


def _input_devices() -> list[str]:
    try:
        import sounddevice as sd

        return [f"{i}: {d['name']}" for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]
    except Exception as exc:  # noqa: BLE001 - no PortAudio / server: show why
        return [f"(no devices: {exc})"]
