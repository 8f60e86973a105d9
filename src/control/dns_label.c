/* SPDX-License-Identifier: MIT */
/* Hostname to DNS label: pure, so the naming rule is one table-tested function. */
#include "control/store.h"

#include <string.h>

static char rn_dns_label_char(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
		return (char)c;
	return '-'; /* a UTF-8 character becomes one '-' per byte; trimming tidies the ends */
}

void rn_store_dns_label(const char *hostname, char out[RN_STORE_LABEL_MAX + 1])
{
	const unsigned char *p = (const unsigned char *)(hostname ? hostname : "");
	size_t len = 0;

	while (*p && rn_dns_label_char(*p) == '-')
		p++;
	for (; *p && len < RN_STORE_LABEL_MAX; p++)
		out[len++] = rn_dns_label_char(*p);
	/* Trimmed after the cut too, so that a cut never leaves a label ending in '-'. */
	while (len > 0 && out[len - 1] == '-')
		len--;
	out[len] = '\0';
	if (len == 0)
		strcpy(out, "node");
}
