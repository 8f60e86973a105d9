/* SPDX-License-Identifier: MIT */
/* The node's parsers of the control server's answers to enroll and to the enrollment challenge
 * (src/rustynetd/client.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rustynetd/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero[32];
	struct rn_client_challenge ch;
	struct rn_client_enrolled e;

	memset(&e, 0, sizeof(e));
	if (rn_client_enrolled_parse((const char *)data, size, &e))
		rn_client_enrolled_free(&e);
	/* a refused answer leaves nothing behind that a proof could be made with */
	if (!rn_client_challenge_parse((const char *)data, size, &ch) &&
	    (memcmp(ch.nonce, zero, 32) || memcmp(ch.server_key, zero, 32)))
		abort();
	return 0;
}
