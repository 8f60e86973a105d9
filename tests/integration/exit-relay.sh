#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# exit-relay: exit-nat.sh's checks (exit, LAN toggle, DNS, kill switch and leak captures) on the
# relayed path: both home routers map every destination to a new port, so the client reaches
# its exit node only through the control server's relay (docs/nat-traversal.md, "The relayed
# path": the exit rules, the LAN toggle and the kill switch hold on it unchanged).
set -eu
export EXIT_NAT_PATH=relay TEST_TAG=exitrelay
exec bash "$(dirname "$0")/exit-nat.sh"
