/* SPDX-License-Identifier: MIT */
/*
 * The configuration data model of one WireGuard device: what the UAPI "set" parses into, what
 * "get" is formatted from, and what rustynetd hands the backend. Modelled on wireguard-tools'
 * containers.h (device -> peers -> allowed IPs, flag words for partial updates), with arrays.
 */
#ifndef RN_WG_CONFIG_H
#define RN_WG_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define RN_WG_KEY_LEN 32

struct rn_wg_allowed_ip {
	uint16_t family; /* AF_INET or AF_INET6 */
	uint8_t cidr;	 /* 0..32 or 0..128; host bits are masked off on insert */
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
};

union rn_wg_endpoint {
	struct sockaddr sa; /* sa_family == AF_UNSPEC: no endpoint */
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

enum rn_wg_peer_flags {
	RN_WG_PEER_REMOVE = 1u << 0,		 /* remove this peer */
	RN_WG_PEER_UPDATE_ONLY = 1u << 1,	 /* only touch the peer if it exists */
	RN_WG_PEER_REPLACE_ALLOWEDIPS = 1u << 2, /* drop existing allowed IPs first */
	RN_WG_PEER_HAS_PRESHARED_KEY = 1u << 3,	 /* preshared_key is set (all zero: remove it) */
	RN_WG_PEER_HAS_ENDPOINT = 1u << 4,
	RN_WG_PEER_HAS_KEEPALIVE = 1u << 5, /* persistent_keepalive is set (0: off) */
};

struct rn_wg_peer_config {
	uint32_t flags; /* enum rn_wg_peer_flags */
	uint8_t public_key[RN_WG_KEY_LEN];
	uint8_t preshared_key[RN_WG_KEY_LEN]; /* secret: wiped by rn_wg_config_free */
	union rn_wg_endpoint endpoint;
	uint16_t persistent_keepalive;	      /* seconds, 0 = off */
	struct rn_wg_allowed_ip *allowed_ips; /* owned */
	size_t n_allowed_ips;

	/* Read-only state, filled by "get" only. */
	struct timespec last_handshake; /* wall clock; 0 = never */
	uint64_t rx_bytes, tx_bytes;
	/* Handshake initiations retried in a row without a reply (each after 5 s): > 0 means the
	 * peer has not answered for that long. Not part of the UAPI. */
	unsigned int handshake_attempts;
	/* Since the last authenticated packet from the peer, and since the last data (not a
	 * keepalive) sent to it, in ms; UINT64_MAX: never. Not part of the UAPI. */
	uint64_t rx_age_ms, data_sent_age_ms;
	/* Since our first initiation the peer has not answered (nothing authenticated from it
	 * since), in ms; 0: none outstanding. Not part of the UAPI. */
	uint64_t unanswered_ms;
};

enum rn_wg_device_flags {
	RN_WG_DEV_HAS_PRIVATE_KEY = 1u << 0, /* private_key is set (all zero: remove it) */
	RN_WG_DEV_HAS_LISTEN_PORT = 1u << 1,
	RN_WG_DEV_HAS_FWMARK = 1u << 2,
	RN_WG_DEV_REPLACE_PEERS = 1u << 3, /* remove every peer not named in this update */
};

struct rn_wg_config {
	uint32_t flags;			    /* enum rn_wg_device_flags */
	uint8_t private_key[RN_WG_KEY_LEN]; /* secret: wiped by rn_wg_config_free */
	uint16_t listen_port;
	uint32_t fwmark;		 /* 0 = off */
	struct rn_wg_peer_config *peers; /* owned */
	size_t n_peers;
};

/* Wipes the keys and frees the arrays; leaves *c zeroed. Safe on a zeroed struct. */
void rn_wg_config_free(struct rn_wg_config *c);
/* Appends a zeroed peer; returns it, or NULL when out of memory. */
struct rn_wg_peer_config *rn_wg_config_add_peer(struct rn_wg_config *c);
/* Appends an allowed IP to a peer; 0 or -ENOMEM. */
int rn_wg_peer_config_add_allowed_ip(struct rn_wg_peer_config *p,
				     const struct rn_wg_allowed_ip *ip);

#endif
