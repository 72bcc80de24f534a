"""Independent OSC peers for tests and diagnostics: Debian's liblo-tools (`oscsend`, `oscdump`).

Used by tests/control and by the app-level test "an oscsend is applied within the next rendered frame":

    port = free_udp_port()
    ... start the app / OscServer on port ...
    oscsend(port, "/vjgan/shader/vignette/amount", 0.75)     # a real liblo client, another process
    server.wait_posted(1, timeout=2)                        # posted to the ControlQueue
    ... render one frame, check the value ...

    with OscDump(port) as dump:                              # a real liblo receiver
        ... OscOut(bus, [("127.0.0.1", port)]).start() ...
        dump.wait_for(lambda ms: any(a == "/vjgan/out/rms" for a, _ in ms), timeout=3)
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from vjgan.core.errors import UserError

# oscdump line: optional "SECONDS.FRACTION " time tag (bundles), then "ADDRESS TYPES ARGS..."
_DUMP_LINE = re.compile(r"^(?:[0-9a-f]{8}\.[0-9a-f]{8} )?(/\S*) ?(\S*)(?: (.*))?$")


def free_udp_port(host: str = "127.0.0.1") -> int:
    """An ephemeral port that was free a moment ago (tests run in parallel with other engineers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise UserError(f"{name} not found: install Debian's liblo-tools (scripts/bootstrap.sh does)")
    return path


def oscsend(port: int, address: str, *values: Any, host: str = "127.0.0.1", types: str | None = None) -> None:
    """Send one message with liblo's `oscsend` (type tags inferred: bool T/F, int i, float f, str s)."""
    if types is None:
        types = "".join(
            ("T" if v else "F")
            if isinstance(v, bool)
            else "i"
            if isinstance(v, int)
            else "f"
            if isinstance(v, float)
            else "s"
            for v in values
        )
    args = [str(v) for t, v in zip(types, values, strict=False) if t not in "TFNI"]
    target = [host] if "://" in host else [host, str(port)]  # host may be a liblo URL (osc.tcp://h:p)
    subprocess.run([_tool("oscsend"), *target, address, types, *args], check=True, timeout=10)


def parse_dump_line(line: str) -> tuple[str, list[float | int | str]] | None:
    """`oscdump` output line → (address, values); None for lines that are not messages."""
    m = _DUMP_LINE.match(line.strip())
    if not m:
        return None
    address, types, rest = m[1], m[2], (m[3] or "")
    raw = rest.split(" ") if rest else []
    values: list[float | int | str] = []
    for t, text in zip([t for t in types if t not in "TFNI"], raw, strict=False):
        values.append(int(text) if t in "ih" else float(text) if t in "fd" else text)
    return address, values


class OscDump:
    """Runs `oscdump -L PORT` and collects every message it prints (reader thread)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[tuple[str, list[float | int | str]]] = []
        self.lines: list[str] = []
        self._cv = threading.Condition()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> OscDump:
        self._proc = subprocess.Popen(
            [_tool("oscdump"), "-L", str(self.port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._reader = threading.Thread(target=self._read, name="oscdump-reader", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 5.0
        while not _port_taken(self.port):  # oscdump prints nothing when ready: wait until it holds the port
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise UserError(f"oscdump did not start on port {self.port}: {''.join(self.lines)}")
            time.sleep(0.02)
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            parsed = parse_dump_line(line)
            with self._cv:
                self.lines.append(line)
                if parsed is not None:
                    self.messages.append(parsed)
                self._cv.notify_all()

    def wait_for(self, predicate: Callable[[list[tuple[str, list[Any]]]], bool], timeout: float) -> bool:
        with self._cv:
            return self._cv.wait_for(lambda: predicate(self.messages), timeout)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._reader is not None:
            self._reader.join(timeout=3)
            self._reader = None

    def __enter__(self) -> OscDump:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
