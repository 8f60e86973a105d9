/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for STUN (src/path/stun.c): the input is one UDP payload as it reaches the
 * WireGuard socket of a node (a STUN server's answer, or anybody's junk) or rustynet-control's
 * STUN responder. Parses it, answers it as the responder would, and checks that what a parse
 * accepts survives a round trip through the builder unchanged.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "path/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = 0x1234 };
	uint8_t out[RN_STUN_MAX_MSG];
	struct rn_stun_msg m, again;
	size_t n;

	n = rn_stun_respond(data, size, (struct sockaddr *)&from, out, sizeof(out));
	if (n && (rn_stun_parse(out, n, &again) || again.cls != RN_STUN_SUCCESS))
		abort(); /* the responder built something it cannot read back */
	if (rn_stun_parse(data, size, &m) || m.mapped.ss_family == AF_UNSPEC)
		return 0;
	n = rn_stun_build_success(m.txid, (struct sockaddr *)&m.mapped, out, sizeof(out));
	if (!n || rn_stun_parse(out, n, &again) ||
	    memcmp(&again.mapped, &m.mapped, sizeof(m.mapped)) ||
	    memcmp(again.txid, m.txid, sizeof(m.txid)))
		abort();
	return 0;
}
