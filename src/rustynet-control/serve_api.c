/* SPDX-License-Identifier: MIT */
/*
 * The control protocol's endpoints (docs/control-protocol.md): enroll, poll and logout, on the
 * server's shared state. HTTP is serve.c's; these take a body and fill in a reply.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "control/api.h"
#include "netmap/netmap_priv.h"
#include "policy/compile.h"
#include "rustynet-control/serve.h"

void rn_serve_error(struct rn_serve_reply *r, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(r->body);
	r->status = status;
	r->body = rn_api_error_body(msg);
	r->len = r->body ? strlen(r->body) : 0;
}

static uint64_t rn_serve_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void rn_serve_addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	union rn_netmap_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	if (sa->sa_family == AF_INET)
		memcpy(&ep.sin, sa, sizeof(ep.sin));
	else if (sa->sa_family == AF_INET6)
		memcpy(&ep.sin6, sa, sizeof(ep.sin6));
	else {
		snprintf(buf, len, "?");
		return;
	}
	rn_netmap_endpoint_format(&ep, buf, len);
}

/* The node's own map at the current epoch, copied into r as a 200 (lock held). */
static int rn_serve_map(struct rn_serve *s, uint64_t node_id, uint64_t *version, char **out,
			size_t *len)
{
	struct rn_mapper_epoch *e = rn_serve_snapshot(s);
	const char *env;
	char err[256];
	int ret;

	if (!e)
		return -EIO;
	ret = rn_mapper_cache_get(s->cache, e, s->store, node_id, version, &env, len, err,
				  sizeof(err));
	if (ret == -ENOENT)
		return ret;
	if (ret) {
		log_error(MAIN, "the netmap of node %llu: %s", (unsigned long long)node_id, err);
		return ret;
	}
	*out = malloc(*len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, env, *len + 1);
	return 0;
}

/*
 * What the policy's autoApprovers approve of node id's offer, approved now (lock held, after the
 * offer is stored and the epoch bumped so the snapshot has it), beside what an admin approved.
 */
static void rn_serve_auto_approve(struct rn_serve *s, int64_t id, const char *actor, int64_t now)
{
	struct rn_mapper_epoch *e = rn_serve_snapshot(s);
	const struct rn_control_world *w;
	const struct rn_policy_node *pn = NULL;
	bool *ok = NULL, exit_ok = false, more = false;
	json_t *approve;
	char *text;

	if (!e)
		return;
	w = rn_mapper_epoch_world(e);
	for (size_t i = 0; i < w->n_nodes && !pn; i++)
		if (w->nodes[i].id == id)
			pn = &w->pnodes[i];
	if (!pn || !(ok = calloc(pn->n_advertised + 1, sizeof(*ok))) ||
	    rn_policy_auto_approve(rn_mapper_epoch_policy(e), pn, ok, &exit_ok)) {
		free(ok);
		return;
	}
	approve = json_array();
	for (size_t i = 0; i < pn->n_advertised; i++) {
		char buf[RN_FILTER_PREFIX_STRLEN];
		bool kept = false;

		for (size_t j = 0; j < pn->n_approved && !kept; j++)
			kept = rn_filter_prefix_equal(&pn->approved[j], &pn->advertised[i]);
		more = more || (ok[i] && !kept);
		if (ok[i] || kept)
			json_array_append_new(approve, json_string(rn_filter_prefix_format(
							   &pn->advertised[i], buf, sizeof(buf))));
	}
	text = more ? json_dumps(approve, JSON_COMPACT) : NULL;
	if (text && rn_store_node_approve_routes(s->store, actor, id, text, now))
		log_warn(MAIN, "auto-approving routes of node %lld: %s", (long long)id,
			 rn_store_errmsg(s->store));
	if (exit_ok && pn->advertises_exit && !pn->exit_approved &&
	    rn_store_node_approve_exit(s->store, actor, id, true, now))
		log_warn(MAIN, "auto-approving exit node %lld: %s", (long long)id,
			 rn_store_errmsg(s->store));
	free(text);
	json_decref(approve);
	free(ok);
	if (text || exit_ok)
		rn_serve_bump(s);
}

/* Stores what the node offers when it changed (lock held). true if anything did. */
static bool rn_serve_offer(struct rn_serve *s, const struct rn_store_node *nd,
			   const struct rn_api_offer *o, const char *actor, int64_t now)
{
	const char *routes = o->routes ? o->routes : nd->advertised_routes;
	bool exit = o->has_exit ? o->advertise_exit : nd->advertises_exit;

	if (!strcmp(routes, nd->advertised_routes) && exit == nd->advertises_exit)
		return false;
	if (rn_store_node_set_routes(s->store, actor, nd->id, routes, exit, now)) {
		log_warn(MAIN, "storing the routes node %lld offers: %s", (long long)nd->id,
			 rn_store_errmsg(s->store));
		return false;
	}
	rn_serve_bump(s);
	rn_serve_auto_approve(s, nd->id, actor, now);
	return true;
}

static void rn_serve_refuse_enroll(struct rn_serve *s, const struct sockaddr *peer,
				   struct rn_serve_reply *r, unsigned status, const char *why)
{
	char addr[RN_NETMAP_ENDPOINT_STRLEN];

	rn_ratelimit_fail(s->rl, peer, rn_serve_now_ms());
	rn_serve_addr_text(peer, addr, sizeof(addr));
	log_info(MAIN, "enrollment from %s refused (%u): %s", addr, status, why);
	rn_serve_error(r, status, "%s", why);
}

/* The HTTP status of a refused rn_store_enroll. */
static unsigned rn_serve_enroll_status(int ret)
{
	switch (ret) {
	case -EINVAL:
	case -ENOENT:
		return 401;
	case -EKEYREVOKED:
	case -EKEYEXPIRED:
	case -EKEYREJECTED:
	case -EPERM:
		return 403;
	default:
		return 503;
	}
}

/* The enrollment proper, lock held: key, node and token in one transaction, then offer, map. */
static void rn_serve_enroll_locked(struct rn_serve *s, const struct sockaddr *peer,
				   const struct rn_api_enroll *req, struct rn_serve_reply *r)
{
	struct rn_store_enrollment en = { .auth_key = req->auth_key,
					  .hostname = req->hostname,
					  .public_key = req->public_key };
	struct rn_store_authkey_use use;
	struct rn_store_node nd = { 0 };
	char token[RN_STORE_NODE_TOKEN_SIZE], actor[32], addr[RN_NETMAP_ENDPOINT_STRLEN];
	int64_t now = time(NULL);
	char *env = NULL;
	uint64_t version = 0;
	size_t len = 0;
	bool again = false;
	int ret;

	ret = rn_store_enroll(s->store, &en, now, &use, &nd, token, &again);
	if (ret) {
		rn_serve_refuse_enroll(s, peer, r, rn_serve_enroll_status(ret),
				       ret == -EKEYREJECTED
					   ? "auth key already used: ask the admin "
					     "for a new one"
					   : rn_store_errmsg(s->store));
		return;
	}
	if (rn_store_node_touch(s->store, nd.id, now, req->offer.endpoints))
		log_warn(MAIN, "the endpoints of node %lld: %s", (long long)nd.id,
			 rn_store_errmsg(s->store));
	snprintf(actor, sizeof(actor), "node:%lld", (long long)nd.id);
	rn_coalesce_forget(s->co, nd.id); /* its offer now is the one it enrolls with */
	rn_serve_bump(s);
	rn_serve_offer(s, &nd, &req->offer, actor, now);
	ret = rn_serve_map(s, (uint64_t)nd.id, &version, &env, &len);
	if (ret) {
		rn_serve_error(r, 500,
			       "the node is enrolled but its netmap could not be made: "
			       "see the server's log, then poll");
		goto out;
	}
	r->status = 200;
	r->secret = true;
	r->body = rn_api_enroll_body(nd.id, token, env, len);
	r->len = r->body ? strlen(r->body) : 0;
	if (!r->body)
		rn_serve_error(r, 500, "out of memory");
	rn_serve_addr_text(peer, addr, sizeof(addr));
	log_info(MAIN, "%s node %lld \"%s\" (%s) from %s with auth key %lld, netmap version %llu",
		 again ? "re-enrolled" : "enrolled", (long long)nd.id, req->hostname, nd.dns_name,
		 addr, (long long)use.key_id, (unsigned long long)version);
out:
	OPENSSL_cleanse(token, sizeof(token));
	free(env);
	rn_store_node_clear(&nd);
	rn_store_authkey_use_clear(&use);
}

/*
 * Whether the request proves its maker holds the private half of its public key: a nonce this
 * server issued and nobody used, and a proof over it (common/enroll_proof.h). Refuses r if not.
 */
static bool rn_serve_proven(struct rn_serve *s, const struct sockaddr *peer,
			    const struct rn_api_enroll *req, struct rn_serve_reply *r)
{
	struct rn_enroll_transcript t = { .nonce = req->nonce,
					  .server_pub = rn_challenge_server_key(s->challenge),
					  .node_pub = req->public_key,
					  .auth_key = req->auth_key,
					  .hostname = req->hostname };

	if (!rn_challenge_take(s->challenge, req->nonce, rn_serve_now_ms())) {
		rn_serve_refuse_enroll(
		    s, peer, r, 401,
		    "the enrollment nonce is unknown, used or expired: ask "
		    "POST /v1/enroll/challenge for a new one and enroll at once");
		return false;
	}
	if (!rn_challenge_verify(s->challenge, &t, req->proof)) {
		rn_serve_refuse_enroll(s, peer, r, 401,
				       "the proof of the node key does not verify: only the holder "
				       "of the private key of \"public_key\" can enroll it");
		return false;
	}
	return true;
}

/* Whether peer is over its enrollment failures; if so r is the 429 that says for how long. */
static bool over_enroll_limit(struct rn_serve *s, const struct sockaddr *peer,
			      struct rn_serve_reply *r)
{
	unsigned retry = 0;

	if (rn_ratelimit_allow(s->rl, peer, rn_serve_now_ms(), &retry))
		return false;
	rn_serve_error(r, 429, "too many failed enrollments from this address: wait %u s", retry);
	r->retry_after_s = retry ? retry : 1;
	return true;
}

void rn_serve_enroll(struct rn_serve *s, const struct sockaddr *peer, const char *body, size_t len,
		     struct rn_serve_reply *r)
{
	uint8_t ula[RN_STORE_ULA_PREFIX_LEN];
	struct rn_api_enroll req;
	char err[RN_API_ERR_LEN];
	int ret;

	/* over the limit: refused without looking at the key, so guessing keys stays slow */
	if (over_enroll_limit(s, peer, r))
		return;
	rn_store_ula_prefix(s->store, ula); /* set when the store opened; never changes */
	ret = rn_api_parse_enroll(body, len, ula, &req, err, sizeof(err));
	if (ret) {
		rn_serve_refuse_enroll(s, peer, r, ret == -EMSGSIZE ? 413 : 400, err);
		return;
	}
	if (rn_serve_proven(s, peer, &req, r)) {
		pthread_mutex_lock(&s->lock);
		rn_serve_enroll_locked(s, peer, &req, r);
		pthread_mutex_unlock(&s->lock);
	}
	rn_api_enroll_clear(&req);
}

void rn_serve_challenge(struct rn_serve *s, const struct sockaddr *peer, const char *body,
			size_t len, struct rn_serve_reply *r)
{
	uint8_t nonce[RN_ENROLL_NONCE_LEN], client[RN_RATELIMIT_KEY_LEN];
	char err[RN_API_ERR_LEN];
	int ret;

	/* an address over its enrollment failures gets no nonce either */
	if (over_enroll_limit(s, peer, r))
		return;
	ret = rn_api_parse_empty(body, len, err, sizeof(err));
	if (ret) {
		rn_serve_error(r, ret == -EMSGSIZE ? 413 : 400, "%s", err);
		return;
	}
	rn_ratelimit_key(peer, client);
	if (rn_challenge_issue(s->challenge, client, rn_serve_now_ms(), nonce)) {
		rn_serve_error(r, 503, "no randomness for a nonce: try again");
		return;
	}
	r->status = 200;
	r->body = rn_api_challenge_body(nonce, rn_challenge_server_key(s->challenge),
					RN_CHALLENGE_TTL_MS / 1000);
	r->len = r->body ? strlen(r->body) : 0;
	if (!r->body)
		rn_serve_error(r, 500, "out of memory");
}

/* The answer to a node whose key expired: when, and how to renew it. */
static void rn_serve_key_expired(struct rn_serve_reply *r, const struct rn_store_node *nd)
{
	time_t at = (time_t)nd->key_expires_at;
	char when[32] = "?";
	struct tm tm;

	if (gmtime_r(&at, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rn_serve_error(r, 403,
		       "node %lld's key expired at %s: re-authenticate with rustynet up "
		       "--auth-key ...",
		       (long long)nd->id, when);
}

/* Whether node nd (as read when its poll began) has an expired key now, answered if so. */
static bool rn_serve_expired_now(struct rn_serve *s, const struct rn_store_node *nd,
				 struct rn_serve_reply *r)
{
	struct rn_store_node now = { 0 };
	bool expired = false;

	if (!rn_store_node_get_by_key(s->store, nd->public_key, &now) &&
	    rn_store_node_is_expired(&now, time(NULL)) && !now.expired) {
		rn_serve_key_expired(r, &now);
		expired = true;
	}
	rn_store_node_clear(&now);
	return expired;
}

bool rn_serve_auth(struct rn_serve *s, const char *auth, struct rn_store_node *nd,
		   struct rn_serve_reply *r)
{
	char token[RN_STORE_NODE_TOKEN_SIZE];
	int ret;

	if (!rn_api_bearer(auth, token)) {
		rn_serve_error(r, 401, "no node token: send Authorization: Bearer rnt_...");
		return false;
	}
	ret = rn_store_node_get_by_token(s->store, token, nd);
	OPENSSL_cleanse(token, sizeof(token));
	if (ret == -ENOENT || ret == -EINVAL) {
		rn_serve_error(r, 401,
			       "unknown node token: the node was removed or logged out; "
			       "run rustynet up --auth-key ...");
		return false;
	}
	if (ret) {
		rn_serve_error(r, 503, "the control database is busy: try again");
		return false;
	}
	if (!nd->expired && rn_store_node_is_expired(nd, time(NULL))) {
		rn_serve_key_expired(r, nd);
		rn_store_node_clear(nd);
		return false;
	}
	if (nd->expired) {
		rn_serve_error(r, 403, "node %lld is expired: run rustynet up --auth-key ...",
			       (long long)nd->id);
		rn_store_node_clear(nd);
		return false;
	}
	return true;
}

/*
 * Holds a node's change for later when it published one less than an interval ago (lock held).
 * true when held; false when it is to be published now. An offer is held unstored, so that its
 * audit row is written once, with the latest.
 */
static bool rn_serve_hold(struct rn_serve *s, const struct rn_store_node *nd, bool offered,
			  const char *routes, bool exit)
{
	if (rn_coalesce_note(s->co, nd->id, rn_serve_now_ms()))
		return false;
	if (offered && rn_coalesce_hold_offer(s->co, nd->id, routes, exit, nd->advertised_routes,
					      nd->advertises_exit))
		log_warn(MAIN, "holding the offer of node %lld: out of memory", (long long)nd->id);
	return true;
}

/*
 * Records the check-in (lock held). A node coming online is published at once; moved endpoints
 * and a changed offer at most once per node per interval (coalesce.h); an unchanged report
 * changes nothing.
 */
static void rn_serve_checkin(struct rn_serve *s, const struct rn_store_node *nd,
			     const struct rn_api_poll *req, int64_t now)
{
	bool was_online = nd->last_seen > 0 && now - nd->last_seen <= rn_mapper_online_s();
	bool moved = req->offer.endpoints && strcmp(req->offer.endpoints, nd->endpoints);
	const struct rn_coalesce_offer *held = rn_coalesce_held_offer(s->co, nd->id);
	const char *cur_routes = held ? held->routes : nd->advertised_routes;
	bool cur_exit = held ? held->exit : nd->advertises_exit;
	const char *routes = req->offer.routes ? req->offer.routes : cur_routes;
	bool exit = req->offer.has_exit ? req->offer.advertise_exit : cur_exit;
	bool offered = strcmp(routes, cur_routes) || exit != cur_exit;
	char actor[32];

	if (rn_store_node_touch(s->store, nd->id, now, req->offer.endpoints)) {
		log_warn(MAIN, "check-in of node %lld: %s", (long long)nd->id,
			 rn_store_errmsg(s->store));
		moved = false;
	}
	if ((!moved && !offered) || rn_serve_hold(s, nd, offered, routes, exit)) {
		if (!was_online)
			rn_serve_bump(s);
		return;
	}
	snprintf(actor, sizeof(actor), "node:%lld", (long long)nd->id);
	if (!offered || !rn_serve_offer(s, nd, &req->offer, actor, now))
		rn_serve_bump(s);
}

void rn_serve_publish_held(struct rn_serve *s, uint64_t now_ms)
{
	struct rn_coalesce_due d;
	bool bump = false;
	char actor[32];

	while (rn_coalesce_pop_due(s->co, now_ms, &d)) {
		struct rn_store_node base = { .id = d.id,
					      .advertised_routes = d.offer.base_routes,
					      .advertises_exit = d.offer.base_exit };
		struct rn_api_offer o = { .routes = d.offer.routes,
					  .has_exit = true,
					  .advertise_exit = d.offer.exit };

		snprintf(actor, sizeof(actor), "node:%lld", (long long)d.id);
		if (!d.has_offer || !rn_serve_offer(s, &base, &o, actor, time(NULL)))
			bump = true; /* endpoints, or an offer back to what is stored */
		rn_coalesce_offer_clear(&d.offer);
	}
	if (bump)
		rn_serve_bump(s);
}

static void rn_serve_abs_deadline(struct timespec *ts, int seconds)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += seconds;
}

/*
 * Whether the client of a long-poll has gone (closed its side): a node that restarts its poll
 * (a new offer) leaves the old one waiting here, and that one must not take the node's calls,
 * which it would answer into a closed connection.
 */
static bool rn_serve_client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

void rn_serve_poll(struct rn_serve *s, const char *auth, const char *body, size_t len, int fd,
		   struct rn_serve_reply *r)
{
	struct rn_store_node nd;
	struct rn_api_poll req;
	struct timespec deadline;
	char err[RN_API_ERR_LEN];
	uint8_t ula[RN_STORE_ULA_PREFIX_LEN];
	uint64_t version;
	int ret;

	rn_store_ula_prefix(s->store, ula); /* set when the store opened; never changes */
	ret = rn_api_parse_poll(body, len, ula, &req, err, sizeof(err));
	if (ret) {
		rn_serve_error(r, ret == -EMSGSIZE ? 413 : 400, "%s", err);
		return;
	}
	rn_serve_abs_deadline(&deadline, rn_serve_poll_s());
	pthread_mutex_lock(&s->lock);
	if (!rn_serve_auth(s, auth, &nd, r))
		goto out;
	rn_serve_checkin(s, &nd, &req, time(NULL));
	for (;;) {
		char *env = NULL;
		size_t n = 0;

		ret = rn_serve_map(s, (uint64_t)nd.id, &version, &env, &n);
		if (ret == -ENOENT && rn_serve_expired_now(s, &nd, r))
			break; /* its key expired while the poll waited */
		if (ret == -ENOENT) {
			rn_serve_error(r, 403, "node %lld is no longer in the network",
				       (long long)nd.id);
			break;
		}
		if (ret) {
			rn_serve_error(r, 500,
				       "the netmap could not be made: see the server's log");
			break;
		}
		if (version > req.since) {
			r->status = 200;
			r->body = env;
			r->len = n;
			break;
		}
		free(env);
		if (rn_serve_client_gone(fd)) {
			r->status =
			    204; /* nobody reads it; the node's newer poll takes what waits */
			break;
		}
		if (req.calls && rn_serve_take_calls(s, (uint64_t)nd.id, r))
			break;
		if (s->stopping) {
			rn_serve_error(r, 503, "the server is shutting down: poll again");
			break;
		}
		if (pthread_cond_timedwait(&s->changed, &s->lock, &deadline) == ETIMEDOUT) {
			r->status = 204;
			break;
		}
	}
	rn_store_node_clear(&nd);
out:
	pthread_mutex_unlock(&s->lock);
	rn_api_poll_clear(&req);
}

void rn_serve_logout(struct rn_serve *s, const char *auth, const char *body, size_t len,
		     struct rn_serve_reply *r)
{
	struct rn_store_node nd;
	char err[RN_API_ERR_LEN], actor[32];
	int ret;

	ret = rn_api_parse_empty(body, len, err, sizeof(err));
	if (ret) {
		rn_serve_error(r, ret == -EMSGSIZE ? 413 : 400, "%s", err);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (rn_serve_auth(s, auth, &nd, r)) {
		snprintf(actor, sizeof(actor), "node:%lld", (long long)nd.id);
		ret = rn_store_node_logout(s->store, actor, nd.id, time(NULL));
		if (ret) {
			rn_serve_error(r, 503, "%s", rn_store_errmsg(s->store));
		} else {
			rn_mapper_cache_forget(s->cache, (uint64_t)nd.id);
			rn_coalesce_forget(s->co, nd.id);
			rn_callq_forget(s->calls, (uint64_t)nd.id);
			rn_serve_bump(s);
			log_info(MAIN, "node %lld (%s) logged out", (long long)nd.id, nd.dns_name);
			r->status = 200;
			r->body = strdup("{}");
			r->len = r->body ? 2 : 0;
		}
		rn_store_node_clear(&nd);
	}
	pthread_mutex_unlock(&s->lock);
}
