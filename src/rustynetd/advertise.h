/* SPDX-License-Identifier: MIT */
/*
 * What this node offers the network: to be an exit node, and LAN routes it can forward to
 * (`rustynet up --advertise-exit-node --advertise-routes ...`, `rustynet route advertise`).
 * Kept in STATE/advertise.json (0600, written atomically) and sent in every enroll and poll;
 * nothing is forwarded until the admin or an autoApprover approves (the netmap's filter says
 * so, see router.h). The CIDR checks mirror the control server's, so a typo fails here first.
 */
#ifndef RN_DAEMON_ADVERTISE_H
#define RN_DAEMON_ADVERTISE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy/filter.h"

#define RN_ADVERTISE_FILE	"advertise.json"
#define RN_ADVERTISE_MAX_ROUTES 256 /* the protocol's cap on advertise_routes */
#define RN_ADVERTISE_MAX_BYTES	(64u << 10)

struct rn_advertise {
	bool exit;
	struct rn_filter_prefix routes[RN_ADVERTISE_MAX_ROUTES]; /* sorted, no duplicates */
	size_t n_routes;
};

/*
 * Parses one LAN route this node may advertise: a CIDR with host bits zero, not a default
 * route, clear of the mesh's 100.64.0.0/10 and of mesh6 (the network's /48; NULL: not known
 * yet, the server still checks). false with err quoting s and saying what to do.
 */
bool rn_advertise_cidr_parse(const char *s, const struct rn_filter_prefix *mesh6,
			     struct rn_filter_prefix *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Adds p in order; 0, -EEXIST (already there: nothing changes), -ENOSPC. */
int rn_advertise_add(struct rn_advertise *a, const struct rn_filter_prefix *p);
/* 0, -ENOENT (not advertised). */
int rn_advertise_remove(struct rn_advertise *a, const struct rn_filter_prefix *p);
bool rn_advertise_equal(const struct rn_advertise *a, const struct rn_advertise *b);

/* What a map granted this node as a router beyond what it offers. */
struct rn_advertise_refused {
	bool exit; /* the map says exit node; this node does not offer to be one */
	struct rn_filter_prefix routes[RN_ADVERTISE_MAX_ROUTES]; /* granted, not offered */
	size_t n_routes;
};

/*
 * Narrows a map's filter to what this node offers: f->exit stays only if offered->exit, and a
 * route of f->routes stays only inside one of offered->routes; the rest is dropped from f (so
 * the filter has no SUBNET or EXIT context for it and forwarding and NAT are not installed for
 * it) and listed in *refused. The control server decides who may use what a node offers; only
 * the node decides what it offers, so a compromised server cannot make any device a gateway.
 */
void rn_advertise_restrict(const struct rn_advertise *offered, struct rn_filter *f,
			   struct rn_advertise_refused *refused);
bool rn_advertise_refused_any(const struct rn_advertise_refused *r);

/* The routes as a JSON array of "ADDR/LEN" strings (new reference; NULL: no memory). */
json_t *rn_advertise_routes_json(const struct rn_advertise *a);
/* {"exit": bool, "routes": [...]}: the file's form and status's "advertised". */
json_t *rn_advertise_to_json(const struct rn_advertise *a);
/* Strict: the form above and nothing else. 0 or -EINVAL with err saying why. */
int rn_advertise_from_json(const json_t *j, struct rn_advertise *out, char *err, size_t errlen);

/* -ENOENT leaves *out empty (advertise nothing); -EBADMSG for a damaged file (err says). */
int rn_advertise_load(const char *dir, struct rn_advertise *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int rn_advertise_save(const char *dir, const struct rn_advertise *a)
    __attribute__((warn_unused_result));

#endif
