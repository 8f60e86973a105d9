/* SPDX-License-Identifier: MIT */
/*
 * The Magic DNS server: UDP and TCP port 53 on the service addresses, served by a thread of
 * its own so neither a flood nor a slow upstream ever stalls the daemon's loop. Zone answers
 * come from src/dns; other names go to the upstreams of the current view, from short-lived
 * worker threads (at most RN_RESOLVER_MAX_WORKERS; past that, SERVFAIL at once). The daemon
 * swaps the view (zone + upstreams) whenever a map is applied or protected mode changes.
 */
#ifndef RN_DAEMON_RESOLVER_H
#define RN_DAEMON_RESOLVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"
#include "netmap/netmap.h"

enum {
	RN_RESOLVER_PORT = 53,
	RN_RESOLVER_MAX_UPSTREAMS = 8,
	RN_RESOLVER_TIMEOUT_MS = 2000, /* for one forwarded query, all upstreams together */
	RN_RESOLVER_MAX_WORKERS = 64,  /* forwarded UDP queries in flight */
	/*
	 * TCP clients (RFC 7766 section 6.2): each has a thread of its own, apart from the UDP
	 * forwarding budget, so TCP never starves UDP or forwarding. A new connection beyond a
	 * cap closes the longest-idle one (of its source address at the per-address cap, else of
	 * all) and is refused only when none is idle: idle connections, from one address or many,
	 * never keep anyone else's query out.
	 */
	RN_RESOLVER_MAX_TCP = 32,	  /* TCP clients at once */
	RN_RESOLVER_MAX_TCP_PER_ADDR = 8, /* from one source address */
	RN_RESOLVER_TCP_FIRST_MS = 10000, /* a new TCP client must send its first query by then */
	RN_RESOLVER_TCP_IDLE_MS = 5000,	  /* and each next one within this of the last answer */
};

/* Counters since start, for `dns inspect`. */
struct rn_resolver_stats {
	uint64_t queries, zone, forwarded, servfail, dropped, busy;
	uint64_t tcp_evicted; /* idle TCP clients closed to make room for a new one */
};

struct rn_resolver;

/*
 * Binds UDP and TCP port 53 on v4 and v6 (addresses that need not be up yet: FREEBIND) and
 * starts the thread with an empty view (everything SERVFAIL). 0 or -errno, err for people.
 */
int rn_resolver_start(const struct in_addr *v4, const struct in6_addr *v6, struct rn_resolver **out,
		      char *err, size_t errlen) __attribute__((warn_unused_result));
/* Stops the thread and waits for the workers (at most about RN_RESOLVER_TIMEOUT_MS). */
void rn_resolver_stop(struct rn_resolver *r);
/*
 * Replaces the view: zone is taken (NULL: forward everything), ups copied (port 53 is used
 * whatever they say). A non-NULL tunnel_if (protected mode) pins every upstream socket to that
 * interface (SO_BINDTODEVICE): an upstream whose route is not the tunnel (one on the local
 * network, say) then gets nothing rather than a query in the clear. Queries in flight finish
 * on the old view.
 */
void rn_resolver_set(struct rn_resolver *r, struct rn_dns_zone *zone,
		     const struct rn_netmap_ip *ups, size_t n_ups, const char *tunnel_if);
void rn_resolver_stats(struct rn_resolver *r, struct rn_resolver_stats *out);

#endif
