/* SPDX-License-Identifier: MIT */
/*
 * The device's internals, shared by device.c, peer.c, timers.c, send.c and receive.c only.
 *
 * Locking, outermost first:
 *   dev->cfg_lock (rwlock)  writers: configuration changes. Readers: the I/O threads while they
 *                           route and build a batch, the in-order drain of each batch, the
 *                           handshake workers and the timer tick. Holding it for reading keeps
 *                           every linked peer alive and its removed flag stable.
 *   peer->lock (mutex)      the peer's handshake, keypair slots, endpoint, cookie and timers.
 *   dev->index.lock         the index table (taken inside peer->lock, never the other way).
 *   keypair->replay_lock    one keypair's replay window.
 *   queue, serial and pool locks (queue.h) are leaves: no callback runs under them.
 *
 * Lifetimes. A batch lives from the I/O thread that builds it, through a crypto worker, to the
 * drain that sends it or writes it to TUN, without the cfg_lock in between. So it holds a
 * reference on its keypair and on its peer; removing a peer only unlinks it and marks it
 * removed, and the last batch to let go frees it. A drain that finds its peer removed only
 * releases the batch.
 */
#ifndef RN_WG_DEVICE_PRIV_H
#define RN_WG_DEVICE_PRIV_H

#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "wg/allowedips.h"
#include "wg/config.h"
#include "wg/cookie.h"
#include "wg/device.h"
#include "wg/index.h"
#include "wg/noise.h"
#include "wg/offload.h"
#include "wg/pktfilter.h"
#include "wg/queue.h"
#include "wg/ratelimiter.h"
#include "wg/tun.h"
#include "wg/udp.h"

enum {
	RN_MAX_STAGED_PACKETS = 128,   /* per peer, waiting for a session */
	RN_HANDSHAKE_QUEUE_LEN = 4096, /* incoming handshake messages awaiting the worker */
	RN_UNDER_LOAD_QUEUE_LEN = RN_HANDSHAKE_QUEUE_LEN / 8,
	RN_UNDER_LOAD_AFTER_MS = 1000, /* stay "under load" this long after the queue drains */
	RN_MAX_SEGMENTS = 64,	       /* IP packets per TUN read (one 64 KiB super-packet) */
	RN_DATA_OVERHEAD = RN_MESSAGE_DATA_HEADER_LEN + RN_NOISE_AUTHTAG_LEN,
	RN_MAX_WORKERS = 64,	/* crypto worker threads, whatever the CPU count */
	RN_MAX_HS_WORKERS = 64, /* handshake worker threads, whatever the CPU count */
	RN_INLINE_MAX_CPUS = 2, /* up to this many CPUs, no workers by default */
	/*
	 * Batch buffers (a receive buffer is 1 MiB, a transmit one 196 KiB). The receive side
	 * drops when they run out, so they must absorb a burst the drains are behind on: on 2
	 * cores, 6 buffers lost ~8% of a TCP stream's datagrams, 32 ~0.5% (none once the reader
	 * also waits a little, see receive.c). The transmit side waits instead: a few will do.
	 */
	RN_RX_BUFS_PER_WORKER = 8,
	RN_RX_BUFS_MIN = 32,
	RN_TX_BUFS_PER_WORKER = 4,
	RN_TX_BUFS_MIN = 8,
	/*
	 * Without workers a batch is done when its submit returns, but the TUN reader needs two:
	 * one holding a read, one for the leading segments of a super-packet too big for one.
	 */
	RN_TX_BUFS_INLINE = 2,
	RN_BUFS_MAX = 64,
	/* A buffer unused this long (up to twice as long) gives its pages back (queue.h). */
	RN_POOL_TRIM_MS = 3000,
	/* The readers' own worker state, after the workers' in dev->workers. */
	RN_READER_TUN = 0,
	RN_READER_UDP = 1,
	RN_READER_RELAY = 2, /* rn_wg_device_relay_input's caller, one at a time */
	RN_READERS = 3,
};

struct rn_tx_buf; /* send.c */
struct rn_rx_buf; /* receive.c */

/* One crypto worker's own state. The readers have one each: they run work too (queue.h). */
struct rn_wg_worker {
	struct rn_gro gro; /* used only while this thread drains a peer, flushed before it stops */
};

struct rn_staged_packet {
	struct rn_staged_packet *next;
	size_t len;
	uint8_t data[];
};

struct rn_wg_peer {
	struct rn_wg_device *dev;
	_Atomic int refcount; /* one for the device's lists, one per queued batch */
	bool removed;	      /* unlinked from the device (cfg_lock): batches only release */
	struct rn_serial tx_serial, rx_serial; /* batches in flight, in order (queue.h) */
	struct rn_wg_peer *next;	       /* device's peer list (cfg_lock) */
	struct rn_wg_peer *hash_next;	       /* device's public-key hash chain (cfg_lock) */
	uint8_t public_key[RN_WG_KEY_LEN];
	uint64_t serial; /* creation order, for stable listing */

	pthread_mutex_t lock;
	struct rn_noise_handshake handshake;
	struct rn_noise_keypairs keypairs;
	struct rn_cookie cookie;
	union rn_wg_endpoint endpoint;
	/*
	 * The local address the peer's latest authenticated packet arrived on: replies leave from
	 * it (the kernel driver's endpoint.src4/src6), so a host with several addresses answers
	 * from the one the peer talks to. AF_UNSPEC: routing chooses (set from the config, or the
	 * address went away and a send cleared it).
	 */
	struct rn_udp_src endpoint_src;
	uint16_t persistent_keepalive_s;
	/* rn_wg_device_set_probe_endpoints: initiations also go here. */
	union rn_wg_endpoint probes[RN_WG_MAX_PROBES];
	unsigned int n_probes;
	struct rn_staged_packet *staged_head, *staged_tail;
	unsigned int staged_count;

	/* Timers: absolute deadlines in protocol ns, 0 = not armed (all under peer->lock). */
	uint64_t timer_retransmit_handshake;
	uint64_t timer_send_keepalive;
	uint64_t timer_new_handshake;
	uint64_t timer_zero_key_material;
	uint64_t timer_persistent_keepalive;
	unsigned int handshake_attempts;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
	uint64_t last_sent_handshake_ns;
	/* For the owner's path liveness (rustynetd): the last authenticated packet from the peer
	 * and the last data (not keepalive) sent to it, protocol ns, 0 = never. */
	uint64_t last_rx_ns, last_data_sent_ns;
	/* The first initiation sent since the peer last answered (anything authenticated or a
	 * completed handshake), 0 = none: unlike handshake_attempts, new tries (a new path, new
	 * data) and the data plane giving up do not restart it. */
	uint64_t unanswered_since_ns;
	/* The last initiation a data message for no session of ours asked for (receive.c). */
	uint64_t last_unknown_initiation_ns;

	/* Statistics, read by "get" without the peer lock. */
	_Atomic uint64_t rx_bytes, tx_bytes;
	_Atomic int64_t last_handshake_sec, last_handshake_nsec; /* wall clock */
};

struct rn_handshake_job {
	union rn_wg_endpoint src;
	struct rn_udp_src local; /* where it arrived: the reply leaves from there */
	uint16_t len;
	uint8_t data[RN_MESSAGE_INITIATION_LEN]; /* the largest handshake message */
};

struct rn_wg_device {
	char ifname[IFNAMSIZ];
	int tun_fd;
	bool vnet_hdr;
	bool tun_uso;
	_Atomic int mtu;
	int stop_fd;	 /* eventfd, never drained: wakes every thread on shutdown */
	int udp_wake_fd; /* eventfd, drained by the UDP reader: its socket was rebound */
	_Atomic bool stopping;
	_Atomic bool dead;	       /* the TUN device went away */
	struct rn_tun_where tun_where; /* for rn_wg_device_refresh_mtu's thread only */

	pthread_rwlock_t cfg_lock;
	struct rn_noise_identity identity;
	struct rn_cookie_checker cookie_checker;
	struct rn_allowedips allowedips;
	struct rn_wg_peer *peers;	    /* list, newest first */
	struct rn_wg_peer *peer_hash[1024]; /* by public key */
	size_t n_peers;
	uint64_t next_peer_serial;
	uint16_t listen_port;
	uint32_t fwmark;
	struct rn_udp udp;
	struct rn_index_table index;
	struct rn_ratelimiter ratelimiter;

	/*
	 * Incoming handshake messages, handed from the UDP reader to the handshake workers (one
	 * per CPU): each takes the oldest message and works it under the cfg_lock (read); what
	 * one peer's state needs is under its peer->lock, so the X25519 work runs in parallel.
	 */
	pthread_mutex_t hs_lock;
	pthread_cond_t hs_cond;
	struct rn_handshake_job *hs_queue; /* ring of RN_HANDSHAKE_QUEUE_LEN */
	unsigned int hs_head, hs_count;
	uint64_t last_under_load_ns;
	bool force_under_load; /* test builds: RUSTYNET_WG_FORCE_UNDER_LOAD */
	/* UDP reader only: the last search for the peer behind a data message for no session. */
	_Atomic uint64_t last_unknown_scan_ns; /* the relay input's caller too */

	/* Crypto workers; n_workers 0: the reader threads encrypt and decrypt inline. */
	struct rn_queue queue;
	unsigned int n_workers;
	struct rn_wg_worker *workers; /* n_workers + RN_READERS: the readers help, or run inline */
	struct rn_pool tx_pool, rx_pool; /* free batch buffers */
	struct rn_tx_buf **tx_bufs;	 /* every buffer, for the final free */
	struct rn_rx_buf **rx_bufs;
	unsigned int n_tx_bufs, n_rx_bufs;
	_Atomic uint64_t rx_pool_drops; /* data messages dropped for want of a buffer */

	/*
	 * The packet filter (cfg_lock). NULL lets every packet in, as plain WireGuard does (or
	 * none, with deny_unfiltered), and the send path then records no flows. The flow table is
	 * allocated with the first filter and kept when it changes: the connections this node
	 * opened are still its own.
	 */
	struct rn_filter *filter; /* owned, malloc'd */
	/* The host's local addresses (cfg_lock): owned, lent to filter->local. */
	struct rn_filter_prefix *local;
	size_t n_local;
	bool deny_unfiltered; /* RN_WG_DEVICE_DENY_UNFILTERED: set at start, never changed */
	struct rn_flowtable flows;
	_Atomic uint64_t filtered; /* inbound packets the filter refused */

	/* Non-WireGuard datagrams go here (cfg_lock): rn_wg_device_set_foreign_handler. */
	rn_wg_foreign_fn foreign_fn;
	void *foreign_ctx;
	/* Datagrams to relay endpoints go here (cfg_lock): rn_wg_device_set_relay_hook. */
	rn_wg_relay_fn relay_fn;
	void *relay_ctx;
	pthread_mutex_t relay_rx_lock; /* one rn_wg_device_relay_input at a time */

	pthread_t tun_thread, udp_thread, timer_thread;
	pthread_t hs_threads[RN_MAX_HS_WORKERS];
	unsigned int n_hs_workers; /* started */
	bool threads_started;
};

/*
 * device.c: a device with its locks, queues and tables set up and no fds, no TUN, no threads
 * (rn_wg_device_start adds them; tests drive the rest by hand). rn_wg_device_stop frees it.
 */
int rn_device_new(unsigned int flags, struct rn_wg_device **out)
    __attribute__((warn_unused_result));

/*
 * device.c: the verdict on one decrypted inbound packet from peer (which ICMP errors must come
 * from: pktfilter.h). Caller holds cfg_lock (read).
 */
bool rn_device_admits(const struct rn_wg_device *dev, const struct rn_wg_peer *peer,
		      const uint8_t *pkt, size_t len, uint64_t now);

/* peer.c */
struct rn_wg_peer *rn_peer_create(struct rn_wg_device *dev, const uint8_t public_key[32]);
/* Unlinks the peer and drops its sessions; freed once no batch holds it. cfg_lock written. */
void rn_peer_remove(struct rn_wg_peer *peer);
struct rn_wg_peer *rn_peer_get(struct rn_wg_peer *peer);
void rn_peer_put(struct rn_wg_peer *peer);
struct rn_wg_peer *rn_peer_lookup(struct rn_wg_device *dev, const uint8_t public_key[32]);
/* Installs a new session (whitepaper key rotation); caller holds peer->lock. */
void rn_peer_add_keypair(struct rn_wg_peer *peer, struct rn_noise_keypair *kp);
/* A data packet arrived on kp: if it was the "next" keypair it becomes current. */
bool rn_peer_confirm_keypair(struct rn_wg_peer *peer, struct rn_noise_keypair *kp);
/* Drops every session and the handshake; caller holds peer->lock. */
void rn_peer_clear_keypairs(struct rn_wg_peer *peer);
void rn_peer_expire_current_keypairs(struct rn_wg_peer *peer);
/* The current keypair with a reference if it may still send, else NULL. Takes peer->lock. */
struct rn_noise_keypair *rn_peer_sending_keypair(struct rn_wg_peer *peer, uint64_t now_ns);
/* The same without the lock or a reference; caller holds peer->lock. */
struct rn_noise_keypair *rn_peer_sending_keypair_locked(struct rn_wg_peer *peer, uint64_t now_ns);
void rn_peer_stage_packet(struct rn_wg_peer *peer, const uint8_t *pkt, size_t len);
void rn_peer_purge_staged(struct rn_wg_peer *peer);
/* Same family, address and port. */
bool rn_endpoint_equal(const union rn_wg_endpoint *a, const union rn_wg_endpoint *b);
/* Where to send; local is where the peer's packet arrived (NULL: from the config, no source). */
void rn_peer_set_endpoint(struct rn_wg_peer *peer, const union rn_wg_endpoint *ep,
			  const struct rn_udp_src *local);

/* timers.c: the whitepaper's timer events; caller holds peer->lock. */
void rn_timers_data_sent(struct rn_wg_peer *peer, uint64_t now);
void rn_timers_data_received(struct rn_wg_peer *peer, uint64_t now);
void rn_timers_any_authenticated_packet_sent(struct rn_wg_peer *peer);
void rn_timers_any_authenticated_packet_received(struct rn_wg_peer *peer, uint64_t now);
void rn_timers_any_authenticated_packet_traversal(struct rn_wg_peer *peer, uint64_t now);
void rn_timers_handshake_initiated(struct rn_wg_peer *peer, uint64_t now);
void rn_timers_handshake_complete(struct rn_wg_peer *peer);
void rn_timers_session_derived(struct rn_wg_peer *peer, uint64_t now);
void rn_timers_stop(struct rn_wg_peer *peer);
/* One pass over every peer's deadlines; caller holds cfg_lock for reading. */
void rn_timers_tick(struct rn_wg_device *dev, uint64_t now);
void *rn_timers_thread(void *arg);

/* send.c */
/* Sends an initiation unless one went out within REKEY_TIMEOUT (or is_retry). Takes peer->lock. */
void rn_send_handshake_initiation(struct rn_wg_peer *peer, bool is_retry);
void rn_send_handshake_initiation_locked(struct rn_wg_peer *peer, bool is_retry, uint64_t now);
/* Answers the initiation consumed into peer->handshake and starts the responder's session. */
void rn_send_handshake_response_locked(struct rn_wg_peer *peer, uint64_t now);
void rn_send_keepalive_locked(struct rn_wg_peer *peer, uint64_t now);
/* Encrypts and sends staged packets now that a session exists (or a keepalive if none). */
void rn_send_staged_locked(struct rn_wg_peer *peer, uint64_t now);
/*
 * Sends n messages to ep for peer: through the relay hook for a relay endpoint when one is
 * installed, else on the socket from src (which a refused source clears). Caller holds
 * cfg_lock for reading. What rn_udp_send_batch_from returns.
 */
int rn_send_to(struct rn_wg_peer *peer, const union rn_wg_endpoint *ep, struct rn_udp_src *src,
	       struct iovec *iov, int n);
int rn_send_raw(struct rn_wg_device *dev, const union rn_wg_endpoint *dst, const void *buf,
		size_t len);
void *rn_send_tun_thread(void *arg);
extern const struct rn_serial_ops rn_send_serial_ops;
/* The transmit batch buffers into dev->tx_pool; 0 or -ENOMEM. Free after the threads stop. */
int rn_send_pool_alloc(struct rn_wg_device *dev, unsigned int n);
void rn_send_pool_free(struct rn_wg_device *dev);

/* receive.c */
void *rn_receive_udp_thread(void *arg);
extern const struct rn_serial_ops rn_receive_serial_ops;
int rn_receive_pool_alloc(struct rn_wg_device *dev, unsigned int n);
void rn_receive_pool_free(struct rn_wg_device *dev);
void *rn_receive_handshake_thread(void *arg);
/*
 * The threads' steps, for tests and fuzz targets that drive a device without threads (inline
 * crypto, n_workers 0): one receive from dev->udp, sorted and processed as the UDP reader does
 * (returns the datagram count, -EAGAIN when none waits, -ENOBUFS without a free buffer); and
 * the oldest queued handshake message handled as the handshake worker does (false if none).
 */
int rn_receive_udp_once(struct rn_wg_device *dev);
/* rn_wg_device_relay_input's work; caller holds relay_rx_lock. */
int rn_receive_relay_input(struct rn_wg_device *dev, const union rn_wg_endpoint *from,
			   const void *buf, size_t len);
bool rn_receive_handshake_once(struct rn_wg_device *dev);

#endif
