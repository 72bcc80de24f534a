#!/usr/bin/env bash
# Installs everything vjgan needs on a fresh Debian machine, idempotently:
#   Debian packages (apt-get when root, otherwise a message naming them), .venv/ with the pinned
#   Python packages from requirements.txt, and vjgan itself (editable). Re-runs are fast: each step
#   is skipped when its stamp matches.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DEB_PACKAGES=(
  # OpenGL (Mesa llvmpipe) for glfw/moderngl, and a virtual X server for windows without a display
  libgl1-mesa-dri libegl1 libegl-mesa0 libglx-mesa0 libgles2 mesa-utils xvfb xauth x11-apps xdotool
  # audio: PortAudio for sounddevice, a real (virtual) audio server for tests and headless runs
  libportaudio2 libasound2-plugins alsa-utils pulseaudio pulseaudio-utils sox libsndfile1
  # MIDI: a JACK server (its dummy driver is a real MIDI server without a sound card) and jack_connect
  jackd2
  # an independent OSC peer for tests, ffprobe for checking rendered videos, a C compiler for madmom
  liblo-tools ffmpeg gcc python3-dev
  # Link and NDI tests: private network namespaces (ip; unshare is in util-linux). NDI out: the runtime in
  # ndi-python's wheel links the Avahi client (mDNS discovery); its test runs an avahi-daemon on a D-Bus
  # system bus of its own inside the namespace
  iproute2 libavahi-client3 libavahi-common3 avahi-daemon dbus
)

missing_debs() {
  local missing=()
  for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

MISSING="$(missing_debs)"
if [ -n "$MISSING" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[bootstrap] apt-get install: $MISSING"
    export DEBIAN_FRONTEND=noninteractive
    echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections 2>/dev/null || true
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $MISSING >/dev/null
  else
    echo "[bootstrap] missing Debian packages (run as root, or: sudo apt-get install $MISSING)" >&2
  fi
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "[bootstrap] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
REQ_HASH="$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
STAMP=.venv/.vjgan-installed
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$REQ_HASH" ]; then
  echo "[bootstrap] installing pinned Python packages into .venv (first time: ~2-3 min)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  echo "$REQ_HASH" > "$STAMP"
fi
