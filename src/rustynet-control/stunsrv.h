/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control serve --stun-listen ADDR`: the control server's STUN responder, so that
 * every node can learn the address and port its NAT maps its WireGuard socket to from a server
 * it already trusts (docs/nat-traversal.md, "Discovery: the STUN responder"). It answers
 * Binding requests (src/path/stun.h: rn_stun_respond) on its own UDP sockets, in its own
 * thread, and nothing else: junk, responses, indications and oversized datagrams are dropped
 * without a word, so it cannot be made to talk to another responder in a loop.
 *
 * A UDP answer goes wherever the request's source address says, and that can be forged: the
 * answers each source address (IPv6: each /64) gets are rate-limited (ratelimit.h, its own
 * burst and rate), and all answers together too, so the responder cannot be used to flood a
 * victim; an answer is at most 2.6 times the smallest request (20 bytes in, 52 out).
 *
 * The map tells nodes where the responder is (rn_stunsrv_advertised): its own address when it
 * listens on one, and for a wildcard the address nodes reach the control server at.
 */
#ifndef RN_CTL_STUNSRV_H
#define RN_CTL_STUNSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netmap/netmap.h"

enum {
	RN_STUNSRV_MAX_LISTEN = 2,	/* --stun-listen at most twice (one IPv4, one IPv6) */
	RN_STUNSRV_BURST = 40,		/* answers one address (IPv6: /64) gets in a row */
	RN_STUNSRV_REFILL_MS = 50,	/* and then one more per this long: 20 a second */
	RN_STUNSRV_GLOBAL_PER_S = 5000, /* answers a second in all */
	RN_STUNSRV_LOG_S = 60,		/* counters logged (debug, group main) this often */
};

/*
 * ADDR of --stun-listen: "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT" (port 3478 when absent);
 * a unicast address or the wildcard 0.0.0.0 / [::]. 0, or -EINVAL with err saying what is
 * wrong and quoting s.
 */
int rn_stunsrv_parse_listen(const char *s, union rn_netmap_endpoint *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Whether ep is 0.0.0.0 or [::]. */
bool rn_stunsrv_wildcard(const union rn_netmap_endpoint *ep);

/*
 * What nodes are told for a responder on `listen` (its port in any case): listen itself when it
 * is a concrete address; for a wildcard, the address of the control server's URL of the same
 * family: the first of hosts (the IP literals nodes enroll against: the TLS certificate's IP
 * names, init --hostname, which behind a 1:1 NAT is the public address) that is neither
 * loopback nor link-local, else https (the --listen address) if it is such an address. false:
 * nothing to tell (the responder still answers).
 */
bool rn_stunsrv_advertised(const union rn_netmap_endpoint *listen,
			   const union rn_netmap_endpoint *https, const struct rn_netmap_ip *hosts,
			   size_t n_hosts, union rn_netmap_endpoint *out);

struct rn_stunsrv_stats {
	uint64_t answered;  /* Binding requests answered */
	uint64_t dropped;   /* not a Binding request: junk, responses, indications */
	uint64_t oversized; /* over RN_STUN_MAX_MSG bytes */
	uint64_t limited;   /* Binding requests not answered: their source, or all, over the rate */
};

struct rn_stunsrv;

/* NULL when out of memory or without randomness for the rate limit's hash seed. */
struct rn_stunsrv *rn_stunsrv_new(void);
/* Stops the thread if it runs, closes the sockets, logs the counters at debug. NULL: nothing. */
void rn_stunsrv_free(struct rn_stunsrv *s);
/*
 * A UDP socket bound to ep (an IPv6 one takes IPv6 only, so an IPv4 wildcard may sit beside it).
 * 0, or -errno with err for a person: the port in use, an address not this host's, ...
 */
int rn_stunsrv_listen(struct rn_stunsrv *s, const union rn_netmap_endpoint *ep, char *err,
		      size_t errlen) __attribute__((warn_unused_result));
/* The thread that answers on every socket until rn_stunsrv_free. 0 or -errno. */
int rn_stunsrv_start(struct rn_stunsrv *s) __attribute__((warn_unused_result));
/*
 * One datagram of len bytes (the real length, even if it was cut) from `from` at now_ms
 * (monotonic): the answer's length in out, or 0 to drop it. Counted. Only one thread at a time
 * (the responder's; tests).
 */
size_t rn_stunsrv_handle(struct rn_stunsrv *s, const void *pkt, size_t len,
			 const struct sockaddr *from, uint64_t now_ms, uint8_t *out, size_t cap);
/* The counters so far (read without a lock: each is exact, together they may be a moment apart). */
void rn_stunsrv_stats(const struct rn_stunsrv *s, struct rn_stunsrv_stats *out);

#endif
