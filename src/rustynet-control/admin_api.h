/* SPDX-License-Identifier: MIT */
/*
 * The admin API (docs/admin-api.md): JSON under /admin/v1/ on `serve`'s HTTPS listener, for
 * scripts and (later) the browser console. A call carries `Authorization: Bearer rnadm_...`, an
 * admin token made by `rustynet-control token create` (store_token.c); its scope decides what
 * it may do:
 *   read   every GET
 *   write  read, and every change (nodes, routes, exit, policy, auth keys)
 *   keys   read, and creating and revoking auth keys only: a provisioning job can enroll
 *          machines without being able to change the policy or the nodes
 * A missing, unknown, revoked or expired token gets 401 without saying which; a token outside
 * its scope 403. Changes go through the same store and CLI helpers as the admin commands (ctl.h)
 * and are audited there with the actor "token:NAME"; reads are not audited, only noted in the
 * token's last_used (to the minute). Requests are rate-limited per client address (IPv6: /64):
 * all calls, and more tightly, failed authentications. Errors are {"error": "..."}, as the node
 * API's.
 *
 * serve.c routes every /admin/v1/ request here after reading its body (at most RN_API_BODY_MAX);
 * this file takes the server's lock around each store call.
 */
#ifndef RN_CTL_ADMIN_API_H
#define RN_CTL_ADMIN_API_H

#include <stddef.h>
#include <sys/socket.h>

#include "rustynet-control/serve.h"

#define RN_ADMIN_API_PREFIX "/admin/v1/"

enum {
	RN_ADMIN_API_BURST = 100,	/* calls one address may make in a row */
	RN_ADMIN_API_REFILL_MS = 50,	/* then one more per this long: 20/s */
	RN_ADMIN_AUTH_FAILS = 10,	/* failed authentications in a row */
	RN_ADMIN_AUTH_REFILL_MS = 6000, /* then one more per this long */
	RN_ADMIN_AUDIT_PAGE = 100,	/* GET audit's default limit */
	RN_ADMIN_AUDIT_MAX = 1000,	/* and its largest */
};

struct rn_admin_api;
struct MHD_Connection;

/* The API's own state (its rate limits); NULL when out of memory. */
struct rn_admin_api *rn_admin_api_new(void);
void rn_admin_api_free(struct rn_admin_api *a);

/*
 * Answers one request: url starts with RN_ADMIN_API_PREFIX; headers (Authorization, If-Match)
 * and the query string are read from conn; body is NUL-terminated (NULL: none). Fills r.
 */
void rn_admin_api_handle(struct rn_serve *s, struct MHD_Connection *conn,
			 const struct sockaddr *peer, const char *method, const char *url,
			 const char *body, size_t len, struct rn_serve_reply *r);

#endif
