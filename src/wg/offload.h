/* SPDX-License-Identifier: MIT */
/*
 * Segmentation and coalescing offloads between the TUN device and the tunnel, with no I/O of
 * their own so they can be tested in memory. A TUN read with a virtio-net header may carry a
 * 64 KiB TCP or UDP super-packet (TSO/USO); rn_offload_split cuts it into MTU-sized IP packets
 * with complete checksums, since they leave the host encrypted and nobody will fix them later,
 * in as many calls as the caller's batches need (one can hold thousands of segments).
 * In the other direction rn_gro merges decrypted segments of one flow back into a super-packet
 * so that one TUN write carries up to 64 KiB, after verifying each segment's checksum, which
 * the merged packet no longer lets the kernel check. The internet checksum lives here too.
 */
#ifndef RN_WG_OFFLOAD_H
#define RN_WG_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* missing from older uapi headers (Linux 6.2) */
#endif

/* Bytes of struct virtio_net_hdr in front of every TUN read and write when vnet_hdr is on. */
#define RN_OFFLOAD_VNET_HDR_LEN ((size_t)sizeof(struct virtio_net_hdr))
/* Largest IP packet a TUN read can return, so the size of a read buffer with the header. */
#define RN_OFFLOAD_MAX_PKT 65535u

/*
 * Internet checksum (RFC 1071). A running sum is a uint64_t in the CPU's byte order; pieces may
 * be added in any order as long as each starts at an even offset of the checksummed range.
 * rn_csum_fold returns the 16-bit value to store with memcpy (already in network byte order).
 */
uint64_t rn_csum_add(uint64_t sum, const void *buf, size_t len);
/* Copies len bytes and adds them to the sum in one pass over the data. */
uint64_t rn_csum_copy(void *dst, const void *src, size_t len, uint64_t sum);
/* Folds and complements: the value for the header field. */
uint16_t rn_csum_fold(uint64_t sum);
/* TCP/UDP pseudo-header sum; addr_len 4 or 16, saddr and daddr adjacent as in the IP header. */
uint64_t rn_csum_pseudo(const uint8_t *saddr_daddr, size_t addr_len, uint8_t proto,
			uint32_t l4_len);

/* The headers of a super-packet being split, and how far the split got (offload.c's own). */
struct rn_offload_splitter {
	const uint8_t *pkt; /* the IP packet inside the caller's read buffer */
	size_t plen;
	struct virtio_net_hdr vh;
	size_t next, n; /* the next segment to cut, and how many there are */
	bool gso;	/* a super-packet, not one packet (n == 1) */
	bool v6, tcp;	/* with gso: */
	uint16_t gso_size, id;
	uint32_t seq;
	size_t iph_len, hdr_len, payload;
	uint64_t addr_sum;     /* pseudo-header addresses, the same for every segment */
	uint8_t tmpl[60 + 60]; /* the headers, kept aside: segment 0 may overwrite them */
};

/*
 * Starts splitting what one TUN read returned (the virtio-net header when vnet_hdr, then the IP
 * packet). Returns the number of IP packets it holds (1 for a plain packet; a 64 KiB
 * super-packet at a tiny MSS holds thousands), or -EINVAL for input that is malformed or
 * unsupported (ECN GSO, IPv6 extension headers, IPv4 fragments). Only the headers are read
 * here; buf must stay unchanged until the last rn_offload_split_next.
 */
int rn_offload_split_begin(struct rn_offload_splitter *s, const uint8_t *buf, size_t len,
			   bool vnet_hdr);
/*
 * Cuts the next packets, at most max_out, into slots: packet i of this call is written at
 * slots + i * slot_stride + headroom and its length stored in out_lens[i]; headroom + length
 * never exceeds slot_stride, and the caller keeps its own tailroom by passing a larger stride.
 * The checksums are complete. Returns the number of packets cut, 0 once all were, or -EINVAL
 * when one does not fit a slot or the slots overlap buf (see rn_offload_split); the splitter
 * then stays where it was. Nothing outside buf and the slots is touched.
 */
int rn_offload_split_next(struct rn_offload_splitter *s, uint8_t *slots, size_t slot_stride,
			  size_t headroom, size_t *out_lens, int max_out);
/* Packets rn_offload_split_next has still to cut. */
static inline size_t rn_offload_split_left(const struct rn_offload_splitter *s)
{
	return s->n - s->next;
}

/*
 * Both steps in one call, for a read whose packets all fit max_out slots: returns their number,
 * or -EINVAL as above and also when they need more than max_out slots.
 *
 * buf may sit inside slot 0 exactly at slots + headroom - RN_OFFLOAD_VNET_HDR_LEN (or at
 * slots + headroom without vnet_hdr), which saves copying the first packet; slot_stride must
 * then cover the whole read. Any other overlap between buf and the slots is refused, and so is
 * this one when a split takes several calls (the first call would overwrite the input).
 */
int rn_offload_split(const uint8_t *buf, size_t len, bool vnet_hdr, uint8_t *slots,
		     size_t slot_stride, size_t headroom, size_t *out_lens, int max_out);

/* Most packets one coalescing batch holds; rn_gro_add returns -ENOSPC past it. */
#define RN_GRO_MAX_PKTS 128
/* UDP super-packets stop at the kernel's UDP GRO segment count; TCP ones only at 64 KiB. */
#define RN_GRO_MAX_UDP_SEGS 64
#define RN_GRO_TABLE_SIZE   256 /* flow hash slots, a power of two */

struct rn_gro_pkt {
	uint8_t *data; /* caller's buffer: must stay valid until the flush */
	uint16_t len;
	uint16_t next; /* next segment of the same item, or RN_GRO_MAX_PKTS */
};

struct rn_gro_item {
	uint16_t head, tail; /* first and last packet */
	uint16_t n_segs;
	uint16_t gso_size;  /* L4 payload bytes of the first segment */
	uint16_t hdr_len;   /* IP + TCP/UDP header bytes */
	uint32_t total_len; /* IP length of the merged packet */
	uint32_t next_seq;  /* TCP: the sequence number the next segment must carry */
	uint16_t next_id;   /* IPv4 without DF: the IP id the next segment must carry */
	uint8_t kind;	    /* enum rn_gro_kind (offload.c) */
	bool open;	    /* false once nothing may be appended (short segment, PSH, limits) */
	bool psh;	    /* the last segment carried PSH: set it on the merged header */
};

/*
 * One batch of decrypted packets on their way to the TUN device. No allocation: everything is
 * in the struct (about 6 KiB). Not thread-safe; one per writer thread.
 */
struct rn_gro {
	bool vnet_hdr; /* the TUN takes a virtio-net header: without it nothing is merged */
	bool uso;      /* the TUN accepted TUN_F_USO4/6: UDP may be merged too */
	uint16_t n_pkts, n_items;
	uint8_t table[RN_GRO_TABLE_SIZE]; /* flow hash -> open item index + 1, 0 = empty */
	struct rn_gro_pkt pkts[RN_GRO_MAX_PKTS];
	struct rn_gro_item items[RN_GRO_MAX_PKTS];
};

/* Called once per TUN write; returns bytes written or -errno. */
typedef long (*rn_gro_emit_fn)(void *ctx, const struct iovec *iov, int iovcnt);

void rn_gro_init(struct rn_gro *g, bool vnet_hdr, bool uso);
/*
 * Queues one IP packet. The buffer is not copied and must stay unchanged until the flush, which
 * may rewrite the IP and TCP/UDP headers of the first packet of each merged group in place.
 * Returns 0, -ENOSPC when the batch is full (flush, then add again) or -EINVAL for a length
 * of 0 or over 65535.
 */
int rn_gro_add(struct rn_gro *g, uint8_t *pkt, size_t len);
/*
 * Writes every queued packet, merged where possible, in arrival order within each flow, with
 * one writev() per super-packet; then empties the batch. Returns the number of queued packets
 * written, or the -errno of the first failed write (the remaining groups are still tried).
 */
int rn_gro_flush(struct rn_gro *g, int tun_fd);
/* The same with a callback in place of writev(), for tests and other sinks. */
int rn_gro_flush_cb(struct rn_gro *g, rn_gro_emit_fn emit, void *ctx);

#endif
