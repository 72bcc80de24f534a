"""Peer A of the Link tests: a plain aalink peer in a process of its own, driven over stdin/stdout.

Commands, one a line: `tempo BPM` (answers the perf_counter() time just before the change), `get` (answers
`BEAT AT TEMPO PEERS`: the session's beat at perf_counter() time AT), `quit`. perf_counter() is the system's
monotonic clock, so its times compare with the test process's.
"""

from __future__ import annotations

import asyncio
import sys
import time


async def main(bpm: float) -> None:
    import aalink

    link = aalink.Link(bpm)
    link.quantum = 4
    link.enabled = True
    loop = asyncio.get_running_loop()
    print("ready", flush=True)
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "quit":
            break
        if line[0] == "tempo":
            t = time.perf_counter()
            link.tempo = float(line[1])
            print(f"ok {t!r}", flush=True)
        elif line[0] == "get":
            t0 = time.perf_counter()
            beat = link.beat
            t1 = time.perf_counter()
            print(f"{beat!r} {0.5 * (t0 + t1)!r} {link.tempo!r} {link.num_peers}", flush=True)
    link.enabled = False


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 120.0))
