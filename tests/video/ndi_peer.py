"""Run inside a private network namespace (tests/video/test_ndi_live.py): a headless LiveApp sends its output
as an NDI source, an NDI receiver in the same process finds it by name (mDNS: the namespace has its own
avahi-daemon, tests/video/netns_mdns.sh) or connects by address (no mDNS at all), and both sides' frames
are saved for the test to compare.

Usage: python -m tests.video.ndi_peer find|address AUDIO OUT.npz
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

from vjgan.app.live import LiveApp, LiveConfig
from vjgan.core.registry import ControlMessage
from vjgan.video.out_ndi import load_ndi, parse_metadata

SIZE = (160, 90)
FRAMES = 60  # rendered with the receiver reading
STALLED = 40  # rendered after the receiver stopped reading


def listening_ports() -> set[int]:
    """TCP ports listening in this network namespace (only this process's: the namespace is private)."""
    ports = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A":  # LISTEN
            ports.add(int(fields[1].split(":")[1], 16))
    return ports


class Receiver:
    """An NDI receiver connected by address; collects (seq, time, RGB image) until `reading` is cleared."""

    def __init__(self, ndi, address: str) -> None:
        self.ndi = ndi
        self.frames: list[tuple[int, float, np.ndarray]] = []
        self.reading = threading.Event()
        self.reading.set()
        self.done = threading.Event()
        create = ndi.RecvCreateV3()
        create.color_format = ndi.RECV_COLOR_FORMAT_RGBX_RGBA
        self.recv = ndi.recv_create_v3(create)
        source = ndi.Source()
        source.url_address = address
        ndi.recv_connect(self.recv, source)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        ndi = self.ndi
        while not self.done.is_set():
            if not self.reading.is_set():
                time.sleep(0.01)  # a receiver that stopped reading: NDI's own queue fills, our sender must not care
                continue
            kind, video, _, _ = ndi.recv_capture_v2(self.recv, 100)
            if kind == ndi.FRAME_TYPE_VIDEO:
                meta = parse_metadata(video.metadata)
                if meta is not None:
                    self.frames.append((meta[0], meta[1], np.array(video.data[..., :3])))
                ndi.recv_free_video_v2(self.recv, video)


def find_source(ndi, app: LiveApp, name: str, timeout: float = 30.0) -> tuple[str, str]:
    """(NDI name, address) of the source called `name`, found through NDI's finder (mDNS); the show goes on
    meanwhile (the sender opens on the output's thread with the first frame)."""
    finder = ndi.find_create_v2(ndi.FindCreate(show_local_sources=True))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            app.step()
            ndi.find_wait_for_sources(finder, 100)
            for source in ndi.find_get_current_sources(finder):
                if source.ndi_name.endswith(f"({name})"):
                    return source.ndi_name, source.url_address
        raise RuntimeError(f"no NDI source named {name} found in {timeout} s")
    finally:
        ndi.find_destroy(finder)


def main(mode: str, audio: str, out: str) -> int:
    ndi = load_ndi()
    app = LiveApp(LiveConfig(audio=audio, model="procedural", headless=True, size=SIZE, fps=30.0, panel=False,
                             outputs={"ndi": "vjgan-test"}))
    app.start()
    sent: dict[int, np.ndarray] = {}
    times: dict[int, float] = {}
    output = app.outputs.running["ndi"]
    try:
        app.step()  # the sender thread opens the NDI sender for the first frame
        if mode == "find":
            found, address = find_source(ndi, app, "vjgan-test")
        else:
            deadline = time.monotonic() + 20
            while not (listening_ports() - {5960}) and time.monotonic() < deadline:
                time.sleep(0.05)
            found, address = "", f"127.0.0.1:{min(listening_ports() - {5960})}"
        recv = Receiver(ndi, address)
        deadline = time.monotonic() + 20
        while ndi.recv_get_no_connections(recv.recv) == 0 and time.monotonic() < deadline:
            app.step()
        for i in range(FRAMES + STALLED):
            if i == FRAMES:
                recv.reading.clear()
            # a new hue every frame: each sent frame differs, so a received one can only match its own
            app.queue.post(ControlMessage("/vjgan/target/shader.color.hue", (i * 0.07) % 1.0, "test"))
            seq = output.offered
            app.step()
            assert output.offered == seq + 1, "every rendered frame is offered to the output"
            sent[seq] = app.chain.read().copy()  # the output FBO the frame was read back from
            times[seq] = float(app.features.time)
            time.sleep(1 / 30)
        time.sleep(0.5)
        recv.done.set()
        recv.thread.join(2)
    finally:
        app.stop()  # closes the output: its counters are final
    stats = output.stats
    seqs = sorted(sent)
    got = [f for f in recv.frames if f[0] in sent]
    np.savez(out, sent=np.stack([sent[s] for s in seqs]), sent_seq=np.array(seqs),
             sent_time=np.array([times[s] for s in seqs]),
             got=np.stack([g[2] for g in got]) if got else np.zeros((0, SIZE[1], SIZE[0], 3), np.uint8),
             got_seq=np.array([g[0] for g in got], int), got_time=np.array([g[1] for g in got]),
             offered=output.offered, ndi_sent=stats.sent, dropped=stats.dropped, errors=stats.errors,
             app_frames=app.stats.frames, stalled_from=seqs[FRAMES], found=found, address=address)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
