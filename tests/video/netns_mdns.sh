#!/bin/sh
# Run "$@" inside the private network + mount namespace this script is started in (`unshare -n -m sh THIS
# CMD...`) with an mDNS stack of its own: a veth pair (avahi ignores loopback), a private D-Bus system bus
# and an avahi-daemon on it (its pid file on a private tmpfs), so NDI sources are found by name there and
# nowhere else. Why: NDI discovery on Linux goes through avahi; the test must not touch the host's network.
set -e
ip link set lo up
ip link add vj0 type veth peer name vj1
ip link set vj1 up
ip addr add 10.77.0.1/24 dev vj0
ip link set vj0 up multicast on
D=$(mktemp -d)
mkdir -p /run/avahi-daemon
mount -t tmpfs tmpfs /run/avahi-daemon
cleanup() {
  avahi-daemon -k 2>/dev/null || true
  [ -s "$D/dbus.pid" ] && kill "$(cat "$D/dbus.pid")" 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT
cat >"$D/bus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$D/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*" eavesdrop="true"/><allow receive_sender="*"/>
  </policy>
</busconfig>
XML
dbus-daemon --config-file="$D/bus.conf" --fork --print-pid >"$D/dbus.pid"
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$D/bus"
cat >"$D/avahi.conf" <<CONF
[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=vj0
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[publish]
publish-addresses=yes
CONF
avahi-daemon -f "$D/avahi.conf" --no-drop-root --no-chroot --no-rlimits -D
for _ in $(seq 50); do avahi-daemon -c 2>/dev/null && break; sleep 0.1; done
"$@"
