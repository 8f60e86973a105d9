/* SPDX-License-Identifier: MIT */
/* The node's parsers of the control server's answers to enroll, to the enrollment challenge and
 * a poll's calls (src/rustynetd/client.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rustynetd/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero[32];
	struct rn_client_challenge ch;
	struct rn_client_enrolled e;
	uint64_t from[4];
	size_t n = 99;

	memset(&e, 0, sizeof(e));
	if (rn_client_enrolled_parse((const char *)data, size, &e))
		rn_client_enrolled_free(&e);
	/* a refused answer leaves nothing behind that a proof could be made with */
	if (!rn_client_challenge_parse((const char *)data, size, &ch) &&
	    (memcmp(ch.nonce, zero, 32) || memcmp(ch.server_key, zero, 32)))
		abort();
	/* at most the room given, never an id 0 */
	if (rn_client_calls_parse((const char *)data, size, from, 4, &n) ? n > 4 : n != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!from[i])
			abort();
	return 0;
}
