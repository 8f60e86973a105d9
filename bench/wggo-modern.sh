# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# bench/wggo-modern.sh: where the benchmarks find the modern wireguard-go (issue 15's peer to
# beat, with batched I/O and TUN offloads; Debian's 0.0.20220316 predates them). Source it;
# wggo_modern REPO prints WIREGUARD_GO_MODERN if set, else the newest
# shared/anchors/bin/wireguard-go-* beside REPO (for a git worktree, beside its main
# checkout too); nothing (and status 1) if there is none.

wggo_modern() {
	local repo=$1 d f common
	if [ -n "${WIREGUARD_GO_MODERN:-}" ]; then
		echo "$WIREGUARD_GO_MODERN"
		return 0
	fi
	common=$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir 2>/dev/null) || common=
	for d in "$repo/../shared/anchors/bin" ${common:+"$(dirname "$common")/../shared/anchors/bin"}; do
		[ -d "$d" ] || continue
		f=$(find "$d" -maxdepth 1 -name 'wireguard-go-*' -perm -u+x -type f | sort -V | tail -n 1)
		if [ -n "$f" ]; then
			realpath "$f"
			return 0
		fi
	done
	return 1
}

# wggo_version BIN: the version a wireguard-go prints (0.0.20250522), or "?".
wggo_version() {
	local v
	v=$("$1" --version 2>/dev/null | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^v?0\.0\./) {print $i; exit}}')
	v=${v#v}
	echo "${v:-?}"
}
