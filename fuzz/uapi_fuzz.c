/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the UAPI "set" parser (the one text wg(8) and any local root can feed the
 * daemon), round-tripped through the "get" formatter: whatever parses must format, and the
 * formatted settings must parse back to the same values, or the two sides disagree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wg/uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const state_keys[] = { "last_handshake_time_sec=", "last_handshake_time_nsec=",
					  "tx_bytes=", "rx_bytes=" };

/* A get reply less the lines that only describe state is what a set would carry. */
static size_t strip_state(char *body, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(body + i, '\n', len - i);
		size_t n;
		int keep = 1;

		if (!nl || !memchr(body + i, '=', (size_t)(nl - (body + i))))
			__builtin_trap(); /* every reply line is key=value\n */
		n = (size_t)(nl - (body + i)) + 1;
		for (size_t k = 0; k < sizeof(state_keys) / sizeof(state_keys[0]); k++)
			keep &= strncmp(body + i, state_keys[k], strlen(state_keys[k])) != 0;
		if (keep) {
			memmove(body + o, body + i, n);
			o += n;
		}
		i += n;
	}
	return o;
}

static int same_peer(const struct rn_wg_peer_config *p, const struct rn_wg_peer_config *q)
{
	return !memcmp(p->public_key, q->public_key, RN_WG_KEY_LEN) &&
	       !memcmp(p->preshared_key, q->preshared_key, RN_WG_KEY_LEN) &&
	       /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison): both parsed into zeroed unions */
	       !memcmp(&p->endpoint, &q->endpoint, sizeof(p->endpoint)) &&
	       p->persistent_keepalive == q->persistent_keepalive &&
	       p->n_allowed_ips == q->n_allowed_ips &&
	       (!p->n_allowed_ips || !memcmp(p->allowed_ips, q->allowed_ips,
					     p->n_allowed_ips * sizeof(*p->allowed_ips)));
}

static int same_settings(const struct rn_wg_config *a, const struct rn_wg_config *b)
{
	if (memcmp(a->private_key, b->private_key, RN_WG_KEY_LEN) ||
	    a->listen_port != b->listen_port || a->fwmark != b->fwmark || a->n_peers != b->n_peers)
		return 0;
	for (size_t i = 0; i < a->n_peers; i++)
		if (!same_peer(&a->peers[i], &b->peers[i]))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rn_wg_config zero;
	struct rn_wg_config a = { 0 }, b = { 0 };
	char err[RN_UAPI_ERR_LEN], *out;
	size_t len;

	if (rn_uapi_parse_set((const char *)data, size, &a, err, sizeof(err))) {
		/* Refused input leaves nothing behind, and always says why. */
		/* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison): every byte, padding too, is zero */
		if (memcmp(&a, &zero, sizeof(a)) || !err[0])
			__builtin_trap();
		return 0;
	}
	if (rn_uapi_format_get(&a, &out, &len)) {
		rn_wg_config_free(&a);
		return 0; /* out of memory only */
	}
	if (strlen(out) != len)
		__builtin_trap();
	len = strip_state(out, len);
	if (rn_uapi_parse_set(out, len, &b, err, sizeof(err)) || !same_settings(&a, &b))
		__builtin_trap();
	rn_uapi_free_response(out, len);
	rn_wg_config_free(&a);
	rn_wg_config_free(&b);
	return 0;
}
