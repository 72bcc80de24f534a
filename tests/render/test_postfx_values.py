"""A preset's shader chain switches effects on and off on the render thread: the registry's current values
(what OSC queries answer and feedback sends) follow it."""

from __future__ import annotations

from collections.abc import Iterator

import moderngl
import pytest

from vjgan.core.frame import ShaderParams
from vjgan.core.paths import SHADERS_DIR
from vjgan.core.registry import ParamChange, ParamRegistry
from vjgan.render.postfx import PostFXChain


@pytest.fixture(scope="module")
def ctx() -> Iterator[moderngl.Context]:
    ctx = moderngl.create_standalone_context(backend="egl")
    yield ctx
    ctx.release()


def test_a_preset_chain_is_published_as_the_switches_values(ctx: moderngl.Context) -> None:
    chain = PostFXChain(ctx, (32, 16), SHADERS_DIR)
    registry = ParamRegistry()
    chain.register(registry, uniforms=False)
    assert {"color", "vignette", "mirror"} <= set(chain.effects)
    heard: list[tuple[ParamChange, ...]] = []
    registry.watchers.append(heard.append)
    chain.set_uniforms(ShaderParams(chain=("color", "vignette")))
    values = registry.values()
    assert values["/vjgan/shader/color/enabled"] is True and values["/vjgan/shader/vignette/enabled"] is True
    assert values["/vjgan/shader/mirror/enabled"] is False
    changed = {c.address for batch in heard for c in batch}
    assert "/vjgan/shader/mirror/enabled" in changed and "/vjgan/shader/color/enabled" not in changed
    assert all(c.origin == "register:shader" for batch in heard for c in batch)
    heard.clear()
    chain.set_uniforms(ShaderParams(chain=("color", "vignette")))  # the same chain every frame: nothing new
    assert heard == []
