"""Render stage: OpenGL (moderngl) upload, GLSL post-FX chain, output window, headless and offline output."""
