"""docs/osc.md from the parameter registry, so the documented address space cannot drift from the code.

`collect_registry()` populates a registry the way the running app does, stage by stage, skipping (and
naming) stages that cannot be built here; `render_markdown()` turns it into the reference tables;
`scripts/gen_osc_docs.py` writes the file. The hand-written parts (ports, bundles, learn, OSC out,
TouchOSC) live in `INTRO`/`OUTRO` here, next to the code they describe.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vjgan.control.osc import DEFAULT_HOST, DEFAULT_PORT, MAX_AHEAD, MAX_PACKET
from vjgan.control.osc_out import MAX_RATE_HZ, OUT_ADDRESSES
from vjgan.control.registry import Param, ParamRegistry
from vjgan.control.transport import register_transport
from vjgan.errors import UserError
from vjgan.paths import REPO_DIR

log = logging.getLogger(__name__)

DOC_PATH = REPO_DIR / "docs" / "osc.md"
OSC_TYPE = {"float": "f", "int": "i", "bool": "i/T/F", "str": "s", "trigger": "(none) or 1"}


class _NullPlayer:
    duration = None

    def play(self) -> None: ...
    def pause(self) -> None: ...
    def seek(self, seconds: float) -> None: ...
    def set_loop(self, a: float | None, b: float | None) -> None: ...


class _NullTempo:
    def tap(self) -> None: ...
    def nudge(self, bpm: float) -> None: ...


def _register_shaders(registry: ParamRegistry, uniforms: bool) -> None:
    """Like the app: effect switches always; uniforms only when no mapping engine owns them as targets."""
    import moderngl

    from vjgan.render.postfx import PostFXChain

    ctx = moderngl.create_standalone_context(backend="egl")
    try:
        PostFXChain(ctx, (64, 64)).register(registry, uniforms=uniforms)
    finally:
        ctx.release()


def _register_mapping(registry: ParamRegistry) -> None:
    """Like the app: the mapping engine with presets/default.toml (an empty preset if it does not fit), on
    the embedded default model (its layer names decide the noise/bend/rewrite addresses); the procedural
    test generator stands in while the model is not built."""
    from vjgan.mapping.engine import MappingEngine
    from vjgan.mapping.presets import load_preset
    from vjgan.mapping.spec import Preset
    from vjgan.paths import PRESETS_DIR

    try:
        from vjgan.models.default import load_default_generator

        generator = load_default_generator("cpu")
    except ImportError:
        from vjgan.render.procedural import ProceduralGenerator

        generator = ProceduralGenerator()
        log.warning("OSC docs: embedded model not available, layer addresses are the procedural generator's")
    try:
        MappingEngine(generator, load_preset(PRESETS_DIR / "default.toml"), registry)
    except UserError as exc:
        log.warning("OSC docs: default preset does not fit, using an empty preset: %s", exc)
        MappingEngine(generator, Preset(name="empty"), registry)


def _register_transport(registry: ParamRegistry) -> None:
    register_transport(registry, _NullPlayer(), _NullTempo())


# The stages in the order the app builds them. The app can replace all of this by defining
# vjgan.app.live.register_all(registry) (the exact registry LiveApp builds, without opening devices).
REGISTRARS: list[tuple[str, Callable[[ParamRegistry], None]]] = [
    ("transport", _register_transport),
    ("mapping", _register_mapping),
]


def collect_registry() -> tuple[ParamRegistry, list[str], list[str]]:
    """(registry, stages included, stages skipped with the reason)."""
    registry = ParamRegistry()
    try:
        live = importlib.import_module("vjgan.app.live")
        register_all = getattr(live, "register_all", None)
    except Exception:  # the app module may not exist yet or fail to import: fall back to the stages
        register_all = None
    if register_all is not None:
        register_all(registry)
        return registry, ["app (vjgan.app.live.register_all)"], []
    done: list[str] = []
    skipped: list[str] = []

    def run(name: str, registrar: Callable[[ParamRegistry], None]) -> None:
        try:
            registrar(registry)
            done.append(name)
        except Exception as exc:  # a stage that is not built yet must not stop the docs
            skipped.append(f"{name}: {type(exc).__name__}: {exc}")
            log.warning("OSC docs: stage %s skipped (%s)", name, exc)

    for name, registrar in REGISTRARS:
        run(name, registrar)
    run("shader", lambda r: _register_shaders(r, uniforms="mapping" not in done))
    return registry, done, skipped


def _fmt(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def _param_table(params: list[Param]) -> list[str]:
    rows = ["| address | type | range | default | description |", "|---|---|---|---|---|"]
    for p in params:
        rng = f"{_fmt(p.minimum)} .. {_fmt(p.maximum)}" if p.minimum is not None or p.maximum is not None else ""
        doc = p.doc.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{p.address}` | {p.kind} (`{OSC_TYPE[p.kind]}`) | {rng} | {_fmt(p.default)} | {doc} |")
    return rows


INTRO = f"""# OSC remote control

<!-- Generated by scripts/gen_osc_docs.py from the parameter registry (vjgan/control/oscdoc.py): edit the
code, not this file. -->

vjgan listens for OSC 1.0 over UDP and streams its audio analysis back out. Every controllable value lives in
one parameter registry (`vjgan/control/registry.py`); this page is generated from it.

## Connecting

- Port: **{DEFAULT_PORT}** (`vjgan live --osc-port N`), bound to **{DEFAULT_HOST}** (this computer only).
  To accept a tablet or another computer on the LAN pass `--osc-host 0.0.0.0` explicitly, and preferably an
  allowlist of sender addresses (IPs or networks like `192.168.1.0/24`): packets from anyone else are refused
  and counted.
- Transport: UDP. TCP on the same port number is optional (`OscServer(..., tcp=True)`): OSC 1.0 int32
  length-prefixed frames (what liblo's `oscsend osc.tcp://HOST:PORT ...` sends) or OSC 1.1 SLIP frames.
- One value per message: floats (`f`), ints (`i`), doubles (`d`), int64 (`h`) and `T`/`F`
  are accepted for numeric and on/off parameters; strings (`s`) for text parameters.
- Triggers fire on a message with no argument, an impulse (`I`), or a non-zero first argument; a zero (a
  TouchOSC button release) is ignored.
- Values outside a parameter's range are clamped (and counted); wrong types, NaN/inf and unknown addresses
  are refused, counted and logged (rate-limited). Nothing received is ever evaluated as code.
- Address patterns (`*`, `?`, `[a-z]`, `[!0-9]`, `{{a,b}}`) address every matching parameter, e.g.
  `/vjgan/shader/*/enabled 0` switches all effects off.
- Every refused packet is counted in `OscServer.stats` (malformed, oversized, refused, unknown, bad_value)
  and logged at most 5 times per 5 s with a summary of the rest, so a flood cannot stall the show.
- Packets above {MAX_PACKET} bytes, bundles nested deeper than 8 and more than 256 messages per packet are
  refused.

Messages are applied by the render loop at the start of the next frame, never from the network thread.

## Timed bundles

A bundle's time tag (NTP time, this computer's clock) says when its messages apply: the render loop applies
them at the first frame at or after that time. Time tag 1 ("immediately") and past times apply at the next
frame. Bundles timed more than {MAX_AHEAD:.0f} s ahead are refused. Sender and vjgan must share a clock
(same machine, or NTP-synchronised machines).

```python
# python-osc: apply two values together, 250 ms from now
import time
from pythonosc import osc_bundle_builder, osc_message_builder, udp_client
b = osc_bundle_builder.OscBundleBuilder(time.time() + 0.25)
for address, value in [("/vjgan/player/seek", 30.0), ("/vjgan/player/play", 1)]:
    m = osc_message_builder.OscMessageBuilder(address); m.add_arg(value); b.add_content(m.build())
udp_client.SimpleUDPClient("127.0.0.1", {DEFAULT_PORT}).send(b.build())
```

From a shell (liblo-tools): `oscsend 127.0.0.1 {DEFAULT_PORT} /vjgan/player/seek f 30`.

## OSC learn

Controllers have their own addresses (TouchOSC's `/1/fader3`). In the panel, press *learn* next to a
parameter and move the control: the next incoming address becomes an alias for that parameter. If the
parameter has a finite numeric range, the controller's 0..1 is scaled onto it. Bindings are stored in the
preset (`[osc]` table, `{{"bindings": [{{"source", "target", "scale", "in_min", "in_max"}}]}}`, see
`vjgan.control.learn.OscLearn.to_dict`).
"""


def _outro() -> str:
    rows = ["| address | types | description |", "|---|---|---|"]
    rows += [f"| `{a}` | `{t}` | {d} |" for a, t, d in OUT_ADDRESSES]
    table = "\n".join(rows)
    return f"""
## OSC out (features)

`vjgan live --osc-out HOST:PORT` (repeatable) streams the analysis to each target at up to
{MAX_RATE_HZ:.0f} Hz (the analysis frame rate), one bundle (time tag "immediately") per new analysis frame.
Events between two sends are never dropped: they are collected from the analysis history. Receivers that
do not understand bundles get plain messages with `OscOut(..., bundle=False)`. Check it with
`oscdump 9001` (liblo-tools) while `vjgan live --osc-out 127.0.0.1:9001` runs.

{table}

## TouchOSC

`python scripts/make_touchosc_layout.py` writes `presets/touchosc/vjgan.tosc` (TouchOSC, the current app; a
zlib-compressed XML document) with one page per parameter group (faders scaled to each range, toggles,
trigger buttons) and a *meters* page fed by OSC out. Copy it to the tablet (TouchOSC → Documents, or open it
in the TouchOSC editor and sync), then in TouchOSC's connections set OSC UDP: host = the vjgan computer,
send port = {DEFAULT_PORT}, receive port = the port given to `--osc-out`. Start vjgan with
`--osc-host 0.0.0.0 --osc-out TABLET_IP:PORT`.
"""


def render_markdown(
    registry: ParamRegistry, included: list[str] | None = None, skipped: list[str] | None = None
) -> str:
    params = registry.params()
    groups: dict[str, list[Param]] = {}
    for p in params:
        groups.setdefault(p.group or "other", []).append(p)
    lines = [INTRO, "## Address space (OSC in)", ""]
    lines.append(f"{len(params)} parameters" + (f", from: {', '.join(included)}." if included else "."))
    if skipped:
        lines += ["", "Stages not included when this page was generated (rerun `scripts/gen_osc_docs.py`):", ""]
        lines += [f"- {s}" for s in skipped]
    for group in sorted(groups):
        lines += ["", f"### {group}", ""]
        lines += _param_table(groups[group])
    lines.append(_outro())
    return "\n".join(lines).rstrip() + "\n"


def write_osc_docs(path: Path = DOC_PATH, registry: ParamRegistry | None = None) -> Path:
    """Write docs/osc.md from `registry` (default: `collect_registry()`)."""
    included: list[str] | None = None
    skipped: list[str] | None = None
    if registry is None:
        registry, included, skipped = collect_registry()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(registry, included, skipped), encoding="utf-8")
    return path
