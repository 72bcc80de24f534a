"""Live input from a sound card or audio server via sounddevice (PortAudio)."""

from __future__ import annotations

import logging

import numpy as np

from vjgan.audio.base import AudioSource
from vjgan.core.errors import UserError

log = logging.getLogger(__name__)


class NoInputDevice(UserError):
    """There is no usable input device at all (no sound card, no audio server)."""


def _sd():  # noqa: ANN202
    try:
        import sounddevice as sd
    except OSError as exc:  # libportaudio missing
        raise NoInputDevice(f"PortAudio is not available ({exc}); install libportaudio2") from exc
    return sd


def list_input_devices() -> list[tuple[int, str, int]]:
    """(index, name, input channels) of every device that can record."""
    sd = _sd()
    try:
        devices = sd.query_devices()
    except Exception as exc:  # noqa: BLE001 - PortAudio errors have no stable type
        raise NoInputDevice(f"cannot list audio devices: {exc}") from exc
    return [(i, d["name"], int(d["max_input_channels"])) for i, d in enumerate(devices) if d["max_input_channels"] > 0]


def _device_list_text(devices: list[tuple[int, str, int]]) -> str:
    if not devices:
        return "no input devices available"
    return "available input devices:\n" + "\n".join(f"  [{i}] {name} ({ch} ch)" for i, name, ch in devices)


def resolve_input_device(device: str | int | None) -> int:
    """Index of the input device named by index, by (case-insensitive) name substring, or the default."""
    devices = list_input_devices()
    if not devices:  # no sound card, no server: nothing the user could pick either
        raise NoInputDevice("no audio input device found (no sound card or audio server)")
    if device is None:
        sd = _sd()
        default = sd.default.device[0]
        if default is None or default < 0:
            return devices[0][0]
        return int(default)
    if isinstance(device, str) and device.strip().lstrip("-").isdigit():
        device = int(device)
    if isinstance(device, int):
        if any(i == device for i, _, _ in devices):
            return device
        raise UserError(f"audio input device {device} does not exist or cannot record; {_device_list_text(devices)}")
    needle = device.lower()
    exact = [i for i, name, _ in devices if name.lower() == needle]
    matches = exact or [i for i, name, _ in devices if needle in name.lower()]
    if not matches:
        raise UserError(f"no audio input device matches '{device}'; {_device_list_text(devices)}")
    return matches[0]


class LiveInput(AudioSource):
    """An InputStream whose callback copies (one channel, or the mix of all) into the ring. Nothing else.

    `channel` is 0-based; None mixes all channels down. The stream is opened here so a bad device is
    reported at construction, and started by start().
    """

    def __init__(
        self,
        device: str | int | None = None,
        channel: int | None = None,
        sample_rate: int = 44100,
        blocksize: int = 441,
        latency: str | float = "low",
    ) -> None:
        super().__init__(sample_rate)
        sd = _sd()
        self.device = resolve_input_device(device)
        info = sd.query_devices(self.device)
        self.device_name = str(info["name"])
        n_in = int(info["max_input_channels"])
        if channel is not None and not 0 <= channel < n_in:
            raise UserError(
                f"input device '{self.device_name}' has {n_in} channels; channel {channel} does not exist (0-based)"
            )
        self.channel = channel
        channels = n_in if channel is not None else min(n_in, 2)
        try:
            self._stream = sd.InputStream(
                device=self.device,
                channels=channels,
                samplerate=sample_rate,
                dtype="float32",
                blocksize=blocksize,
                latency=latency,
                callback=self._callback,
            )
        except Exception as exc:  # noqa: BLE001 - sd.PortAudioError and friends
            raise NoInputDevice(f"cannot open audio input '{self.device_name}' at {sample_rate} Hz: {exc}") from exc
        self.device_latency = float(self._stream.latency)
        self._mix = np.zeros(blocksize, np.float32)  # the mixdown buffer: no allocation per block

    def _callback(self, indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        if status:
            self.status_flags += 1
        if self.channel is not None:
            self.ring.write(indata[:, self.channel])
        elif indata.shape[1] == 1:
            self.ring.write(indata[:, 0])
        else:
            if frames > len(self._mix):
                self._mix = np.zeros(frames, np.float32)
            mix = self._mix[:frames]
            np.copyto(mix, indata[:, 0])  # column by column: a reduction (mean) allocates its buffers
            for c in range(1, indata.shape[1]):
                np.add(mix, indata[:, c], out=mix)
            mix *= 1.0 / indata.shape[1]
            self.ring.write(mix)
        self._noted()

    def start(self) -> None:
        self._stream.start()

    def stop(self) -> None:
        try:
            self._stream.stop()
        finally:
            self._stream.close()

    def describe(self) -> str:
        ch = "mix" if self.channel is None else f"channel {self.channel}"
        return f"live input [{self.device}] {self.device_name} ({ch})"
