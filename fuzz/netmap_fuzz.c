/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the signed netmap, what every node reads from the control server. The
 * first byte picks the mode:
 *   even: the rest is an envelope, decoded against a fixed public key. Most inputs stop at the
 *         signature, which is the point: nothing before it may crash or leak;
 *   odd:  the rest is the map JSON itself, which the target signs with the fixed private key
 *         and then decodes, so the fuzzer reaches the map parser and validator.
 * Whatever decodes must encode again (the validator agrees with the parser), decode back, and
 * encode to the same bytes; and rn_netmap_accept() must refuse it as a replay of itself.
 * Whatever is refused must say why and leave the output map empty.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netmap/netmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 8032 section 7.1, test 1: the key fuzz/corpus/netmap_fuzz/ seeds are signed with. */
static const uint8_t priv[32] = { 0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
				  0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
				  0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };
static const uint8_t pub[32] = { 0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
				 0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
				 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a };

static bool empty(const struct rn_netmap *m)
{
	static const struct rn_netmap zero;

	/* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison): every byte, padding too, is zero */
	return !memcmp(m, &zero, sizeof(zero));
}

/* A decoded map: encode, decode, encode again; the two encodings must be the same bytes. */
static void round_trip(const struct rn_netmap *m)
{
	struct rn_netmap back;
	char *one, *two, err[512];
	size_t n1, n2;

	if (rn_netmap_encode(m, priv, &one, &n1, err, sizeof(err)))
		__builtin_trap(); /* decode accepted what validate refuses */
	if (rn_netmap_decode(one, n1, pub, &back, err, sizeof(err)))
		__builtin_trap();
	if (rn_netmap_encode(&back, priv, &two, &n2, err, sizeof(err)))
		__builtin_trap();
	if (n1 != n2 || memcmp(one, two, n1))
		__builtin_trap();
	if (rn_netmap_accept(m, &back, m->issued_at, 1, err, sizeof(err)) != -ESTALE)
		__builtin_trap(); /* the same version again is a replay */
	if (rn_netmap_accept(NULL, &back, m->issued_at, 1, err, sizeof(err)))
		__builtin_trap();
	free(two);
	free(one);
	rn_netmap_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sealed = NULL, err[512] = "";
	struct rn_netmap m;
	size_t len;
	int ret;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		/* Not UTF-8, or holding a NUL: no envelope can carry it, so nothing to decode. */
		if (rn_netmap_seal((const char *)data + 1, size - 1, priv, &sealed, &len))
			return 0;
		ret = rn_netmap_decode(sealed, len, pub, &m, err, sizeof(err));
		if (ret == -EBADMSG || ret == -EKEYREJECTED || ret == -EMSGSIZE)
			__builtin_trap(); /* a map we signed ourselves */
	} else {
		ret = rn_netmap_decode((const char *)data + 1, size - 1, pub, &m, err, sizeof(err));
	}
	if (ret) {
		if (!err[0] || !empty(&m))
			__builtin_trap();
	} else {
		round_trip(&m);
		rn_netmap_free(&m);
	}
	free(sealed);
	return 0;
}
