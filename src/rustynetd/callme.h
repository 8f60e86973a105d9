/* SPDX-License-Identifier: MIT */
/*
 * "Call me now", the node's side (docs/control-protocol.md, POST /v1/call; docs/nat-traversal.md).
 * A peer behind a NAT whose mapping toward us has closed drops what we send until it happens to
 * send to us (its persistent keepalive: up to 25 s). So when we start sending to a peer and
 * nothing comes back for a second, we ask the control server to have that peer call us: it gets
 * our node id on its long-poll and at once sends to our endpoint from its signed map, which opens
 * its NAT toward us (ours is open: we are sending). A call names only a node id, never an
 * address: a node only ever sends to candidates of its own verified map.
 *
 * Asking is a blocking HTTPS request, so it runs in a thread of its own; the loop only queues.
 * At most one call per peer per RN_CALLME_PEER_MS, and one per attempt to talk (a peer that
 * stays unanswered is called again only after it went quiet, or after the data plane's
 * handshake retries start).
 */
#ifndef RN_DAEMON_CALLME_H
#define RN_DAEMON_CALLME_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

enum {
	RN_CALLME_TICK_MS = 500,	/* how often peers' counters are looked at */
	RN_CALLME_UNANSWERED_MS = 1000, /* sending with nothing back this long: call */
	RN_CALLME_PEER_MS = 5000,   /* at most one call per peer per this long (as the server) */
	RN_CALLME_KEEPALIVE_B = 32, /* a keepalive's bytes: alone it is not an attempt to talk */
	RN_CALLME_QUEUE = 16,	    /* calls waiting for the thread; more are dropped */
	RN_CALLME_LOG_MS = 10000,   /* info logs per direction at most this often; debug else */
};

struct rn_daemon;

/* Each turn of the loop: starts the caller when logged in, looks at peers every tick. */
void rn_daemon_callme_tick(struct rn_daemon *d);
/* The calls the poll thread received: each from a peer of the map gets a handshake (poke). */
void rn_daemon_callme_received(struct rn_daemon *d);
/* Stops the thread and forgets peers (logout, exit). NULL-safe on a daemon without one. */
void rn_daemon_callme_stop(struct rn_daemon *d);
/* {"sent": N, "received": N, "failed": N, "ignored": N} for status. */
json_t *rn_daemon_callme_status(const struct rn_daemon *d);

/*
 * The per-peer decision, pure for tests: counters seen at one tick (tx/rx bytes, initiations
 * retried), and whether to call now.
 */
struct rn_callme_peer {
	uint64_t id;
	uint64_t tx, rx;
	unsigned attempts;
	uint64_t start_ms;     /* first unanswered attempt to talk, 0: none */
	uint64_t last_call_ms; /* 0: never */
	bool called;	       /* called in this attempt; cleared when the peer goes quiet */
	bool seen;	       /* tx, rx, attempts hold a reading */
};
bool rn_callme_decide(struct rn_callme_peer *p, uint64_t tx, uint64_t rx, unsigned attempts,
		      uint64_t now_ms) __attribute__((warn_unused_result));

#endif
