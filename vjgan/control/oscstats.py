"""What the OSC server counts, and how it complains without flooding the log.

Shared by the socket side (`osc.OscServer`: packets, refusals, malformed input) and the routing side
(`oscdispatch.OscDispatcher`: messages posted, ignored, unknown, bad values), so one `OscStats` tells the
panel and the tests where every received packet ended up.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class OscStats:
    """Counters since start. Every received packet ends up in exactly one of the error counters or
    produces messages; every message is posted, ignored, answered (a query or a feedback request), or
    counted as unknown/bad_value."""

    packets: int = 0  # datagrams received (including refused ones)
    messages: int = 0  # well-formed messages parsed
    posted: int = 0  # ControlMessages posted to the queue
    ignored: int = 0  # well-formed but deliberately not posted (trigger release value 0)
    learned: int = 0  # bindings made by OSC learn
    malformed: int = 0  # packets that are not valid OSC (or time tags too far ahead)
    oversized: int = 0  # packets above max_packet bytes, dropped unparsed
    refused: int = 0  # packets from senders outside the allowlist
    unknown: int = 0  # messages to an address that matches no parameter and no learned binding
    bad_value: int = 0  # messages with a wrong argument count/type or a non-finite value (or a bad query)
    answered: int = 0  # value queries answered, feedback (un)registrations accepted (oscquery.py)
    replies: int = 0  # value messages sent back to queries
    reply_errors: int = 0  # replies that could not be sent
    last_error: str = ""
    last_posted_at: float = 0.0  # time.perf_counter() of the newest post (latency probes: post → frame)

    @property
    def errors(self) -> int:
        return self.malformed + self.oversized + self.refused + self.unknown + self.bad_value


class RateLimitedLog:
    """At most `burst` warnings per `interval` seconds, then one summary of how many were suppressed.

    A fuzzer or a misconfigured controller can send thousands of bad packets a second; logging each would
    itself stall the show."""

    def __init__(self, logger: logging.Logger, interval: float = 5.0, burst: int = 5) -> None:
        self.logger, self.interval, self.burst = logger, interval, burst
        self._window_start = -math.inf
        self._in_window = 0
        self.suppressed = 0

    def warning(self, msg: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._window_start >= self.interval:
            if self.suppressed:
                self.logger.warning(
                    "OSC: %d more problems in the last %.0f s (not shown)", self.suppressed, self.interval
                )
            self._window_start, self._in_window, self.suppressed = now, 0, 0
        if self._in_window < self.burst:
            self._in_window += 1
            self.logger.warning(msg, *args)
        else:
            self.suppressed += 1
