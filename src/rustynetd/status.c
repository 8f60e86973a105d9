/* SPDX-License-Identifier: MIT */
/*
 * The status command's answer: login state, the control server connection, this node as the
 * map names it, the map's version and the last refused one, and each peer as the map names it
 * merged with what the data plane sees (endpoint, path, handshake, transfer). The keys are an
 * interface: integration tests and scripts read them.
 */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include "ipc/ipc.h"
#include "rustynetd/callme.h"
#include "rustynetd/daemon.h"
#include "rustynetd/relays.h"
#include "wg/device.h"

static json_t *endpoint_json(const union rn_wg_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];

	if (ep->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->sin.sin_addr, addr, sizeof(addr));
		snprintf(buf, sizeof(buf), "%s:%u", addr, ntohs(ep->sin.sin_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->sin6.sin6_addr, addr, sizeof(addr));
		snprintf(buf, sizeof(buf), "[%s]:%u", addr, ntohs(ep->sin6.sin6_port));
	} else {
		return json_null();
	}
	return json_string(buf);
}

static json_t *allowed_ips_json(const struct rn_wg_peer_config *p)
{
	char addr[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];
	json_t *a = json_array();

	for (size_t i = 0; a && i < p->n_allowed_ips; i++) {
		const struct rn_wg_allowed_ip *ip = &p->allowed_ips[i];

		inet_ntop(ip->family,
			  ip->family == AF_INET ? (const void *)&ip->ip4 : (const void *)&ip->ip6,
			  addr, sizeof(addr));
		snprintf(buf, sizeof(buf), "%s/%u", addr, ip->cidr);
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static json_t *ip_json(int family, const void *addr)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, buf, sizeof(buf));
	return json_string(buf);
}

static const struct rn_netmap_peer *map_peer(const struct rn_netmap *m, const uint8_t *key)
{
	for (size_t i = 0; i < m->n_peers; i++)
		if (!memcmp(m->peers[i].public_key, key, RN_NETMAP_KEY_LEN))
			return &m->peers[i];
	return NULL;
}

/*
 * How the peer is reached: "direct" (an endpoint of the map, or one the peer reached us from),
 * "none" (no endpoint yet); candidates is how many the map lists; working says a handshake
 * completed on the endpoint in use; changed_at is the unix time of the last change (0: none).
 */
static json_t *path_json(const struct rn_daemon *d, const struct rn_wg_peer_config *p)
{
	const struct rn_path_peer *pp = rn_daemon_paths_find(d, p->public_key);
	struct timespec boot;
	json_int_t changed = 0;
	uint64_t now_ms;
	char name[RN_NETMAP_LABEL_MAX + 1];
	const char *relay, *kind = "direct";

	if (pp && pp->changed_at_ms) {
		clock_gettime(CLOCK_BOOTTIME, &boot);
		now_ms = (uint64_t)boot.tv_sec * 1000 + (uint64_t)boot.tv_nsec / 1000000;
		changed =
		    (json_int_t)time(NULL) - (json_int_t)((now_ms - pp->changed_at_ms) / 1000);
	}
	relay = rn_daemon_relays_name(d, &p->endpoint, name, sizeof(name));
	if (p->endpoint.sa.sa_family == AF_UNSPEC)
		kind = "none";
	else if (relay || rn_wg_is_relay_endpoint(&p->endpoint))
		kind = "relay";
	return json_pack("{s:s, s:s?, s:I, s:b, s:I}", "kind", kind, "relay", relay, "candidates",
			 (json_int_t)(pp ? pp->n_cand : 0), "working", pp && pp->working,
			 "changed_at", changed);
}

/* A peer the data plane has; mp is what the map says of it (NULL: set by hand with wg(8)). */
static json_t *peer_json(const struct rn_daemon *d, const struct rn_wg_peer_config *p,
			 const struct rn_netmap_peer *mp)
{
	char key[RN_DAEMON_B64_KEY_LEN + 1];

	rn_daemon_key_b64(p->public_key, key);
	return json_pack("{s:s?, s:s?, s:o, s:o, s:s, s:b, s:I, s:o, s:o, s:I, s:I, s:I, s:o, s:i}",
			 "name", mp ? mp->name : NULL, "dns_name", mp ? mp->dns_name : NULL, "ipv4",
			 mp ? ip_json(AF_INET, mp->ipv4) : json_null(), "ipv6",
			 mp ? ip_json(AF_INET6, mp->ipv6) : json_null(), "public_key", key,
			 "online", mp && mp->online, "last_seen",
			 (json_int_t)(mp ? mp->last_seen : 0), "endpoint",
			 endpoint_json(&p->endpoint), "path", path_json(d, p), "latest_handshake",
			 (json_int_t)p->last_handshake.tv_sec, "rx_bytes", (json_int_t)p->rx_bytes,
			 "tx_bytes", (json_int_t)p->tx_bytes, "allowed_ips", allowed_ips_json(p),
			 "persistent_keepalive", (int)p->persistent_keepalive);
}

static json_t *self_json(const struct rn_daemon *d)
{
	const struct rn_netmap_self *s = &d->map.self;

	if (!d->map.version)
		return json_null();
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)s->id, "name", s->name,
			 "dns_name", s->dns_name, "user", s->user, "ipv4",
			 ip_json(AF_INET, s->ipv4), "ipv6", ip_json(AF_INET6, s->ipv6));
}

/*
 * "filter": "installed" while the map's packet filter is in the data plane, else "deny-all"
 * (no map yet, or its filter could not be installed: filter_error says why).
 */
static json_t *netmap_json(const struct rn_daemon *d)
{
	json_t *rej = json_null();
	bool filtered = d->map.version && !d->filter_error[0];

	if (d->rejected_at)
		rej = json_pack("{s:I, s:s}", "time", (json_int_t)d->rejected_at, "reason",
				d->rejected_reason);
	return json_pack(
	    "{s:I, s:I, s:I, s:o, s:s?, s:s, s:s?, s:s?}", "version", (json_int_t)d->map.version,
	    "issued_at", (json_int_t)d->map.issued_at, "cache_valid_s",
	    (json_int_t)(d->map.version ? rn_netmap_cache_valid_s(&d->map) : 0), "last_rejected",
	    rej, "apply_error", d->apply_error[0] ? d->apply_error : NULL, "filter",
	    filtered ? "installed" : "deny-all", "filter_error",
	    d->filter_error[0] ? d->filter_error : NULL, "cache_expired",
	    d->cache_expired[0] ? d->cache_expired : NULL);
}

static const char *state_name(const struct rn_daemon *d, const struct rn_client_status *st)
{
	if (!d->logged_in || st->refused)
		return "NeedsLogin";
	return d->map.version ? "Running" : "Starting";
}

json_t *rn_daemon_status(struct rn_daemon *d)
{
	char key[RN_DAEMON_B64_KEY_LEN + 1];
	struct rn_client_status st = { 0 };
	struct rn_wg_config cfg = { 0 };
	json_t *peers, *res;
	int err;

	err = rn_wg_device_snapshot(d->dev, &cfg);
	if (err)
		return rn_ipc_reply_error("cannot read interface %s: %s (see rustynetd's log)",
					  d->ifname, strerror(-err));
	if (d->client)
		rn_client_get_status(d->client, &st);
	peers = json_array();
	for (size_t i = 0; peers && i < cfg.n_peers; i++)
		json_array_append_new(
		    peers, peer_json(d, &cfg.peers[i], map_peer(&d->map, cfg.peers[i].public_key)));
	rn_daemon_key_b64(d->public_key, key);
	res = json_pack(
	    "{s:s, s:b, s:s, s:s, s:i, s:i, s:{s:s?, s:s?, s:b, s:s}, s:o, s:o, s:o, "
	    "s:o, s:o}",
	    "state", state_name(d, &st), "logged_in", d->logged_in && !st.refused, "interface",
	    rn_wg_device_ifname(d->dev), "public_key", key, "listen_port", (int)cfg.listen_port,
	    "fwmark", (int)cfg.fwmark, "server", "url", d->logged_in ? d->login.server_url : NULL,
	    "hostname", d->logged_in ? d->login.hostname : NULL, "connected", st.connected,
	    "last_error", st.last_error, "self", self_json(d), "netmap", netmap_json(d), "peers",
	    peers, "advertised", rn_advertise_to_json(&d->adv), "router", rn_router_status(d));
	if (res)
		json_object_update_new(res, rn_daemon_exit_status(d, &cfg));
	if (res)
		json_object_set_new(res, "nat", rn_daemon_disco_status(d));
	if (res) {
		json_object_set_new(res, "calls", rn_daemon_callme_status(d));
		json_object_set_new(res, "relays", rn_daemon_relays_status(d));
	}
	if (res)
		json_object_set_new(res, "killswitch",
				    rn_killswitch_status(d, json_object_get(res, "exit_node")));
	rn_wg_config_free(&cfg);
	return res ? rn_ipc_reply_ok(res) : NULL;
}
