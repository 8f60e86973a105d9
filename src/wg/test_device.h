/* SPDX-License-Identifier: MIT */
/*
 * Test and fuzz harness support, never linked into a product: a device as rn_wg_device_start
 * makes it but without the TUN interface and the threads, so a test drives the same functions
 * the threads call (rn_receive_udp_once, rn_receive_handshake_once, rn_timers_tick) with the
 * time it chooses; and a remote peer worked by hand from the noise and cookie layers, with its
 * own UDP socket on loopback, to talk to it. Set-up failures abort: they are not what is tested.
 */
#ifndef RN_WG_TEST_DEVICE_H
#define RN_WG_TEST_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wg/cookie.h"
#include "wg/device_priv.h"
#include "wg/noise.h"

/*
 * A device with identity priv (NULL: none), its UDP socket on 127.0.0.1 (a random port), the
 * handshake queue, one receive and two transmit buffers, inline crypto (no workers) and, for
 * TUN, one end of a datagram socketpair whose other end goes to *tun_out (one packet a read;
 * NULL: no TUN). Free with rn_wg_device_stop (and close *tun_out).
 */
struct rn_wg_device *rn_testdev_new(const uint8_t priv[32], int *tun_out);
/*
 * Adds the peer pub with endpoint 127.0.0.1:port (0: none), allowed IP prefix allowed ("a/n",
 * NULL: none) and persistent keepalive keepalive_s (0: off); returns it.
 */
struct rn_wg_peer *rn_testdev_add_peer(struct rn_wg_device *dev, const uint8_t pub[32],
				       uint16_t port, const char *allowed, uint16_t keepalive_s);
/* Runs the UDP reader's and handshake worker's steps until nothing waits; datagrams seen. */
int rn_testdev_pump(struct rn_wg_device *dev);

/* The other end: a WireGuard peer worked by hand. */
struct rn_testpeer {
	int fd;	       /* UDP on 127.0.0.1 */
	uint16_t port; /* its port, host order */
	uint16_t dev_port;
	uint8_t priv[32], pub[32];
	struct rn_noise_identity id;
	struct rn_noise_handshake hs;
	struct rn_cookie cookie;     /* macs for what it sends the device */
	struct rn_noise_keypair *kp; /* its session, once rn_testpeer_handshake succeeded */
	uint8_t last_ts[RN_NOISE_TIMESTAMP_LEN]; /* of its last initiation */
};

/* A new random identity talking to the device whose public key is dev_pub on dev_port. */
void rn_testpeer_init(struct rn_testpeer *p, const uint8_t dev_pub[32], uint16_t dev_port);
void rn_testpeer_free(struct rn_testpeer *p);
void rn_testpeer_send(struct rn_testpeer *p, const void *buf, size_t len);
/* One datagram that reached the peer within wait_ms: its length, or -1 if none came. */
ssize_t rn_testpeer_recv(struct rn_testpeer *p, void *buf, size_t size, int wait_ms);
/* Drops whatever the peer has received so far. */
void rn_testpeer_flush(struct rn_testpeer *p);
/*
 * An initiation to the device with sender index index and valid macs (as of now). Waits for the
 * wall clock's next TAI64N tick (20 ms) if needed: the device refuses a timestamp not newer.
 */
void rn_testpeer_initiation(struct rn_testpeer *p, uint32_t index,
			    struct rn_message_handshake_initiation *msg, uint64_t now);
/*
 * A whole handshake, the peer initiating: sends an initiation, pumps dev, consumes its response
 * into p->kp. false if the device did not answer with a response that opens.
 */
bool rn_testpeer_handshake(struct rn_testpeer *p, struct rn_wg_device *dev);
/* Seals inner (len bytes, may be 0: a keepalive) as data message number counter into out. */
size_t rn_testpeer_data(const struct rn_testpeer *p, uint64_t counter, const void *inner,
			size_t len, uint8_t *out, size_t size);
/* Opens a data message the device sent to p in place; the plaintext length, or -1. */
ssize_t rn_testpeer_open(const struct rn_testpeer *p, uint8_t *msg, size_t len);

/* A device with one remote peer p at 100.64.0.2, worked by hand: receive and timer tests. */
struct rn_testpair {
	struct rn_wg_device *dev;
	int tun;		 /* what the device writes to TUN arrives here */
	struct rn_wg_peer *peer; /* the device's side of p */
	struct rn_testpeer p;
};
void rn_testpair_open(struct rn_testpair *t);
void rn_testpair_close(struct rn_testpair *t);

/* A 28-byte IPv4 ICMP echo request from src to dst (dotted quads) into out; its length. */
size_t rn_test_ping4(uint8_t *out, const char *src, const char *dst);

#endif
