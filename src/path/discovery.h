/* SPDX-License-Identifier: MIT */
/*
 * Endpoint discovery: which address and port the NAT maps the WireGuard socket to, per address
 * family, learnt by asking the map's STUN servers (stun.h) from that socket.
 *
 * Pure: no sockets, no clock. The owner passes the time in, sends what the send callback is
 * given from the WireGuard socket, and feeds back the non-WireGuard datagrams that socket
 * receives. A round asks every server once, with a fresh transaction id each, retransmits the
 * same request after 0.5 s, 1 s and 2 s, and gives up on a server 2 s after the last one. A
 * round starts every RN_DISCO_ROUND_S, and at once when asked (the host's addresses changed)
 * or when the server list changes. A response counts only if it is a Binding success carrying
 * a mapped address, from the address and port the request went to, with the transaction id of
 * that server's outstanding request: anything else is ignored, so an off-path sender cannot
 * plant a mapping without guessing 96 random bits.
 *
 * Results per family: the mapping (the first answer of the round), whether it changed, whether
 * servers of that family saw different mappings in one round ("hard" NAT: the mapping varies
 * by destination, so a peer cannot use what STUN saw), whether UDP got no answer from any server
 * (blocked), and each server's round-trip time.
 */
#ifndef RN_PATH_DISCOVERY_H
#define RN_PATH_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "path/stun.h"

enum {
	RN_DISCO_MAX_SERVERS = 8,    /* the netmap's RN_NETMAP_MAX_STUN */
	RN_DISCO_ROUND_S = 20,	     /* seconds between rounds */
	RN_DISCO_FIRST_RTO_MS = 500, /* first retransmission; doubled after each, up to ... */
	RN_DISCO_TRIES = 4,	     /* ... 4 sends (0, 0.5, 1.5, 3.5 s), then 2 s more to answer */
	RN_DISCO_FAMILIES = 2,	     /* index 0: IPv4, 1: IPv6 */
};

/* UDP reachability of STUN, as of the last finished round. */
enum rn_disco_udp {
	RN_DISCO_UDP_UNKNOWN = 0, /* no round finished yet, or no servers */
	RN_DISCO_UDP_OK,	  /* at least one server answered */
	RN_DISCO_UDP_BLOCKED,	  /* servers were asked, none answered */
};

struct rn_disco_server {
	struct sockaddr_storage addr; /* where requests go; AF_INET or AF_INET6 */
	uint8_t txid[RN_STUN_TXID_LEN];
	bool outstanding;  /* a request of this round awaits its answer */
	unsigned int sent; /* sends of this round's request */
	uint64_t sent_ns;  /* the last send */
	uint64_t due_ns;   /* next retransmission, or when to give up */
	/* Its last answer (sa_family AF_UNSPEC: none yet), the round trip, when it came. */
	struct sockaddr_storage mapped;
	uint64_t rtt_ns;
	uint64_t answered_ns;
	bool answered_this_round;
};

struct rn_disco_family {
	struct sockaddr_storage mapped; /* sa_family AF_UNSPEC: none known */
	bool hard;			/* servers saw different mappings in the last round */
	unsigned int changes;		/* times mapped changed (for status) */
	bool round_seen;		/* an answer of this family came in this round */
};

/* Sends len bytes to `to` from the WireGuard socket; 0 or -errno (the try still counts). */
typedef int (*rn_disco_send_fn)(void *ctx, const struct sockaddr_storage *to, const uint8_t *buf,
				size_t len);

struct rn_disco {
	struct rn_disco_server servers[RN_DISCO_MAX_SERVERS];
	size_t n_servers;
	struct rn_disco_family fam[RN_DISCO_FAMILIES];
	enum rn_disco_udp udp;
	bool in_round;
	unsigned int rounds; /* rounds finished */
	uint64_t round_start_ns;
	uint64_t next_round_ns; /* when the next round starts (0: at the first tick) */
	bool changed;		/* results changed since rn_disco_take_changed */
	rn_disco_send_fn send;
	void *ctx;
};

void rn_disco_init(struct rn_disco *d, rn_disco_send_fn send, void *ctx);

/*
 * The servers to ask (the first RN_DISCO_MAX_SERVERS of v; entries other than AF_INET and
 * AF_INET6 are skipped). A list different from the current one starts a round at once; the
 * same list changes nothing. An empty list forgets the mappings.
 */
void rn_disco_set_servers(struct rn_disco *d, const struct sockaddr_storage *v, size_t n,
			  uint64_t now_ns);

/* Starts a round at the next tick (the host's addresses changed). */
void rn_disco_kick(struct rn_disco *d);

/*
 * Sends what is due at now_ns (round starts, retransmissions), ends rounds, and returns when to
 * call it next (absolute, ns).
 */
uint64_t rn_disco_tick(struct rn_disco *d, uint64_t now_ns);

/*
 * A non-WireGuard datagram from `from` at now_ns. true if it was the answer to one of our
 * requests (and counted); false if it was ignored.
 */
bool rn_disco_input(struct rn_disco *d, const void *buf, size_t len,
		    const struct sockaddr_storage *from, uint64_t now_ns);

/* Whether mappings, hard-NAT or UDP state changed since the last call; clears it. */
bool rn_disco_take_changed(struct rn_disco *d);

/* The family slot of AF_INET / AF_INET6 (0 / 1), -1 for others. */
int rn_disco_family_index(int af);

/* Whether a and b are the same address and port (AF_INET or AF_INET6). */
bool rn_disco_addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

#endif
