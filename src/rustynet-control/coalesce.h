/* SPDX-License-Identifier: MIT */
/*
 * Coalescing of what nodes report about themselves (endpoints, offered routes and exit), so that
 * a node cannot make the server rebuild, re-version and re-sign every other node's map on each
 * of its polls. A node's change is published (the epoch bumped) at once when that node published
 * nothing in the last interval; later ones within the interval are held and published together
 * when it ends. Held offers are kept here, not yet stored, so that the audit log gets at most one
 * node.set_routes row per node per interval. Admin changes never come here: they are published
 * at once. Pure bookkeeping on a monotonic clock; not thread-safe (the server's lock covers it).
 */
#ifndef RN_CTL_COALESCE_H
#define RN_CTL_COALESCE_H

#include <stdbool.h>
#include <stdint.h>

enum {
	RN_COALESCE_INTERVAL_MS = 1000, /* at most one publication per node per this long */
};

struct rn_coalesce;

/* An offer held for later: what the node reported last, and what the store had then. */
struct rn_coalesce_offer {
	char *routes; /* owned: compact JSON array of CIDRs */
	bool exit;
	char *base_routes; /* owned: the stored routes when the first held offer came */
	bool base_exit;
};

/* A node whose held change is due: publish it (and store offer when has_offer). */
struct rn_coalesce_due {
	int64_t id;
	bool has_offer;
	struct rn_coalesce_offer offer; /* owned by the caller: rn_coalesce_offer_clear() */
};

struct rn_coalesce *rn_coalesce_new(void);
void rn_coalesce_free(struct rn_coalesce *c);

/*
 * Node id changed something at now_ms. true: publish it now (it is recorded as published);
 * false: it is held, and rn_coalesce_pop_due() returns id once its interval is over.
 * false also when out of memory, which only delays the change to the next publication.
 */
bool rn_coalesce_note(struct rn_coalesce *c, int64_t id, uint64_t now_ms);
/* The offer of id held for later; NULL when none is. Valid until the next call that changes c. */
const struct rn_coalesce_offer *rn_coalesce_held_offer(const struct rn_coalesce *c, int64_t id);
/*
 * Holds the node's latest offer (id must be held: rn_coalesce_note returned false), replacing an
 * older held one; base is what the store has, kept from the first. -ENOMEM or 0.
 */
int rn_coalesce_hold_offer(struct rn_coalesce *c, int64_t id, const char *routes, bool exit,
			   const char *base_routes, bool base_exit);
/*
 * One node whose held change is due at now_ms, into *out (recorded as published at now_ms).
 * false when none is. Entries idle for a whole interval are dropped on the way.
 */
bool rn_coalesce_pop_due(struct rn_coalesce *c, uint64_t now_ms, struct rn_coalesce_due *out);
/* Forgets id (removed or logged out): nothing of it is published later. */
void rn_coalesce_forget(struct rn_coalesce *c, int64_t id);
/* Nodes tracked (held or published within an interval). */
unsigned rn_coalesce_count(const struct rn_coalesce *c);
void rn_coalesce_offer_clear(struct rn_coalesce_offer *o);

#endif
