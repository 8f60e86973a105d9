/* SPDX-License-Identifier: MIT */
/*
 * Open connections per client, where a client is an IPv4 address or an IPv6 /64
 * (rn_ratelimit_key): libmicrohttpd's own per-IP limit counts each IPv6 address apart, so one host
 * with a /64 could take every connection the server has. The server asks before accepting
 * (allow), counts what it accepted (add) and uncounts it when closed (release). Thread-safe.
 */
#ifndef RN_CTL_CONNLIMIT_H
#define RN_CTL_CONNLIMIT_H

#include <stdbool.h>
#include <sys/socket.h>

struct rn_connlimit;

/* max: connections one client may hold at once. NULL when out of memory. */
struct rn_connlimit *rn_connlimit_new(unsigned max);
void rn_connlimit_free(struct rn_connlimit *cl);
/* Whether the client of addr holds fewer than max connections. */
bool rn_connlimit_allow(struct rn_connlimit *cl, const struct sockaddr *addr);
/* Counts one connection of addr's client: 0, or -ENOMEM (not counted). */
int rn_connlimit_add(struct rn_connlimit *cl, const struct sockaddr *addr);
/* Uncounts one connection that rn_connlimit_add counted. */
void rn_connlimit_release(struct rn_connlimit *cl, const struct sockaddr *addr);
/* Connections counted for addr's client. */
unsigned rn_connlimit_count(struct rn_connlimit *cl, const struct sockaddr *addr);

#endif
