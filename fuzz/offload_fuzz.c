/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the packet surgery on both sides of the tunnel: splitting what a TUN
 * read returns (virtio-net header + super-packet) into IP packets, and merging decrypted
 * packets for TUN writes (where a merged write must never carry a segment whose TCP/UDP
 * checksum was wrong). The first input byte picks the side.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "wg/offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_OUT = 64, STRIDE = 65536 + 128, HEADROOM = 16 };

/* The merge side's records: where each packet is and whether its L4 checksum is right. */
static struct {
	const uint8_t *data[RN_GRO_MAX_PKTS * 64];
	size_t len[RN_GRO_MAX_PKTS * 64];
	bool csum_ok[RN_GRO_MAX_PKTS * 64];
	size_t n;
} recs;

static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/*
 * A naive TCP/UDP checksum over IP: whether it is right, or with fix, make it so. False for
 * anything that is not TCP or UDP over IP.
 */
static bool ref_csum(uint8_t *p, size_t len, bool fix)
{
	size_t ih, at;
	uint8_t proto;
	uint32_t s;
	bool v6;

	if (len < 20 || (p[0] >> 4 != 4 && p[0] >> 4 != 6) || (p[0] >> 4 == 6 && len < 40))
		return false;
	v6 = p[0] >> 4 == 6;
	ih = v6 ? 40 : (size_t)(p[0] & 15) * 4;
	proto = v6 ? p[6] : p[9];
	if ((proto != 6 && proto != 17) || ih < 20 || len < ih + (proto == 6 ? 20 : 8))
		return false;
	at = ih + (proto == 6 ? 16 : 6);
	if (fix)
		p[at] = p[at + 1] = 0;
	s = ref_sum(p + (v6 ? 8 : 12), v6 ? 32 : 8, 0) + proto + (uint32_t)(len - ih);
	s = ref_sum(p + ih, len - ih, s);
	if (fix) {
		uint16_t c = (uint16_t)~ref_fold(s);

		p[at] = (uint8_t)(c >> 8);
		p[at + 1] = (uint8_t)c;
		return true;
	}
	return ref_fold(s) == 0xffff;
}

/* A merged write (more than one packet) must hold only packets whose checksum was right. */
static long emit_check(void *ctx, const struct iovec *iov, int iovcnt)
{
	long total = 0;

	(void)ctx;
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *b = iov[i].iov_base;

		total += (long)iov[i].iov_len;
		if (i == 0 || iovcnt <= 2)
			continue; /* the vnet header; or one packet, which the kernel checks */
		for (size_t r = 0; r < recs.n; r++)
			if (b >= recs.data[r] && b < recs.data[r] + recs.len[r] && !recs.csum_ok[r])
				__builtin_trap(); /* a corrupt segment made valid by merging */
	}
	return total;
}

static void fuzz_split(const uint8_t *data, size_t size)
{
	static uint8_t *slots;
	struct rn_offload_splitter sp;
	size_t lens[MAX_OUT], done = 0;
	int n, total;

	if (!slots && !(slots = malloc((size_t)MAX_OUT * STRIDE)))
		abort();
	n = rn_offload_split(data, size, true, slots, STRIDE, HEADROOM, lens, MAX_OUT);
	for (int i = 0; i < n; i++)
		if (lens[i] + HEADROOM > STRIDE)
			__builtin_trap();
	total = rn_offload_split_begin(&sp, data, size, true);
	if (size > STRIDE - HEADROOM)
		return; /* a packet may not fit a slot: refusing it is right, checked in the tests */
	if ((total < 0) != (n < 0 && total <= MAX_OUT))
		__builtin_trap(); /* both refuse the same input, the one-call form also a big one */
	while (total > 0 &&
	       (n = rn_offload_split_next(&sp, slots, STRIDE, HEADROOM, lens, MAX_OUT)) > 0) {
		for (int i = 0; i < n; i++)
			if (lens[i] + HEADROOM > STRIDE)
				__builtin_trap();
		done += (size_t)n;
	}
	if (total > 0 && (n != 0 || done != (size_t)total))
		__builtin_trap(); /* every segment, once */
}

/*
 * Input: a sequence of (2-byte prefix, packet) records merged as one batch. The prefix's top
 * bit asks for the packet's TCP/UDP checksum to be made right first (a fuzzer rarely finds one
 * alone); the other 15 bits are the length.
 */
static void fuzz_merge(const uint8_t *data, size_t size)
{
	static struct rn_gro gro;
	uint8_t *copy = malloc(size ? size : 1);
	size_t off = 0;

	if (!copy)
		return;
	memcpy(copy, data, size);
	rn_gro_init(&gro, true, size & 1);
	recs.n = 0;
	while (off + 2 <= size && recs.n < sizeof(recs.len) / sizeof(recs.len[0])) {
		size_t len = (size_t)(copy[off] & 0x7f) << 8 | copy[off + 1];
		bool fix = copy[off] & 0x80;

		off += 2;
		if (len > size - off)
			len = size - off;
		if (fix)
			ref_csum(copy + off, len, true);
		recs.data[recs.n] = copy + off;
		recs.len[recs.n] = len;
		recs.csum_ok[recs.n++] = ref_csum(copy + off, len, false);
		if (rn_gro_add(&gro, copy + off, len) == -ENOSPC) {
			rn_gro_flush_cb(&gro, emit_check, NULL);
			(void)rn_gro_add(&gro, copy + off, len);
		}
		off += len;
	}
	rn_gro_flush_cb(&gro, emit_check, NULL);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_split(data + 1, size - 1);
	else
		fuzz_merge(data + 1, size - 1);
	return 0;
}
