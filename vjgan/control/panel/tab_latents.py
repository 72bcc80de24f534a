"""The generator's tabs: Latents (seeds, prototypes, A → B interpolation, the GANSpace PCA explorer) and
Bending (per-layer bends and rewrites, noise, truncation)."""

from __future__ import annotations

from imgui_bundle import imgui

from vjgan.control.panel.widgets import DIM, PanelUI
from vjgan.core.features import PITCH_CLASSES
from vjgan.core.panel_state import PanelState


class LatentsTab:
    name = "Latents"

    def __init__(self) -> None:
        self.proto_name = "prototype"
        self.morph_to = "7"  # seeds or a prototype name: the far end of the latent.section fader
        self.encode_path = ""

    def draw(self, ui: PanelUI, st: PanelState) -> None:
        for p in ui.params("/vjgan/latent/"):
            ui.param_widget(p)
        if st.seeds is not None:
            imgui.separator()
            imgui.text("latent seeds (12 = one per pitch class for chroma-driven groups)")
            seeds = list(st.seeds)
            for i, s in enumerate(seeds):
                label = PITCH_CLASSES[i] if len(seeds) == 12 else str(i)
                imgui.text(f"{label:<2}")  # "C#" must not touch ImGui's "##" id separator
                imgui.same_line()
                imgui.set_next_item_width(110)
                ch, v = imgui.input_int(f"##seed{i}", int(s))
                if ch:
                    seeds[i] = v
                    ui.post("/vjgan/app/latent/seeds", ",".join(str(x) for x in seeds))
                if i % 4 != 3:
                    imgui.same_line()
            imgui.new_line()
            if imgui.button("12 chroma latents from seed 0..11"):
                ui.post("/vjgan/app/latent/seeds", ",".join(str(x) for x in range(12)))
            for g, driver in st.groups:
                imgui.text(f"{g}: {driver}")
        imgui.separator()
        imgui.set_next_item_width(200)
        _, self.proto_name = imgui.input_text("name##proto", self.proto_name)
        imgui.same_line()
        if imgui.button("save current latent as prototype"):
            ui.post("/vjgan/app/latent/save_prototype", self.proto_name)
        if st.can_encode:
            _, self.encode_path = imgui.input_text("images (file or folder)##enc", self.encode_path)
            if imgui.button("encode images into prototype"):
                ui.post("/vjgan/app/latent/encode_prototype", f"{self.proto_name}={self.encode_path}")
        imgui.separator()
        imgui.text("interpolate: the latents (A) morph to B with the latent.section fader")
        imgui.set_next_item_width(200)
        _, self.morph_to = imgui.input_text("B: seeds a,b,... or a prototype name##morph", self.morph_to)
        imgui.same_line()
        if imgui.button("set B"):
            ui.post("/vjgan/app/latent/morph_to", self.morph_to)
        section = st.params.get("/vjgan/target/latent.section")
        if section is not None:
            ui.param_widget(section, "A -> B (latent.section)")
        for line in st.messages[-3:]:
            imgui.text_colored(DIM, line)
        _pca_explorer(ui, st)
        for p in ui.params("/vjgan/target/latent."):
            name = p.address.removeprefix("/vjgan/target/")
            if not name.startswith("latent.pca.") and name != "latent.section":  # shown above
                ui.param_widget(p, name)


def _pca_explorer(ui: PanelUI, st: PanelState) -> None:
    """GANSpace sliders: the mapping targets latent.pca.<i> (one standard deviation along component i;
    saved in presets, routable); the components are computed off the render thread."""
    pca = st.pca
    if pca is None:
        return
    imgui.separator()
    imgui.text("PCA explorer (GANSpace)")
    if pca.busy:
        imgui.text_colored(DIM, "computing…")
    elif not pca.computed and imgui.button("compute PCA directions"):
        ui.post("/vjgan/app/pca/compute", 1)
    ratio = pca.variance_ratio
    for p in ui.params("/vjgan/target/latent.pca."):
        i = int(p.address.rsplit(".", 1)[-1])
        share = f"{100 * float(ratio[i]):.0f}% var" if ratio is not None and i < len(ratio) else "not computed"
        ui.param_widget(p, f"pc{i} ({share})")
    if imgui.button("reset PCA sliders"):
        for p in ui.params("/vjgan/target/latent.pca."):
            ui.post(p.address, 0.0)


class BendingTab:
    name = "Bending"

    def draw(self, ui: PanelUI, st: PanelState) -> None:
        # a VAE-GAN's encoder layers (enc.*) bend what the encoder sees of the --video input
        if not st.layers:
            imgui.text("this generator has no bendable layers")
        params = ui.params("/vjgan/target/bend.") + ui.params("/vjgan/target/rewrite.")
        for layer in st.layers:
            mine = [
                p
                for p in params
                if p.address.removeprefix("/vjgan/target/") in (f"rewrite.{layer}",)
                or p.address.removeprefix("/vjgan/target/").startswith(f"bend.{layer}.")
            ]
            if mine and imgui.collapsing_header(layer):
                for p in mine:
                    ui.param_widget(p, p.address.removeprefix("/vjgan/target/"))
        for p in ui.params("/vjgan/target/noise") + ui.params("/vjgan/target/truncation"):
            ui.param_widget(p, p.address.removeprefix("/vjgan/target/"))
