/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the control server's request bodies, what any client on the network can
 * send: every input goes to the enroll, poll, call and logout/challenge parsers, the endpoint check and
 * the Bearer header parser. Whatever parses must carry only members in range (checked here: an
 * accepted endpoint passes rn_api_endpoint_ok again, so never loopback, link-local, multicast or
 * in the mesh); whatever is refused must say why and leave nothing to free.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/api.h"

/* the network's ULA /48, refused in endpoints */
static const uint8_t ula[RN_STORE_ULA_PREFIX_LEN] = { 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_offer(const struct rn_api_offer *o)
{
	char why[128];
	json_t *a, *v;
	size_t i;

	if (o->endpoints && o->endpoints[0] != '[')
		abort();
	a = o->endpoints ? json_loads(o->endpoints, 0, NULL) : NULL;
	if (o->endpoints && !a)
		abort();
	json_array_foreach(a, i, v) {
		if (!rn_api_endpoint_ok(json_string_value(v), ula, why, sizeof(why)))
			abort();
	}
	json_decref(a);
	if (o->routes && o->routes[0] != '[')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	char err[RN_API_ERR_LEN], tok[RN_STORE_NODE_TOKEN_SIZE], *hdr;
	struct rn_api_enroll e;
	struct rn_api_poll p;
	uint64_t peer;
	int ret;

	err[0] = '\0';
	ret = rn_api_parse_enroll(body, size, ula, &e, err, sizeof(err));
	if (ret == 0) {
		if (strlen(e.auth_key) != RN_STORE_AUTHKEY_SECRET_SIZE - 1 || !e.hostname[0])
			abort();
		check_offer(&e.offer);
		rn_api_enroll_clear(&e);
	} else if (!err[0] || e.offer.endpoints || e.offer.routes) {
		abort();
	}
	err[0] = '\0';
	ret = rn_api_parse_poll(body, size, ula, &p, err, sizeof(err));
	if (ret == 0) {
		if (p.since > RN_NETMAP_MAX_INT)
			abort();
		check_offer(&p.offer);
		rn_api_poll_clear(&p);
	} else if (!err[0] || p.offer.endpoints || p.offer.routes) {
		abort();
	}
	(void)rn_api_parse_empty(body, size, err, sizeof(err));
	err[0] = '\0';
	ret = rn_api_parse_call(body, size, &peer, err, sizeof(err));
	if (ret == 0 ? peer < 1 || peer > RN_NETMAP_MAX_INT : !err[0] || peer)
		abort();
	hdr = strndup(body, size);
	if (hdr) {
		char why[128];

		(void)rn_api_endpoint_ok(hdr, ula, why, sizeof(why));
		if (rn_api_bearer(hdr, tok) && strlen(tok) != RN_STORE_NODE_TOKEN_SIZE - 1)
			abort();
		free(hdr);
	}
	return 0;
}
