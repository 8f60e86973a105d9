#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Unpacks Debian's systemd-resolved (and the libsystemd-shared it was built against) into
# $RN_RESOLVED_ROOT for tests/integration/dns-resolved.sh, which runs it inside a network
# namespace on a private D-Bus. Not installed as a package on purpose: its postinst turns the
# host's /etc/resolv.conf into a symbolic link to a stub no resolved serves here (and pulls in
# a newer systemd). Idempotent: does nothing when the unpacked binary already runs.
set -eu

ROOT=${RN_RESOLVED_ROOT:-/var/lib/rustynet-test/systemd-resolved}
LIB=$ROOT/usr/lib/x86_64-linux-gnu/systemd

works() { LD_LIBRARY_PATH=$LIB "$ROOT/lib/systemd/systemd-resolved" --version >/dev/null 2>&1; }
works && exit 0
if [ "$(id -u)" != 0 ]; then
	# only the root-only integration test needs it; it skips without
	echo "fetch-resolved: not root: systemd-resolved not unpacked (dns-resolved will skip)" >&2
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # apt's download runs as _apt
(cd "$tmp" && { apt-get download -qq systemd-resolved libsystemd-shared 2>/dev/null ||
	{ apt-get update -qq && apt-get download -qq systemd-resolved libsystemd-shared; }; })
rm -rf "$ROOT.new"
mkdir -p "$ROOT.new"
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$ROOT.new"; done
rm -rf "$ROOT"
mv "$ROOT.new" "$ROOT"
works || { echo "fetch-resolved: the unpacked systemd-resolved does not run" >&2; exit 1; }
echo "fetch-resolved: systemd-resolved unpacked into $ROOT"
