#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the build, test and demo dependencies on Debian 12. Idempotent: does nothing
# (and needs no network) when everything is already there.
set -eu

PKGS=(
	# build
	build-essential meson ninja-build pkg-config clang libclang-rt-dev
	libssl-dev libsodium-dev libcmocka-dev libmnl-dev libjansson-dev
	libsqlite3-dev libmicrohttpd-dev libcurl4-openssl-dev libnftables-dev libldns-dev
	libsystemd-dev
	# lint (make lint): the settings are tuned for version 14, Debian 12's
	clang-format clang-tidy
	# interop, tests, demo, bench
	wireguard-go wireguard-tools iproute2 iputils-ping iperf3 tcpdump nftables
	procps psmisc python3 python3-cryptography socat curl dnsutils knot-dnsutils dnsmasq-base dnsperf
	udhcpc dbus-daemon
	# the real STUN client turnutils_stunclient (control-stun.sh) and STUN servers
	# (nat-discovery.sh); its turnserver service stays off
	coturn
	conntrack # NAT rebinding in nat-discovery.sh (conntrack -F)
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exec "$(dirname "$0")/fetch-resolved.sh"
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root (or install them yourself) and try again" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Another install running (a second build dir being set up beside this one): wait for its lock.
apt_lock=(-o DPkg::Lock::Timeout=600)
apt-get "${apt_lock[@]}" update -qq
# coturn's package would start and enable its TURN server (UDP 3478, the port our control
# server's STUN responder uses): a policy-rc.d refuses every service start while apt runs (unless
# the machine has one already), and the unit is disabled after.
policy_rc=
if [[ " ${missing[*]} " == *" coturn "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
	policy_rc=/usr/sbin/policy-rc.d
	trap 'rm -f "$policy_rc"' EXIT
	printf '#!/bin/sh\n# install-deps.sh: no service starts while it installs\nexit 101\n' >"$policy_rc"
	chmod 755 "$policy_rc"
fi
# --no-install-recommends: wireguard-tools would otherwise pull in a kernel image
apt-get "${apt_lock[@]}" install -y -qq --no-install-recommends "${missing[@]}"
if [[ " ${missing[*]} " == *" coturn "* ]]; then
	if command -v systemctl >/dev/null; then
		systemctl disable coturn.service >/dev/null 2>&1 || true # works without a running systemd
		[ ! -d /run/systemd/system ] || systemctl stop coturn.service >/dev/null 2>&1 || true
	fi
	rm -f /etc/systemd/system/multi-user.target.wants/coturn.service
fi
[ -z "$policy_rc" ] || rm -f "$policy_rc"
trap - EXIT
exec "$(dirname "$0")/fetch-resolved.sh"
