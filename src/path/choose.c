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
	if (give) {
		p->given_ms = now_ms;
		p->changed_at_ms = now_ms;
	}
}

bool rn_path_peer_set_candidates(struct rn_path_peer *p, const union rn_path_addr *c, size_t n,
				 const struct rn_path_observed *o, uint64_t now_ms,
				 union rn_path_addr *out)
{
	union rn_path_addr in_use = { .sa.sa_family = AF_UNSPEC };
	bool fresh = !p->n_cand; /* no trial running: the one in use starts one */
	size_t i;

	if (n > RN_PATH_MAX_CANDIDATES)
		n = RN_PATH_MAX_CANDIDATES;
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

bool rn_path_peer_tick(struct rn_path_peer *p, const struct rn_path_observed *o, uint64_t now_ms,
		       union rn_path_addr *out)
{
	uint64_t tried_for = now_ms - p->since_ms, since_given = UINT64_MAX;

	if (now_ms < p->since_ms)
		tried_for = 0;
	if (p->given_ms)
		since_given = now_ms >= p->given_ms ? now_ms - p->given_ms : 0;
	if (p->working && o->handshake_attempts && p->n_cand > 1) {
		/* it went quiet: the data plane's retry says 5 s without an answer */
		start_trial(p, (p->cur + 1) % p->n_cand, o, now_ms, true);
		*out = p->cand[p->cur];
		return true;
	}
	if (o->handshake_age_ms < RN_PATH_STALE_MS && o->handshake_age_ms <= since_given) {
		/* a handshake since we last set the endpoint: whatever endpoint the data plane has
		 * now works (it got there by that handshake's roaming, or we set it) */
		if (p->n_cand && !rn_path_addr_equal(&o->endpoint, &p->cand[p->cur]))
			roamed(p, o, now_ms);
		p->working = true;
		return false;
	}
	if (p->working && o->handshake_age_ms < RN_PATH_STALE_MS)
		return false;
	if (p->working) { /* the session went stale: the path must prove itself again */
		p->working = false;
		p->since_ms = now_ms;
		p->tx_at_since = o->tx_bytes;
		return false;
	}
	/* Tried: something went out, or the data plane retried an initiation whose send failed
	 * (no route to that family), so tx did not grow. */
	if (p->n_cand < 2 || tried_for < RN_PATH_TRY_MS ||
	    (o->tx_bytes == p->tx_at_since && !o->handshake_attempts))
		return false; /* nothing else to try, still trying, or never tried: not a failure */
	start_trial(p, (p->cur + 1) % p->n_cand, o, now_ms, true);
	*out = p->cand[p->cur];
	return true;
}
