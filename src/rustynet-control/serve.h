/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control serve`: the state shared by the HTTPS front (serve.c) and the protocol's
 * endpoints (serve_api.c). One store handle serves every connection thread, under one lock:
 * SQLite handles are one thread at a time, and the epoch, snapshot and map cache change with it.
 */
#ifndef RN_CTL_SERVE_H
#define RN_CTL_SERVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "control/mapper.h"
#include "control/store.h"
#include "relay/relay.h"
#include "rustynet-control/callq.h"
#include "rustynet-control/challenge.h"
#include "rustynet-control/coalesce.h"
#include "rustynet-control/connlimit.h"
#include "rustynet-control/ratelimit.h"

enum {
	RN_SERVE_POLL_S = 25,	     /* a long-poll without change answers 204 after this */
	RN_SERVE_WATCH_MS = 200,     /* how often the audit log is checked for others' changes */
	RN_SERVE_ONLINE_CHECK_S = 5, /* how often nodes going offline are looked for */
	/* an ephemeral node is removed once it has not polled for this long (offline after 60) */
	RN_SERVE_EPHEMERAL_GONE_S = 180,
};

struct rn_admin_api;

struct rn_serve {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* broadcast on every epoch bump and at shutdown */
	/* under lock: */
	struct rn_store *store;
	struct rn_mapper_cache *cache;
	struct rn_mapper_epoch *snap; /* the snapshot of epoch, made on first need */
	uint64_t epoch;		      /* bumped by every change */
	struct rn_coalesce *co;	      /* nodes' own changes held back (coalesce.h) */
	struct rn_callq *calls;	      /* "call me now" waiting for their callee (callq.h) */
	bool stopping;
	/* set before any thread starts: the STUN responder's addresses every map lists first */
	union rn_netmap_endpoint own_stun[RN_STORE_STUN_OWN_MAX];
	size_t n_own_stun;
	/* set before any thread starts: the embedded relay (serve --relay-udp/--relay-tls) */
	struct rn_netmap_relay own_relay;
	bool has_own_relay;
	const char *state; /* the state dir, for the relay secret */
	/* under lock: the network's relay secret (secret), read when first there (an admin's
	 * `relay add` may make it while serve runs) */
	uint8_t relay_secret[RN_RELAY_SECRET_LEN];
	bool has_relay_secret, relay_secret_warned;
	/* only the watcher thread: */
	int64_t audit_id;
	struct rn_ratelimit *rl;	/* locks itself */
	struct rn_connlimit *conns;	/* locks itself: open connections per client */
	struct rn_challenge *challenge; /* locks itself: the enrollment key and nonces */
	struct rn_admin_api *admin;	/* the admin API's rate limits (admin_api.h) */
};

/* An answer: status, a malloc'd body (NULL: none) and an optional Retry-After. */
struct rn_serve_reply {
	unsigned status;
	char *body;
	size_t len;
	bool secret;		/* the body holds a token: wiped when sent */
	unsigned retry_after_s; /* 429 */
	char etag[24];		/* "" or an ETag header's value (the admin API's policy) */
	char allow[32];		/* a 405's Allow header; "": POST */
};

/* Marks a change (lock held): new epoch, every long-poll wakes. */
void rn_serve_bump(struct rn_serve *s);
/* Publishes the nodes' changes held until now_ms (monotonic): the watcher's, lock held. */
void rn_serve_publish_held(struct rn_serve *s, uint64_t now_ms);
/*
 * The snapshot of the current epoch, made if needed (lock held). NULL on failure, logged.
 */
struct rn_mapper_epoch *rn_serve_snapshot(struct rn_serve *s);

/* The endpoints (serve_api.c). body is the request's, peer its source address. */
void rn_serve_enroll(struct rn_serve *s, const struct sockaddr *peer, const char *body, size_t len,
		     struct rn_serve_reply *r);
/* POST /v1/enroll/challenge: a nonce and the server's enrollment key. */
void rn_serve_challenge(struct rn_serve *s, const struct sockaddr *peer, const char *body,
			size_t len, struct rn_serve_reply *r);
/* How long a long-poll waits for a change: RN_SERVE_POLL_S (shorter in test builds on demand). */
int64_t rn_serve_poll_s(void);
/* POST /v1/poll; fd is the connection's socket (-1: unknown), to notice a client gone away. */
void rn_serve_poll(struct rn_serve *s, const char *auth, const char *body, size_t len, int fd,
		   struct rn_serve_reply *r);
void rn_serve_logout(struct rn_serve *s, const char *auth, const char *body, size_t len,
		     struct rn_serve_reply *r);
/* POST /v1/call (serve_call.c): {"peer": ID}, have that peer call this node now. */
void rn_serve_call(struct rn_serve *s, const char *auth, const char *body, size_t len,
		   struct rn_serve_reply *r);
/* A poll's answer when calls wait for node id (lock held): true with r set to them. */
bool rn_serve_take_calls(struct rn_serve *s, uint64_t id, struct rn_serve_reply *r);
/* The node of a Bearer header, lock held; fills r and returns false when there is none. */
bool rn_serve_auth(struct rn_serve *s, const char *auth, struct rn_store_node *nd,
		   struct rn_serve_reply *r);
/* Sets r to status with {"error":msg}. */
void rn_serve_error(struct rn_serve_reply *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
