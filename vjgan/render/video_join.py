"""Join H.264 segment files into one MP4 without re-encoding, and mux the audio once.

A farmed render encodes each frame range to its own file (same encoder settings, so the streams are
compatible); this copies their video packets in order, shifting each segment's timestamps by the
frames before it, and encodes the clip's audio alongside, interleaved as the video advances. Written
like `VideoWriter`: a hidden temporary file renamed onto the output only when complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from vjgan.core.errors import UserError
from vjgan.render.video_writer import AudioTrack, check_output_path, publish, temp_path_for


def join_segments(
    segments: Sequence[Path],
    path: str | Path,
    fps: int,
    audio: np.ndarray | None = None,
    sample_rate: int = 44100,
) -> int:
    """Concatenate `segments` (video-only MP4s, in order) into `path`; returns the number of frames."""
    import av

    if not segments:
        raise UserError("no segments to join")
    out = check_output_path(path)
    tmp = temp_path_for(out)
    frames = 0
    try:
        with av.open(str(tmp), mode="w", format="mp4", options={"fflags": "+bitexact"}) as container:
            video = None
            track = None
            for seg in segments:
                with av.open(str(seg)) as src:
                    stream = src.streams.video[0]
                    if video is None:
                        video = container.add_stream_from_template(stream)
                        video.time_base = Fraction(1, fps)
                        if audio is not None and len(audio):
                            track = AudioTrack(container, audio, sample_rate)
                    tb = stream.time_base
                    shift = int(round(Fraction(frames, fps) / tb))  # the frames before, in this file's units
                    count = 0
                    for packet in src.demux(stream):
                        if packet.size == 0:  # the demuxer's end-of-stream marker
                            continue
                        packet.pts = None if packet.pts is None else packet.pts + shift
                        packet.dts = None if packet.dts is None else packet.dts + shift
                        until = None if packet.dts is None else float(packet.dts * tb) + 1.0 / fps
                        packet.stream = video  # (mux rebases the packet to the output's time base)
                        container.mux(packet)
                        count += 1
                        if track is not None and until is not None:
                            track.feed(max(until, 0.0))
                    frames += count
            if track is not None:
                track.feed(None)
        publish(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return frames
