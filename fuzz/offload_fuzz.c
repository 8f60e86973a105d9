/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the packet surgery on both sides of the tunnel: splitting what a TUN
 * read returns (virtio-net header + super-packet) into IP packets, and merging decrypted
 * packets for TUN writes. The first input byte picks the side.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "wg/offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_OUT = 64, STRIDE = 65536 + 128, HEADROOM = 16 };

static long emit_nothing(void *ctx, const struct iovec *iov, int iovcnt)
{
	long total = 0;

	(void)ctx;
	for (int i = 0; i < iovcnt; i++)
		total += (long)iov[i].iov_len;
	return total;
}

/* One call when it fits, else batches of MAX_OUT as the transmit path cuts a big one. */
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
	while (total > 0 && (n = rn_offload_split_next(&sp, slots, STRIDE, HEADROOM, lens,
						       MAX_OUT)) > 0) {
		for (int i = 0; i < n; i++)
			if (lens[i] + HEADROOM > STRIDE)
				__builtin_trap();
		done += (size_t)n;
	}
	if (total > 0 && (n != 0 || done != (size_t)total))
		__builtin_trap(); /* every segment, once */
}

/* Input: a sequence of (2-byte length, packet) records merged as one batch. */
static void fuzz_merge(const uint8_t *data, size_t size)
{
	static struct rn_gro gro;
	uint8_t *copy = malloc(size ? size : 1);
	size_t off = 0;

	if (!copy)
		return;
	memcpy(copy, data, size);
	rn_gro_init(&gro, true, size & 1);
	while (off + 2 <= size) {
		size_t len = (size_t)copy[off] << 8 | copy[off + 1];

		off += 2;
		if (len > size - off)
			len = size - off;
		if (rn_gro_add(&gro, copy + off, len) == -ENOSPC) {
			rn_gro_flush_cb(&gro, emit_nothing, NULL);
			(void)rn_gro_add(&gro, copy + off, len);
		}
		off += len;
	}
	rn_gro_flush_cb(&gro, emit_nothing, NULL);
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
