/* SPDX-License-Identifier: MIT */
/* The relay server's state, shared by server.c (nodes, UDP, timers) and server_tls.c. */
#ifndef RN_RELAY_SERVER_PRIV_H
#define RN_RELAY_SERVER_PRIV_H

#include <stdbool.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "relay/server.h"
#include "relay/stream.h"

enum {
	RN_RELAY_NODE_BUCKETS = 4096, /* hash chains of the node tables */
	RN_RELAY_SRC_SLOTS = 4096,    /* per-address limiter slots */
	RN_RELAY_SRC_KEY_LEN = 17,    /* family byte, then IPv4 or the IPv6 /64 */
	RN_RELAY_EPOLL_UDP = 1, /* epoll data of the listeners; a connection's is its pointer */
	RN_RELAY_EPOLL_TCP = 2,
	RN_RELAY_FRAME_BUDGET = 64, /* frames one connection may have handled per step */
	/* datagrams/s from all unregistered sources together: bounds the HMACs spoofed sources cost */
	RN_RELAY_UNVERIFIED_PPS = 20000,
	RN_RELAY_HANDSHAKES_PER_SRC = 16, /* TLS connections not yet registered, per address */
};

struct rn_relay_bucket {
	double tokens;
	uint64_t last_ms;
};

struct rn_relay_conn;

/* A node that registered (UDP or TLS); owned by the key table. */
struct rn_relay_node {
	uint8_t key[RN_RELAY_KEY_LEN];
	struct sockaddr_storage addr; /* UDP registration, valid while udp_expires_ms > now */
	socklen_t addrlen;
	uint64_t udp_expires_ms;    /* 0: no UDP registration (not in the address table) */
	uint64_t cred_expiry;	    /* unix seconds, of the latest credential */
	struct rn_relay_conn *conn; /* its registered TLS connection, not owned; NULL: none */
	bool last_tls;		    /* registered over TLS last: reach it there */
	struct rn_relay_bucket pkts, bytes;
	struct rn_relay_node *next_key, *next_addr;
};

enum rn_relay_conn_state { RN_RELAY_CONN_TLS, RN_RELAY_CONN_REGISTER, RN_RELAY_CONN_ACTIVE };

/* A TLS connection; owned by the server's live list, then its dead list until reaped. */
struct rn_relay_conn {
	int fd;
	enum rn_relay_conn_state state;
	bool dead;
	bool ready;	   /* on the server's ready list: input may wait inside TLS */
	unsigned src_slot; /* its source address's slot in hs_per_src */
	uint32_t events;   /* registered with epoll */
	uint64_t start_ms, last_rx_ms, last_progress_ms;
	struct rn_relay_node *node; /* once ACTIVE; not owned */
	struct rn_relay_server *srv;
	struct rn_relay_stream st;
	struct rn_relay_conn *prev, *next;
	struct rn_relay_conn *ready_next;
};

struct rn_relay_src_slot {
	uint8_t key[RN_RELAY_SRC_KEY_LEN];
	struct rn_relay_bucket b;
};

struct rn_relay_server {
	struct rn_relay_server_config cfg;	 /* defaults filled in; strings not owned */
	uint8_t secret[RN_RELAY_SECRET_LEN];	 /* secret: wiped on free */
	uint8_t cookie_key[RN_RELAY_SECRET_LEN]; /* secret, random per run */
	uint32_t seed;				 /* hash seed of the address table */
	int epfd, udp_fd, tcp_fd;
	uint16_t udp_port, tls_port;
	SSL_CTX *ssl_ctx;
	uint64_t now_ms, next_tick_ms;
	struct rn_relay_node *by_key[RN_RELAY_NODE_BUCKETS];
	struct rn_relay_node *by_addr[RN_RELAY_NODE_BUCKETS];
	struct rn_relay_src_slot *src;	   /* RN_RELAY_SRC_SLOTS */
	struct rn_relay_bucket unverified; /* all unregistered sources together */
	struct rn_relay_conn *conns, *dead;
	struct rn_relay_conn *ready; /* stopped at their frame budget: read again next step */
	unsigned handshakes;
	uint16_t
	    hs_per_src[RN_RELAY_SRC_SLOTS]; /* handshakes by source slot (shared on collision) */
	struct rn_relay_stats stats;
	uint8_t buf[RN_RELAY_MSG_MAX + 1];
};

/* server.c, for server_tls.c */
struct rn_relay_node *rn_relay_node_get(struct rn_relay_server *srv,
					const uint8_t key[RN_RELAY_KEY_LEN], bool create);
void rn_relay_node_put(struct rn_relay_server *srv, struct rn_relay_node *n);
bool rn_relay_cred_check(struct rn_relay_server *srv, const struct rn_relay_cred *cred);
/* Sends a SEND's payload from src to its destination, with the limits; buf: the SEND message. */
void rn_relay_forward(struct rn_relay_server *srv, struct rn_relay_node *src, uint8_t *buf,
		      size_t len);
/* The REGISTERED a registration lasting lifetime_ms gets: refresh within a third of it. */
struct rn_relay_msg rn_relay_registered(unsigned lifetime_ms);
/* The limiter slot of a source address (IPv6 per /64). */
unsigned rn_relay_src_slot(const struct rn_relay_server *srv, const struct sockaddr_storage *ss);
/* One datagram as if received from ss: for the fuzz target (fuzz/relay_fuzz.c). */
void rn_relay_udp_input(struct rn_relay_server *srv, const struct sockaddr_storage *ss,
			socklen_t sslen, const uint8_t *buf, size_t len);
bool rn_relay_bucket_take(struct rn_relay_bucket *b, uint64_t rate, uint64_t burst, uint64_t n,
			  uint64_t now_ms);

/* server_tls.c */
int rn_relay_tls_setup(struct rn_relay_server *srv, char *err, size_t errlen);
void rn_relay_tls_accept(struct rn_relay_server *srv);
void rn_relay_tls_event(struct rn_relay_server *srv, struct rn_relay_conn *c, uint32_t events);
/* Queues a RECV to c: 0, -ENOBUFS (its queue is full) or -EPIPE (it died). */
int rn_relay_tls_deliver(struct rn_relay_server *srv, struct rn_relay_conn *c, const uint8_t *msg,
			 size_t len);
void rn_relay_tls_kill(struct rn_relay_server *srv, struct rn_relay_conn *c);
void rn_relay_tls_timers(struct rn_relay_server *srv);
/* Reads on from the connections that stopped at their frame budget. */
void rn_relay_tls_ready(struct rn_relay_server *srv);
void rn_relay_tls_reap(struct rn_relay_server *srv);
void rn_relay_tls_free_all(struct rn_relay_server *srv);

#endif
