"""vjgan: live music in, neural images out.

Data flows stage by stage, one package each:
audio (sources → analysis → Features) → mapping (routes → FrameParams) → models (generator → frames)
→ render (OpenGL post-FX → window / files), steered by control (ImGui panel, OSC).
"""

__version__ = "0.1.0"
