"""A python-osc controller in its own process (tests): sends messages from one UDP socket and prints, as JSON
lines, every message it receives back on that socket (bundles unpacked) until it has `--expect` of them or
`--timeout` passes. Independent of vjgan's own wire code, so a test checks what a real controller sees.

    python -m tests.control.osc_client PORT --send '["/vjgan/query", "/vjgan/test/*"]' --expect 5
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--send", action="append", default=[], help="JSON list: [address, arg, ...]")
    ap.add_argument("--expect", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    print(json.dumps({"local_port": sock.getsockname()[1]}), flush=True)
    for item in args.send:
        address, *values = json.loads(item)
        builder = OscMessageBuilder(address)
        for v in values:
            builder.add_arg(v)
        sock.sendto(builder.build().dgram, ("127.0.0.1", args.port))
    got = 0
    deadline = time.monotonic() + args.timeout
    while got < args.expect and (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, _ = sock.recvfrom(65536)
        except TimeoutError:
            break
        for m in OscPacket(data).messages:
            msg: OscMessage = m.message
            print(json.dumps({"address": msg.address, "args": list(msg.params), "datagram": len(data),
                              "bundle": OscBundle.dgram_is_bundle(data)}), flush=True)
            got += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
