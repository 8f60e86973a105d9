/* SPDX-License-Identifier: MIT */
/*
 * TSO/USO segmentation of TUN reads, GRO-style coalescing for TUN writes, and the internet
 * checksum both need. The rules follow what the kernel does in tcp_gso_segment() and
 * tcp_gro_receive()/udp_gro_receive(), so that what we split and merge is what a NIC with
 * those offloads would have produced.
 */
#include "wg/offload.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
	IP4_HDR_MIN = 20,
	IP6_HDR_LEN = 40,
	IP4_OFF_TOTLEN = 2,
	IP4_OFF_ID = 4,
	IP4_OFF_FRAG = 6, /* flags (3 bits) and fragment offset */
	IP4_OFF_TTL = 8,
	IP4_OFF_PROTO = 9,
	IP4_OFF_CSUM = 10,
	IP4_OFF_ADDRS = 12,
	IP6_OFF_PLEN = 4,
	IP6_OFF_NEXT = 6,
	IP6_OFF_HOPS = 7,
	IP6_OFF_ADDRS = 8,
	TCP_HDR_MIN = 20,
	TCP_HDR_MAX = 60,
	TCP_OFF_SEQ = 4,
	TCP_OFF_ACK = 8,
	TCP_OFF_DOFF = 12,
	TCP_OFF_FLAGS = 13,
	TCP_OFF_CSUM = 16,
	UDP_HDR_LEN = 8,
	UDP_OFF_LEN = 4,
	UDP_OFF_CSUM = 6,
};

enum { TCP_FIN = 0x01, TCP_PSH = 0x08, TCP_ACK = 0x10, TCP_CWR = 0x80 };

enum { IP4_DF = 0x4000, IP4_MF_OFFSET = 0x3fff };

enum rn_gro_kind { GRO_OTHER, GRO_TCP4, GRO_TCP6, GRO_UDP4, GRO_UDP6 };

#define GRO_NONE RN_GRO_MAX_PKTS

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- internet checksum ---- */

static inline uint64_t csum_add64(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b); /* end-around carry */
}

/*
 * One's complement arithmetic does not care about the word size or byte order (RFC 1071), so
 * 32-bit native words are added into four 64-bit accumulators, which cannot overflow before
 * 16 GiB and need no carry handling; the compiler turns the loop into vector adds. Measured
 * on the 2-vCPU EPYC VM at -O2: 2.3 us per 64 KiB (29 GB/s), against 3.8 us for 64-bit words
 * with a 128-bit accumulator (add/adc, one dependency chain) and 2.9 us for two carry chains.
 */
uint64_t rn_csum_add(uint64_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t acc[4] = { 0, 0, 0, 0 };
	uint32_t w[4];

	for (; len >= 16; p += 16, len -= 16) {
		memcpy(w, p, 16);
		for (int i = 0; i < 4; i++)
			acc[i] += w[i];
	}
	for (; len >= 4; p += 4, len -= 4) {
		memcpy(w, p, 4);
		acc[0] += w[0];
	}
	if (len) {
		w[0] = 0;
		memcpy(w, p, len); /* keeps each byte at its position within the 16-bit words */
		acc[1] += w[0];
	}
	return csum_add64(sum, acc[0] + acc[1] + acc[2] + acc[3]);
}

/* The same while copying: segmenting touches every payload byte once instead of twice. */
uint64_t rn_csum_copy(void *dst, const void *src, size_t len, uint64_t sum)
{
	const uint8_t *s = src;
	uint8_t *d = dst;
	uint64_t acc[4] = { 0, 0, 0, 0 };
	uint32_t w[4];

	for (; len >= 16; s += 16, d += 16, len -= 16) {
		memcpy(w, s, 16);
		memcpy(d, w, 16);
		for (int i = 0; i < 4; i++)
			acc[i] += w[i];
	}
	for (; len >= 4; s += 4, d += 4, len -= 4) {
		memcpy(w, s, 4);
		memcpy(d, w, 4);
		acc[0] += w[0];
	}
	if (len) {
		w[0] = 0;
		memcpy(w, s, len);
		memcpy(d, w, len);
		acc[1] += w[0];
	}
	return csum_add64(sum, acc[0] + acc[1] + acc[2] + acc[3]);
}

uint16_t rn_csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The pseudo-header words after the addresses (RFC 9293, RFC 8200 8.1). */
static inline uint64_t csum_proto_len(uint64_t sum, uint8_t proto, uint32_t l4_len)
{
	/* htons() gives a big-endian word as the CPU loads it, the domain the sum lives in. */
	return csum_add64(sum, (uint64_t)htons(proto) + htons((uint16_t)l4_len) +
				   htons((uint16_t)(l4_len >> 16)));
}

uint64_t rn_csum_pseudo(const uint8_t *saddr_daddr, size_t addr_len, uint8_t proto, uint32_t l4_len)
{
	return csum_proto_len(rn_csum_add(0, saddr_daddr, 2 * addr_len), proto, l4_len);
}

/* ---- segmentation of TUN reads ---- */

/* Parses and checks the headers of a GSO super-packet; false for anything malformed. */
static bool gso_parse(const uint8_t *pkt, size_t plen, const struct virtio_net_hdr *vh,
		      struct rn_offload_splitter *gi)
{
	uint8_t type = vh->gso_type, proto;

	if (!vh->gso_size || plen < IP4_HDR_MIN)
		return false;
	gi->gso_size = vh->gso_size;
	gi->tcp = type == VIRTIO_NET_HDR_GSO_TCPV4 || type == VIRTIO_NET_HDR_GSO_TCPV6;
	if (!gi->tcp && type != VIRTIO_NET_HDR_GSO_UDP_L4)
		return false; /* also refuses ECN: we never offered TUN_F_TSO_ECN */
	gi->v6 = pkt[0] >> 4 == 6;
	if (gi->v6 ? type == VIRTIO_NET_HDR_GSO_TCPV4 : type == VIRTIO_NET_HDR_GSO_TCPV6)
		return false;
	if (gi->v6) {
		if (plen < IP6_HDR_LEN || get16(pkt + IP6_OFF_PLEN) + (size_t)IP6_HDR_LEN != plen)
			return false;
		gi->iph_len = IP6_HDR_LEN;
		proto = pkt[IP6_OFF_NEXT]; /* extension headers are not followed: refused below */
		gi->addr_sum = rn_csum_add(0, pkt + IP6_OFF_ADDRS, 32);
	} else {
		gi->iph_len = (size_t)(pkt[0] & 0x0f) * 4;
		if (pkt[0] >> 4 != 4 || gi->iph_len < IP4_HDR_MIN || gi->iph_len > plen ||
		    get16(pkt + IP4_OFF_TOTLEN) != plen ||
		    (get16(pkt + IP4_OFF_FRAG) & IP4_MF_OFFSET))
			return false;
		proto = pkt[IP4_OFF_PROTO];
		gi->id = get16(pkt + IP4_OFF_ID);
		gi->addr_sum = rn_csum_add(0, pkt + IP4_OFF_ADDRS, 8);
	}
	if (proto != (gi->tcp ? IPPROTO_TCP : IPPROTO_UDP))
		return false;
	if (gi->tcp) {
		/* hdr_len from the kernel can span the whole first packet when forwarding. */
		if (plen < gi->iph_len + TCP_HDR_MIN)
			return false;
		gi->hdr_len = gi->iph_len + (size_t)(pkt[gi->iph_len + TCP_OFF_DOFF] >> 4) * 4;
		if (gi->hdr_len < gi->iph_len + TCP_HDR_MIN || gi->hdr_len > plen)
			return false;
		gi->seq = get32(pkt + gi->iph_len + TCP_OFF_SEQ);
	} else {
		gi->hdr_len = gi->iph_len + UDP_HDR_LEN;
		if (gi->hdr_len > plen)
			return false;
	}
	gi->payload = plen - gi->hdr_len;
	memcpy(gi->tmpl, pkt, gi->hdr_len);
	return true;
}

/* Writes segment i at dst: headers from the template, payload copied and summed. */
static size_t gso_segment(const struct rn_offload_splitter *gi, size_t i, uint8_t *dst)
{
	size_t off = i * gi->gso_size, seg = gi->payload - off, l4 = gi->hdr_len - gi->iph_len;
	const uint8_t *pkt = gi->pkt;
	uint8_t *th = dst + gi->iph_len;
	uint64_t sum;
	uint16_t c;

	if (seg > gi->gso_size)
		seg = gi->gso_size;
	if (dst != pkt) {
		memcpy(dst, gi->tmpl, gi->hdr_len);
		sum = rn_csum_copy(dst + gi->hdr_len, pkt + gi->hdr_len + off, seg, 0);
	} else {
		sum = rn_csum_add(0, dst + gi->hdr_len, seg);
	}
	if (gi->v6) {
		put16(dst + IP6_OFF_PLEN, (uint32_t)(l4 + seg));
	} else {
		put16(dst + IP4_OFF_TOTLEN, (uint32_t)(gi->hdr_len + seg));
		put16(dst + IP4_OFF_ID, (uint32_t)(gi->id + i));
		memset(dst + IP4_OFF_CSUM, 0, 2);
		c = rn_csum_fold(rn_csum_add(0, dst, gi->iph_len));
		memcpy(dst + IP4_OFF_CSUM, &c, 2);
	}
	if (gi->tcp) {
		uint8_t flags = gi->tmpl[gi->iph_len + TCP_OFF_FLAGS];

		put32(th + TCP_OFF_SEQ, gi->seq + (uint32_t)off);
		if (i != gi->n - 1)
			flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (i != 0)
			flags &= (uint8_t)~TCP_CWR;
		th[TCP_OFF_FLAGS] = flags;
		memset(th + TCP_OFF_CSUM, 0, 2);
	} else {
		put16(th + UDP_OFF_LEN, (uint32_t)(l4 + seg));
		memset(th + UDP_OFF_CSUM, 0, 2);
	}
	sum = csum_add64(sum, rn_csum_add(gi->addr_sum, th, l4));
	sum = csum_proto_len(sum, gi->tcp ? IPPROTO_TCP : IPPROTO_UDP, (uint32_t)(l4 + seg));
	c = rn_csum_fold(sum);
	if (!gi->tcp && !c)
		c = 0xffff; /* 0 means "no checksum" in UDP */
	memcpy(th + (gi->tcp ? TCP_OFF_CSUM : UDP_OFF_CSUM), &c, 2);
	return gi->hdr_len + seg;
}

/*
 * The input may be exactly where slot 0's packet goes when one call cuts every packet; any
 * other overlap would corrupt it.
 */
static bool split_overlap_ok(const struct rn_offload_splitter *s, const uint8_t *slots,
			     size_t stride, size_t headroom, size_t n)
{
	uintptr_t in = (uintptr_t)s->pkt, out = (uintptr_t)slots;

	if (s->pkt == slots + headroom)
		return s->next == 0 && n == s->n && headroom + s->plen <= stride;
	return in + s->plen <= out || in >= out + n * stride;
}

static int split_one(struct rn_offload_splitter *s, uint8_t *dst, size_t room, size_t *out_len)
{
	const struct virtio_net_hdr *vh = &s->vh;
	const uint8_t *pkt = s->pkt;
	size_t plen = s->plen, start = vh->csum_start, at = start + vh->csum_offset;
	uint16_t c;

	if (plen > room)
		return -EINVAL;
	if (dst != pkt)
		memcpy(dst, pkt, plen);
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* The field holds the pseudo-header sum; the kernel leaves the rest to us. */
		c = rn_csum_fold(rn_csum_add(0, dst + start, plen - start));
		if (!c)
			c = 0xffff; /* as skb_checksum_help() does */
		memcpy(dst + at, &c, 2);
	}
	*out_len = plen;
	s->next = 1;
	return 1;
}

int rn_offload_split_begin(struct rn_offload_splitter *s, const uint8_t *buf, size_t len,
			   bool vnet_hdr)
{
	memset(&s->vh, 0, sizeof(s->vh));
	s->pkt = buf;
	s->plen = len;
	s->next = s->n = 0;
	s->gso = false;
	if (vnet_hdr) {
		if (len < RN_OFFLOAD_VNET_HDR_LEN)
			return -EINVAL;
		memcpy(&s->vh, buf, sizeof(s->vh));
		s->pkt += sizeof(s->vh);
		s->plen -= sizeof(s->vh);
	}
	if (s->vh.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		size_t at = (size_t)s->vh.csum_start + s->vh.csum_offset;

		if (s->plen < IP4_HDR_MIN || (s->pkt[0] >> 4 != 4 && s->pkt[0] >> 4 != 6) ||
		    (s->pkt[0] >> 4 == 6 && s->plen < IP6_HDR_LEN))
			return -EINVAL;
		if ((s->vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && at + 2 > s->plen)
			return -EINVAL;
		s->n = 1;
		return 1;
	}
	if (!gso_parse(s->pkt, s->plen, &s->vh, s))
		return -EINVAL;
	s->gso = true;
	s->n = s->payload ? (s->payload + s->gso_size - 1) / s->gso_size : 1;
	return (int)s->n; /* at most 65535 */
}

int rn_offload_split_next(struct rn_offload_splitter *s, uint8_t *slots, size_t slot_stride,
			  size_t headroom, size_t *out_lens, int max_out)
{
	size_t n = rn_offload_split_left(s), first;

	if (!n)
		return 0;
	if (max_out < 1 || headroom >= slot_stride)
		return -EINVAL;
	if (n > (size_t)max_out)
		n = (size_t)max_out;
	if (!split_overlap_ok(s, slots, slot_stride, headroom, n))
		return -EINVAL;
	if (!s->gso)
		return split_one(s, slots + headroom, slot_stride - headroom, out_lens);
	first = s->hdr_len + (s->payload < s->gso_size ? s->payload : s->gso_size);
	if (first > slot_stride - headroom)
		return -EINVAL;
	/* Segment 0 last: when the read sits in slot 0 its payload is already in place. */
	for (size_t i = 1; i < n; i++)
		out_lens[i] = gso_segment(s, s->next + i, slots + i * slot_stride + headroom);
	out_lens[0] = gso_segment(s, s->next, slots + headroom);
	s->next += n;
	return (int)n;
}

int rn_offload_split(const uint8_t *buf, size_t len, bool vnet_hdr, uint8_t *slots,
		     size_t slot_stride, size_t headroom, size_t *out_lens, int max_out)
{
	struct rn_offload_splitter s;
	int n = rn_offload_split_begin(&s, buf, len, vnet_hdr);

	if (n < 0 || n > max_out)
		return -EINVAL;
	return rn_offload_split_next(&s, slots, slot_stride, headroom, out_lens, max_out);
}

/* ---- coalescing for TUN writes ---- */

struct gro_info {
	uint8_t kind; /* enum rn_gro_kind */
	bool candidate;
	uint16_t iph_len, l4_len, payload;
	uint32_t hash;
};

static uint32_t gro_hash(const uint8_t *addrs, size_t addr_len, const uint8_t *ports, uint8_t kind)
{
	uint32_t h = kind, w;

	for (size_t i = 0; i < 2 * addr_len; i += 4) {
		memcpy(&w, addrs + i, 4);
		h = (h ^ w) * 0x9e3779b1u;
	}
	memcpy(&w, ports, 4);
	h = (h ^ w) * 0x9e3779b1u;
	return h ^ h >> 16;
}

/* Classifies a packet: which flow it belongs to, and whether it may be merged at all. */
static void gro_parse(const uint8_t *p, size_t len, bool uso, struct gro_info *gi)
{
	uint8_t proto, flags;
	bool v6;

	gi->kind = GRO_OTHER;
	gi->candidate = false;
	if (len < IP4_HDR_MIN)
		return;
	v6 = p[0] >> 4 == 6;
	if (v6) {
		if (len < IP6_HDR_LEN || get16(p + IP6_OFF_PLEN) + (size_t)IP6_HDR_LEN != len)
			return;
		gi->iph_len = IP6_HDR_LEN;
		proto = p[IP6_OFF_NEXT];
	} else {
		gi->iph_len = (uint16_t)((p[0] & 0x0f) * 4);
		if (p[0] >> 4 != 4 || gi->iph_len < IP4_HDR_MIN ||
		    get16(p + IP4_OFF_TOTLEN) != len || (get16(p + IP4_OFF_FRAG) & IP4_MF_OFFSET))
			return;
		proto = p[IP4_OFF_PROTO];
	}
	if (proto == IPPROTO_TCP && len >= gi->iph_len + (size_t)TCP_HDR_MIN) {
		gi->l4_len = (uint16_t)((p[gi->iph_len + TCP_OFF_DOFF] >> 4) * 4);
		if (gi->l4_len < TCP_HDR_MIN || gi->iph_len + (size_t)gi->l4_len > len)
			return;
		gi->kind = v6 ? GRO_TCP6 : GRO_TCP4;
		gi->payload = (uint16_t)(len - gi->iph_len - gi->l4_len);
		flags = p[gi->iph_len + TCP_OFF_FLAGS];
		gi->candidate = gi->payload && (flags == TCP_ACK || flags == (TCP_ACK | TCP_PSH));
	} else if (proto == IPPROTO_UDP && len >= gi->iph_len + (size_t)UDP_HDR_LEN) {
		const uint8_t *uh = p + gi->iph_len;

		gi->kind = v6 ? GRO_UDP6 : GRO_UDP4;
		gi->l4_len = UDP_HDR_LEN;
		gi->payload = (uint16_t)(len - gi->iph_len - UDP_HDR_LEN);
		/*
		 * Padded datagrams and those without a checksum are passed through: there is
		 * nothing to verify, and the merged packet would get one the sender never gave.
		 */
		gi->candidate = uso && gi->payload &&
				get16(uh + UDP_OFF_LEN) == len - gi->iph_len &&
				get16(uh + UDP_OFF_CSUM);
	} else {
		return;
	}
	if (!v6 && gi->iph_len != IP4_HDR_MIN)
		gi->candidate = false; /* IP options: known flow, but never merged */
	gi->hash = gro_hash(p + (v6 ? IP6_OFF_ADDRS : IP4_OFF_ADDRS), v6 ? 16 : 4, p + gi->iph_len,
			    gi->kind);
}

static size_t gro_iph_len(const uint8_t *p)
{
	return p[0] >> 4 == 6 ? IP6_HDR_LEN : (size_t)(p[0] & 0x0f) * 4;
}

static bool gro_same_flow(const uint8_t *a, const uint8_t *b, size_t b_iph, bool v6)
{
	size_t off = v6 ? IP6_OFF_ADDRS : IP4_OFF_ADDRS, alen = v6 ? 32 : 8;

	return !memcmp(a + off, b + off, alen) && !memcmp(a + gro_iph_len(a), b + b_iph, 4);
}

/* IP fields that must match for the merged packet to be what the sender would have sent. */
static bool gro_ip_match(const uint8_t *h, const uint8_t *p, const struct rn_gro_item *it)
{
	if (it->kind == GRO_TCP6 || it->kind == GRO_UDP6)
		return !memcmp(h, p, 4) && h[IP6_OFF_HOPS] == p[IP6_OFF_HOPS];
	if (h[1] != p[1] || h[IP4_OFF_TTL] != p[IP4_OFF_TTL] ||
	    (h[IP4_OFF_FRAG] ^ p[IP4_OFF_FRAG]) & 0xe0)
		return false;
	/* Resegmentation numbers the ids up from the first; without DF they must already be so. */
	return (get16(h + IP4_OFF_FRAG) & IP4_DF) || get16(p + IP4_OFF_ID) == it->next_id;
}

static bool gro_tcp_match(const uint8_t *h, const uint8_t *p, const struct gro_info *gi,
			  const struct rn_gro_item *it)
{
	const uint8_t *th = h + gi->iph_len, *tp = p + gi->iph_len;

	/* tcp_gro_receive(): same ack, flags but PSH, window and options; contiguous seq. */
	return get32(tp + TCP_OFF_SEQ) == it->next_seq &&
	       !memcmp(th + TCP_OFF_ACK, tp + TCP_OFF_ACK, 5) &&
	       !((th[TCP_OFF_FLAGS] ^ tp[TCP_OFF_FLAGS]) & (uint8_t)~TCP_PSH) &&
	       !memcmp(th + TCP_OFF_FLAGS + 1, tp + TCP_OFF_FLAGS + 1, 2) &&
	       !memcmp(th + TCP_HDR_MIN, tp + TCP_HDR_MIN, gi->l4_len - (size_t)TCP_HDR_MIN);
}

/*
 * The segment's TCP or UDP checksum, pseudo-header included, as the receiving stack would
 * check it. Merging replaces it with CHECKSUM_PARTIAL, which the kernel trusts: a segment
 * corrupted before encryption (the AEAD only proves it left the peer so) would then reach the
 * socket with a valid sum. wireguard-go checks the same before it coalesces.
 */
static bool gro_csum_ok(const uint8_t *p, size_t len, uint8_t kind)
{
	bool v6 = kind == GRO_TCP6 || kind == GRO_UDP6, tcp = kind == GRO_TCP4 || kind == GRO_TCP6;
	size_t iph = gro_iph_len(p);
	uint64_t sum = rn_csum_pseudo(p + (v6 ? IP6_OFF_ADDRS : IP4_OFF_ADDRS), v6 ? 16 : 4,
				      tcp ? IPPROTO_TCP : IPPROTO_UDP, (uint32_t)(len - iph));

	return rn_csum_fold(rn_csum_add(sum, p + iph, len - iph)) == 0;
}

/*
 * Appends packet idx to item it if the kernel would have merged them. Checksums are checked
 * last and only here, so a packet that is never merged costs no pass over its payload: the
 * head's once, when the first packet would join it; the packet's own before it joins. A bad
 * one is never merged: it goes to the TUN alone and unchanged, where the kernel checks its
 * checksum and drops it (counted in its TCP/UDP InCsumErrors), as wireguard-go does.
 */
static bool gro_try_append(struct rn_gro *g, struct rn_gro_item *it, uint16_t idx,
			   struct gro_info *gi)
{
	const uint8_t *h = g->pkts[it->head].data, *p = g->pkts[idx].data;
	bool tcp = it->kind == GRO_TCP4 || it->kind == GRO_TCP6;

	if (gi->iph_len + gi->l4_len != it->hdr_len || gi->payload > it->gso_size ||
	    it->total_len + gi->payload > RN_OFFLOAD_MAX_PKT || !gro_ip_match(h, p, it))
		return false;
	if (tcp ? !gro_tcp_match(h, p, gi, it) : it->n_segs >= RN_GRO_MAX_UDP_SEGS)
		return false;
	if (it->n_segs == 1 && !gro_csum_ok(h, g->pkts[it->head].len, it->kind))
		return false; /* the head alone; this packet may start the next group */
	if (!gro_csum_ok(p, g->pkts[idx].len, it->kind)) {
		gi->candidate = false; /* alone, and nothing may join it either */
		return false;
	}
	g->pkts[it->tail].next = idx;
	it->tail = idx;
	it->n_segs++;
	it->total_len += gi->payload;
	it->next_seq += gi->payload;
	it->next_id++;
	it->psh = tcp && (p[gi->iph_len + TCP_OFF_FLAGS] & TCP_PSH);
	/* Only the last segment may be short, and nothing may follow a PSH. */
	if (gi->payload < it->gso_size || it->psh || (!tcp && it->n_segs >= RN_GRO_MAX_UDP_SEGS))
		it->open = false;
	return true;
}

static struct rn_gro_item *gro_new_item(struct rn_gro *g, uint16_t idx, const struct gro_info *gi)
{
	struct rn_gro_item *it = &g->items[g->n_items++];
	const uint8_t *p = g->pkts[idx].data;

	memset(it, 0, sizeof(*it));
	it->head = it->tail = idx;
	it->n_segs = 1;
	it->kind = gi->kind;
	it->open = gi->candidate;
	if (!gi->candidate)
		return it;
	it->gso_size = gi->payload;
	it->hdr_len = (uint16_t)(gi->iph_len + gi->l4_len);
	it->total_len = g->pkts[idx].len;
	it->next_id = (uint16_t)(get16(p + IP4_OFF_ID) + 1); /* unused for IPv6 */
	if (gi->kind == GRO_TCP4 || gi->kind == GRO_TCP6) {
		it->next_seq = get32(p + gi->iph_len + TCP_OFF_SEQ) + gi->payload;
		it->psh = p[gi->iph_len + TCP_OFF_FLAGS] & TCP_PSH;
		it->open = !it->psh;
	}
	return it;
}

void rn_gro_init(struct rn_gro *g, bool vnet_hdr, bool uso)
{
	memset(g, 0, sizeof(*g));
	g->vnet_hdr = vnet_hdr;
	g->uso = vnet_hdr && uso;
}

int rn_gro_add(struct rn_gro *g, uint8_t *pkt, size_t len)
{
	struct gro_info gi = { .kind = GRO_OTHER };
	struct rn_gro_item *it;
	uint16_t idx = g->n_pkts;
	uint8_t *slot = NULL;

	if (!len || len > RN_OFFLOAD_MAX_PKT)
		return -EINVAL;
	if (g->n_pkts == RN_GRO_MAX_PKTS)
		return -ENOSPC;
	g->pkts[idx] = (struct rn_gro_pkt){ .data = pkt, .len = (uint16_t)len, .next = GRO_NONE };
	g->n_pkts++;
	if (g->vnet_hdr)
		gro_parse(pkt, len, g->uso, &gi);
	if (gi.kind != GRO_OTHER) {
		slot = &g->table[gi.hash & (RN_GRO_TABLE_SIZE - 1)];
		it = *slot ? &g->items[*slot - 1] : NULL;
		/*
		 * A hash collision only loses the older item its slot: it is never appended to
		 * again, which costs merging but never reorders a flow.
		 */
		if (it && it->open && it->kind == gi.kind &&
		    gro_same_flow(g->pkts[it->head].data, pkt, gi.iph_len,
				  gi.kind == GRO_TCP6 || gi.kind == GRO_UDP6)) {
			if (gi.candidate && gro_try_append(g, it, idx, &gi))
				return 0;
			it->open = false; /* later segments must not overtake this packet */
		}
	}
	it = gro_new_item(g, idx, &gi);
	if (it->open)
		*slot = (uint8_t)g->n_items; /* index + 1 */
	return 0;
}

/* Rewrites the first packet's headers to describe the whole group, and the vnet header. */
static void gro_finish(struct rn_gro *g, const struct rn_gro_item *it, struct virtio_net_hdr *vh)
{
	uint8_t *h = g->pkts[it->head].data;
	size_t iph = gro_iph_len(h);
	bool tcp = it->kind == GRO_TCP4 || it->kind == GRO_TCP6;
	bool v6 = it->kind == GRO_TCP6 || it->kind == GRO_UDP6;
	uint16_t c;

	if (v6) {
		put16(h + IP6_OFF_PLEN, it->total_len - IP6_HDR_LEN);
	} else {
		put16(h + IP4_OFF_TOTLEN, it->total_len);
		memset(h + IP4_OFF_CSUM, 0, 2);
		c = rn_csum_fold(rn_csum_add(0, h, iph));
		memcpy(h + IP4_OFF_CSUM, &c, 2);
	}
	if (tcp && it->psh)
		h[iph + TCP_OFF_FLAGS] |= TCP_PSH;
	if (!tcp)
		put16(h + iph + UDP_OFF_LEN, (uint32_t)(it->total_len - iph));
	/* CHECKSUM_PARTIAL: the field holds the uncomplemented pseudo-header sum. */
	c = (uint16_t)~rn_csum_fold(rn_csum_pseudo(h + (v6 ? IP6_OFF_ADDRS : IP4_OFF_ADDRS),
						   v6 ? 16 : 4, tcp ? IPPROTO_TCP : IPPROTO_UDP,
						   (uint32_t)(it->total_len - iph)));
	memcpy(h + iph + (tcp ? TCP_OFF_CSUM : UDP_OFF_CSUM), &c, 2);

	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->gso_type = tcp ? (v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4)
			   : VIRTIO_NET_HDR_GSO_UDP_L4;
	vh->hdr_len = it->hdr_len;
	vh->gso_size = it->gso_size;
	vh->csum_start = (uint16_t)iph;
	vh->csum_offset = tcp ? TCP_OFF_CSUM : UDP_OFF_CSUM;
}

/*
 * One writev() per group, the payloads left where decryption put them. Measured on the 2-vCPU
 * EPYC VM (a 64 KB TCPv4 flow of 47 segments into a real TUN in a netns, 20k rounds x 6):
 * merging costs 1.2 us, writev() with 48 iovecs 7.0-8.1 us, copying into one buffer and
 * write() 7.0-8.3 us (the kernel walks the iovecs about as fast as memcpy builds the buffer),
 * and 47 separate writes 93 us. So: no staging copy, no 64 KiB buffer per writer.
 */
int rn_gro_flush_cb(struct rn_gro *g, rn_gro_emit_fn emit, void *ctx)
{
	struct iovec iov[RN_GRO_MAX_PKTS + 1];
	struct virtio_net_hdr vh;
	int written = 0, err = 0;

	for (uint16_t i = 0; i < g->n_items; i++) {
		const struct rn_gro_item *it = &g->items[i];
		const struct rn_gro_pkt *p = &g->pkts[it->head];
		long r;
		int n = 0;

		memset(&vh, 0, sizeof(vh));
		if (g->vnet_hdr)
			iov[n++] = (struct iovec){ .iov_base = &vh, .iov_len = sizeof(vh) };
		if (it->n_segs > 1)
			gro_finish(g, it, &vh);
		iov[n++] = (struct iovec){ .iov_base = p->data, .iov_len = p->len };
		for (uint16_t j = p->next; j != GRO_NONE; j = g->pkts[j].next)
			iov[n++] = (struct iovec){ .iov_base = g->pkts[j].data + it->hdr_len,
						   .iov_len = g->pkts[j].len - it->hdr_len };
		r = emit(ctx, iov, n);
		if (r < 0 && !err)
			err = (int)r;
		else if (r >= 0)
			written += it->n_segs;
	}
	g->n_pkts = g->n_items = 0;
	memset(g->table, 0, sizeof(g->table));
	return err ? err : written;
}

static long gro_writev(void *ctx, const struct iovec *iov, int iovcnt)
{
	int fd = *(int *)ctx;
	ssize_t r;

	do
		r = writev(fd, iov, iovcnt);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int rn_gro_flush(struct rn_gro *g, int tun_fd)
{
	return rn_gro_flush_cb(g, gro_writev, &tun_fd);
}
