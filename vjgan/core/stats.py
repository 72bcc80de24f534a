"""The render loop's counters (`LiveStats`): shared ground because the app fills them and the panel shows
a copy of them (through `vjgan.core.panel_state.PanelState`), and the benchmarks read them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

STAGES = ("audio", "mapping", "generator", "upload", "render", "display", "panel")


@dataclass
class LiveStats:
    frames: int = 0
    render_fps: float = 0.0
    gen_fps: float = 0.0
    gen_ms: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    frame_ms_p50: float = 0.0
    frame_ms_p99: float = 0.0
    latency_ms: float = 0.0  # audio (features published) → generated frame first on screen
    shader_latency_ms: float = 0.0  # audio → screen through the shader uniforms only
    late_frames: int = 0  # frame intervals longer than 2 display intervals
    gen_dropped: int = 0
    audio_overflows: int = 0
    audio_status: str = ""  # AudioStats.status: "ok", or restarts / frozen features of the analysis
    recorder_dropped: int = 0
    last_present: float = 0.0  # perf_counter() when the newest frame was presented / read back
    sync: str = ""  # leader / follower state ("" when neither): followers, offset, "leader lost"
    onset_frames: int = 0  # generated frames for an onset shown as soon as ready, between display ticks

    def copy(self) -> LiveStats:
        """A copy another thread may keep: the render loop mutates this one (and its `stage_ms`) in place."""
        return replace(self, stage_ms=dict(self.stage_ms))
