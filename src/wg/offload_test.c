/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the offloads: TCP/UDP super-packets over IPv4/IPv6 are split and every field
 * and checksum is checked against a naive reference, then merged back by rn_gro, which must
 * give the original packet byte for byte. Malformed input must be refused without touching
 * memory outside it (run under ASan).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "wg/offload.h"

#define VH	   RN_OFFLOAD_VNET_HDR_LEN
#define STRIDE	   2048
#define HEADROOM   16
#define MAX_SEGS   64
#define GSO	   1380
#define SEQ0	   0xfffff000u /* wraps within the super-packet */
#define ID0	   0xfff0u     /* wraps too */
#define TCP_HLEN   32	       /* with a timestamp option */
#define ARENA_SIZE (1u << 20)

enum { F_FIN = 0x01, F_SYN = 0x02, F_PSH = 0x08, F_ACK = 0x10, F_CWR = 0x80 };

struct spec {
	bool v6, tcp, df;
	size_t ip_len;
	uint16_t gso;
	uint8_t flags;
	uint16_t sport;
};

/* ---- naive reference ---- */

static uint64_t ref_sum(const uint8_t *p, size_t n, uint64_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint64_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint64_t)p[n - 1] << 8;
	return s;
}

static uint16_t ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static size_t iph_len(const uint8_t *ip)
{
	return ip[0] >> 4 == 6 ? 40 : (size_t)(ip[0] & 15) * 4;
}

static uint64_t ref_pseudo(const uint8_t *ip, size_t l4_len)
{
	bool v6 = ip[0] >> 4 == 6;
	uint64_t s = ref_sum(ip + (v6 ? 8 : 12), v6 ? 32 : 8, 0);

	return s + (v6 ? ip[6] : ip[9]) + (l4_len >> 16) + (l4_len & 0xffff);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static bool ip4_csum_ok(const uint8_t *ip)
{
	return ip[0] >> 4 == 6 || ref_fold(ref_sum(ip, iph_len(ip), 0)) == 0xffff;
}

static bool l4_csum_ok(const uint8_t *ip, size_t len)
{
	size_t h = iph_len(ip);

	return ref_fold(ref_sum(ip + h, len - h, ref_pseudo(ip, len - h))) == 0xffff;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 131 + (i >> 8) * 7 + 1);
}

/* A super-packet as the kernel hands it over: L4 checksum holding the pseudo-header sum. */
static size_t build_super(uint8_t *buf, const struct spec *s)
{
	struct virtio_net_hdr vh = { 0 };
	uint8_t *ip = buf + VH, *l4;
	size_t ih = s->v6 ? 40 : 20, lh = s->tcp ? TCP_HLEN : 8, pay = s->ip_len - ih - lh;

	memset(ip, 0, ih + lh);
	if (s->v6) {
		static const uint8_t addrs[32] = {
			0x20, 0x01, 0x0d, 0xb8, [15] = 1, [16] = 0x20, 0x01, 0x0d, 0xb8, [31] = 2
		};
		ip[0] = 0x60;
		ip[1] = 0x01; /* flow label 0x12345 */
		put16(ip + 2, 0x2345);
		put16(ip + 4, (uint32_t)(s->ip_len - 40));
		ip[6] = s->tcp ? 6 : 17;
		ip[7] = 64;
		memcpy(ip + 8, addrs, 32);
	} else {
		ip[0] = 0x45;
		ip[1] = 0x02; /* ECT(0) */
		put16(ip + 2, (uint32_t)s->ip_len);
		put16(ip + 4, ID0);
		put16(ip + 6, s->df ? 0x4000 : 0);
		ip[8] = 64;
		ip[9] = s->tcp ? 6 : 17;
		put32(ip + 12, 0x0a000001);
		put32(ip + 16, 0x0a000002);
		put16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, 20, 0)));
	}
	l4 = ip + ih;
	put16(l4, s->sport);
	put16(l4 + 2, 5201);
	if (s->tcp) {
		put32(l4 + 4, SEQ0);
		put32(l4 + 8, 0x01020304);
		l4[12] = (TCP_HLEN / 4) << 4;
		l4[13] = s->flags;
		put16(l4 + 14, 0x1f00);
		l4[20] = 1; /* NOP NOP timestamp */
		l4[21] = 1;
		l4[22] = 8;
		l4[23] = 10;
		put32(l4 + 24, 0xaabbccdd);
		put32(l4 + 28, 0x11223344);
	} else {
		put16(l4 + 4, (uint32_t)(lh + pay));
	}
	for (size_t i = 0; i < pay; i++)
		l4[lh + i] = pattern(i);
	put16(l4 + (s->tcp ? 16 : 6), ref_fold(ref_pseudo(ip, lh + pay)));

	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = s->tcp ? (s->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4)
			     : VIRTIO_NET_HDR_GSO_UDP_L4;
	vh.gso_size = s->gso;
	vh.hdr_len = (uint16_t)s->ip_len; /* what the forwarding path reports: must be ignored */
	vh.csum_start = (uint16_t)ih;
	vh.csum_offset = s->tcp ? 16 : 6;
	memcpy(buf, &vh, VH);
	return VH + s->ip_len;
}

static uint8_t *slot(uint8_t *slots, int i)
{
	return slots + (size_t)i * STRIDE + HEADROOM;
}

/* Checks segment i of n (its payload at off) against the super-packet it came from. */
static void check_segment(const uint8_t *super, const struct spec *s, const uint8_t *p, size_t len,
			  int i, int n, size_t off)
{
	size_t ih = s->v6 ? 40 : 20, lh = s->tcp ? TCP_HLEN : 8, hdr = ih + lh;
	size_t pay = s->ip_len - hdr, seg = len - hdr;
	const uint8_t *l4 = p + ih;

	assert_true(len >= hdr);
	assert_int_equal(seg, i < n - 1 ? s->gso : pay - (size_t)(n - 1) * s->gso);
	assert_true(ip4_csum_ok(p));
	assert_true(l4_csum_ok(p, len));
	if (s->v6) {
		assert_memory_equal(p, super, 4);
		assert_int_equal(get16(p + 4), len - 40);
		assert_memory_equal(p + 6, super + 6, 34);
	} else {
		assert_int_equal(get16(p + 2), len);
		assert_int_equal(get16(p + 4), (uint16_t)(ID0 + i));
		assert_memory_equal(p + 6, super + 6, 4);   /* frag, ttl, proto */
		assert_memory_equal(p + 12, super + 12, 8); /* addresses */
	}
	assert_memory_equal(l4, super + ih, 4); /* ports */
	if (s->tcp) {
		uint8_t want = s->flags;

		if (i != n - 1)
			want &= (uint8_t) ~(F_FIN | F_PSH);
		if (i != 0)
			want &= (uint8_t)~F_CWR;
		assert_int_equal(get32(l4 + 4), (uint32_t)(SEQ0 + off));
		assert_memory_equal(l4 + 8, super + ih + 8, 5);
		assert_int_equal(l4[13], want);
		assert_memory_equal(l4 + 14, super + ih + 14, 2);
		assert_memory_equal(l4 + 20, super + ih + 20, TCP_HLEN - 20);
	} else {
		assert_int_equal(get16(l4 + 4), lh + seg);
		assert_int_not_equal(get16(l4 + 6), 0);
	}
	assert_memory_equal(p + hdr, super + hdr + off, seg);
}

/* Checks every segment against the super-packet it came from. */
static void check_segments(const uint8_t *super, const struct spec *s, uint8_t *slots,
			   const size_t *lens, int n)
{
	size_t hdr = (s->v6 ? 40 : 20) + (s->tcp ? TCP_HLEN : 8), pay = s->ip_len - hdr, off = 0;

	assert_int_equal(n, (int)((pay + s->gso - 1) / s->gso));
	for (int i = 0; i < n; i++) {
		check_segment(super, s, slots + (size_t)i * STRIDE + HEADROOM, lens[i], i, n, off);
		off += lens[i] - hdr;
	}
	assert_int_equal(off, pay);
}

static uint8_t *alloc_slots(void)
{
	uint8_t *slots = malloc((size_t)MAX_SEGS * STRIDE);

	assert_non_null(slots);
	memset(slots, 0xee, (size_t)MAX_SEGS * STRIDE);
	return slots;
}

static int split(const uint8_t *buf, size_t len, uint8_t *slots, size_t *lens)
{
	/* An exact-size heap copy, so ASan sees any read past the end. */
	uint8_t *copy = malloc(len ? len : 1);
	int n;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	n = rn_offload_split(copy, len, true, slots, STRIDE, HEADROOM, lens, MAX_SEGS);
	free(copy);
	return n;
}

/* ---- coalescing capture ---- */

struct capture {
	uint8_t *arena;
	size_t used;
	int n;
	size_t off[RN_GRO_MAX_PKTS], len[RN_GRO_MAX_PKTS];
	int iovcnt[RN_GRO_MAX_PKTS];
};

static long capture_emit(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct capture *c = ctx;
	size_t start = c->used;

	for (int i = 0; i < iovcnt; i++) {
		assert_true(c->used + iov[i].iov_len <= ARENA_SIZE);
		memcpy(c->arena + c->used, iov[i].iov_base, iov[i].iov_len);
		c->used += iov[i].iov_len;
	}
	c->off[c->n] = start;
	c->len[c->n] = c->used - start;
	c->iovcnt[c->n++] = iovcnt;
	return (long)(c->used - start);
}

static struct capture *capture_new(void)
{
	struct capture *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->arena = malloc(ARENA_SIZE);
	assert_non_null(c->arena);
	return c;
}

static void capture_free(struct capture *c)
{
	free(c->arena);
	free(c);
}

static const uint8_t *emitted(const struct capture *c, int i, struct virtio_net_hdr *vh)
{
	memcpy(vh, c->arena + c->off[i], VH);
	return c->arena + c->off[i] + VH;
}

/* ---- tests ---- */

static void roundtrip(const struct spec *s)
{
	uint8_t *buf = malloc(VH + s->ip_len), *slots = alloc_slots();
	size_t lens[MAX_SEGS], len = build_super(buf, s);
	struct capture *c = capture_new();
	struct rn_gro *g = malloc(sizeof(*g));
	struct virtio_net_hdr vh;
	const uint8_t *m;
	int n;

	n = split(buf, len, slots, lens);
	check_segments(buf + VH, s, slots, lens, n);

	rn_gro_init(g, true, true);
	for (int i = 0; i < n; i++)
		assert_int_equal(rn_gro_add(g, slot(slots, i), lens[i]), 0);
	assert_int_equal(rn_gro_flush_cb(g, capture_emit, c), n);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->iovcnt[0], n + 1);
	assert_int_equal(c->len[0], len);
	m = emitted(c, 0, &vh);
	assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh.gso_type, ((struct virtio_net_hdr *)buf)->gso_type);
	assert_int_equal(vh.gso_size, s->gso);
	assert_int_equal(vh.hdr_len, (s->v6 ? 40 : 20) + (s->tcp ? TCP_HLEN : 8));
	assert_int_equal(vh.csum_start, s->v6 ? 40 : 20);
	assert_int_equal(vh.csum_offset, s->tcp ? 16 : 6);
	/* Headers rebuilt, the pseudo-header sum in the L4 checksum: the original exactly. */
	assert_memory_equal(m, buf + VH, s->ip_len);

	capture_free(c);
	free(g);
	free(slots);
	free(buf);
}

static void test_tcp4_roundtrip(void **state)
{
	struct spec s = { .tcp = true,
			  .df = true,
			  .ip_len = 64000,
			  .gso = GSO,
			  .flags = F_ACK | F_PSH,
			  .sport = 40000 };

	(void)state;
	roundtrip(&s);
}

static void test_tcp6_roundtrip(void **state)
{
	struct spec s = { .v6 = true,
			  .tcp = true,
			  .ip_len = 64000,
			  .gso = GSO,
			  .flags = F_ACK | F_PSH,
			  .sport = 40000 };

	(void)state;
	roundtrip(&s);
}

static void test_udp4_roundtrip(void **state)
{
	/* Without DF the IP ids must run on for the segments to merge back. */
	struct spec s = { .ip_len = 64000, .gso = GSO, .sport = 4000 };

	(void)state;
	roundtrip(&s);
}

static void test_udp6_roundtrip(void **state)
{
	struct spec s = { .v6 = true, .ip_len = 60001, .gso = 1333, .sport = 4000 };

	(void)state;
	roundtrip(&s);
}

static void test_tcp_flags_split(void **state)
{
	struct spec s = { .tcp = true,
			  .df = true,
			  .ip_len = 10000,
			  .gso = 999,
			  .flags = F_CWR | F_ACK | F_PSH | F_FIN,
			  .sport = 1 };
	uint8_t *buf = malloc(VH + s.ip_len), *slots = alloc_slots();
	size_t lens[MAX_SEGS], len = build_super(buf, &s);
	int n = split(buf, len, slots, lens);

	(void)state;
	check_segments(buf + VH, &s, slots, lens, n);
	free(slots);
	free(buf);
}

/*
 * Splits a super-packet in calls of at most `batch` packets into the same slots, as the
 * transmit path does with one buffer per call, checking each call's segments; returns the count.
 */
static size_t split_batches(const struct spec *s, int batch)
{
	uint8_t *buf = malloc(VH + s->ip_len), *slots = alloc_slots();
	size_t hdr = (s->v6 ? 40 : 20) + (s->tcp ? TCP_HLEN : 8), pay = s->ip_len - hdr;
	size_t lens[MAX_SEGS], len = build_super(buf, s), off = 0, done = 0;
	int total = (int)((pay + s->gso - 1) / s->gso), n;
	struct rn_offload_splitter sp;

	assert_non_null(buf);
	assert_int_equal(rn_offload_split_begin(&sp, buf, len, true), total);
	while ((n = rn_offload_split_next(&sp, slots, STRIDE, HEADROOM, lens, batch)) > 0) {
		assert_true(n <= batch);
		for (int i = 0; i < n; i++) {
			check_segment(buf + VH, s, slot(slots, i), lens[i], (int)done + i, total,
				      off);
			off += lens[i] - hdr;
		}
		done += (size_t)n;
		assert_int_equal(rn_offload_split_left(&sp), (size_t)total - done);
	}
	assert_int_equal(n, 0);
	assert_int_equal(done, (size_t)total);
	assert_int_equal(off, pay); /* none lost, none twice */
	free(slots);
	free(buf);
	return done;
}

/*
 * A 64 KiB super-packet at a small MSS has more segments than one batch holds: 123 at MSS 536
 * (iperf3 -M 536), 200, 1365 at the kernel's smallest MSS (tcp_min_snd_mss, 48) and 65483 at
 * a gso_size of 1 (a forwarded GRO packet can carry any). All of them, in batches of 64.
 */
static void test_split_across_batches(void **state)
{
	static const struct {
		uint16_t gso;
		size_t segs;
	} cases[] = { { 536, 123 }, { 328, 200 }, { 48, 1365 }, { 1, 65483 } };
	struct spec s = {
		.tcp = true, .df = true, .ip_len = 65535, .flags = F_ACK | F_PSH, .sport = 5
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		s.gso = cases[c].gso;
		assert_int_equal(split_batches(&s, MAX_SEGS), cases[c].segs);
	}
	/* Other shapes, and batches of any size. */
	s = (struct spec){ .v6 = true, .tcp = true, .ip_len = 65535, .gso = 536, .flags = F_ACK };
	assert_int_equal(split_batches(&s, 7), 123);
	s = (struct spec){ .ip_len = 65535, .gso = 500, .sport = 53 };
	assert_int_equal(split_batches(&s, 1), 132);
	s = (struct spec){ .v6 = true, .ip_len = 65535, .gso = 1000, .sport = 53 };
	assert_int_equal(split_batches(&s, 64), 66);
}

/* A split in several calls never cuts into its own input, and a refused call changes nothing. */
static void test_split_batches_refused(void **state)
{
	struct spec s = { .tcp = true, .ip_len = 65535, .gso = 536, .flags = F_ACK, .sport = 5 };
	size_t stride = 65536 + 256, lens[MAX_SEGS], len;
	uint8_t *slots = malloc(stride * 2), *buf = malloc(VH + s.ip_len);
	struct rn_offload_splitter sp;

	(void)state;
	len = build_super(buf, &s);
	memcpy(slots + HEADROOM - VH, buf, len);
	assert_int_equal(rn_offload_split_begin(&sp, slots + HEADROOM - VH, len, true), 123);
	/* In place in slot 0 is fine for one call that cuts all; not for the first of several. */
	assert_int_equal(rn_offload_split_next(&sp, slots, stride, HEADROOM, lens, 64), -EINVAL);
	assert_int_equal(rn_offload_split_left(&sp), 123);
	assert_int_equal(
	    rn_offload_split(slots + HEADROOM - VH, len, true, slots, stride, HEADROOM, lens, 64),
	    -EINVAL);
	/* Slots too small for a segment: refused, and the next call starts where it was. */
	assert_int_equal(rn_offload_split_begin(&sp, buf, len, true), 123);
	assert_int_equal(rn_offload_split_next(&sp, slots, 400, HEADROOM, lens, 64), -EINVAL);
	assert_int_equal(rn_offload_split_left(&sp), 123);
	assert_int_equal(rn_offload_split_next(&sp, slots, 1024, HEADROOM, lens, 2), 2);
	assert_int_equal(rn_offload_split_left(&sp), 121);
	assert_int_equal(get32(slots + 1024 + HEADROOM + 20 + 4), SEQ0 + 536);
	free(buf);
	free(slots);
}

/* Reading straight into slot 0 must give the same segments as reading elsewhere. */
static void test_split_in_place(void **state)
{
	struct spec s = { .tcp = true,
			  .df = true,
			  .ip_len = 30000,
			  .gso = GSO,
			  .flags = F_ACK | F_PSH,
			  .sport = 7 };
	size_t stride = 65536, lens[MAX_SEGS], len;
	uint8_t *slots = malloc(stride * MAX_SEGS), *buf = malloc(VH + s.ip_len);
	int n;

	(void)state;
	len = build_super(buf, &s);
	memcpy(slots + HEADROOM - VH, buf, len);
	n = rn_offload_split(slots + HEADROOM - VH, len, true, slots, stride, HEADROOM, lens,
			     MAX_SEGS);
	assert_int_equal(n, 22);
	for (int i = 0; i < n; i++) {
		uint8_t *p = slots + (size_t)i * stride + HEADROOM;

		assert_true(ip4_csum_ok(p));
		assert_true(l4_csum_ok(p, lens[i]));
		assert_memory_equal(p + 52, buf + VH + 52 + (size_t)i * GSO, lens[i] - 52);
	}
	/* Overlapping slot 1 instead is refused. */
	memcpy(slots + stride + 8, buf, len);
	assert_int_equal(rn_offload_split(slots + stride + 8, len, true, slots, stride, HEADROOM,
					  lens, MAX_SEGS),
			 -EINVAL);
	free(buf);
	free(slots);
}

static void test_split_plain_and_csum(void **state)
{
	uint8_t pkt[VH + 300], *slots = alloc_slots();
	struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				     .csum_start = 20,
				     .csum_offset = 6 };
	struct spec s = { .ip_len = 300, .gso = 1000, .sport = 9 };
	size_t lens[MAX_SEGS];

	(void)state;
	build_super(pkt, &s);
	memcpy(pkt, &vh, VH); /* GSO_NONE, checksum to complete */
	assert_int_equal(split(pkt, sizeof(pkt), slots, lens), 1);
	assert_int_equal(lens[0], 300);
	assert_true(l4_csum_ok(slot(slots, 0), 300));
	/* No vnet header: copied as it is. */
	assert_int_equal(rn_offload_split(pkt + VH, 300, false, slots, STRIDE, HEADROOM, lens, 1),
			 1);
	assert_memory_equal(slot(slots, 0), pkt + VH, 300);
	free(slots);
}

static void expect_einval(const uint8_t *buf, size_t len, const char *what)
{
	uint8_t *slots = alloc_slots();
	size_t lens[MAX_SEGS];
	int n = split(buf, len, slots, lens);

	if (n != -EINVAL)
		fail_msg("%s: got %d, want -EINVAL", what, n);
	free(slots);
}

static void test_split_malformed(void **state)
{
	struct spec s4 = { .tcp = true, .ip_len = 5000, .gso = 1000, .flags = F_ACK, .sport = 1 };
	struct spec s6 = {
		.v6 = true, .tcp = true, .ip_len = 5000, .gso = 1000, .flags = F_ACK, .sport = 1
	};
	uint8_t *good4 = malloc(VH + 5000), *good6 = malloc(VH + 5000), *b = malloc(VH + 5000);
	size_t len4 = build_super(good4, &s4), len6 = build_super(good6, &s6);
	struct virtio_net_hdr *vh = (struct virtio_net_hdr *)b;
	uint8_t *slots = alloc_slots();
	size_t lens[MAX_SEGS];

	(void)state;
	expect_einval(good4, 0, "empty");
	expect_einval(good4, VH - 1, "short vnet header");
	for (size_t l = VH; l < VH + 60; l++)
		expect_einval(good4, l, "truncated headers");
	expect_einval(good4, len4 - 1, "total length past the end");
#define MUTATE(src, len, stmt, what)                                                               \
	do {                                                                                       \
		memcpy(b, src, len);                                                               \
		stmt;                                                                              \
		expect_einval(b, len, what);                                                       \
	} while (0)
	MUTATE(good4, len4, vh->gso_size = 0, "gso_size 0");
	MUTATE(good4, len4, vh->gso_size = 10, "more segments than slots");
	MUTATE(good4, len4, b[VH] = 0x44, "IHL 4");
	MUTATE(good4, len4, b[VH + 20 + 12] = 0x40, "TCP data offset 4");
	MUTATE(good4, len4, b[VH + 6] = 0x20, "IPv4 fragment");
	MUTATE(good4, len4, b[VH + 9] = 17, "TCPV4 GSO on UDP");
	MUTATE(good4, len4, vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV6, "TCPV6 GSO on IPv4");
	MUTATE(good4, len4, vh->gso_type |= VIRTIO_NET_HDR_GSO_ECN, "ECN");
	MUTATE(good4, len4, vh->gso_type = VIRTIO_NET_HDR_GSO_UDP, "UFO");
	MUTATE(good4, len4, b[VH] = 0x55, "IP version 5");
	MUTATE(good6, len6, b[VH + 6] = 0, "IPv6 hop-by-hop header");
	MUTATE(good6, len6, b[VH + 6] = 44, "IPv6 fragment header");
	MUTATE(good6, len6, put16(b + VH + 4, 100), "IPv6 payload length");
	MUTATE(good6, len6, vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4, "TCPV4 GSO on IPv6");
	MUTATE(good4, len4, (vh->gso_type = 0, vh->csum_start = 4990, vh->csum_offset = 9),
	       "checksum field past the end");
#undef MUTATE
	/* Slots too small for one segment. */
	assert_int_equal(rn_offload_split(good4, len4, true, slots, 1000, HEADROOM, lens, MAX_SEGS),
			 -EINVAL);
	assert_int_equal(rn_offload_split(good4, len4, true, slots, STRIDE, STRIDE, lens, MAX_SEGS),
			 -EINVAL);
	free(slots);
	free(b);
	free(good6);
	free(good4);
}

/* Random corruption of the headers: whatever comes out must stay in bounds (ASan watches). */
static void test_split_random(void **state)
{
	struct spec s = { .tcp = true, .ip_len = 3000, .gso = 200, .flags = F_ACK, .sport = 1 };
	uint8_t good[VH + 3000], b[VH + 3000], *slots = alloc_slots();
	size_t len = build_super(good, &s), lens[MAX_SEGS];

	(void)state;
	srand(1);
	for (int iter = 0; iter < 20000; iter++) {
		size_t l = iter % 3 ? len : (size_t)rand() % (len + 1);
		int n;

		memcpy(b, good, len);
		for (int k = rand() % 4 + 1; k; k--)
			b[rand() % 90] = (uint8_t)rand();
		n = split(b, l, slots, lens);
		assert_true(n == -EINVAL || (n >= 1 && n <= MAX_SEGS));
		for (int i = 0; i < n; i++)
			assert_true(lens[i] <= STRIDE - HEADROOM);
	}
	free(slots);
}

/* Splits a super-packet of the given flow and returns the segment count. */
static int make_segments(struct spec *s, uint8_t *slots, size_t *lens)
{
	uint8_t *buf = malloc(VH + s->ip_len);
	int n = split(buf, build_super(buf, s), slots, lens);

	free(buf);
	return n;
}

static void test_gro_interleaved_flows(void **state)
{
	struct spec a = {
		.tcp = true, .df = true, .ip_len = 20000, .gso = GSO, .flags = F_ACK, .sport = 1000
	};
	struct spec b = a;
	uint8_t *sa = alloc_slots(), *sb = alloc_slots();
	size_t la[MAX_SEGS], lb[MAX_SEGS];
	struct capture *c = capture_new();
	struct rn_gro g;
	struct virtio_net_hdr vh;
	int na, nb;

	(void)state;
	b.sport = 2000;
	na = make_segments(&a, sa, la);
	nb = make_segments(&b, sb, lb);
	assert_int_equal(na, nb);
	rn_gro_init(&g, true, false);
	for (int i = 0; i < na; i++) {
		assert_int_equal(rn_gro_add(&g, slot(sa, i), la[i]), 0);
		assert_int_equal(rn_gro_add(&g, slot(sb, i), lb[i]), 0);
	}
	assert_int_equal(rn_gro_flush_cb(&g, capture_emit, c), 2 * na);
	assert_int_equal(c->n, 2);
	assert_int_equal(get16(emitted(c, 0, &vh) + 20), 1000);
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(get16(emitted(c, 1, &vh) + 20), 2000);
	assert_int_equal(c->len[1], VH + 20000);
	capture_free(c);
	free(sb);
	free(sa);
}

/* Expects emit i to hold segs segments starting at sequence number seq. */
static void expect_emit(const struct capture *c, int i, int segs, uint32_t seq)
{
	struct virtio_net_hdr vh;
	const uint8_t *p = emitted(c, i, &vh);

	assert_int_equal(get32(p + 20 + 4), seq);
	assert_int_equal(c->iovcnt[i], segs + 1);
	assert_int_equal(vh.gso_type, segs > 1 ? VIRTIO_NET_HDR_GSO_TCPV4 : 0);
	assert_int_equal(vh.flags, segs > 1 ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0);
}

/* A packet that cannot merge ends its flow's group: nothing may overtake it. */
static void test_gro_order_kept(void **state)
{
	struct spec s = {
		.tcp = true, .df = true, .ip_len = 15000, .gso = GSO, .flags = F_ACK, .sport = 1000
	};
	uint8_t *sl = alloc_slots();
	size_t l[MAX_SEGS];
	struct capture *c = capture_new();
	struct rn_gro g;
	int n = make_segments(&s, sl, l);
	static const int order[] = { 0, 1, 2, 3, 5, 4, 6, 7, 8, 9, 10 };

	(void)state;
	assert_int_equal(n, 11);
	slot(sl, 8)[20 + 13] |= F_FIN;	       /* FIN: never merged */
	put16(slot(sl, 10) + 20 + 14, 0x2000); /* window changed */
	rn_gro_init(&g, true, true);
	for (int i = 0; i < n; i++)
		assert_int_equal(rn_gro_add(&g, slot(sl, order[i]), l[order[i]]), 0);
	assert_int_equal(rn_gro_flush_cb(&g, capture_emit, c), n);
	assert_int_equal(c->n, 7);
	expect_emit(c, 0, 4, SEQ0);	       /* 0-3 */
	expect_emit(c, 1, 1, SEQ0 + 5 * GSO);  /* 5 out of order */
	expect_emit(c, 2, 1, SEQ0 + 4 * GSO);  /* 4 is not after 5 */
	expect_emit(c, 3, 2, SEQ0 + 6 * GSO);  /* 6 is not after 4; 7 follows 6 */
	expect_emit(c, 4, 1, SEQ0 + 8 * GSO);  /* FIN: alone, and ends the group before it */
	expect_emit(c, 5, 1, SEQ0 + 9 * GSO);  /* 9 */
	expect_emit(c, 6, 1, SEQ0 + 10 * GSO); /* another window: the kernel would not merge */
	capture_free(c);
	free(sl);
}

static void test_gro_passthrough(void **state)
{
	struct spec s = { .ip_len = 6000, .gso = 1000, .sport = 1 };
	uint8_t *sl = alloc_slots(), icmp[84] = { 0x45, 0, 0, 84, [9] = 1 };
	size_t l[MAX_SEGS];
	struct capture *c = capture_new();
	struct rn_gro g;
	int n = make_segments(&s, sl, l);

	(void)state;
	/* UDP without USO: every datagram alone, with an empty vnet header. */
	rn_gro_init(&g, true, false);
	for (int i = 0; i < n; i++)
		assert_int_equal(rn_gro_add(&g, slot(sl, i), l[i]), 0);
	assert_int_equal(rn_gro_add(&g, icmp, sizeof(icmp)), 0);
	assert_int_equal(rn_gro_flush_cb(&g, capture_emit, c), n + 1);
	assert_int_equal(c->n, n + 1);
	for (int i = 0; i <= n; i++) {
		struct virtio_net_hdr vh, zero = { 0 };

		emitted(c, i, &vh);
		assert_memory_equal(&vh, &zero, VH);
	}
	/* No vnet header: packets go out untouched and alone. */
	c->n = 0;
	c->used = 0;
	rn_gro_init(&g, false, true);
	for (int i = 0; i < n; i++)
		assert_int_equal(rn_gro_add(&g, slot(sl, i), l[i]), 0);
	assert_int_equal(rn_gro_flush_cb(&g, capture_emit, c), n);
	assert_int_equal(c->n, n);
	assert_int_equal(c->len[0], l[0]);
	assert_memory_equal(c->arena, slot(sl, 0), l[0]);
	/* Limits. */
	rn_gro_init(&g, true, true);
	assert_int_equal(rn_gro_add(&g, icmp, 0), -EINVAL);
	for (int i = 0; i < RN_GRO_MAX_PKTS; i++)
		assert_int_equal(rn_gro_add(&g, icmp, sizeof(icmp)), 0);
	assert_int_equal(rn_gro_add(&g, icmp, sizeof(icmp)), -ENOSPC);
	capture_free(c);
	free(sl);
}

enum corrupt { PAYLOAD_BIT, CSUM_FIELD, NO_PSEUDO };

/* Spoils segment p's TCP/UDP checksum the way `how` says. */
static void corrupt(uint8_t *p, size_t len, bool tcp, enum corrupt how)
{
	size_t h = iph_len(p), at = h + (tcp ? 16 : 6);

	if (how == PAYLOAD_BIT) {
		p[len - 3] ^= 0x10; /* what a bit flip on the way would do */
	} else if (how == CSUM_FIELD) {
		put16(p + at, get16(p + at) + 1u);
	} else {
		/* Summed over the segment alone: right but for the pseudo-header. */
		put16(p + at, 0);
		put16(p + at, (uint16_t)~ref_fold(ref_sum(p + h, len - h, 0)));
	}
	assert_false(l4_csum_ok(p, len));
}

/*
 * Segment `bad` of a flow has a wrong TCP/UDP checksum: it must not be merged (merging gives it
 * a fresh one, and the kernel trusts a CHECKSUM_PARTIAL super-packet), but written alone as it
 * came, so the kernel checks and drops it. Every other segment is merged and delivered.
 */
static void gro_bad_one(struct spec *s, int bad, enum corrupt how)
{
	uint8_t *sl = alloc_slots(), *copy = malloc(STRIDE);
	size_t l[MAX_SEGS], hdr = (s->v6 ? 40 : 20) + (s->tcp ? TCP_HLEN : 8);
	struct capture *c = capture_new();
	struct rn_gro *g = malloc(sizeof(*g));
	int n = make_segments(s, sl, l), want = 1 + (bad > 0) + (bad < n - 1), e = 0;
	struct virtio_net_hdr vh;
	const uint8_t *m;

	assert_true(n > 2);
	corrupt(slot(sl, bad), l[bad], s->tcp, how);
	memcpy(copy, slot(sl, bad), l[bad]);
	rn_gro_init(g, true, true);
	for (int i = 0; i < n; i++)
		assert_int_equal(rn_gro_add(g, slot(sl, i), l[i]), 0);
	assert_int_equal(rn_gro_flush_cb(g, capture_emit, c), n);
	assert_int_equal(c->n, want);
	if (bad > 0) { /* the segments before it, merged (or the head alone) */
		m = emitted(c, e, &vh);
		assert_int_equal(vh.flags, bad > 1 ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0);
		assert_int_equal(c->iovcnt[e], bad + 1);
		for (int i = 1; i < bad; i++)
			assert_memory_equal(m + l[0] + (size_t)(i - 1) * (l[1] - hdr),
					    slot(sl, i) + hdr, l[i] - hdr);
		e++;
	}
	m = emitted(c, e, &vh); /* the bad one: alone, untouched, no checksum offload */
	assert_int_equal(vh.flags, 0);
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_int_equal(c->len[e], VH + l[bad]);
	assert_memory_equal(m, copy, l[bad]);
	e++;
	if (bad < n - 1) { /* the segments after it, merged (or the last one alone) */
		m = emitted(c, e, &vh);
		assert_int_equal(c->iovcnt[e], n - bad);
		assert_int_equal(vh.flags, bad < n - 2 ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0);
		for (int i = bad + 2; i < n; i++)
			assert_memory_equal(m + l[bad + 1] + (size_t)(i - bad - 2) * (l[1] - hdr),
					    slot(sl, i) + hdr, l[i] - hdr);
	}
	capture_free(c);
	free(g);
	free(copy);
	free(sl);
}

static void test_gro_bad_csum(void **state)
{
	struct spec t4 = {
		.tcp = true, .df = true, .ip_len = 15000, .gso = GSO, .flags = F_ACK, .sport = 1
	};
	struct spec t6 = {
		.v6 = true, .tcp = true, .ip_len = 15000, .gso = GSO, .flags = F_ACK, .sport = 2
	};
	struct spec u4 = { .df = true, .ip_len = 15000, .gso = GSO, .sport = 3 };
	struct spec u6 = { .v6 = true, .ip_len = 15000, .gso = GSO, .sport = 4 };

	(void)state;
	for (int how = PAYLOAD_BIT; how <= NO_PSEUDO; how++) {
		gro_bad_one(&t4, 5, how);
		gro_bad_one(&t4, 0, how); /* the head */
		gro_bad_one(&t4, 1, how); /* right after the head */
		gro_bad_one(&t4, 10, how);
		gro_bad_one(&t6, 4, how);
		gro_bad_one(&t6, 0, how);
		gro_bad_one(&u4, 3, how);
		gro_bad_one(&u4, 0, how);
		gro_bad_one(&u6, 7, how);
		gro_bad_one(&u6, 0, how);
	}
}

/* IPv4 UDP without a checksum (0) carries nothing to verify: never merged, passed through. */
static void test_gro_udp4_no_csum(void **state)
{
	struct spec s = { .df = true, .ip_len = 6000, .gso = 1000, .sport = 3 };
	uint8_t *sl = alloc_slots();
	size_t l[MAX_SEGS];
	struct capture *c = capture_new();
	struct rn_gro g;
	int n = make_segments(&s, sl, l);

	(void)state;
	for (int i = 0; i < n; i++)
		put16(slot(sl, i) + 20 + 6, 0);
	rn_gro_init(&g, true, true);
	for (int i = 0; i < n; i++)
		assert_int_equal(rn_gro_add(&g, slot(sl, i), l[i]), 0);
	assert_int_equal(rn_gro_flush_cb(&g, capture_emit, c), n);
	assert_int_equal(c->n, n);
	capture_free(c);
	free(sl);
}

/* The real writer: one writev() per super-packet, here into a SOCK_SEQPACKET pair. */
static void test_gro_flush_fd(void **state)
{
	struct spec s = {
		.v6 = true, .tcp = true, .ip_len = 40000, .gso = GSO, .flags = F_ACK, .sport = 3
	};
	uint8_t *sl = alloc_slots(), *buf = malloc(VH + s.ip_len), *got = malloc(65536);
	size_t l[MAX_SEGS], len = build_super(buf, &s);
	struct rn_gro g;
	int sv[2], n, size = 1 << 20;

	(void)state;
	signal(SIGPIPE, SIG_IGN); /* the closed peer below */
	n = split(buf, len, sl, l);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	rn_gro_init(&g, true, true);
	for (int i = 0; i < n; i++)
		assert_int_equal(rn_gro_add(&g, slot(sl, i), l[i]), 0);
	assert_int_equal(rn_gro_flush(&g, sv[0]), n);
	assert_int_equal(recv(sv[1], got, 65536, 0), (ssize_t)len);
	assert_memory_equal(got + VH, buf + VH, s.ip_len);
	close(sv[1]);
	rn_gro_init(&g, true, true);
	assert_int_equal(rn_gro_add(&g, slot(sl, 0), l[0]), 0);
	assert_int_equal(rn_gro_flush(&g, sv[0]), -EPIPE);
	close(sv[0]);
	free(got);
	free(buf);
	free(sl);
}

static void test_csum(void **state)
{
	uint8_t src[1100], dst[1100];

	(void)state;
	srand(2);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)rand();
	for (int iter = 0; iter < 3000; iter++) {
		size_t off = (size_t)rand() % 64, len = (size_t)rand() % 1000, cut = len / 2 & ~1ul;
		uint16_t want = (uint16_t)~ref_fold(ref_sum(src + off, len, 0)), got;
		uint64_t sum;

		got = rn_csum_fold(rn_csum_add(0, src + off, len));
		assert_int_equal(get16((uint8_t *)&got), want);
		/* In two pieces, split at an even offset. */
		sum = rn_csum_add(rn_csum_add(0, src + off, cut), src + off + cut, len - cut);
		got = rn_csum_fold(sum);
		assert_int_equal(get16((uint8_t *)&got), want);
		memset(dst, 0, sizeof(dst));
		got = rn_csum_fold(rn_csum_copy(dst + (off ^ 5), src + off, len, 0));
		assert_int_equal(get16((uint8_t *)&got), want);
		assert_memory_equal(dst + (off ^ 5), src + off, len);
	}
	/* All ones must not overflow the accumulator. */
	memset(src, 0xff, sizeof(src));
	assert_int_equal(rn_csum_fold(rn_csum_add(~0ull, src, sizeof(src))), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum),
		cmocka_unit_test(test_tcp4_roundtrip),
		cmocka_unit_test(test_tcp6_roundtrip),
		cmocka_unit_test(test_udp4_roundtrip),
		cmocka_unit_test(test_udp6_roundtrip),
		cmocka_unit_test(test_tcp_flags_split),
		cmocka_unit_test(test_split_in_place),
		cmocka_unit_test(test_split_across_batches),
		cmocka_unit_test(test_split_batches_refused),
		cmocka_unit_test(test_split_plain_and_csum),
		cmocka_unit_test(test_split_malformed),
		cmocka_unit_test(test_split_random),
		cmocka_unit_test(test_gro_interleaved_flows),
		cmocka_unit_test(test_gro_order_kept),
		cmocka_unit_test(test_gro_passthrough),
		cmocka_unit_test(test_gro_bad_csum),
		cmocka_unit_test(test_gro_udp4_no_csum),
		cmocka_unit_test(test_gro_flush_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
