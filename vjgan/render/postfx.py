"""The GLSL post-FX chain: generated frame → shaders/*.frag, one full-screen pass each → output texture.

Each effect is a complete fragment shader file (see shaders/ and vjgan.core.effects for the `@param`
convention). Passes ping-pong between two framebuffers so any number of effects costs two textures.
A watcher thread (`watch()`, render/shaderwatch.py) polls the files and hands over changed sources, which
the render thread compiles (with `poll(force=True)` it scans there, as at start-up); a
file that fails to compile keeps its last good program running and its compiler text lands in
`errors` (the panel and the log show it), so a typo on stage never blanks the screen.

Image convention: v_uv (0, 0) is the image's top-left, i.e. texture row 0 is the top row as uploaded
from a `GeneratedFrame`; `read()` returns rows top first. Only `present()` flips for the window.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import moderngl
import numpy as np

from vjgan.core.effects import EffectParam, parse_effect_params
from vjgan.core.frame import ShaderParams
from vjgan.core.paths import SHADERS_DIR
from vjgan.core.registry import Param, ParamRegistry
from vjgan.render.glwait import gil_free_wait
from vjgan.render.shaderwatch import ShaderWatcher, scan

log = logging.getLogger(__name__)

# Effects found in shaders/ run in this order; any other file runs after these, alphabetically.
DEFAULT_ORDER: tuple[str, ...] = ("feedback", "mirror", "color", "chromatic", "strobe", "vignette")
_ENABLED = re.compile(r"//\s*@enabled\s+([01])")
# `// @bypass_when a<=b c==d ...`: skip the pass while every condition holds (the effect is an identity
# then), saving a full-screen pass on software GL. Operands: a @param, u_onset/u_rms/u_beat_phase, or a number.
_BYPASS = re.compile(r"//\s*@bypass_when\s+(.+)$", re.MULTILINE)
_COND = re.compile(r"^(\w+|-?[\d.]+)(<=|==|>=)(\w+|-?[\d.]+)$")

VERTEX_SHADER = """#version 330
out vec2 v_uv;
void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));  // one full-screen triangle
    v_uv = p;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

# First pass: crossfade between the two newest generated frames and fit ("cover") them to the output.
# The generator paints 128-456 px; the output is 720p-1080p, so this is where the picture is magnified:
# FETCH = Lanczos-2 (16 taps) with an anti-ringing clamp to the 2x2 neighbourhood, which keeps edges
# crisp without halos, or plain bilinear (`vjgan render --no-fx`, to measure the model alone).
# The pass is compiled once per (filter, crossfade) variant instead of branching on uniforms: software
# GL (llvmpipe) runs both sides of such a branch, which made the bilinear variant as slow as Lanczos and
# cost every frame three Lanczos evaluations (32 ms at 1280x720 instead of 5, same pixels).
_SOURCE_HEAD = """#version 330
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_a;
uniform sampler2D u_b;
uniform float u_mix;
uniform vec2 u_scale;
float lanczos2(float x) {
    x = abs(x);
    if (x < 1e-4) return 1.0;
    if (x >= 2.0) return 0.0;
    float px = 3.14159265 * x;
    return 2.0 * sin(px) * sin(0.5 * px) / (px * px);
}
vec3 sharp(sampler2D t, vec2 uv) {
    ivec2 size = textureSize(t, 0);
    vec2 p = uv * vec2(size) - 0.5;
    vec2 base = floor(p);
    vec2 f = p - base;
    vec4 wx, wy;
    for (int i = 0; i < 4; i++) {
        wx[i] = lanczos2(float(i - 1) - f.x);
        wy[i] = lanczos2(float(i - 1) - f.y);
    }
    wx /= dot(wx, vec4(1.0));
    wy /= dot(wy, vec4(1.0));
    ivec2 b = ivec2(base);
    ivec2 hi = size - 1;
    vec3 acc = vec3(0.0);
    vec3 lo3 = vec3(1.0), hi3 = vec3(0.0);
    for (int j = 0; j < 4; j++) {
        vec3 row = vec3(0.0);
        for (int i = 0; i < 4; i++) {
            vec3 c = texelFetch(t, clamp(b + ivec2(i - 1, j - 1), ivec2(0), hi), 0).rgb;
            row += wx[i] * c;
            if ((i == 1 || i == 2) && (j == 1 || j == 2)) { lo3 = min(lo3, c); hi3 = max(hi3, c); }
        }
        acc += wy[j] * row;
    }
    return clamp(acc, lo3, hi3);
}
"""
_FETCH = {True: "sharp(t, uv)", False: "texture(t, uv).rgb"}
# one texture when the crossfade is at either end (the caller binds that one as u_a): half the taps
_BLEND = {False: "fetch(u_a, uv)", True: "mix(fetch(u_a, uv), fetch(u_b, uv), u_mix)"}


def source_shader(sharp: bool = True, crossfade: bool = False) -> str:
    """The first pass's fragment shader for one (filter, crossfade) variant."""
    return (
        _SOURCE_HEAD
        + f"vec3 fetch(sampler2D t, vec2 uv) {{ return {_FETCH[sharp]}; }}\n"
        + "void main() {\n    vec2 uv = (v_uv - 0.5) * u_scale + 0.5;\n"
        + f"    f_color = vec4({_BLEND[crossfade]}, 1.0);\n}}\n"
    )


SOURCE_SHADER = source_shader()  # the default variant (Lanczos, no crossfade), for docs and tests

# Last step for a window: default framebuffers have row 0 at the bottom, so flip.
PRESENT_SHADER = """#version 330
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_image;
void main() { f_color = texture(u_image, vec2(v_uv.x, 1.0 - v_uv.y)); }
"""

COMMON_UNIFORMS = ("u_input", "u_previous", "u_time", "u_resolution", "u_onset", "u_beat_phase", "u_rms")


@dataclass
class Effect:
    """One shaders/<name>.frag: its last good program and the live values of its `@param` uniforms."""

    name: str
    path: Path
    mtime: float = 0.0
    program: moderngl.Program | None = None
    vao: moderngl.VertexArray | None = None
    params: dict[str, EffectParam] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    enabled: bool = True
    error: str = ""  # compiler text of the newest version when it failed; "" when it compiled
    bypass: tuple[tuple[str, str, str], ...] = ()  # conditions under which the pass is an identity


def _parse_bypass(source: str) -> tuple[tuple[str, str, str], ...]:
    m = _BYPASS.search(source)
    if not m:
        return ()
    conds = []
    for token in m[1].split():
        c = _COND.match(token)
        if not c:
            log.warning("ignoring @bypass_when condition %r (expected NAME<=VALUE, NAME==VALUE or NAME>=VALUE)", token)
            return ()
        conds.append((c[1], c[2], c[3]))
    return tuple(conds)


@dataclass
class FrameInputs:
    """Audio-driven values every effect may read as common uniforms."""

    time: float = 0.0
    onset: float = 0.0
    beat_phase: float = 0.0
    rms: float = 0.0


class PostFXChain:
    def __init__(
        self,
        ctx: moderngl.Context,
        size: tuple[int, int],
        shaders_dir: Path = SHADERS_DIR,
        order: Iterable[str] = DEFAULT_ORDER,
        poll_interval: float = 0.25,
    ) -> None:
        self.ctx = ctx
        self.shaders_dir = Path(shaders_dir)
        self.poll_interval = poll_interval
        self._preferred_order = tuple(order)
        self.effects: dict[str, Effect] = {}
        self.order: list[str] = []
        self._overrides: dict[str, dict[str, float]] = {}
        self._registry: ParamRegistry | None = None
        self._register_uniforms = True
        self._chain_seen: tuple[str, ...] = ()
        self._last_poll = 0.0
        self.watcher: ShaderWatcher | None = None  # scans the folder off the render thread (watch())
        self.reloads = 0  # successful (re)compiles after start, for stats and tests
        # plain: bilinear magnification and no effects — the generator's own picture (`render --no-fx`)
        self.plain = False
        self.sharp = True  # Lanczos magnification; False = bilinear (`render --quality draft`: cheaper)
        self.history_reads = 0  # passes that sampled the previous output (offline ranges check it)
        # (sharp, crossfade) → program and its vertex array, compiled on first use
        self._sources: dict[tuple[bool, bool], tuple[moderngl.Program, moderngl.VertexArray]] = {}
        self._present = self._program(PRESENT_SHADER)
        self._present_vao = ctx.vertex_array(self._present, [])
        # after each pass with `gil_free_waits` (the offline render): software GL renders while the
        # render's other threads run; off live, where the render loop's own work overlaps the rasterizer
        self._wait: Callable[[], None] = lambda: None
        self.size = (0, 0)
        self.resize(size)
        self.poll(force=True)

    # ---- files ------------------------------------------------------------------------------------
    def gil_free_waits(self, on: bool = True) -> None:
        """Wait for each pass in glFinish without the GIL (software GL only; render/glwait.py). Pays where
        a readback follows every frame and other threads need the GIL (the offline render: 0.68x → 1.16x
        real time at 720p draft); costs live, where the loop's own work overlapped the passes (headless
        1280x720 demo: 20-24 fps without, 14-18 fps with)."""
        self._wait = gil_free_wait(self.ctx) if on else (lambda: None)

    def _program(self, fragment: str) -> moderngl.Program:
        return self.ctx.program(vertex_shader=VERTEX_SHADER, fragment_shader=fragment)

    def poll(self, force: bool = False) -> list[str]:
        """Recompile changed files, add new ones, drop deleted ones. Returns names that changed. While
        `watch()` runs, the files are scanned on its thread and this only compiles what it found;
        `force` scans here and now (start-up, tests)."""
        if self.watcher is not None and not force:
            scans = self.watcher.changes()
        else:
            now = time.monotonic()
            if not force and now - self._last_poll < self.poll_interval:
                return []
            self._last_poll = now
            found = scan(self.shaders_dir, {n: e.mtime for n, e in self.effects.items()})
            scans = [found] if found is not None else []
        changed: list[str] = []
        for found in scans:
            for name in found.removed:
                if self.effects.pop(name, None) is not None:
                    log.info("shader %s removed from %s", name, self.shaders_dir)
                    changed.append(name)
            for f in found.changed:
                effect = self.effects.get(f.name)
                if effect is None:
                    effect = self.effects[f.name] = Effect(f.name, f.path)
                effect.mtime = f.mtime
                self._compile(effect, f.source, f.error)
                changed.append(f.name)
        if changed:
            known = [n for n in self._preferred_order if n in self.effects]
            self.order = known + sorted(n for n in self.effects if n not in known)
            self._register_params()
        return changed

    def watch(self) -> None:
        """Scan the folder on a thread of its own from now on (the live show: no file I/O on this thread)."""
        if self.watcher is None:
            self.watcher = ShaderWatcher(self.shaders_dir, {n: e.mtime for n, e in self.effects.items()},
                                         self.poll_interval)

    def unwatch(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _compile(self, effect: Effect, source: str | None, read_error: str = "") -> None:
        if source is None:
            effect.error = read_error
            log.warning("shader %s: %s", effect.name, effect.error)
            return
        try:
            program = self._program(source)
        except moderngl.Error as exc:
            effect.error = f"{effect.path.name}: {exc}".strip()
            kept = "keeping the last good version" if effect.program else "effect skipped until it compiles"
            log.warning("shader %s failed to compile (%s):\n%s", effect.name, kept, effect.error)
            return
        first = effect.program is None
        if effect.vao is not None:
            effect.vao.release()
        if effect.program is not None:
            effect.program.release()
        effect.program = program
        effect.vao = self.ctx.vertex_array(program, [])
        effect.params = parse_effect_params(source)
        effect.bypass = _parse_bypass(source)
        effect.values = {n: effect.values.get(n, p.default) for n, p in effect.params.items()}
        if first:
            m = _ENABLED.search(source)
            effect.enabled = bool(int(m[1])) if m else True
        else:
            self.reloads += 1
            log.info("shader %s reloaded", effect.name)
        effect.error = ""

    @property
    def errors(self) -> dict[str, str]:
        """Effect name → compiler error of its newest file version (only for the failing ones)."""
        return {n: e.error for n, e in self.effects.items() if e.error}

    # ---- parameters -------------------------------------------------------------------------------
    def register(self, registry: ParamRegistry, uniforms: bool = True) -> None:
        """Expose every effect's on/off switch (group "shader") and, with `uniforms`, its `@param` uniforms.

        With the mapping engine running, uniforms are its targets (`/vjgan/target/shader.<effect>.<name>`),
        so the chain registers only the switches to keep one address per value.
        """
        self._registry = registry
        self._register_uniforms = uniforms
        self._register_params()

    def _register_params(self) -> None:
        if self._registry is None:
            return
        items: list[tuple[Param, object]] = []
        for name in self.order:
            effect = self.effects[name]
            items.append(
                (
                    Param(f"/vjgan/shader/{name}/enabled", "bool", f"{name} effect on/off", 0, 1,
                          effect.enabled, "shader"),
                    lambda v, n=name: self.set_enabled(n, bool(v)),
                )
            )
            for p in effect.params.values() if self._register_uniforms else ():
                items.append(
                    (
                        Param(f"/vjgan/shader/{name}/{p.name}", "float", p.doc or f"{name} {p.name}",
                              p.minimum, p.maximum, p.default, "shader"),
                        lambda v, n=name, u=p.name: self.set_param(n, u, float(v)),
                    )
                )
        self._registry.replace_group("shader", items)  # type: ignore[arg-type]

    def set_param(self, effect: str, name: str, value: float) -> None:
        e = self.effects.get(effect)
        if e is not None and name in e.params:
            p = e.params[name]
            e.values[name] = min(max(float(value), p.minimum), p.maximum)

    def set_enabled(self, effect: str, enabled: bool) -> None:
        if effect in self.effects:
            self.effects[effect].enabled = enabled

    def set_uniforms(self, params: ShaderParams) -> None:
        """Per-frame values from the mapping engine; they override the base (panel/OSC) values."""
        self._overrides = params.uniforms
        if params.chain and params.chain != self._chain_seen:  # a preset's chain; later toggles stay
            self._chain_seen = params.chain
            known = [n for n in params.chain if n in self.effects]
            self.order = known + [n for n in self.order if n not in known]
            for n in self.effects:
                self.effects[n].enabled = n in known
            self._register_params()  # the registry's current values (OSC queries, feedback) follow the chain

    def value(self, effect: str, name: str) -> float:
        v = self._overrides.get(effect, {}).get(name)
        return self.effects[effect].values[name] if v is None else float(v)

    # ---- rendering --------------------------------------------------------------------------------
    def resize(self, size: tuple[int, int]) -> None:
        size = (max(1, int(size[0])), max(1, int(size[1])))
        if size == self.size:
            return
        if self.size != (0, 0):
            for obj in (*self._fbos, *self._textures, self._history_fbo, self._history):
                obj.release()
        self.size = size
        self._textures = [self.ctx.texture(size, 4) for _ in range(2)]
        self._fbos = [self.ctx.framebuffer([t]) for t in self._textures]
        self._history = self.ctx.texture(size, 4)
        self._history_fbo = self.ctx.framebuffer([self._history])
        for t in (*self._textures, self._history):
            t.repeat_x = t.repeat_y = False
        for fbo in (*self._fbos, self._history_fbo):
            fbo.clear(0.0, 0.0, 0.0, 1.0)
        self.output = self._textures[0]
        self._output_fbo = self._fbos[0]

    def render(
        self,
        a: moderngl.Texture,
        b: moderngl.Texture | None = None,
        mix: float = 1.0,
        inputs: FrameInputs | None = None,
    ) -> moderngl.Texture:
        """Run source pass + every enabled effect; returns the output texture (also kept as history)."""
        inputs = inputs or FrameInputs()
        w, h = self.size
        src_aspect = a.size[0] / a.size[1]
        out_aspect = w / h
        scale = (1.0, src_aspect / out_aspect) if out_aspect > src_aspect else (out_aspect / src_aspect, 1.0)
        cur = 0
        self._fbos[cur].use()
        crossfade = b is not None and 0.0 < mix < 1.0
        first = b if b is not None and mix >= 1.0 else a  # at either end only one frame is visible
        first.use(0)
        (b or a).use(1)
        prog, vao = self._source_pass(self.sharp and not self.plain, crossfade)
        for k, v in (("u_a", 0), ("u_b", 1), ("u_mix", float(mix)), ("u_scale", scale)):
            if k in prog:  # the compiler drops uniforms a variant does not use
                prog[k] = v
        vao.render(moderngl.TRIANGLES, vertices=3)
        self._wait()
        common = {
            "u_input": 0,
            "u_previous": 1,
            "u_time": float(inputs.time),
            "u_resolution": (float(w), float(h)),
            "u_onset": float(inputs.onset),
            "u_beat_phase": float(inputs.beat_phase),
            "u_rms": float(inputs.rms),
        }
        self._history.use(1)
        for name in () if self.plain else self.order:
            effect = self.effects.get(name)
            if effect is None or not effect.enabled or effect.program is None or effect.vao is None:
                continue
            if effect.bypass and self._bypassed(effect, common):
                continue
            prog = effect.program
            if "u_previous" in prog:
                self.history_reads += 1
            for k, v in common.items():
                if k in prog:
                    prog[k] = v
            for k in effect.values:
                if k in prog:
                    prog[k] = self.value(name, k)
            self._textures[cur].use(0)
            cur ^= 1
            self._fbos[cur].use()
            effect.vao.render(moderngl.TRIANGLES, vertices=3)
            self._wait()
        self.output = self._textures[cur]
        self._output_fbo = self._fbos[cur]
        self.ctx.copy_framebuffer(self._history_fbo, self._output_fbo)
        self._wait()
        return self.output

    def _source_pass(self, sharp: bool, crossfade: bool) -> tuple[moderngl.Program, moderngl.VertexArray]:
        key = (sharp, crossfade)
        if key not in self._sources:
            prog = self._program(source_shader(sharp, crossfade))
            self._sources[key] = (prog, self.ctx.vertex_array(prog, []))
        return self._sources[key]

    def _bypassed(self, effect: Effect, common: dict[str, object]) -> bool:
        def operand(x: str) -> float:
            if x in effect.values:
                return self.value(effect.name, x)
            v = common.get(x)
            return float(v) if isinstance(v, int | float) else float(x)

        for a, op, b in effect.bypass:
            x, y = operand(a), operand(b)
            if not (x <= y if op == "<=" else x >= y if op == ">=" else abs(x - y) < 1e-6):
                return False
        return True

    def present(self, fbo: moderngl.Framebuffer, viewport: tuple[int, int, int, int] | None = None) -> None:
        """Draw the output into a window's framebuffer (flipped, stretched to the viewport)."""
        fbo.use()
        if viewport is not None:
            self.ctx.viewport = viewport
        self.output.use(0)
        self._present["u_image"] = 0
        self._present_vao.render(moderngl.TRIANGLES, vertices=3)

    def read(self) -> np.ndarray:
        """The output as (H, W, 3) uint8, top row first."""
        w, h = self.size
        data = self._output_fbo.read(components=3, alignment=1)
        return np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)

    def release(self) -> None:
        self.unwatch()
        for prog, vao in self._sources.values():
            vao.release()
            prog.release()
        self._sources.clear()
        for e in self.effects.values():
            if e.vao is not None:
                e.vao.release()
            if e.program is not None:
                e.program.release()
        for obj in (*self._fbos, *self._textures, self._history_fbo, self._history):
            obj.release()
