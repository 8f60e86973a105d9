/* SPDX-License-Identifier: MIT */
/*
 * The relay inside `rustynet-control serve --relay-udp ADDR:PORT --relay-tls ADDR:PORT`: the
 * relay server of src/relay (server.h) in a thread of its own, with the control server's TLS
 * certificate and key and the network's relay secret; and that secret, a file in the state dir
 * (RN_CTL_RELAY_SECRET) shared by every relay of the network, since each node's map carries one
 * credential for all of them (docs/nat-traversal.md, "Relays in the map").
 */
#ifndef RN_CTL_RELAYSRV_H
#define RN_CTL_RELAYSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netmap/netmap.h"
#include "relay/relay.h"

#define RN_CTL_RELAY_SECRET "relay.secret" /* in the state dir, mode 0600 */

enum { RN_SERVE_RELAY_UDP_PORT = 3479 }; /* serve --relay's UDP port (3478 is STUN's) */

/*
 * The relay secret of the state dir state: read (refused if group or others may read it); if
 * there is none, made first when create is set (0600), else -ENOENT. 0 or -errno with err set.
 */
int rn_ctl_relay_secret(const char *state, bool create, uint8_t secret[RN_RELAY_SECRET_LEN],
			char *err, size_t errlen) __attribute__((warn_unused_result));

struct rn_ctl_relay_config {
	const char *state;	/* the state dir: its secret, TLS certificate and key */
	const char *udp, *tls;	/* "ADDR:PORT" / "[ADDR]:PORT", NULL: not offered; one at least */
	const char *stats_file; /* NULL: none */
	/* for a wildcard listen address: what nodes reach (serve --listen, the cert's IPs) */
	const union rn_netmap_endpoint *https;
	const struct rn_netmap_ip *hosts;
	size_t n_hosts;
};

struct rn_ctl_relay;

/*
 * Binds the relay's sockets and fills *adv with what the maps say of it (named
 * RN_STORE_RELAY_OWN_NAME; the pin of the control server's certificate) and secret with the
 * network's (made if there is none). NULL with err set.
 */
struct rn_ctl_relay *rn_ctl_relay_open(const struct rn_ctl_relay_config *cfg,
				       struct rn_netmap_relay *adv,
				       uint8_t secret[RN_RELAY_SECRET_LEN], char *err,
				       size_t errlen);
/* Starts its thread. 0 or -errno. */
int rn_ctl_relay_start(struct rn_ctl_relay *r);
/* Stops the thread (within a second) if it runs, logs the counters, frees. NULL: nothing. */
void rn_ctl_relay_free(struct rn_ctl_relay *r);

#endif
