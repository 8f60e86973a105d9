/* SPDX-License-Identifier: MIT */
/* Choosing a peer's endpoint by WireGuard handshakes: see choose.h. */
#include <string.h>

#include "path/choose.h"

bool rn_path_addr_equal(const union rn_path_addr *a, const union rn_path_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_port == b->sin.sin_port &&
		       a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->sin6.sin6_port == b->sin6.sin6_port &&
		       !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, 16);
	return a->sa.sa_family == AF_UNSPEC;
}

/* A trial of candidate i from now; give: we hand it to the data plane (else it has it). */
static void start_trial(struct rn_path_peer *p, size_t i, const struct rn_path_observed *o,
			uint64_t now_ms, bool give)
{
	p->cur = i;
	p->since_ms = now_ms;
	p->tx_at_since = o ? o->tx_bytes : 0;
	p->working = false;
	p->check_ms = 0;
	if (give) {
		p->given_ms = now_ms;
		p->changed_at_ms = now_ms;
	}
}

static bool same_candidates(const struct rn_path_peer *p, const union rn_path_addr *c, size_t n,
			    size_t n_direct)
{
	if (n != p->n_cand || n_direct != p->n_direct)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!rn_path_addr_equal(&c[i], &p->cand[i]))
			return false;
	return true;
}

bool rn_path_peer_set_candidates(struct rn_path_peer *p, const union rn_path_addr *c, size_t n,
				 size_t n_direct, const struct rn_path_observed *o, uint64_t now_ms,
				 union rn_path_addr *out)
{
	union rn_path_addr in_use = { .sa.sa_family = AF_UNSPEC };
	bool fresh = !p->n_cand; /* no trial running: the one in use starts one */
	size_t i;

	if (n > RN_PATH_MAX_CANDIDATES)
		n = RN_PATH_MAX_CANDIDATES;
	if (n_direct > n)
		n_direct = n;
	if (!same_candidates(p, c, n, n_direct)) {
		/* a new map's other candidates (a peer's new network, or ours): the best of them
		 * may be better than the path in use */
		p->fast_since_ms = now_ms;
		p->recheck = true;
	}
	p->n_direct = n_direct;
	if (o)
		in_use = o->endpoint;
	else if (p->n_cand)
		in_use = p->cand[p->cur];
	if (n)
		memcpy(p->cand, c, n * sizeof(*c));
	p->n_cand = n;
	if (!n) {
		p->cur = 0;
		p->working = false;
		p->check_ms = 0;
		return false;
	}
	for (i = 0; i < n; i++)
		if (rn_path_addr_equal(&c[i], &in_use)) {
			if (fresh)
				start_trial(p, i, o, now_ms, false);
			p->cur = i; /* still a candidate: keep it, and what we know of it */
			return false;
		}
	/* A peer reached us from elsewhere and the session is fresh: roaming chose for us. */
	if (o && o->endpoint.sa.sa_family != AF_UNSPEC && o->handshake_age_ms < RN_PATH_STALE_MS) {
		p->cur = 0;
		p->since_ms = now_ms;
		p->working = true;
		return false;
	}
	start_trial(p, 0, o, now_ms, true);
	*out = p->cand[0];
	return true;
}

/*
 * The data plane's endpoint is not the candidate we gave it: roaming moved it (off a relay,
 * when a probe was answered directly). Onto another candidate, that one is now ours, so a
 * later silence moves on from there and ends on the relay, the last one.
 */
static void roamed(struct rn_path_peer *p, const struct rn_path_observed *o, uint64_t now_ms)
{
	for (size_t i = 0; i < p->n_cand; i++)
		if (rn_path_addr_equal(&o->endpoint, &p->cand[i])) {
			p->cur = i;
			p->changed_at_ms = now_ms;
			return;
		}
	if (!p->working)
		p->changed_at_ms = now_ms;
}

/*
 * The peer's latest packet and our latest data, as seen now. Packets steadily less than
 * RN_PATH_QUIET_MS apart mean a two-way flow: the short threshold again. Data we sent well after
 * its latest packet starts the wait for an answer; a packet after that start ends it.
 */
static void note_traffic(struct rn_path_peer *p, const struct rn_path_observed *o, uint64_t now_ms)
{
	uint64_t rx = 0, tx = 0;

	if (o->rx_age_ms < now_ms)
		rx = now_ms - o->rx_age_ms;
	if (o->data_sent_age_ms < now_ms)
		tx = now_ms - o->data_sent_age_ms;
	/* the same packet seen at two ticks differs by the clocks' rounding, not seconds */
	if (rx && p->rx_ms && rx > p->rx_ms + 100) {
		if (rx - p->rx_ms < RN_PATH_QUIET_MS)
			p->quiet_ms = RN_PATH_QUIET_MS;
		p->rx_ms = rx;
	} else if (rx && !p->rx_ms) {
		p->rx_ms = rx;
	}
	if (p->wait_ms && p->rx_ms >= p->wait_ms)
		p->wait_ms = 0;
	if (!p->wait_ms && tx > p->rx_ms + RN_PATH_REPLY_MS)
		p->wait_ms = tx;
}

/* Our data has waited for an answer past the threshold. */
static bool quiet(const struct rn_path_peer *p, uint64_t now_ms)
{
	uint64_t threshold = p->quiet_ms ? p->quiet_ms : RN_PATH_QUIET_MS;

	return p->wait_ms && now_ms >= p->wait_ms && now_ms - p->wait_ms >= threshold;
}

bool rn_path_peer_relayed(const struct rn_path_peer *p, const struct rn_path_observed *o)
{
	for (size_t i = p->n_direct; i < p->n_cand; i++)
		if (rn_path_addr_equal(&o->endpoint, &p->cand[i]))
			return true;
	return false;
}

/* Leaves the path in use: a direct one for the relay (initiations race to every direct
 * candidate too, so another direct one that answers first wins), a relay for the next. */
static unsigned int leave(struct rn_path_peer *p, const struct rn_path_observed *o, uint64_t now_ms,
			  union rn_path_addr *out)
{
	size_t next = (p->cur + 1) % p->n_cand;

	if (p->n_direct < p->n_cand && !rn_path_peer_relayed(p, o))
		next = p->n_direct;
	start_trial(p, next, o, now_ms, true);
	*out = p->cand[p->cur];
	return RN_PATH_GIVE | RN_PATH_INITIATE;
}

/* A working path: is it still? Returns the actions, or 0 to go on with the trial rules. */
static unsigned int liveness(struct rn_path_peer *p, const struct rn_path_observed *o,
			     uint64_t now_ms, union rn_path_addr *out)
{
	if (o->handshake_attempts) /* the data plane's retry: 5 s without an answer */
		return leave(p, o, now_ms, out);
	if (p->check_ms) {
		if (p->rx_ms > p->check_rx_ms + 100) { /* answered: a false alarm */
			p->check_ms = 0;
			p->quiet_ms = RN_PATH_QUIET_ONEWAY_MS;
		} else if (now_ms - p->check_ms >= RN_PATH_CHECK_MS) {
			return leave(p, o, now_ms, out);
		}
		return 0;
	}
	if (!quiet(p, now_ms))
		return 0;
	p->check_ms = now_ms;
	p->check_rx_ms = p->rx_ms;
	return RN_PATH_INITIATE;
}

unsigned int rn_path_peer_tick(struct rn_path_peer *p, const struct rn_path_observed *o,
			       uint64_t now_ms, union rn_path_addr *out)
{
	uint64_t tried_for = now_ms - p->since_ms, since_given = UINT64_MAX;
	unsigned int act = 0;

	if (now_ms < p->since_ms)
		tried_for = 0;
	if (p->given_ms)
		since_given = now_ms >= p->given_ms ? now_ms - p->given_ms : 0;
	note_traffic(p, o, now_ms);
	if (p->working && p->n_cand > 1) {
		act = liveness(p, o, now_ms, out);
		if (act & RN_PATH_GIVE)
			return act;
	}
	if (o->handshake_age_ms < RN_PATH_STALE_MS && o->handshake_age_ms <= since_given) {
		/* a handshake since we last set the endpoint: whatever endpoint the data plane has
		 * now works (it got there by that handshake's roaming, or we set it) */
		if (p->n_cand && !rn_path_addr_equal(&o->endpoint, &p->cand[p->cur]))
			roamed(p, o, now_ms);
		p->working = true;
		return act;
	}
	if (p->working && o->handshake_age_ms < RN_PATH_STALE_MS)
		return act;
	if (p->working) { /* the session went stale: the path must prove itself again */
		p->working = false;
		p->check_ms = 0;
		p->since_ms = now_ms;
		p->tx_at_since = o->tx_bytes;
		return 0;
	}
	/* Tried: something went out, or the data plane retried an initiation whose send failed
	 * (no route to that family), so tx did not grow. */
	if (p->n_cand < 2 || tried_for < RN_PATH_TRY_MS ||
	    (o->tx_bytes == p->tx_at_since && !o->handshake_attempts))
		return 0; /* nothing else to try, still trying, or never tried: not a failure */
	start_trial(p, (p->cur + 1) % p->n_cand, o, now_ms, true);
	*out = p->cand[p->cur];
	return RN_PATH_GIVE;
}

void rn_path_peer_check_held(struct rn_path_peer *p)
{
	p->check_ms = 0;
}

bool rn_path_peer_probing(const struct rn_path_peer *p, const struct rn_path_observed *o)
{
	return p->n_direct &&
	       (!p->working || p->check_ms || p->recheck || rn_path_peer_relayed(p, o));
}

bool rn_path_peer_probe_due(struct rn_path_peer *p, const struct rn_path_observed *o,
			    uint64_t now_ms)
{
	uint64_t since = p->changed_at_ms > p->fast_since_ms ? p->changed_at_ms : p->fast_since_ms;
	uint64_t every = RN_PATH_PROBE_SLOW_MS;

	if (!rn_path_peer_probing(p, o))
		return false;
	if (now_ms >= since && now_ms - since < RN_PATH_PROBE_FAST_FOR_MS)
		every = RN_PATH_PROBE_FAST_MS;
	if (p->recheck && p->recheck_at_ms && now_ms < p->recheck_at_ms)
		return false; /* held: the data plane would hold it back again */
	if (p->probe_ms && !p->recheck && now_ms >= p->probe_ms && now_ms - p->probe_ms < every)
		return false;
	p->probe_ms = now_ms;
	p->round_recheck = p->recheck;
	p->recheck = false;
	p->recheck_at_ms = 0;
	return true;
}

bool rn_path_peer_busy(const struct rn_path_peer *p, uint64_t now_ms)
{
	uint64_t threshold = p->quiet_ms ? p->quiet_ms : RN_PATH_QUIET_MS;

	/* waiting: only in the last second before a check (a one-way flow never gets there) */
	if (p->check_ms || (p->working && p->wait_ms && now_ms + 1000 >= p->wait_ms + threshold))
		return true;
	return !p->working && p->given_ms && now_ms - p->given_ms < RN_PATH_CHECK_MS;
}

void rn_path_peer_probe_held(struct rn_path_peer *p, uint64_t now_ms)
{
	p->probe_ms = 0;
	if (p->round_recheck) {
		p->recheck = true;
		p->recheck_at_ms = now_ms + RN_PATH_PROBE_FAST_MS;
	}
}

void rn_path_peer_network_changed(struct rn_path_peer *p, uint64_t now_ms)
{
	p->fast_since_ms = now_ms;
	p->recheck = true;
}
