/* SPDX-License-Identifier: MIT */
/* The node's parser of the control server's answer to enroll (src/rustynetd/client.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rustynetd/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rn_client_enrolled e;

	memset(&e, 0, sizeof(e));
	if (rn_client_enrolled_parse((const char *)data, size, &e))
		rn_client_enrolled_free(&e);
	return 0;
}
