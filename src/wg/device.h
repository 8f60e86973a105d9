/* SPDX-License-Identifier: MIT */
/*
 * The data plane's backend interface: one userspace WireGuard device on a TUN interface.
 * rustynet-wg serves it over the UAPI socket; rustynetd drives it directly. Configuration uses
 * the data model of wg/config.h, so "set peer", "remove peer" and "update endpoint" are all
 * partial updates through rn_wg_device_apply.
 */
#ifndef RN_WG_DEVICE_H
#define RN_WG_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>

#include "policy/filter.h"
#include "wg/config.h"

struct rn_wg_device;

/* What this backend can do, so a kernel backend can sit beside it later. */
enum rn_wg_capability {
	RN_WG_CAP_USERSPACE = 1u << 0,
	RN_WG_CAP_TUN_OFFLOAD = 1u << 1, /* TUN super-packets (TSO/GRO) in use */
	RN_WG_CAP_UDP_GSO = 1u << 2,
};

/* How a device behaves, fixed when it is created. */
enum rn_wg_device_start_flags {
	/*
	 * With no packet filter installed, drop every decrypted inbound packet instead of letting
	 * it in. rustynetd sets it so that nothing passes before its first map's filter is in
	 * place; rustynet-wg leaves it clear and stays plain WireGuard.
	 */
	RN_WG_DEVICE_DENY_UNFILTERED = 1u << 0,
};

/*
 * Creates TUN ifname and starts the packet threads; flags are rn_wg_device_start_flags. 0 or
 * -errno; *out is set on success.
 */
int rn_wg_device_start(const char *ifname, unsigned int flags, struct rn_wg_device **out);
/* Stops the threads, closes the TUN device and sockets, wipes every key. */
void rn_wg_device_stop(struct rn_wg_device *dev);

/* Applies a (partial) configuration atomically with respect to the packet path. 0 or -errno. */
int rn_wg_device_apply(struct rn_wg_device *dev, const struct rn_wg_config *cfg);
/* A snapshot of the whole configuration and statistics; free with rn_wg_config_free. */
int rn_wg_device_snapshot(struct rn_wg_device *dev, struct rn_wg_config *out);

/* Convenience forms of apply for the daemon. */
int rn_wg_device_set_peer(struct rn_wg_device *dev, const struct rn_wg_peer_config *peer);
int rn_wg_device_remove_peer(struct rn_wg_device *dev, const uint8_t public_key[RN_WG_KEY_LEN]);
int rn_wg_device_update_endpoint(struct rn_wg_device *dev, const uint8_t public_key[RN_WG_KEY_LEN],
				 const union rn_wg_endpoint *ep);

/*
 * Starts a handshake with peer public_key now, as its first packet would: unless one was sent
 * or answered within REKEY_TIMEOUT, and retried as the timers retry any. For an owner that
 * knows the peer may hold a session this device forgot (rustynetd after a restart). 0,
 * -ENOENT (no such peer), -EDESTADDRREQ (it has no endpoint) or -EALREADY (held back: one was
 * sent or answered within REKEY_TIMEOUT; an endpoint set since, by the owner, lifts that).
 */
int rn_wg_device_initiate(struct rn_wg_device *dev, const uint8_t public_key[RN_WG_KEY_LEN]);

/*
 * Installs the packet filter every decrypted inbound packet must pass (policy/filter.h), or
 * removes it (NULL: everything passes, plain WireGuard, or nothing does on a device started
 * with RN_WG_DEVICE_DENY_UNFILTERED). filter must come from malloc and
 * belongs to the device from the call on, whatever it returns; the old one is freed.
 * 0, or -ENOMEM with the old filter kept.
 */
int rn_wg_device_set_filter(struct rn_wg_device *dev, struct rn_filter *filter);

/*
 * The host's own addresses other than the mesh's (struct rn_filter's local): every filter,
 * the installed one and those installed later, classifies a packet to one as MESH. The device
 * keeps a copy of v[0..n). 0, or -ENOMEM with the old set kept.
 */
int rn_wg_device_set_local_addrs(struct rn_wg_device *dev, const struct rn_filter_prefix *v,
				 size_t n);

struct rn_wg_device_stats {
	uint64_t filtered;	/* inbound packets the packet filter refused */
	uint64_t rx_pool_drops; /* data messages dropped for want of a receive buffer */
};

void rn_wg_device_stats(struct rn_wg_device *dev, struct rn_wg_device_stats *out);

/*
 * Datagrams on the WireGuard socket that are not WireGuard messages (whose first byte is not
 * 1-4 followed by three zeros: STUN answers, for one) go to the owner's handler, at most
 * RN_WG_FOREIGN_MAX_LEN bytes (longer ones are dropped). It runs on a packet thread with the
 * device's configuration lock held for reading: copy into a bounded queue, wake the owner's
 * loop and return; never block, never call back into the device. NULL removes it (the
 * datagrams are dropped, as before); after the call returns the old handler is no longer running.
 */
#define RN_WG_FOREIGN_MAX_LEN 548 /* RN_STUN_MAX_MSG (path/stun.h) */
typedef void (*rn_wg_foreign_fn)(void *ctx, const void *buf, size_t len,
				 const union rn_wg_endpoint *from);
void rn_wg_device_set_foreign_handler(struct rn_wg_device *dev, rn_wg_foreign_fn fn, void *ctx);
/*
 * Sends one datagram from the WireGuard socket (its port and fwmark, so it is routed as the
 * WireGuard packets are, and a NAT maps it as them). 0 or -errno.
 */
int rn_wg_device_send_raw(struct rn_wg_device *dev, const union rn_wg_endpoint *to, const void *buf,
			  size_t len);
/*
 * A peer was added or its endpoint changed: reach it now rather than at the first packet. With
 * no session, a handshake initiation goes out (unless one did within REKEY_TIMEOUT); with one, a
 * keepalive, which moves the peer's idea of our endpoint. 0, or -ENOENT for an unknown peer.
 */
int rn_wg_device_poke(struct rn_wg_device *dev, const uint8_t public_key[RN_WG_KEY_LEN]);

/*
 * Relay endpoints (docs/nat-traversal.md, "The relayed path"). The owner of a device that
 * also talks through relays names each relay by an address in 127.127.0.0/16 (never a real
 * endpoint: a map carries no loopback address) and installs a hook: every datagram for a peer
 * whose endpoint (or probe endpoint) is in that range then goes to fn instead of the UDP
 * socket, one datagram a call (a GSO batch is split), with the peer's public key. fn runs on
 * packet threads with the configuration lock held for reading: copy into a bounded queue and
 * return; never block, never call back into the device. NULL removes it: such endpoints are
 * then sent to on the socket like any other (rustynet-wg never installs one).
 */
#define RN_WG_RELAY_NET	    0x7f7f0000u /* 127.127.0.0, host order */
#define RN_WG_RELAY_MASK    0xffff0000u
#define RN_WG_RELAY_MAX_LEN 65535
static inline bool rn_wg_is_relay_endpoint(const union rn_wg_endpoint *ep)
{
	return ep->sa.sa_family == AF_INET &&
	       (ntohl(ep->sin.sin_addr.s_addr) & RN_WG_RELAY_MASK) == RN_WG_RELAY_NET;
}
typedef void (*rn_wg_relay_fn)(void *ctx, const uint8_t peer_public_key[RN_WG_KEY_LEN],
			       const union rn_wg_endpoint *to, const void *buf, size_t len);
/* After the call returns the old hook is no longer running. */
void rn_wg_device_set_relay_hook(struct rn_wg_device *dev, rn_wg_relay_fn fn, void *ctx);
/*
 * A datagram that came through a relay, from the relay endpoint from: it takes the receive
 * path as if it had arrived on the socket from there (handshakes, cookies, replay checks and
 * roaming all apply). One caller at a time is served (a lock), and never after
 * rn_wg_device_stop. 0, -EINVAL (from is no relay endpoint, or len is 0 or too long) or
 * -ENOBUFS (no receive buffer came free: dropped, as a full socket would).
 */
int rn_wg_device_relay_input(struct rn_wg_device *dev, const union rn_wg_endpoint *from,
			     const void *buf, size_t len);
/*
 * Probe endpoints of peer public_key: every handshake initiation to it also goes, as the same
 * message, to each of v[0..n) (at most RN_WG_MAX_PROBES; n 0 clears them). The peer answers
 * whichever copy reaches it first (the others are replays to it), and roaming moves the
 * endpoint to where the answer came from: how a relayed peer moves to a direct path without
 * losing its session. Handshake responses go to them too (the peer takes the first copy): a
 * side that only answers (its own initiations held back by the peer's) still opens the path
 * when only its packets can get through the two NATs. 0, -ENOENT or -EINVAL (n too large).
 */
#define RN_WG_MAX_PROBES 8
int rn_wg_device_set_probe_endpoints(struct rn_wg_device *dev,
				     const uint8_t public_key[RN_WG_KEY_LEN],
				     const union rn_wg_endpoint *v, size_t n);

const char *rn_wg_device_ifname(const struct rn_wg_device *dev);
unsigned int rn_wg_device_capabilities(const struct rn_wg_device *dev);
/* True once the TUN interface was deleted or failed: the owner should stop the device. */
bool rn_wg_device_is_dead(const struct rn_wg_device *dev);
/*
 * Re-reads the interface MTU (call periodically; padding never exceeds it), wherever the
 * interface is now: moved to another network namespace or renamed, the TUN fd still finds it.
 * 0; -ENODEV once the interface was deleted (stop the device); other -errno: try again later.
 */
int rn_wg_device_refresh_mtu(struct rn_wg_device *dev);
/* Sets the interface's MTU (rustynet-wg's start, as wireguard-go does): 0 or -errno. */
int rn_wg_device_set_mtu(struct rn_wg_device *dev, int mtu);

#endif
