/* SPDX-License-Identifier: MIT */
/*
 * The relayed path (docs/nat-traversal.md, "The relayed path"): one rn_relay_client per relay
 * of the map, each in its own thread (a TLS connect blocks), registered with the node's
 * credential. The data plane knows relay i as the endpoint 127.127.0.(i+1):1 (device.h's relay
 * endpoints): what it sends there comes to the hook here, is queued and sent through relay i to
 * the peer's key; what relay i receives goes back into the data plane as coming from that
 * endpoint. So a relayed path is one more endpoint of the same WireGuard session.
 *
 * Transport: UDP when the relay offers it, TLS when it does not or UDP has not registered
 * within RN_RELAYS_UDP_WAIT_MS; a connection that fails is retried with backoff. Sockets carry
 * the fwmark of the control connection (RN_EXIT_FWMARK), so the kill switch lets them out.
 *
 * Home relay: each client registers again every RN_RELAYS_PROBE_MS (an ordinary refresh) and
 * times the relay's answer. The home is the registered relay with the lowest smoothed round
 * trip; it changes only when another is clearly better (RN_RELAYS_HOME_PCT lower and at least
 * RN_RELAYS_HOME_MIN_US less) or the home stops being registered or leaves a REGISTER
 * unanswered for RN_RELAYS_SILENT_MS. Before any measurement it is the first registered
 * relay; with none registered, relay 0. A peer's relayed candidate is the home's endpoint;
 * when the home changes, relayed peers move to it (same session) and paths are derived again.
 */
#ifndef RN_DAEMON_RELAYS_H
#define RN_DAEMON_RELAYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/config.h"

enum {
	RN_RELAYS_UDP_WAIT_MS = 3000,
	RN_RELAYS_QUEUE_LEN = 256, /* datagrams waiting per relay; more are dropped */
	RN_RELAYS_BACKOFF_MAX_MS = 30000,
	RN_RELAYS_PROBE_MS = 5000,
	RN_RELAYS_SILENT_MS = 3000,
	RN_RELAYS_HOME_PCT = 20,
	RN_RELAYS_HOME_MIN_US = 5000,
};

struct rn_daemon;
struct rn_daemon_relays; /* relays.c: owned by the daemon */

/* The data plane's endpoint for relay i (0-based): 127.127.0.(i+1):1. */
void rn_daemon_relay_endpoint(size_t i, union rn_wg_endpoint *out);

/*
 * After each applied map: starts, restarts (an endpoint or pin changed) or stops clients so
 * that there is one per relay of d->map, and hands a new credential to the running ones.
 * Installs the data plane's relay hook on first use.
 */
void rn_daemon_relays_apply(struct rn_daemon *d);
/* At logout and exit: every client stopped (joins the threads), the hook removed. */
void rn_daemon_relays_stop(struct rn_daemon *d);
/* Relays running (their endpoints are 127.127.0.1 .. 127.127.0.n). */
size_t rn_daemon_relays_count(const struct rn_daemon *d);
/* The name of the relay behind a relay endpoint, or NULL if ep is none of ours. */
const char *rn_daemon_relays_name(const struct rn_daemon *d, const union rn_wg_endpoint *ep,
				  char *buf, size_t cap);
/* What the home choice knows of one relay. */
struct rn_relays_view {
	bool usable;	 /* registered, and no REGISTER unanswered for RN_RELAYS_SILENT_MS */
	uint32_t rtt_us; /* the smoothed registration round trip; 0: not measured */
};
/* The home among v[0..n), cur the home now (n: none yet), as described above. Pure
 * (relays_home.c). */
size_t rn_daemon_relays_pick_home(const struct rn_relays_view *v, size_t n, size_t cur);
/* The home relay's index (see above); 0 without relays. */
size_t rn_daemon_relays_home(const struct rn_daemon *d);
/* Main loop, often: once a second, chooses the home again; on a change, logs it, moves the
 * relayed peers and re-runs rn_daemon_paths_apply. */
void rn_daemon_relays_tick(struct rn_daemon *d);
/* status --json's "relays": [{name, transport, registered, error, endpoint, dropped,
 * latency_ms (null: not measured), home}]. */
json_t *rn_daemon_relays_status(struct rn_daemon *d);
/* Adds netcheck's "relays": [{name, registered (and answering), latency_ms, home}] and
 * "preferred_relay" (the home's name; null: none registered) to out. */
void rn_daemon_relays_netcheck(struct rn_daemon *d, json_t *out);

#endif
