"""The leader/follower sync protocol over real UDP sockets: round trips, refusals, clock offset, beat fit."""

from __future__ import annotations

import math
import socket
import struct
import time

import pytest

from tests.conftest import wait_for
from vjgan.app.follow import ignore_prefixes, mirrored, next_target
from vjgan.control.follower import BeatFit, FollowerLink, OffsetEstimator
from vjgan.control.leader import LeaderLink
from vjgan.control.oscwire import encode_bundle, encode_message
from vjgan.control.syncwire import PREPARE, Bye, Change, Clock, Hello, Ping, Pong, SyncError, decode, encode
from vjgan.core.clock import ClockReading
from vjgan.core.errors import UserError
from vjgan.core.features import Features


def test_messages_round_trip_with_double_precision_times() -> None:
    t = 123456.789012345  # a perf_counter after a day: a float32 would lose the milliseconds
    for msg in (Hello(9100, "left"), Bye(), Ping(t), Pong(t, t + 1e-6), Clock(7, 128.5, 1234.25, t, 3),
                Change(7, 3, 40, "/vjgan/preset/load", "drums", "osc:127.0.0.1"),
                Change(7, 4, -1, "/vjgan/target/truncation", 0.123456789, ""),
                Change(7, 5, 41, "/vjgan/latent/reseed", 42, ""), Change(7, 6, 42, "/vjgan/preset/reload", True, ""),
                Change(7, 7, PREPARE, "/vjgan/preset/load", "calm", "")):
        assert decode(encode(msg)) == msg


@pytest.mark.parametrize("packet", [
    b"", b"garbage", b"#bundle\x00" + b"\x00" * 8,
    encode_bundle([encode(Hello(9100, "x"))]),  # a valid message, but in a bundle
    encode_message("/vjgan/target/truncation", [0.5]),  # not a sync address
    encode_message("/vjgan/sync/nope", []),
    encode_message("/vjgan/sync/hello", ["9100", "x"]),  # port as a string
    encode_message("/vjgan/sync/hello", [70000, "x"]),
    encode_message("/vjgan/sync/ping", [float("nan")], doubles=True),
    encode_message("/vjgan/sync/clock", [1, 0.0, 1.0, 2.0, 4], doubles=True),  # 0 BPM
    encode_message("/vjgan/sync/clock", [1, 120.0, float("inf"), 2.0, 4], doubles=True),
    encode_message("/vjgan/sync/clock", [1, 120.0, 1.0, 2.0], doubles=True),  # an argument short
    encode_message("/vjgan/sync/change", [1, 2, 3, "/vjgan/sync/clock", 1.0, ""], doubles=True),  # sync via change
    encode_message("/vjgan/sync/change", [1, 2, 3, "/etc/passwd", 1.0, ""], doubles=True),
    encode_message("/vjgan/sync/change", [1, 2, 3, "/vjgan/target/x", float("nan"), ""], doubles=True),
    encode_message("/vjgan/sync/change", [1, 2, 3, "/vjgan/target/x", b"blob", ""]),
    encode_message("/vjgan/sync/change", [1, -5, 3, "/vjgan/target/x", 1.0, ""]),
    encode_message("/vjgan/sync/change", [1, 5, -3, "/vjgan/target/x", 1.0, ""]),  # no such target
    encode_message("/vjgan/sync/hello", [1, "x"])[:-3],  # truncated
])
def test_malformed_packets_are_refused(packet: bytes) -> None:
    with pytest.raises(SyncError):
        decode(packet)


def test_leader_counts_and_refuses_malformed_packets_and_keeps_serving() -> None:
    leader = LeaderLink("127.0.0.1", 0).start()
    leader.publish(ClockReading("leader", 120.0, 0.0, time.perf_counter()))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5.0)
            for bad in (b"\xff" * 40, encode_message("/vjgan/sync/hello", [1.5, "x"]), encode(Pong(1.0, 2.0))):
                s.sendto(bad, ("127.0.0.1", leader.port))
            assert wait_for(lambda: leader.stats.malformed == 3, 5.0), leader.stats
            assert leader.stats.followers == 0
            s.sendto(encode(Hello(0, "probe")), ("127.0.0.1", leader.port))  # still serving
            msg = decode(s.recvfrom(2048)[0])
            assert isinstance(msg, Clock) and msg.bpm == 120.0 and msg.session == leader.session
            assert leader.stats.followers == 1
    finally:
        leader.stop()


def test_follower_refuses_malformed_and_foreign_packets() -> None:
    """A hand-made leader (a plain socket) answers the follower with garbage and bad changes between good ones."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as fake, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        fake.bind(("127.0.0.1", 0))
        fake.settimeout(5.0)
        follower = FollowerLink("127.0.0.1", fake.getsockname()[1]).start()
        try:
            where = None
            while where is None:  # the hello (or a ping) tells where the follower listens
                data, sender = fake.recvfrom(2048)
                msg = decode(data)
                if isinstance(msg, Ping):
                    fake.sendto(encode(Pong(msg.sent, time.perf_counter())), sender)
                    where = sender
            fake.sendto(b"not osc at all", where)
            fake.sendto(encode_message("/vjgan/sync/change", [1, 1, 5, "/vjgan/x", float("inf"), ""], doubles=True),
                        where)
            fake.sendto(encode(Hello(0, "a leader does not say hello")), where)
            stranger.sendto(encode(Change(1, 1, 5, "/vjgan/target/truncation", 0.5)), where)  # not the leader
            fake.sendto(encode(Change(1, 2, 5, "/vjgan/target/truncation", 0.5)), where)
            fake.sendto(encode(Change(1, 2, 5, "/vjgan/target/truncation", 0.5)), where)  # the repeat
            assert wait_for(lambda: follower.stats.changes == 1 and follower.stats.duplicates == 1, 5.0)
            assert follower.stats.malformed == 3 and follower.stats.refused == 1
            [change] = follower.changes()
            assert change.address == "/vjgan/target/truncation" and change.value == 0.5 and change.target_beat == 5
            fake.sendto(encode(Clock(1, 140.0, 8.0, time.perf_counter() + 0.0)), where)  # still following
            assert wait_for(lambda: follower.read() is not None, 5.0)
            assert follower.read().bpm == 140.0 and follower.stats.state == "following"
        finally:
            follower.stop()


def test_offset_is_the_min_round_trip_sample() -> None:
    est = OffsetEstimator()
    # leader clock = ours + 10 s; the answer comes at a varying point inside each round trip
    for sent, rtt, at in ((0.0, 0.050, 0.9), (1.0, 0.002, 0.5), (2.0, 0.030, 0.1)):
        est.add(sent, 10.0 + sent + rtt * at, sent + rtt)
    rtt, offset = est.best
    assert rtt == pytest.approx(0.002) and offset == pytest.approx(10.0, abs=rtt / 2)


def test_beat_fit_smooths_jitter_and_restarts_on_a_jump() -> None:
    fit = BeatFit(window=1.0)
    jitter = [0.012, -0.015, 0.004, 0.02, -0.009, 0.0, 0.013, -0.011]
    for i in range(30):  # 120 BPM, readings every 1/30 s stamped up to 20 ms off
        t = i / 30
        fit.add(t + jitter[i % len(jitter)], 2.0 * t, 120.0)
    r = fit.reading(4)
    assert r is not None and r.beat_at(1.0) == pytest.approx(2.0, abs=0.01)
    fit.add(1.0, 2.5, 120.0)  # one hiccup of the leader's analysis: ignored
    assert fit.reading(4).beat_at(1.0) == pytest.approx(2.0, abs=0.01)
    for k in range(3):  # a seek on the leader: three readings agree on the new position
        fit.add(1.0 + k / 30, 10.0 + k / 15, 120.0)
    assert fit.reading(4).beat_at(1.1) == pytest.approx(10.2)


def test_next_target_is_the_next_beat_or_bar_with_a_margin() -> None:
    f = Features(tempo=120.0, beat_count=9, beat_phase=0.5)  # 0.25 s to beat 10
    assert next_target(f, "beat") == 10
    assert next_target(f, "bar") == 12
    assert next_target(Features(tempo=120.0, beat_count=9, beat_phase=0.95), "beat") == 11  # 25 ms: too near
    assert next_target(Features(tempo=120.0, beat_count=11, beat_phase=0.95), "bar") == 16
    late = Features(tempo=120.0, beat_count=9, beat_phase=0.5, wall=100.0)  # features 0.2 s old: beat 9.9 now
    assert next_target(late, "beat", now=100.0) == 10 and next_target(late, "beat", now=100.2) == 11
    assert next_target(late, "beat", now=100.2, margin_s=0.5) == 11  # 0.55 s to beat 11


def test_mirror_groups_and_follower_filters() -> None:
    assert mirrored("/vjgan/preset/load") and mirrored("/vjgan/target/truncation")
    assert not mirrored("/vjgan/tempo/tap") and not mirrored("/vjgan/app/audio/file")
    assert not mirrored("/vjgan/preset/save")
    assert "/vjgan/preset/load" in ignore_prefixes(["preset,params"])
    assert ignore_prefixes(["/vjgan/target/shader."]) == ("/vjgan/target/shader.",)
    with pytest.raises(UserError):
        ignore_prefixes(["presets"])


def test_encode_message_doubles_flag() -> None:
    data = encode_message("/a", [math.pi], doubles=True)
    assert data.endswith(struct.pack(">d", math.pi)) and b",d" in data
