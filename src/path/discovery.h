/* SPDX-License-Identifier: MIT */
/*
 * Endpoint discovery: which address and port the NAT maps the WireGuard socket to, per address
 * family, learnt by asking the map's STUN servers (stun.h) from that socket.
 *
 * Pure: no sockets, no clock. The owner passes the time in, sends what the send callback is
 * given from the WireGuard socket, and feeds back the non-WireGuard datagrams that socket
 * receives. A round asks every server once, with a fresh transaction id each, retransmits the
 * same request after 0.5 s, 1 s and 2 s, and gives up on a server 2 s after the last one. A
 * round starts every RN_DISCO_ROUND_S, and at once when asked (the host's addresses or default
 * route changed; kicked rounds start at least RN_DISCO_MIN_GAP_MS apart) or when the server
 * list changes.
 *
 * Between rounds, for each family the owner says is behind NAT (rn_disco_set_check), a check
 * every RN_DISCO_CHECK_S: one request to one server (the first of that family that answered the
 * last round), sent twice at most. An answer with another mapping than that server saw before
 * (a NAT rebinding) is the family's mapping at once and starts a round; a check left unanswered
 * starts a round too (the network may have changed). Comparing with the same server's last
 * answer keeps a NAT that maps each destination apart from looking like one that rebinds.
 *
 * A response counts only if it is a Binding success carrying a mapped address, from the
 * address and port the request went to, with the transaction id of that server's outstanding
 * request or check: anything else is ignored, so an off-path sender cannot plant a mapping
 * without guessing 96 random bits.
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
	RN_DISCO_CHECK_S = 4,	     /* between rounds, a check this often (families behind NAT) */
	RN_DISCO_CHECK_TRIES = 2,    /* a check's sends (0, 0.5 s), then ... */
	RN_DISCO_CHECK_WAIT_MS = 1000, /* ... this long for its answer; none: a round */
	RN_DISCO_MIN_GAP_MS = 1000,    /* a kicked round starts this long after the last at least */
};

/* Why the last round started (status). */
enum rn_disco_why {
	RN_DISCO_WHY_NONE = 0,
	RN_DISCO_WHY_TIMER,   /* RN_DISCO_ROUND_S passed, or the first round */
	RN_DISCO_WHY_SERVERS, /* the server list changed */
	RN_DISCO_WHY_KICK,    /* the owner asked: a network change, netcheck */
	RN_DISCO_WHY_REMAP,   /* a check saw a new mapping */
	RN_DISCO_WHY_SILENT,  /* a check got no answer */
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

/* One check of one family: a request to one server between rounds. */
struct rn_disco_check {
	bool on;    /* the owner's choice (rn_disco_set_check): this family is behind NAT */
	int server; /* index into servers of the request out; -1: none */
	uint8_t txid[RN_STUN_TXID_LEN];
	unsigned int sent; /* sends of this check */
	uint64_t sent_ns;  /* the last send */
	uint64_t due_ns;   /* the retransmission, or when it counts as unanswered */
};

struct rn_disco_family {
	struct sockaddr_storage mapped; /* sa_family AF_UNSPEC: none known */
	bool hard;			/* servers saw different mappings in the last round */
	unsigned int changes;		/* times mapped changed (for status) */
	bool round_seen;		/* an answer of this family came in this round */
	struct rn_disco_check check;
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
	uint64_t next_round_ns;	    /* when the next round starts (0: at the first tick) */
	bool changed;		    /* results changed since rn_disco_take_changed */
	bool started;		    /* a round has started (round_start_ns is one) */
	enum rn_disco_why why;	    /* of the last round started */
	enum rn_disco_why next_why; /* of the next, when not the timer */
	uint64_t next_check_ns;	    /* when the next check is due (between rounds) */
	uint64_t checks;	    /* check requests sent (retransmissions included) */
	uint64_t remaps;	    /* checks that saw a new mapping */
	uint64_t silent;	    /* checks left unanswered */
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

/*
 * Starts a round at the next tick (the host's addresses or default route changed), or
 * RN_DISCO_MIN_GAP_MS after the last one began if that is later; a round or check in flight is
 * dropped.
 */
void rn_disco_kick(struct rn_disco *d);

/* Checks for family slot f (rn_disco_family_index) on or off; off drops one in flight. */
void rn_disco_set_check(struct rn_disco *d, int f, bool on);

/* The name of why (status): "timer", "servers", "network change", "remap", "silent check". */
const char *rn_disco_why_name(enum rn_disco_why why);

/*
 * Sends what is due at now_ns (round starts, checks, retransmissions), ends rounds, and returns
 * when to call it next (absolute, ns).
 */
uint64_t rn_disco_tick(struct rn_disco *d, uint64_t now_ns);

/*
 * A non-WireGuard datagram from `from` at now_ns. true if it was the answer to one of our
 * requests, a round's or a check's (and counted); false if it was ignored.
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
