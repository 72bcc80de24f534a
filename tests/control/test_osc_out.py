"""OSC out received by an independent implementation: liblo's `oscdump` in another process."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import require_tool
from vjgan.control.osc_out import OUT_ADDRESSES, OscOut, parse_target
from vjgan.control.oscwire import parse_packet
from vjgan.control.peers import OscDump, free_udp_port, parse_dump_line
from vjgan.core.errors import UserError
from vjgan.core.features import FeatureBus, Features

CHROMA = tuple(round(i / 11, 4) for i in range(12))
BEATS = {7: 1, 19: 2, 33: 3, 45: 4}  # frame -> beat_count on that frame's beat


def _frame(i: int) -> Features:
    beat = i in BEATS
    return Features(
        frame=i,
        time=i / 100,
        rms=0.5,
        onset=0.25,
        bass=0.1,
        mid=0.2,
        high=0.3,
        chroma=CHROMA,
        tempo=128.0,
        beat_phase=(i % 47) / 47,
        bar_phase=0.5,
        beat_event=beat,
        bar_event=i == 45,
        beat_count=BEATS.get(i, 0),
        onset_event=i == 10,
    )


def _publish(bus: FeatureBus, frames: int) -> None:
    """Like the analysis thread: a new snapshot every 10 ms."""
    t0 = time.perf_counter()
    for i in range(1, frames + 1):
        bus.publish(_frame(i))
        time.sleep(max(0.0, t0 + i * 0.01 - time.perf_counter()))


@pytest.mark.parametrize("bundle", [True, False])
def test_oscdump_receives_features_and_every_event(bundle: bool) -> None:
    require_tool("oscdump")
    port = free_udp_port()
    bus = FeatureBus()
    t0 = time.perf_counter()
    with OscDump(port) as dump, OscOut(bus, [("127.0.0.1", port)], rate_hz=20, bundle=bundle) as out:
        feeder = threading.Thread(target=_publish, args=(bus, 50))
        feeder.start()
        feeder.join()
        assert dump.wait_for(lambda ms: sum(a == "/vjgan/out/event/bar" for a, _ in ms) >= 1, timeout=3)
        time.sleep(0.15)  # the last tick
    elapsed = time.perf_counter() - t0
    by_address: dict[str, list[list]] = {}
    for address, values in dump.messages:
        by_address.setdefault(address, []).append(values)

    assert by_address["/vjgan/out/rms"][-1] == [pytest.approx(0.5)]
    assert by_address["/vjgan/out/tempo"][-1] == [pytest.approx(128.0)]
    assert by_address["/vjgan/out/bands"][-1] == [pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.3)]
    assert by_address["/vjgan/out/chroma"][-1] == [pytest.approx(c, abs=1e-5) for c in CHROMA]
    assert by_address["/vjgan/out/chroma/Cs"][-1] == [pytest.approx(CHROMA[1], abs=1e-5)]
    # 20 Hz ticks over 100 Hz analysis: beats on frames between ticks still arrive, each exactly once
    assert [v[0] for v in by_address["/vjgan/out/event/beat"]] == [1, 2, 3, 4]
    assert by_address["/vjgan/out/event/bar"] == [[1]]
    assert by_address["/vjgan/out/event/onset"] == [[1]]
    # every address we sent is documented in OUT_ADDRESSES with the type tags oscdump saw
    documented = {a: t for a, t, _ in OUT_ADDRESSES}
    for line in dump.lines:
        parsed = parse_dump_line(line)
        assert parsed is not None and parsed[0] in documented, line
        assert line.split()[-1 - len(parsed[1])] == documented[parsed[0]], line
    assert out.stats.send_errors == 0
    assert out.stats.ticks <= elapsed * 20 + 2  # never more often than the configured rate


def test_unreachable_target_does_not_stop_the_stream() -> None:
    bus = FeatureBus()
    with OscOut(bus, [("127.0.0.1", free_udp_port())], rate_hz=100) as out:  # nobody listens there
        _publish(bus, 20)
        time.sleep(0.05)
    assert out.stats.ticks > 0  # kept ticking (send errors, if the kernel reports any, are only counted)


def test_bundle_is_valid_osc_for_our_own_parser_too() -> None:
    from vjgan.control.osc_out import encode_features
    from vjgan.control.oscwire import encode_bundle

    msgs = parse_packet(encode_bundle(encode_features(_frame(7), {"beat": 1})))
    assert {m.address for m in msgs} == {a for a, _, _ in OUT_ADDRESSES} - {
        "/vjgan/out/event/onset",
        "/vjgan/out/event/kick",
        "/vjgan/out/event/snare",
        "/vjgan/out/event/bar",
    }


def test_targets_are_validated() -> None:
    assert parse_target("9001") == ("127.0.0.1", 9001)
    assert parse_target("192.168.1.30:9001") == ("192.168.1.30", 9001)
    with pytest.raises(UserError, match="HOST:PORT"):
        parse_target("tablet")
    with pytest.raises(UserError, match="cannot resolve"):
        OscOut(FeatureBus(), [("no-such-host.invalid", 9001)])
