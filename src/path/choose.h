/* SPDX-License-Identifier: MIT */
/*
 * Choosing a peer's endpoint among its candidates by WireGuard handshakes (path.h explains
 * why handshakes are the probes). Per peer: the candidates from the signed map, in the map's
 * order (host candidates, then reflexive ones: the direct ones; then relays), and which one the
 * data plane was last given. Pure: time and what the data plane shows are passed in; rustynetd
 * calls it once a second per peer. The rules (docs/nat-traversal.md, "Choosing a path"):
 *
 * - Trial: a candidate we sent on (handshake initiations count) that has not completed a
 *   handshake within RN_PATH_TRY_MS is given up for the next one. A completed handshake pins
 *   the path, including one the data plane roamed to by itself (the peer reached us from an
 *   address of its own choosing, which is then the best proof there is).
 * - Liveness: on a working path, data sent after the peer's last packet (not a reply to it) and
 *   nothing from it for RN_PATH_QUIET_MS starts a check (an initiation: a round trip), so an
 *   idle peer is never checked; unanswered for
 *   RN_PATH_CHECK_MS, the path is left: a direct one for the relay, a relay for the next
 *   candidate. So is a path on which the data plane retried an initiation unanswered.
 * - Probing: while relayed, not working, checking, or once after new candidates or a change of
 *   network, initiations also go to every direct candidate at once: the first answer (the
 *   lowest round trip) moves the session there by roaming. Fast (RN_PATH_PROBE_FAST_MS) for
 *   RN_PATH_PROBE_FAST_FOR_MS after a change, then RN_PATH_PROBE_SLOW_MS.
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
	/* Data went out and nothing came back for this long: check the path. */
	RN_PATH_QUIET_MS = 2000,
	/* Data sent this soon after the peer's latest packet is an answer to it, and expects none
	 * (a ping's reply, a request's response): only data sent later starts the wait. */
	RN_PATH_REPLY_MS = 200,
	/*
	 * After a check the peer answered (a one-way flow: its receiver only sends a keepalive
	 * every KEEPALIVE_TIMEOUT, 10 s; or a burst of load): longer than that keepalive, until
	 * packets come steadily again (two less than RN_PATH_QUIET_MS apart).
	 */
	RN_PATH_QUIET_ONEWAY_MS = 12000,
	/* A check unanswered this long: the path is dead. */
	RN_PATH_CHECK_MS = 2000,
	/* Probe rounds: REKEY_TIMEOUT and a margin (the data plane holds initiations back
	 * within REKEY_TIMEOUT of the last one anyway), for a minute after a change; then
	 * every 30 s, so a pair that stays relayed does not handshake every few seconds. */
	RN_PATH_PROBE_FAST_MS = 5050,
	RN_PATH_PROBE_FAST_FOR_MS = 60000,
	RN_PATH_PROBE_SLOW_MS = 30000,
	RN_PATH_BUSY_TICK_MS = 250,
};

/* What rn_path_peer_tick asks of the caller. */
enum rn_path_action {
	RN_PATH_GIVE = 1u << 0,	    /* give the data plane *out as the peer's endpoint */
	RN_PATH_INITIATE = 1u << 1, /* then start a handshake (rn_wg_device_initiate) */
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
	size_t n_direct;	/* cand[0, n_direct) are the peer's own, the rest relays */
	size_t cur;		/* the candidate last given to the data plane */
	uint64_t since_ms;	/* when it was given */
	uint64_t tx_at_since;	/* the peer's tx byte count then: did we try it since? */
	uint64_t given_ms;	/* when we last gave the data plane an endpoint; 0: never */
	bool working;		/* a handshake completed since then (roaming included) */
	uint64_t changed_at_ms; /* the last change of endpoint we made or saw; 0: none */
	/* Liveness (all ms on the caller's clock) */
	uint64_t rx_ms;	   /* when the peer's latest packet came, as last seen; 0: never */
	uint64_t quiet_ms; /* RN_PATH_QUIET_MS, or _ONEWAY_MS after a false alarm; 0: the former */
	uint64_t wait_ms;  /* our data since then is unanswered (the first seen); 0: none */
	uint64_t check_ms; /* a check runs since then; 0: none */
	uint64_t check_rx_ms; /* rx_ms when it started: a later packet answers it */
	/* Probing */
	uint64_t fast_since_ms; /* new candidates or a new network: probe fast from then */
	uint64_t probe_ms;	/* the last probe round; 0: none yet */
	bool recheck;		/* one round wanted even on a working direct path */
	bool round_recheck;	/* the last round was one */
	uint64_t recheck_at_ms; /* a held re-check goes no sooner than this; 0: at once */
};

/* What the data plane shows of the peer now. */
struct rn_path_observed {
	union rn_path_addr endpoint; /* its current endpoint (roaming may have changed it) */
	uint64_t handshake_age_ms;   /* since the last completed handshake; UINT64_MAX: never */
	uint64_t tx_bytes;	     /* sent to this peer, handshakes included */
	/* initiations retried without a reply (each after 5 s): > 0 means the path went quiet */
	unsigned int handshake_attempts;
	uint64_t rx_age_ms; /* since its latest authenticated packet; UINT64_MAX: never */
	uint64_t
	    data_sent_age_ms; /* since we last sent it data (not keepalives); UINT64_MAX: never */
};

bool rn_path_addr_equal(const union rn_path_addr *a, const union rn_path_addr *b);

/*
 * A map's candidates for the peer (n is capped at RN_PATH_MAX_CANDIDATES), the first n_direct
 * of them its own, the rest relays. The endpoint in use stays if it is still a candidate;
 * otherwise the first candidate is chosen: returns true with *out set, the endpoint to give the
 * data plane. o: the data plane's view (NULL: a new peer). Candidates other than before ask
 * for a probe round at once and fast probing for a while.
 */
bool rn_path_peer_set_candidates(struct rn_path_peer *p, const union rn_path_addr *c, size_t n,
				 size_t n_direct, const struct rn_path_observed *o, uint64_t now_ms,
				 union rn_path_addr *out);

/*
 * Once a second: the trial and liveness rules. Returns enum rn_path_action bits: GIVE with *out
 * set when the path is left (the next candidate or the relay), INITIATE when a check starts or
 * the path was left (a new path's first initiation is not held back by the old path's).
 */
unsigned int rn_path_peer_tick(struct rn_path_peer *p, const struct rn_path_observed *o,
			       uint64_t now_ms, union rn_path_addr *out);

/* The endpoint in use is one of the relays. */
bool rn_path_peer_relayed(const struct rn_path_peer *p, const struct rn_path_observed *o);

/* The check's initiation was held back (the data plane sent or answered one within
 * REKEY_TIMEOUT): it starts again at the next tick, so its answer is awaited from when it went. */
void rn_path_peer_check_held(struct rn_path_peer *p);

/* Whether initiations should also go to the direct candidates now (the data plane's probe
 * endpoints): relayed, not working, a check running, or a re-check asked for. */
bool rn_path_peer_probing(const struct rn_path_peer *p, const struct rn_path_observed *o);

/* Whether a probe round (an initiation) is due now; true records it. */
bool rn_path_peer_probe_due(struct rn_path_peer *p, const struct rn_path_observed *o,
			    uint64_t now_ms);

/*
 * Whether the chooser has a verdict coming (a check is a second away or runs, a path was just
 * left): the caller then ticks every RN_PATH_BUSY_TICK_MS rather than every second, so a
 * dead path is left and a new one seen working a second sooner.
 */
bool rn_path_peer_busy(const struct rn_path_peer *p, uint64_t now_ms);

/*
 * The round's initiation was held back (the data plane sent or answered one within
 * REKEY_TIMEOUT, often the peer's own probe): while relayed or not working it is due again at
 * once, so it goes when it may. A re-check of a working direct path goes again once that
 * window is over (RN_PATH_PROBE_FAST_MS from now), not at every tick, which would hold back a
 * liveness check: the handshake that held it back may have gone to the endpoint in use alone
 * (a new pair's first, sent when the data plane got the peer).
 */
void rn_path_peer_probe_held(struct rn_path_peer *p, uint64_t now_ms);

/* The host's addresses changed: every path is re-checked at once, and probed fast a while. */
void rn_path_peer_network_changed(struct rn_path_peer *p, uint64_t now_ms);

#endif
