/* SPDX-License-Identifier: MIT */
/*
 * The node side of the control protocol (docs/control-protocol.md) over libcurl: enroll and
 * logout, run synchronously by the daemon's loop, and the long-poll, run in a thread of its
 * own that hands each envelope to the loop through an eventfd. The thread never decodes or
 * applies a map: the loop verifies and applies, so the data plane is only touched from there.
 */
#ifndef RN_DAEMON_CLIENT_H
#define RN_DAEMON_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/authkey_format.h"
#include "rustynetd/advertise.h"

enum {
	RN_CLIENT_URL_MAX = 512,       /* server URL, bytes with the NUL */
	RN_CLIENT_TOKEN_MAX = 64,      /* "rnt_" + 43 base64url, and room */
	RN_CLIENT_HOSTNAME_MAX = 256,  /* 1-255 bytes and the NUL */
	RN_CLIENT_ERR_MAX = 512,       /* messages for people */
	RN_CLIENT_MAX_ENDPOINTS = 16,  /* reported per request, as the protocol caps */
	RN_CLIENT_MAX_REFLEXIVE = 2,   /* of those, server-reflexive: one per address family */
	RN_CLIENT_MAX_BODY = 16 << 20, /* bytes of any response we read */
	RN_CLIENT_CONNECT_TIMEOUT_S = 5,
	RN_CLIENT_REQUEST_TIMEOUT_S = 15, /* enroll, logout */
	RN_CLIENT_POLL_TIMEOUT_S = 35,	  /* the server answers 204 after 25 s */
	RN_CLIENT_BACKOFF_MIN_MS = 1000,
	RN_CLIENT_BACKOFF_MAX_MS = 30000,
	RN_CLIENT_CALLS_MAX = 16, /* calls taken from one poll answer */
};

/* What a node keeps to talk to its control server (STATE/control.json). */
struct rn_login {
	char server_url[RN_CLIENT_URL_MAX];	/* "https://host:port", no final '/' */
	uint8_t tls_pin[RN_AUTHKEY_HASH_LEN];	/* SHA-256 of the server's SPKI */
	uint8_t netmap_pub[RN_AUTHKEY_PUB_LEN]; /* Ed25519 key that signs our netmaps */
	char node_token[RN_CLIENT_TOKEN_MAX];	/* secret: wiped by rn_login_wipe */
	char hostname[RN_CLIENT_HOSTNAME_MAX];
	uint64_t node_id;
};

void rn_login_wipe(struct rn_login *l);

/* Once per process, before any thread starts. 0 or -EIO. */
int rn_client_global_init(void);
void rn_client_global_cleanup(void);

/* Whether url is "https://" and a host, without spaces or controls; false with err set. */
bool rn_client_url_ok(const char *url, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Endpoints of this host where peers can reach port: the unicast, non-loopback addresses of
 * every up interface but the tunnel (skip_ifname), as "ip:port" / "[ip]:port". Returns how many
 * were written (at most RN_CLIENT_MAX_ENDPOINTS).
 */
size_t rn_client_host_endpoints(const char *skip_ifname, uint16_t port,
				char out[RN_CLIENT_MAX_ENDPOINTS][64]);
/*
 * What each request reports: the host endpoints, then the server-reflexive ones last set with
 * rn_client_set_reflexive (those equal to a host endpoint left out). At most
 * RN_CLIENT_MAX_ENDPOINTS; the reflexive ones always fit.
 */
size_t rn_client_endpoints(const char *skip_ifname, uint16_t port,
			   char out[RN_CLIENT_MAX_ENDPOINTS][64]);
/*
 * The server-reflexive endpoints ("ip:port" / "[ip]:port", at most RN_CLIENT_MAX_REFLEXIVE)
 * every later request reports; thread-safe. true if they differ from the previous set.
 */
bool rn_client_set_reflexive(const char (*v)[64], size_t n);

/* How a request ended, when it did not end in a 2xx. */
enum rn_client_failure {
	RN_CLIENT_OK = 0,
	RN_CLIENT_UNREACHABLE,	/* transport: DNS, connect, TLS, timeout */
	RN_CLIENT_WRONG_SERVER, /* the TLS key is not the pinned one */
	RN_CLIENT_REFUSED,	/* 401/403: the credential is no good */
	RN_CLIENT_BAD_REQUEST,	/* 400, 404, 405, 413: retrying the same will not help */
	RN_CLIENT_RETRY,	/* 429, 5xx, a malformed answer: try again later */
};

struct rn_client_enrolled {
	uint64_t node_id;
	char node_token[RN_CLIENT_TOKEN_MAX]; /* secret */
	char *envelope;			      /* owned: the signed netmap, for rn_netmap_decode */
	size_t envelope_len;
};

/*
 * POST /v1/enroll/challenge, then POST /v1/enroll with the proof that this node holds
 * private_key (common/enroll_proof.h; the key itself never leaves the node). login gives the
 * server, pin and hostname (its token is not used); adv what the node offers
 * (advertise_exit, advertise_routes). On success
 * returns RN_CLIENT_OK and fills *out (free with rn_client_enrolled_free); otherwise err says
 * what went wrong and what to do.
 */
enum rn_client_failure rn_client_enroll(const struct rn_login *login, const char *secret,
					const uint8_t private_key[32], const char *skip_ifname,
					uint16_t port, const struct rn_advertise *adv,
					struct rn_client_enrolled *out, char *err, size_t errlen);
void rn_client_enrolled_free(struct rn_client_enrolled *e);
/*
 * Parses a 200 answer to enroll (hostile input: the server is trusted only after the netmap in
 * it verifies). false if it is not {"node_id": >= 1, "node_token": "rnt_...", "netmap": {...}};
 * *out then holds nothing to free.
 */
bool rn_client_enrolled_parse(const char *body, size_t len, struct rn_client_enrolled *out)
    __attribute__((warn_unused_result));

/* The answer to POST /v1/enroll/challenge (hostile input, like every answer). */
struct rn_client_challenge {
	uint8_t nonce[32];
	uint8_t server_key[32]; /* X25519: the proof is made for it */
};
/* false if body is not {"nonce": 43 base64url, "server_key": 44 base64, ...}; *out zeroed. */
bool rn_client_challenge_parse(const char *body, size_t len, struct rn_client_challenge *out)
    __attribute__((warn_unused_result));

/* POST /v1/logout with the node token. */
enum rn_client_failure rn_client_logout(const struct rn_login *login, char *err, size_t errlen);

/* One POST /v1/poll. A 200's body goes to out->envelope (for free()); a 204 leaves it NULL.
 * stop, when set, aborts the request within about a second. connected (may be NULL) is called
 * with arg once the TLS session with the pinned server is up: a long-poll may then wait 25 s
 * for its answer, and the node is connected meanwhile. *conn (NULL at first) keeps the
 * connection for the next poll after an answer, and is dropped after any failure or abort:
 * polls on one connection cost the server one TLS handshake and one thread, not one each
 * (every thread's TLS handshake leaves ~190 bytes behind in gnutls: docs/performance.md).
 * Close it with rn_client_conn_close. calls: say the node takes calls ("calls": true), which a
 * server from before POST /v1/call refuses (400 naming "calls"). */
struct rn_client_polled {
	char *envelope;
	size_t envelope_len;
	uint64_t calls[RN_CLIENT_CALLS_MAX]; /* a 200 of calls: the callers' node ids, unchecked */
	size_t n_calls;
	long retry_after_s; /* the server's Retry-After, 0 for none */
};
enum rn_client_failure rn_client_poll_once(const struct rn_login *login, const char *skip_ifname,
					   uint16_t port, uint64_t since,
					   const struct rn_advertise *adv, bool calls,
					   atomic_bool *stop, void (*connected)(void *arg),
					   void *arg, void **conn, struct rn_client_polled *out,
					   char *err, size_t errlen);
void rn_client_conn_close(void **conn);

/*
 * Whether a poll's 200 is {"calls":[{"from":ID},...]} (docs/control-protocol.md) rather than an
 * envelope; if so the first max ids >= 1 go to from[], *n of them (entries of another shape are
 * skipped). Hostile input: the ids mean nothing until found in the verified map.
 */
bool rn_client_calls_parse(const char *body, size_t len, uint64_t *from, size_t max, size_t *n)
    __attribute__((warn_unused_result));
/*
 * POST /v1/call {"peer": peer}: asks the server to have peer call this node now. stop and
 * *conn as in rn_client_poll_once. *retry_after_s: the server's Retry-After (429), 0 for none.
 */
enum rn_client_failure rn_client_call(const struct rn_login *login, uint64_t peer,
				      atomic_bool *stop, void **conn, long *retry_after_s,
				      char *err, size_t errlen);

/* ---- the long-poll thread (poll.c) ---- */

struct rn_client;

/* What the loop shows in status. */
struct rn_client_status {
	bool connected; /* the last request reached the server and was answered */
	bool refused;	/* 401/403: polling stopped, the node needs a new login */
	char last_error[RN_CLIENT_ERR_MAX]; /* "" when the last request went well */
};

/*
 * Starts polling with a copy of login. since is the version of the map the node runs;
 * connected is what status says until the first poll ends (true right after an enroll); adv is
 * what each poll reports the node offers (copied). The
 * returned client's fd (rn_client_fd) becomes readable when an envelope or a status change
 * is waiting. 0 or -errno.
 */
int rn_client_start(const struct rn_login *login, const char *ifname, uint16_t port, uint64_t since,
		    bool connected, const struct rn_advertise *adv, struct rn_client **out);
/* A new offer: the in-flight long-poll is restarted with it, so the server has it within ~1 s. */
void rn_client_set_advertise(struct rn_client *c, const struct rn_advertise *adv);
/*
 * This host's addresses changed: the in-flight long-poll is restarted, so that the server learns
 * the new endpoints within ~1 s and a poll whose connection left from a removed address does
 * not wait out its timeout (missing every map meanwhile). NULL is fine.
 */
void rn_client_repoll(struct rn_client *c);
/* Stops the thread (an in-flight request is aborted within ~1 s) and frees. NULL is fine. */
void rn_client_stop(struct rn_client *c);
int rn_client_fd(const struct rn_client *c);
/* Clears the fd's readiness and takes the waiting envelope (NULL if none), for free(). */
char *rn_client_take(struct rn_client *c, size_t *len);
/*
 * The loop's verdict on the envelope it took: the version the node now runs (the next poll
 * asks for anything above it), and whether the map was accepted. The poll waits for this, so
 * a map is never fetched twice, and backs off after a refused one instead of fetching it
 * again at once.
 */
void rn_client_ack(struct rn_client *c, uint64_t version, bool accepted);
void rn_client_get_status(struct rn_client *c, struct rn_client_status *out);
/* Takes the calls received since the last take (callers' node ids, unchecked), at most max. */
size_t rn_client_take_calls(struct rn_client *c, uint64_t *from, size_t max);

#endif
