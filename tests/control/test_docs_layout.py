"""docs/osc.md and the TouchOSC layout are generated from the registry (one source of truth)."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest

from vjgan.app.oscdoc import DOC_PATH, collect_registry, render_markdown, write_osc_docs
from vjgan.control.osc_out import OUT_ADDRESSES
from vjgan.control.touchosc import read_layout, write_layout

from .conftest import PARAMS, make_registry


def test_markdown_lists_every_parameter_with_type_range_and_default(tmp_path: Path) -> None:
    registry, _ = make_registry()
    text = write_osc_docs(tmp_path / "osc.md", registry).read_text(encoding="utf-8")
    assert "| `/vjgan/test/y` | float (`f`) | 0 .. 2 | 1 | a float 0..2 |" in text
    assert "| `/vjgan/test/go` | trigger" in text
    for p in PARAMS:
        assert f"`{p.address}`" in text
    for address, types, _ in OUT_ADDRESSES:
        assert f"| `{address}` | `{types}` |" in text
    assert "**9000**" in text and "**127.0.0.1**" in text


def _documented_params(doc: str) -> list[str]:
    """The addresses of docs/osc.md's parameter rows (`| `/addr` | kind (`tags`) | ...`), in order."""
    return re.findall(r"^\| `(/vjgan/[^`]+)` \| \w+ \(`[^`]+`\) \|", doc, re.MULTILINE)


@pytest.fixture(scope="module")
def app_addresses(pulse_server: str, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every parameter address of a real `vjgan live` as scripts/run.sh starts it (default model and
    preset, a track on loop: the player's controls exist), headless (the window adds none)."""
    import numpy as np
    import soundfile as sf

    from vjgan.app.live import LiveApp, LiveConfig

    track = tmp_path_factory.mktemp("track") / "track.wav"
    sf.write(track, np.zeros((44100, 2), np.float32), 44100)
    app = LiveApp(LiveConfig(audio=str(track), headless=True, panel=False, size=(64, 36), rehearsal=False))
    try:
        return {p.address for p in app.registry.params()}
    finally:
        app.stop()


def test_docs_registry_is_the_running_apps_registry(app_addresses: set[str]) -> None:
    """collect_registry() (what scripts/gen_osc_docs.py documents) must build what LiveApp builds."""
    registry, _, _ = collect_registry()
    built = {p.address for p in registry.params()}
    assert built == app_addresses, (
        f"app only: {sorted(app_addresses - built)[:10]}; docs generator only: {sorted(built - app_addresses)[:10]}"
    )


def test_committed_docs_are_the_app_registry(app_addresses: set[str]) -> None:
    """Fails when a stage adds (or drops) parameters without `scripts/gen_osc_docs.py` being rerun."""
    documented = _documented_params(DOC_PATH.read_text(encoding="utf-8"))
    assert len(documented) == len(set(documented)), "an address is documented twice"
    stale = sorted(app_addresses - set(documented))
    gone = sorted(set(documented) - app_addresses)
    assert not stale and not gone, f"docs/osc.md is stale (rerun scripts/gen_osc_docs.py): missing {stale[:10]}, " \
        f"no longer in the app {gone[:10]}"
    registry, _, _ = collect_registry()
    assert _documented_params(render_markdown(registry)) == documented  # and generated from it, in its order


def test_touchosc_layout_has_a_scaled_control_per_parameter(tmp_path: Path) -> None:
    registry, _ = make_registry()
    path = write_layout(registry, tmp_path / "vjgan.tosc")
    zlib.decompress(path.read_bytes())  # a .tosc is zlib-compressed XML
    root = read_layout(path)
    assert root.tag == "lexml" and root.get("version") == "3"
    ids = [n.get("ID") for n in root.iter("node")]
    assert len(ids) == len(set(ids))
    sent: dict[str, tuple[str, float, float]] = {}
    received: set[str] = set()
    for node in root.iter("node"):
        osc = node.find("messages/osc")
        if osc is None:
            continue
        address = osc.findtext("path/partial/value")
        arg = osc.find("arguments/partial")
        assert address and arg is not None
        if osc.findtext("send") == "1":
            assert address not in sent, f"two controls send {address}"
            sent[address] = (node.get("type"), float(arg.findtext("scaleMin")), float(arg.findtext("scaleMax")))
        else:
            received.add(address)
    assert sent == {
        "/vjgan/test/x": ("FADER", 0.0, 1.0),
        "/vjgan/test/y": ("FADER", 0.0, 2.0),
        "/vjgan/test/n": ("FADER", 0.0, 10.0),
        "/vjgan/test/on": ("BUTTON", 0.0, 1.0),
        "/vjgan/test/go": ("BUTTON", 0.0, 1.0),
    }  # the str parameter has no TouchOSC control
    documented = {a for a, _, _ in OUT_ADDRESSES}
    assert {"/vjgan/out/rms", "/vjgan/out/tempo", "/vjgan/out/chroma/Fs"} <= received <= documented
