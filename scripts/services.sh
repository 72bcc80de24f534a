# Source me: starts the virtual servers vjgan needs when the machine has none, and exports their
# addresses. A virtual X server (Xvfb) when there is no DISPLAY; a private PulseAudio server with a
# null sink (what is played to it can be recorded from its monitor) when there is no audio server.
# Servers started here are stopped by `vjgan_services_stop` (or when the calling shell exits).
_VJ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VJ_RUNTIME="${VJ_RUNTIME:-$_VJ_ROOT/.run}"
mkdir -p "$VJ_RUNTIME"
_VJ_PIDS=()

if [ -z "${DISPLAY:-}" ] && command -v Xvfb >/dev/null; then
  for n in 99 98 97 96 95 94 93 92 91 90; do
    # a lock whose X server is gone (killed without cleanup) is stale: clear it rather than run out of displays
    _vj_lock_pid="$(tr -d ' ' 2>/dev/null <"/tmp/.X$n-lock" || true)"
    if [ -n "$_vj_lock_pid" ] && ! kill -0 "$_vj_lock_pid" 2>/dev/null; then
      rm -f "/tmp/.X$n-lock" "/tmp/.X11-unix/X$n"
    fi
    if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then
      Xvfb ":$n" -screen 0 1920x1080x24 -nolisten tcp >"$VJ_RUNTIME/xvfb.log" 2>&1 &
      _VJ_PIDS+=($!)
      export DISPLAY=":$n"
      for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
      echo "[services] Xvfb on $DISPLAY"
      break
    fi
  done
fi

_vj_pulse_ok() { pactl info >/dev/null 2>&1; }
if ! _vj_pulse_ok && command -v pulseaudio >/dev/null; then
  export PULSE_SERVER="unix:$VJ_RUNTIME/pulse.sock"
  if ! _vj_pulse_ok; then
    rm -f "$VJ_RUNTIME/pulse.sock"
    # The null sink (vj_sink) receives what players output; its monitor is the default source, so a
    # file played to the server comes back into vjgan's live input as a real audio stream.
    HOME="$VJ_RUNTIME" pulseaudio -n --daemonize=no --exit-idle-time=-1 --disallow-exit \
      --use-pid-file=no --system=false \
      --load="module-native-protocol-unix auth-anonymous=1 socket=$VJ_RUNTIME/pulse.sock" \
      --load="module-null-sink sink_name=vj_sink rate=44100 channels=2" \
      --load="module-always-sink" >"$VJ_RUNTIME/pulse.log" 2>&1 &
    _VJ_PIDS+=($!)
    for _ in $(seq 100); do _vj_pulse_ok && break; sleep 0.1; done
    pactl set-default-sink vj_sink >/dev/null 2>&1 || true
    pactl set-default-source vj_sink.monitor >/dev/null 2>&1 || true
    # An idle null sink renders ~2 s ahead, delaying a new player's audio by >1 s. Keeping a silent
    # low-latency stream playing holds the sink at low latency (see shared notes: headless stack).
    pacat --latency-msec=10 --raw --format=s16le --rate=44100 --channels=2 </dev/zero >/dev/null 2>&1 &
    _VJ_PIDS+=($!)
    echo "[services] PulseAudio null sink at $PULSE_SERVER"
  fi
fi

vjgan_services_stop() {
  for p in "${_VJ_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  _VJ_PIDS=()
}
