/* SPDX-License-Identifier: MIT */
/*
 * Choosing a peer's endpoint among its candidates by WireGuard handshakes (path.h explains
 * why handshakes are the probes). Per peer: the candidates from the signed map, in the map's
 * order (host candidates, then reflexive ones, then relays), and which one the data plane was
 * last given. A candidate we sent on (handshake initiations count) that has not completed a
 * handshake within RN_PATH_TRY_MS is given up for the next one, and so is a working one on
 * which an initiation went unanswered for 5 s; a completed handshake pins the path, including one the data plane roamed to by itself (the peer reached us from an
 * address of its own choosing, which is then the best proof there is). Pure: time and what
 * the data plane shows are passed in; rustynetd calls it once a second per peer.
 */
#ifndef RN_PATH_CHOOSE_H
#define RN_PATH_CHOOSE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	RN_PATH_MAX_CANDIDATES = 17, /* the map's 16 endpoints, and a relay */
	/* REKEY_TIMEOUT (5 s) and its jitter: one initiation and its retry window per candidate */
	RN_PATH_TRY_MS = 5500,
	/* REJECT_AFTER_TIME (180 s): a handshake older than this proves nothing about the path */
	RN_PATH_STALE_MS = 180000,
};

/* An endpoint; sa_family AF_UNSPEC: none. The layout of wg/config.h's rn_wg_endpoint. */
union rn_path_addr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct rn_path_peer {
	union rn_path_addr cand[RN_PATH_MAX_CANDIDATES];
	size_t n_cand;
	size_t cur;		/* the candidate last given to the data plane */
	uint64_t since_ms;	/* when it was given */
	uint64_t tx_at_since;	/* the peer's tx byte count then: did we try it since? */
	uint64_t given_ms;	/* when we last gave the data plane an endpoint; 0: never */
	bool working;		/* a handshake completed since then (roaming included) */
	uint64_t changed_at_ms; /* the last change of endpoint we made or saw; 0: none */
};

/* What the data plane shows of the peer now. */
struct rn_path_observed {
	union rn_path_addr endpoint; /* its current endpoint (roaming may have changed it) */
	uint64_t handshake_age_ms;   /* since the last completed handshake; UINT64_MAX: never */
	uint64_t tx_bytes;	     /* sent to this peer, handshakes included */
	/* initiations retried without a reply (each after 5 s): > 0 means the path went quiet */
	unsigned int handshake_attempts;
};

bool rn_path_addr_equal(const union rn_path_addr *a, const union rn_path_addr *b);

/*
 * A map's candidates for the peer (n is capped at RN_PATH_MAX_CANDIDATES). The endpoint in use
 * stays if it is still a candidate; otherwise the first candidate is chosen: returns true with
 * *out set, the endpoint to give the data plane. o: the data plane's view (NULL: a new peer).
 */
bool rn_path_peer_set_candidates(struct rn_path_peer *p, const union rn_path_addr *c, size_t n,
				 const struct rn_path_observed *o, uint64_t now_ms,
				 union rn_path_addr *out);

/*
 * Once a second. Returns true with *out set when the current candidate was tried for
 * RN_PATH_TRY_MS without a handshake, or when a working path stopped answering (the data plane
 * retried an initiation on it): the next candidate, to give the data plane.
 */
bool rn_path_peer_tick(struct rn_path_peer *p, const struct rn_path_observed *o, uint64_t now_ms,
		       union rn_path_addr *out);

#endif
