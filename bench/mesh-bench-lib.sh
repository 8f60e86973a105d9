# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# bench/mesh-bench-lib.sh: the preamble of the benchmarks that run a control server and
# daemons (control.sh, dns.sh). Source it right after `set -eu` with the script's arguments,
# TEST_TAG and BENCH_NAME set: --help (or no BUILD_DIR) prints the script's header comment;
# then BUILD, RUSTYNET_WG and CB (control-bench) are set, tests/lib.sh and tests/mesh-lib.sh
# are sourced, and a missing root or build ends the run with a message.

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '3,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	exit 2
fi
BUILD=$(cd "$1" && pwd)
RUSTYNET_WG=$BUILD/src/rustynet-wg/rustynet-wg
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib.sh"
# shellcheck source=tests/mesh-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/mesh-lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "$BENCH_NAME bench: needs root (network namespaces, TUN devices)" >&2
	exit 1
fi
CB=$BUILD/bench/control-bench
if ! mesh_have_bins || [ ! -x "$CB" ]; then
	echo "$BENCH_NAME bench: build first (make)" >&2
	exit 1
fi
