/* SPDX-License-Identifier: MIT */
/*
 * Netmaps for nodes: what the control server sends each node, computed for that node alone
 * from the store (nodes, users, settings) and the policy in force (docs/control-protocol.md).
 *
 * Two layers, so that a change costs one load of the store and one parse of the policy however
 * many nodes there are:
 *   - an epoch: an immutable snapshot of the store and the parsed policy at one moment. The
 *     server makes one per change and builds every node's map from it;
 *   - a cache of each node's last map: its content hash, version and signed envelope. A map whose
 *     content (everything but version, issued_at and the peers' last_seen) did not change keeps
 *     its version and envelope; a changed one gets the next version from the store.
 * Neither is thread-safe: the server calls them under its lock.
 */
#ifndef RN_CONTROL_MAPPER_H
#define RN_CONTROL_MAPPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/store.h"
#include "control/world.h"
#include "netmap/netmap.h"

enum {
	RN_MAPPER_ONLINE_S = 60,  /* a node polled this recently is online in others' maps */
	RN_MAPPER_RESIGN_S = 120, /* a kept envelope older than this is signed again when asked */
	RN_MAPPER_CRED_GRID_S = 12 * 3600,  /* relay credentials change at multiples of this */
	RN_MAPPER_CRED_VALID_S = 24 * 3600, /* ... and last this long past the next multiple */
};

struct rn_mapper_epoch;
struct rn_mapper_cache;

/* What the running server adds to every map itself (all borrowed, copied by the epoch). */
struct rn_mapper_own {
	/* its STUN responder's addresses (at most RN_STORE_STUN_OWN_MAX; NULL, 0: none), listed
	 * first in "stun", before the admin's "stun_servers" */
	const union rn_netmap_endpoint *stun;
	size_t n_stun;
	/* its embedded relay (NULL: none), listed first in "relays", before the admin's */
	const struct rn_netmap_relay *relay;
	/* the relays' shared secret (RN_RELAY_SECRET_LEN bytes; NULL: unknown, and then the maps
	 * list no relay, since the credential cannot be made) */
	const uint8_t *relay_secret;
};

/*
 * Snapshots store and its policy at time now. serial names the epoch (the server's counter; the
 * cache reuses a map it built at the same serial). A stored policy that no longer parses is
 * logged and treated as deny-all, so no node is granted more than before. own: see above (NULL:
 * nothing of the server's own). Returns 0 or -errno with err set.
 */
int rn_mapper_epoch_load(struct rn_store *store, uint64_t serial, int64_t now,
			 const struct rn_mapper_own *own, struct rn_mapper_epoch **out, char *err,
			 size_t errlen);
void rn_mapper_epoch_free(struct rn_mapper_epoch *e);
uint64_t rn_mapper_epoch_serial(const struct rn_mapper_epoch *e);
/* What e was made from, borrowed for e's lifetime (e.g. for autoApprovers at enrollment). */
const struct rn_control_world *rn_mapper_epoch_world(const struct rn_mapper_epoch *e);
const struct rn_policy *rn_mapper_epoch_policy(const struct rn_mapper_epoch *e);
/* How long after its last poll a node counts as online: RN_MAPPER_ONLINE_S (test builds may
 * shorten it, with shorter polls). */
int64_t rn_mapper_online_s(void);
/* Whether some node's online state at now differs from what the epoch says, or a node's key
 * expired since: time to reload. */
bool rn_mapper_epoch_online_changed(const struct rn_mapper_epoch *e, int64_t now);

/*
 * The relay credential's expiry for a map made at now: the next multiple (after now) of
 * RN_MAPPER_CRED_GRID_S plus RN_MAPPER_CRED_VALID_S. On a fixed grid, so that every map does not
 * change on every epoch: the credential (and so each node's map) changes only when now crosses
 * a grid line, and a map made at now holds one valid for at least RN_MAPPER_CRED_VALID_S.
 */
uint64_t rn_mapper_cred_expiry(int64_t now);
/* Whether the epoch's maps carry a credential that at now is off the grid: time to reload. */
bool rn_mapper_epoch_cred_changed(const struct rn_mapper_epoch *e, int64_t now);

/*
 * The map of node_id at epoch e, with version 0 and issued_at e's time, not yet signed; free
 * with rn_netmap_free(). Returns 0, -ENOENT (no such node, or it is expired: it gets no map),
 * -ENOMEM.
 */
int rn_mapper_build(const struct rn_mapper_epoch *e, uint64_t node_id, struct rn_netmap *m,
		    char *err, size_t errlen);

/* signing_priv is copied. NULL when out of memory. */
struct rn_mapper_cache *rn_mapper_cache_new(const uint8_t signing_priv[RN_NETMAP_KEY_LEN]);
void rn_mapper_cache_free(struct rn_mapper_cache *c);
/* Tests: the clock (unix seconds) that ages envelopes; NULL: the wall clock. */
void rn_mapper_cache_set_clock(struct rn_mapper_cache *c, int64_t (*clock)(void));

/*
 * The signed envelope of node_id at epoch e and its version, built (and versioned through
 * store) only if this node's entry is older than e; an envelope older than RN_MAPPER_RESIGN_S
 * is signed again with the same version and a fresh issued_at. *envelope stays owned by the cache
 * and is valid until the next call on it: copy it before unlocking. Returns 0, -ENOENT (no map for
 * this node: unknown or expired), or -errno with err set.
 */
int rn_mapper_cache_get(struct rn_mapper_cache *c, const struct rn_mapper_epoch *e,
			struct rn_store *store, uint64_t node_id, uint64_t *version,
			const char **envelope, size_t *len, char *err, size_t errlen);
/* Drops node_id's entry (it was removed or logged out). */
void rn_mapper_cache_forget(struct rn_mapper_cache *c, uint64_t node_id);

#endif
