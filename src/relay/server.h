/* SPDX-License-Identifier: MIT */
/*
 * The relay server (protocol in relay.h): one object, no globals, driven by one epoll fd so it
 * can run alone (rustynet-relay serve) or inside another daemon's loop (rustynet-control serve
 * --relay): poll rn_relay_server_fd() for input and call rn_relay_server_step(), at least every
 * second (its timers: registration expiry, connection timeouts, the stats file). Single-threaded:
 * every call on one server must come from one thread at a time. The process must ignore SIGPIPE
 * (OpenSSL writes to sockets with write(2), and a peer may have closed).
 *
 * Counters: rn_relay_server_stats(), and if stats_file is set, the same as one JSON object
 * rewritten (atomically, by rename) every second: {"udp_rx_packets":N, ..., "drops":{REASON:N}}.
 */
#ifndef RN_RELAY_SERVER_H
#define RN_RELAY_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "relay/relay.h"

enum rn_relay_drop {
	RN_RELAY_DROP_MALFORMED,    /* wrong type/length, or a message the sender may not send */
	RN_RELAY_DROP_BAD_CRED,	    /* credential not made with our secret */
	RN_RELAY_DROP_EXPIRED,	    /* credential past its expiry */
	RN_RELAY_DROP_BAD_COOKIE,   /* REGISTER with a cookie not made for its source address */
	RN_RELAY_DROP_UNREGISTERED, /* SEND from an address no node registered */
	RN_RELAY_DROP_UNKNOWN_DST,  /* SEND to a key no node registered */
	RN_RELAY_DROP_RATE_SRC,	    /* per source address limit (unregistered sources) */
	RN_RELAY_DROP_RATE_NODE,    /* per node packet or byte limit */
	RN_RELAY_DROP_QUEUE_FULL,   /* destination TLS connection's queue full */
	RN_RELAY_DROP_TABLE_FULL,   /* max_nodes reached */
	RN_RELAY_DROP_CONN_LIMIT,   /* max_conns or max_handshakes reached */
	RN_RELAY_DROP_TLS_FAILED,   /* TLS handshake failed or timed out */
	RN_RELAY_DROP_STALLED,	    /* slow reader: connection closed */
	RN_RELAY_DROP_SEND_ERROR,   /* sendto failed, or the TLS connection failed on writing */
	RN_RELAY_DROP_COUNT
};

/* The JSON name of a drop reason ("malformed", "bad_cred", ...). */
const char *rn_relay_drop_name(enum rn_relay_drop reason);

struct rn_relay_stats {
	uint64_t udp_rx_packets, udp_rx_bytes;
	uint64_t tls_rx_frames, tls_rx_bytes;
	uint64_t fwd_packets, fwd_bytes; /* delivered to a destination (either transport) */
	uint64_t fwd_udp_packets, fwd_tls_packets;
	uint64_t cookies_sent, registrations;
	uint64_t tls_accepted;
	uint64_t nodes, tls_conns; /* now */
	uint64_t drops[RN_RELAY_DROP_COUNT];
};

struct rn_relay_server_config {
	const uint8_t *secret;	/* RN_RELAY_SECRET_LEN bytes, copied (and wiped on free) */
	const char *udp_listen; /* "ADDR:PORT" / "[ADDR]:PORT" ([::]: IPv6 and IPv4), NULL: none */
	const char *tls_listen; /* same, or NULL for no TLS */
	const char *cert_file, *key_file; /* PEM, needed with tls_listen */
	const char *stats_file;		  /* NULL: none */
	unsigned max_nodes;		  /* 0: 65536 */
	unsigned max_conns;		  /* 0: 4096 TLS connections */
	unsigned max_handshakes;	  /* 0: 256 TLS connections not yet registered */
	uint64_t node_bytes_per_s;	  /* 0: 25 MB/s, burst one second's worth */
	uint64_t node_packets_per_s;	  /* 0: 25000/s, burst one second's worth */
	uint64_t src_packets_per_s;	  /* 0: 20/s from one unregistered address, burst 40 */
	size_t conn_queue_bytes;	  /* 0: 256 KiB output queue per TLS connection */
	/* TLS timeouts in ms, checked once a second; 0: RN_RELAY_HANDSHAKE_S, _IDLE_S, _STALL_S */
	unsigned handshake_ms, idle_ms, stall_ms;
	unsigned udp_lifetime_ms; /* of a UDP registration; 0: RN_RELAY_UDP_LIFETIME_S */
};

struct rn_relay_server;

/* Binds the listeners and loads the TLS identity. NULL with err set (a line for a person). */
struct rn_relay_server *rn_relay_server_new(const struct rn_relay_server_config *cfg, char *err,
					    size_t errlen);
void rn_relay_server_free(struct rn_relay_server *srv);
/* The epoll fd: readable when step() has work. */
int rn_relay_server_fd(const struct rn_relay_server *srv);
/* The bound ports (0 when that transport is off): listen on port 0 and ask. */
uint16_t rn_relay_server_udp_port(const struct rn_relay_server *srv);
uint16_t rn_relay_server_tls_port(const struct rn_relay_server *srv);
/* Waits up to timeout_ms for input, handles it and runs the timers. 0 or -errno (fatal). */
int rn_relay_server_step(struct rn_relay_server *srv, int timeout_ms);
void rn_relay_server_stats(const struct rn_relay_server *srv, struct rn_relay_stats *out);
/* The stats as one JSON object, NUL-terminated, into buf. Returns its length or -ENOSPC. */
int rn_relay_server_stats_json(const struct rn_relay_server *srv, char *buf, size_t len);

#endif
