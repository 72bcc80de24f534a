"""OpenGL contexts for the show: a glfw output window (windowed or full screen on a monitor) or EGL headless."""

from __future__ import annotations

import logging
import os

import moderngl

from vjgan.core.errors import UserError

log = logging.getLogger(__name__)


def _name(raw: bytes | str | None) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def headless_context() -> moderngl.Context:
    """A standalone GL 3.3+ context without any display (EGL: Mesa llvmpipe or the GPU's driver)."""
    try:
        return moderngl.create_standalone_context(backend="egl")
    except Exception as egl_exc:  # noqa: BLE001 - try the platform default before giving up
        try:
            return moderngl.create_standalone_context()
        except Exception as exc:
            raise UserError(
                f"no OpenGL available for headless rendering (EGL: {egl_exc}; default: {exc}); "
                "install Mesa (libegl1 libgl1-mesa-dri) or run scripts/bootstrap.sh"
            ) from exc


def init_glfw() -> None:
    import glfw

    if not glfw.init():
        display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        raise UserError(
            f"cannot open a window (display {display or 'not set'}): start an X server, or use --headless"
        )


class OutputWindow:
    """The projector window. Full screen on monitor `monitor` (0-based) or windowed at `size`."""

    def __init__(self, size: tuple[int, int], monitor: int | None = None, title: str = "vjgan", vsync: bool = True):
        import glfw

        init_glfw()
        monitors = glfw.get_monitors() or []
        target = None
        if monitor is not None:
            if not 0 <= monitor < len(monitors):
                names = ", ".join(f"{i}: {_name(glfw.get_monitor_name(m))}" for i, m in enumerate(monitors)) or "none"
                raise UserError(f"--monitor {monitor} does not exist; monitors: {names}")
            target = monitors[monitor]
            mode = glfw.get_video_mode(target)
            size = (mode.size.width, mode.size.height)
            glfw.window_hint(glfw.REFRESH_RATE, mode.refresh_rate)
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        self.window = glfw.create_window(size[0], size[1], title, target, None)
        if not self.window:
            raise UserError("glfw could not create an OpenGL 3.3 window (is the GL driver installed?)")
        glfw.make_context_current(self.window)
        glfw.swap_interval(1 if vsync else 0)
        self.ctx = moderngl.create_context()
        self.monitor = monitor
        # cached: querying X for the size every frame costs a server round trip
        self._fb_size: tuple[int, int] = tuple(glfw.get_framebuffer_size(self.window))  # type: ignore[assignment]
        glfw.set_framebuffer_size_callback(self.window, self._on_resize)
        log.info("output window %dx%d on %s (%s)", size[0], size[1],
                 f"monitor {monitor}" if target else "the desktop", self.ctx.info["GL_RENDERER"])

    def make_current(self) -> None:
        import glfw

        glfw.make_context_current(self.window)

    def _on_resize(self, _window: object, width: int, height: int) -> None:
        self._fb_size = (width, height)

    def framebuffer_size(self) -> tuple[int, int]:
        return self._fb_size

    def should_close(self) -> bool:
        import glfw

        return bool(glfw.window_should_close(self.window))

    def swap(self) -> None:
        import glfw

        glfw.swap_buffers(self.window)

    def close(self) -> None:
        import glfw

        if self.window:
            glfw.destroy_window(self.window)
            self.window = None
