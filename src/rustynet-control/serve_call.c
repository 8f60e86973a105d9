/* SPDX-License-Identifier: MIT */
/*
 * POST /v1/call ("call me now", docs/control-protocol.md): a node asks that a peer send to it at
 * once, so that both NATs open. The server only passes on the caller's node id, never an
 * address: the callee sends only to the caller's candidates from its own signed map. A call is
 * refused the same way whether the named node does not exist or is not the caller's peer, so it
 * tells nobody who exists. Limits are callq.h's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "control/api.h"
#include "rustynet-control/serve.h"

static uint64_t rn_serve_call_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Whether peer is in the map of node id at the current epoch: the policy lets them talk. */
static bool rn_serve_call_allowed(struct rn_serve *s, uint64_t id, uint64_t peer)
{
	struct rn_mapper_epoch *e = rn_serve_snapshot(s);
	struct rn_netmap m;
	char err[256];
	bool ok = false;

	memset(&m, 0, sizeof(m));
	if (!e || rn_mapper_build(e, id, &m, err, sizeof(err)))
		return false;
	for (size_t i = 0; i < m.n_peers && !ok; i++)
		ok = m.peers[i].id == peer;
	rn_netmap_free(&m);
	return ok;
}

/* Lock held: the call from nd to peer queued, or r refused. */
static void rn_serve_call_locked(struct rn_serve *s, const struct rn_store_node *nd, uint64_t peer,
				 struct rn_serve_reply *r)
{
	uint64_t id = (uint64_t)nd->id;
	int ret = rn_callq_ask(s->calls, id, peer, rn_serve_call_ms());

	if (ret == -EAGAIN) {
		rn_serve_error(r, 429, "too many calls: at most one per peer per %d s",
			       RN_CALLQ_PAIR_MS / 1000);
		r->retry_after_s = RN_CALLQ_PAIR_MS / 1000;
		return;
	}
	if (ret || !rn_serve_call_allowed(s, id, peer)) {
		if (!ret)
			rn_callq_cancel(s->calls, id, peer);
		log_debug(MAIN, "node %llu's call of node %llu refused: not its peer",
			  (unsigned long long)id, (unsigned long long)peer);
		rn_serve_error(r, 403, "node %llu is not a peer of this node",
			       (unsigned long long)peer);
		return;
	}
	log_debug(MAIN, "node %llu calls node %llu", (unsigned long long)id,
		  (unsigned long long)peer);
	pthread_cond_broadcast(&s->changed); /* the callee's long-poll answers with it */
	r->status = 200;
	r->body = strdup("{}");
	r->len = r->body ? 2 : 0;
}

void rn_serve_call(struct rn_serve *s, const char *auth, const char *body, size_t len,
		   struct rn_serve_reply *r)
{
	struct rn_store_node nd;
	char err[RN_API_ERR_LEN];
	uint64_t peer;
	int ret;

	ret = rn_api_parse_call(body, len, &peer, err, sizeof(err));
	if (ret) {
		rn_serve_error(r, ret == -EMSGSIZE ? 413 : 400, "%s", err);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (rn_serve_auth(s, auth, &nd, r)) {
		rn_serve_call_locked(s, &nd, peer, r);
		rn_store_node_clear(&nd);
	}
	pthread_mutex_unlock(&s->lock);
}

bool rn_serve_take_calls(struct rn_serve *s, uint64_t id, struct rn_serve_reply *r)
{
	uint64_t from[RN_CALLQ_TAKE_MAX];
	size_t n = rn_callq_take(s->calls, id, rn_serve_call_ms(), from, RN_CALLQ_TAKE_MAX);

	if (!n)
		return false;
	r->status = 200;
	r->body = rn_api_calls_body(from, n);
	r->len = r->body ? strlen(r->body) : 0;
	if (!r->body)
		rn_serve_error(r, 500, "out of memory");
	return true;
}
