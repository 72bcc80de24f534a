"""A TouchOSC (.tosc) layout generated from the parameter registry and the OSC-out address list.

A .tosc file is a zlib-compressed XML document (`<lexml version='3'>`) of nested `<node>`s (GROUP, PAGER,
FADER, BUTTON, TEXT) with typed `<property>`s, `<values>` and `<messages><osc>`. Faders send the value
already scaled to the parameter's range (the message's scaleMin/scaleMax), so no OSC learn is needed.
Hexler does not publish the format; this follows files saved by the TouchOSC editor. If a TouchOSC
version refuses it, OSC learn still works with any layout (see docs/osc.md).
Node IDs are derived from the addresses, so regenerating gives the same file.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

from vjgan.control.osc_out import CHROMA_NAMES, PREFIX
from vjgan.core.paths import PRESETS_DIR
from vjgan.core.registry import Param, ParamRegistry

LAYOUT_PATH = PRESETS_DIR / "touchosc" / "vjgan.tosc"
WIDTH, HEIGHT = 1024, 768  # tablet landscape; TouchOSC scales to the device
TAB_H = 50
COLS, ROWS = 10, 2
CELL_W, CELL_H = WIDTH // COLS, (HEIGHT - TAB_H) // ROWS
_NS = uuid.UUID("6f0e3a52-8d3c-4c7e-9a55-0b1c2d3e4f50")

_COLORS = {
    "float": (0.25, 0.75, 1.0),
    "int": (0.4, 1.0, 0.6),
    "bool": (1.0, 0.8, 0.2),
    "trigger": (1.0, 0.35, 0.35),
    "meter": (0.7, 0.5, 1.0),
}


def _name(address: str) -> str:
    """Control names are identifiers in TouchOSC scripts: no slashes or dots."""
    return "".join(c if c.isalnum() else "_" for c in address.strip("/"))


def _node(parent: ET.Element, kind: str, key: str) -> ET.Element:
    node = ET.SubElement(parent, "node", {"ID": str(uuid.uuid5(_NS, key)), "type": kind})
    ET.SubElement(node, "properties")
    return node


def _prop(node: ET.Element, ptype: str, key: str, value: object) -> None:
    props = node.find("properties")
    assert props is not None
    p = ET.SubElement(props, "property", {"type": ptype})
    ET.SubElement(p, "key").text = key
    v = ET.SubElement(p, "value")
    if ptype == "r":
        for k, x in zip("xywh", value, strict=True):  # type: ignore[call-overload]
            ET.SubElement(v, k).text = str(int(x))
    elif ptype == "c":
        for k, x in zip("rgba", value, strict=True):  # type: ignore[call-overload]
            ET.SubElement(v, k).text = f"{x:g}"
    elif ptype == "b":
        v.text = "1" if value else "0"
    else:
        v.text = str(value)


def _values(node: ET.Element, defaults: dict[str, str]) -> None:
    values = ET.SubElement(node, "values")
    for key, default in defaults.items():
        v = ET.SubElement(values, "value")
        ET.SubElement(v, "key").text = key
        ET.SubElement(v, "locked").text = "0"
        ET.SubElement(v, "lockedDefaultCurrent").text = "0"
        ET.SubElement(v, "default").text = default
        ET.SubElement(v, "defaultPull").text = "0"


def _osc(node: ET.Element, address: str, conversion: str, lo: float, hi: float, send: bool) -> None:
    messages = ET.SubElement(node, "messages")
    osc = ET.SubElement(messages, "osc")
    for k, v in (("enabled", "1"), ("send", "1" if send else "0"), ("receive", "1"), ("feedback", "0"),
                 ("noDuplicates", "0"), ("connections", "1111111111")):  # fmt: skip
        ET.SubElement(osc, k).text = v
    trigger = ET.SubElement(ET.SubElement(osc, "triggers"), "trigger")
    ET.SubElement(trigger, "var").text = "x"
    ET.SubElement(trigger, "condition").text = "ANY"
    for container, (ptype, conv, value, smin, smax) in (
        ("path", ("CONSTANT", "STRING", address, 0, 1)),
        ("arguments", ("VALUE", conversion, "x", lo, hi)),
    ):
        partial = ET.SubElement(ET.SubElement(osc, container), "partial")
        for k, v in (("type", ptype), ("conversion", conv), ("value", value), ("scaleMin", smin), ("scaleMax", smax)):
            ET.SubElement(partial, k).text = f"{v:g}" if isinstance(v, float) else str(v)


def _label(parent: ET.Element, key: str, text: str, frame: tuple[int, int, int, int]) -> None:
    node = _node(parent, "TEXT", "label:" + key)
    _prop(node, "s", "name", "label_" + _name(key))
    _prop(node, "r", "frame", frame)
    _prop(node, "b", "background", False)
    _prop(node, "b", "interactive", False)
    _prop(node, "i", "textSize", 12)
    _prop(node, "c", "textColor", (1, 1, 1, 1))
    _values(node, {"text": text, "touch": "false"})


def _control(parent: ET.Element, param: Param, cell: tuple[int, int]) -> None:
    x, y = cell[0] * CELL_W, TAB_H + cell[1] * CELL_H
    frame = (x + 8, y + 8, CELL_W - 16, CELL_H - 50)
    lo = param.minimum if param.minimum is not None else 0.0
    hi = param.maximum if param.maximum is not None else 1.0
    if param.kind in ("float", "int"):
        node = _node(parent, "FADER", param.address)
        default = 0.0 if hi == lo or not isinstance(param.default, int | float) else (param.default - lo) / (hi - lo)
        _values(node, {"x": f"{min(max(default, 0.0), 1.0):g}", "touch": "false"})
        conversion = "INTEGER" if param.kind == "int" else "FLOAT"
    else:  # bool: toggle; trigger: momentary (sends 1 on press, 0 on release, which vjgan ignores)
        node = _node(parent, "BUTTON", param.address)
        _prop(node, "i", "buttonType", 1 if param.kind == "bool" else 0)
        _values(node, {"x": "1" if param.default is True else "0", "touch": "false"})
        lo, hi, conversion = 0.0, 1.0, "INTEGER"
    _prop(node, "s", "name", _name(param.address))
    _prop(node, "r", "frame", frame)
    _prop(node, "c", "color", (*_COLORS[param.kind], 1))
    _prop(node, "b", "interactive", True)
    _osc(node, param.address, conversion, float(lo), float(hi), send=True)
    _label(parent, param.address, param.address.rsplit("/", 2)[-2] + "/" + param.address.rsplit("/", 1)[-1],
           (x, y + CELL_H - 42, CELL_W, 34))  # fmt: skip


def _meter(parent: ET.Element, address: str, cell: tuple[int, int], hi: float) -> None:
    x, y = cell[0] * CELL_W, TAB_H + cell[1] * CELL_H
    node = _node(parent, "FADER", "meter:" + address)
    _prop(node, "s", "name", _name(address))
    _prop(node, "r", "frame", (x + 8, y + 8, CELL_W - 16, CELL_H - 50))
    _prop(node, "c", "color", (*_COLORS["meter"], 1))
    _prop(node, "b", "interactive", False)
    _values(node, {"x": "0", "touch": "false"})
    _osc(node, address, "FLOAT", 0.0, hi, send=False)
    _label(parent, "meter:" + address, address.removeprefix(PREFIX + "/"), (x, y + CELL_H - 42, CELL_W, 34))


def _page(pager: ET.Element, title: str) -> ET.Element:
    page = _node(pager, "GROUP", "page:" + title)
    _prop(page, "s", "name", title)
    _prop(page, "s", "tabLabel", title)
    _prop(page, "r", "frame", (0, TAB_H, WIDTH, HEIGHT - TAB_H))
    _prop(page, "c", "color", (0.08, 0.08, 0.1, 1))
    _prop(page, "b", "background", True)
    _values(page, {"touch": "false"})
    return ET.SubElement(page, "children")


METERS: tuple[tuple[str, float], ...] = (
    *((f"{PREFIX}/{n}", 1.0) for n in ("onset", "rms", "bass", "mid", "high", "kick", "snare", "beat_phase")),
    (f"{PREFIX}/bar_phase", 1.0),
    (f"{PREFIX}/tempo", 200.0),
    *((f"{PREFIX}/chroma/{n}", 1.0) for n in CHROMA_NAMES),
)


def build_layout(registry: ParamRegistry) -> ET.Element:
    root = ET.Element("lexml", {"version": "3"})
    top = _node(root, "GROUP", "root")
    _prop(top, "s", "name", "vjgan")
    _prop(top, "r", "frame", (0, 0, WIDTH, HEIGHT))
    _values(top, {"touch": "false"})
    pager = _node(ET.SubElement(top, "children"), "PAGER", "pager")
    _prop(pager, "s", "name", "pages")
    _prop(pager, "r", "frame", (0, 0, WIDTH, HEIGHT))
    _prop(pager, "b", "tabbar", True)
    _prop(pager, "i", "tabbarSize", TAB_H)
    _values(pager, {"page": "0", "touch": "false"})
    pages = ET.SubElement(pager, "children")

    groups: dict[str, list[Param]] = {}
    for p in registry.params():
        if p.kind != "str":  # text parameters (preset names) have no TouchOSC control; use the panel or OSC
            groups.setdefault(p.group or "other", []).append(p)
    per_page = COLS * ROWS
    for group, params in sorted(groups.items()):
        chunks = [params[i : i + per_page] for i in range(0, len(params), per_page)]
        for n, chunk in enumerate(chunks):
            children = _page(pages, group if len(chunks) == 1 else f"{group} {n + 1}")
            for i, p in enumerate(chunk):
                _control(children, p, (i % COLS, i // COLS))
    for n in range(0, len(METERS), per_page):
        children = _page(pages, "meters" if n == 0 else f"meters {n // per_page + 1}")
        for i, (address, hi) in enumerate(METERS[n : n + per_page]):
            _meter(children, address, (i % COLS, i // COLS), hi)
    return root


def layout_bytes(registry: ParamRegistry) -> bytes:
    xml = ET.tostring(build_layout(registry), encoding="UTF-8", xml_declaration=True)
    return zlib.compress(xml, 9)


def write_layout(registry: ParamRegistry, path: Path = LAYOUT_PATH) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(layout_bytes(registry))
    return path


def read_layout(path: Path) -> ET.Element:
    return ET.fromstring(zlib.decompress(Path(path).read_bytes()))
