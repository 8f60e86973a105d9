/* SPDX-License-Identifier: MIT */
/* The pure half of applying a netmap: verification and translation, no side effects. */
#include "rustynetd/apply.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wg/crypto.h"

const enum rn_apply_step rn_apply_order[RN_APPLY_N_STEPS] = {
	RN_APPLY_STEP_GRANTS, RN_APPLY_STEP_FILTER, RN_APPLY_STEP_PEERS,
	RN_APPLY_STEP_SYSTEM, RN_APPLY_STEP_ROUTER,
};

_Static_assert(sizeof(union rn_netmap_endpoint) == sizeof(union rn_wg_endpoint),
	       "netmap and wg endpoints share the sockaddr layout");

int rn_apply_verify(const struct rn_netmap *current, const uint8_t self_pub[RN_NETMAP_KEY_LEN],
		    const uint8_t netmap_pub[RN_NETMAP_KEY_LEN], const char *buf, size_t len,
		    uint64_t now, uint64_t max_age_s, struct rn_netmap *out, char *err,
		    size_t errlen)
{
	int r;

	r = rn_netmap_decode(buf, len, netmap_pub, out, err, errlen);
	if (r)
		return r;
	r = rn_netmap_accept(current, out, now, max_age_s, err, errlen);
	if (!r && !rn_ct_equal(out->self.public_key, self_pub, RN_NETMAP_KEY_LEN)) {
		snprintf(err, errlen,
			 "the map is for another node: its self key is not this node's public key");
		r = -EPERM;
	}
	if (r)
		rn_netmap_free(out);
	return r;
}

static const struct rn_netmap_peer *map_peer(const struct rn_netmap *m, const uint8_t key[32])
{
	for (size_t i = 0; m && i < m->n_peers; i++)
		if (!memcmp(m->peers[i].public_key, key, RN_NETMAP_KEY_LEN))
			return &m->peers[i];
	return NULL;
}

static const struct rn_wg_peer_config *running_peer(const struct rn_wg_config *c,
						    const uint8_t key[32])
{
	for (size_t i = 0; c && i < c->n_peers; i++)
		if (!memcmp(c->peers[i].public_key, key, RN_WG_KEY_LEN))
			return &c->peers[i];
	return NULL;
}

static bool endpoint_equal(const union rn_netmap_endpoint *a, const union rn_netmap_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_port == b->sin.sin_port &&
		       a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	return a->sin6.sin6_port == b->sin6.sin6_port &&
	       !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, sizeof(a->sin6.sin6_addr));
}

static bool endpoint_changed(const struct rn_netmap_peer *before, const struct rn_netmap_peer *now)
{
	if (!before || !before->n_endpoints)
		return true;
	return !endpoint_equal(&before->endpoints[0], &now->endpoints[0]);
}

static int plan_peer(const struct rn_netmap *prev, const struct rn_wg_config *running,
		     const struct rn_netmap_peer *p, struct rn_wg_config *out)
{
	const struct rn_wg_peer_config *run = running_peer(running, p->public_key);
	struct rn_wg_peer_config *pc = rn_wg_config_add_peer(out);
	struct rn_wg_allowed_ip a;

	if (!pc)
		return -ENOMEM;
	memcpy(pc->public_key, p->public_key, RN_WG_KEY_LEN);
	pc->flags = RN_WG_PEER_REPLACE_ALLOWEDIPS | RN_WG_PEER_HAS_KEEPALIVE;
	pc->persistent_keepalive = RN_APPLY_KEEPALIVE_S;
	if (p->n_endpoints && (!run || run->endpoint.sa.sa_family == AF_UNSPEC ||
			       endpoint_changed(map_peer(prev, p->public_key), p))) {
		pc->flags |= RN_WG_PEER_HAS_ENDPOINT;
		memcpy(&pc->endpoint, &p->endpoints[0], sizeof(pc->endpoint));
	}
	for (size_t i = 0; i < p->n_allowed_ips; i++) {
		memset(&a, 0, sizeof(a));
		a.family = p->allowed_ips[i].family;
		a.cidr = p->allowed_ips[i].len;
		memcpy(&a.ip6, p->allowed_ips[i].addr, a.family == AF_INET ? 4 : 16);
		if (rn_wg_peer_config_add_allowed_ip(pc, &a))
			return -ENOMEM;
	}
	return 0;
}

int rn_apply_plan_peers(const struct rn_netmap *prev, const struct rn_wg_config *running,
			const struct rn_netmap *next, struct rn_wg_config *out)
{
	struct rn_wg_peer_config *pc;

	memset(out, 0, sizeof(*out));
	/* Removals first, so a prefix that moves between peers is never briefly doubled. */
	for (size_t i = 0; running && i < running->n_peers; i++) {
		if (map_peer(next, running->peers[i].public_key))
			continue;
		pc = rn_wg_config_add_peer(out);
		if (!pc)
			goto fail;
		memcpy(pc->public_key, running->peers[i].public_key, RN_WG_KEY_LEN);
		pc->flags = RN_WG_PEER_REMOVE;
	}
	for (size_t i = 0; i < next->n_peers; i++)
		if (plan_peer(prev, running, &next->peers[i], out))
			goto fail;
	return 0;
fail:
	rn_wg_config_free(out);
	return -ENOMEM;
}

void rn_apply_plan_keepalive(struct rn_wg_config *plan, uint16_t keepalive_s)
{
	for (size_t i = 0; i < plan->n_peers; i++)
		if (!(plan->peers[i].flags & RN_WG_PEER_REMOVE))
			plan->peers[i].persistent_keepalive = keepalive_s;
}

void rn_apply_plan_system(const struct rn_netmap *m, const char *ifname,
			  struct rn_apply_intents *out)
{
	static const uint8_t cgnat[4] = { 100, 64, 0, 0 };
	struct rn_nl_route *r;

	memset(out, 0, sizeof(*out));
	out->addrs[0].addr.family = AF_INET;
	memcpy(out->addrs[0].addr.bytes, m->self.ipv4, 4);
	out->addrs[0].len = 32;
	out->addrs[1].addr.family = AF_INET6;
	memcpy(out->addrs[1].addr.bytes, m->self.ipv6, 16);
	out->addrs[1].len = 128;
	out->n_addrs = 2;

	r = &out->routes[0];
	r->dst.addr.family = AF_INET;
	memcpy(r->dst.addr.bytes, cgnat, 4);
	r->dst.len = 10;
	snprintf(r->dev, sizeof(r->dev), "%s", ifname);
	r = &out->routes[1];
	r->dst.addr.family = AF_INET6;
	memcpy(r->dst.addr.bytes, m->self.ipv6, RN_APPLY_V6_NET_LEN / 8); /* low 80 bits zero */
	r->dst.len = RN_APPLY_V6_NET_LEN;
	snprintf(r->dev, sizeof(r->dev), "%s", ifname);
	out->n_routes = 2;
}

bool rn_apply_intents_equal(const struct rn_apply_intents *a, const struct rn_apply_intents *b)
{
	if (a->n_addrs != b->n_addrs || a->n_routes != b->n_routes)
		return false;
	for (size_t i = 0; i < a->n_addrs; i++)
		if (!rn_ipaddr_prefix_equal(&a->addrs[i], &b->addrs[i]))
			return false;
	for (size_t i = 0; i < a->n_routes; i++)
		if (!rn_ipaddr_prefix_equal(&a->routes[i].dst, &b->routes[i].dst) ||
		    strcmp(a->routes[i].dev, b->routes[i].dev))
			return false;
	return true;
}
