/* SPDX-License-Identifier: MIT */
/* Ownership helpers for the configuration data model. */
#include "wg/config.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void rn_wg_config_free(struct rn_wg_config *c)
{
	for (size_t i = 0; i < c->n_peers; i++) {
		OPENSSL_cleanse(c->peers[i].preshared_key, RN_WG_KEY_LEN);
		free(c->peers[i].allowed_ips);
	}
	free(c->peers);
	OPENSSL_cleanse(c, sizeof(*c));
}

struct rn_wg_peer_config *rn_wg_config_add_peer(struct rn_wg_config *c)
{
	/* Not realloc: the old array holds preshared keys and must be wiped, not just freed. */
	struct rn_wg_peer_config *peers = calloc(c->n_peers + 1, sizeof(*peers));

	if (!peers)
		return NULL;
	if (c->n_peers) {
		memcpy(peers, c->peers, c->n_peers * sizeof(*peers));
		OPENSSL_cleanse(c->peers, c->n_peers * sizeof(*peers));
	}
	free(c->peers);
	c->peers = peers;
	return &peers[c->n_peers++];
}

int rn_wg_peer_config_add_allowed_ip(struct rn_wg_peer_config *p, const struct rn_wg_allowed_ip *ip)
{
	struct rn_wg_allowed_ip *a = realloc(p->allowed_ips, (p->n_allowed_ips + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	p->allowed_ips = a;
	a[p->n_allowed_ips++] = *ip;
	return 0;
}
