"""Wiring OSC feedback into the live app: which peers (`--osc-feedback`, then /vjgan/feedback/register),
which registry and learn table it follows, and its place among the parts the app starts and stops.

Feedback exists whenever OSC is on (a controller may register) or a peer was named on the command line
(the panel and presets still move its faders without an OSC server).
"""

from __future__ import annotations

from typing import Any

from vjgan.control.feedback import OscFeedback, resolve_peer


def make_feedback(app: Any) -> OscFeedback | None:
    """The app's `OscFeedback` (not started), or None when neither --osc-port nor --osc-feedback was given."""
    config = app.config
    if config.osc_port is None and not config.osc_feedback:
        return None
    feedback = OscFeedback(app.registry, app.learn)
    for host, port in config.osc_feedback:
        feedback.register(*resolve_peer(host, port))
    return feedback
