/* SPDX-License-Identifier: MIT */
/*
 * src/path: how a node reaches each peer. docs/nat-traversal.md is the long form.
 *
 * Candidates. A node's candidates are where peers may send to it: its interface addresses
 * with the WireGuard port (host candidates), and the address and port its NAT maps the
 * WireGuard socket to (server-reflexive), learnt by asking STUN servers (stun.h; the servers
 * are rustynet-control's own responder and any the admin lists, carried in the signed map's
 * "stun" member) from the WireGuard socket itself, so the mapping found is the one peers must
 * use. The node reports its candidates to the control server; each peer's map carries them
 * ("peers[].endpoints", signed and short-lived like the rest of the map). A mapping that
 * changes (NAT rebinding, a new network) is noticed at the next STUN round (every 20 s, and at
 * once when the host's addresses change) and re-reported (discovery.h runs the rounds; the
 * daemon's src/rustynetd/discovery.c sends them and reports host candidates first, then the
 * reflexive ones, leaving out a reflexive one equal to a host one: that host is not behind NAT).
 * A node behind NAT (some mapping differs from every host candidate) turns on persistent
 * keepalive (25 s) on every peer; a node whose mapping varies by destination ("hard" NAT) still
 * reports it, but peers will rarely reach it there.
 *
 * Choosing. A path is a candidate on which a WireGuard handshake has completed: handshake
 * messages are the probes, so probing is authenticated by construction (nothing is accepted
 * from a candidate but a valid handshake of the peer's key), probes go only to candidates of
 * the signed map, and no user traffic is sent on a candidate before its handshake. Both sides
 * probe at about the same time, because the control server sends both maps at the same moment,
 * and a side behind NAT keeps its mapping open with persistent keepalive; WireGuard's roaming
 * (the source of the latest authenticated packet becomes the endpoint) lets the side that is
 * reached first answer on the working path at once. Order of preference: direct before
 * relayed; among direct candidates, the one that answers first (initiations race to all of
 * them: the lowest round trip). A working path is checked when data goes unanswered (choose.h).
 *
 * Relays (src/relay) are the last candidate: a relayed path is another endpoint of the same
 * WireGuard session, so a path change never resets the tunnel or a TCP connection inside it.
 */
#ifndef RN_PATH_PATH_H
#define RN_PATH_PATH_H

#include "path/discovery.h"
#include "path/stun.h"

#endif
