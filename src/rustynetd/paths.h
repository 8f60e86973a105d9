/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of src/path/choose.h: one chooser per map peer, given the map's endpoints
 * after each map and the data plane's view of the peer once a second; the endpoint it picks
 * goes to the data plane. status reads it back: per peer, the endpoint in use and when the path
 * last changed.
 */
#ifndef RN_DAEMON_PATHS_H
#define RN_DAEMON_PATHS_H

#include <stdbool.h>
#include <stdint.h>

#include "path/choose.h"
#include "wg/config.h"

struct rn_paths_entry {
	uint8_t key[RN_WG_KEY_LEN];
	struct rn_path_peer path;
	bool probing; /* the data plane has our probe endpoints for the peer */
};

struct rn_paths {
	struct rn_paths_entry *v; /* owned: one per peer of the running map */
	size_t n;
	uint64_t last_tick_ms; /* CLOCK_BOOTTIME */
	uint64_t tick_ms;      /* until the next: 1000, or less while a chooser is busy */
};

struct rn_daemon;

/* After each applied map: choosers for its peers (new ones start on their first endpoint). */
void rn_daemon_paths_apply(struct rn_daemon *d);
/* Each turn of the loop; does its work once a second (4 times while a path's liveness is in
 * question). Returns the ms until it next has work: the loop sleeps no longer. */
int rn_daemon_paths_tick(struct rn_daemon *d);
/* The host's addresses changed: re-check every peer's path. */
void rn_daemon_paths_network_changed(struct rn_daemon *d);
/* At logout and exit. */
void rn_daemon_paths_free(struct rn_daemon *d);
enum { RN_PATHS_ADDR_STRLEN = 64 };
/* "ip:port", "[ip]:port" or "none". */
void rn_daemon_paths_addr_str(const union rn_path_addr *a, char *out, size_t cap);
/* The chooser of the peer with this key, or NULL. */
const struct rn_path_peer *rn_daemon_paths_find(const struct rn_daemon *d,
						const uint8_t key[RN_WG_KEY_LEN]);

#endif
