/* SPDX-License-Identifier: MIT */
/*
 * Applying a verified netmap to the node, from the daemon's loop only, in the order of
 * rn_apply_order: what it grants this node as a router narrowed to what the node offers, the
 * packet filter (before any peer can send), the data plane's peers, the mesh addresses and
 * routes through the system layer (journal group "mesh", so `down`, logout and a restart after
 * a crash remove exactly them), forwarding and NAT, then the LAN-probe guard (guard.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "rustynetd/daemon.h"
#include "rustynetd/relays.h"
#include "rustynetd/persist.h"
#include "system/system.h"
#include "wg/device.h"

static int apply_peers(struct rn_daemon *d, const struct rn_netmap *next, char *err, size_t errlen)
{
	struct rn_wg_config running = { 0 }, plan = { 0 };
	int r;

	r = rn_wg_device_snapshot(d->dev, &running);
	if (!r)
		r = rn_apply_plan_peers(d->map.version ? &d->map : NULL, &running, next, &plan);
	if (!r)
		r = rn_daemon_exit_add_defaults(d, next, &plan);
	if (!r) {
		rn_apply_plan_keepalive(&plan, rn_daemon_disco_keepalive(d));
		r = rn_wg_device_apply(d->dev, &plan);
	}
	if (!r)
		rn_daemon_disco_peers_set(d, &plan);
	if (r)
		snprintf(err, errlen, "cannot set the peers on %s: %s", d->ifname, strerror(-r));
	rn_wg_config_free(&plan);
	rn_wg_config_free(&running);
	return r;
}

/* Link up, addresses, routes. Failures are logged and kept in d->apply_error; the rest goes on. */
static void apply_system(struct rn_daemon *d, const struct rn_netmap *next)
{
	struct rn_apply_intents want;
	char what[RN_IPADDR_STRLEN];
	int r, first = 0;

	d->apply_error[0] = '\0';
	if (!d->sys) {
		snprintf(
		    d->apply_error, sizeof(d->apply_error),
		    "no system layer: addresses and routes not installed (see the log at start)");
		return;
	}
	rn_apply_plan_system(next, d->ifname, &want);
	/* Installed and journaled already: adding again would only make the kernel say EEXIST. */
	if (d->installed.n_addrs && rn_apply_intents_equal(&d->installed, &want))
		return;
	if (d->installed.n_addrs) {
		log_info(MAIN, "apply: this node's mesh addresses changed: replacing them");
		rn_system_undo_group(d->sys, RN_APPLY_GROUP);
	}
	/* Link first: undo runs in reverse, and taking the link down drops IPv6 addresses. */
	r = rn_system_link_up(d->sys, RN_APPLY_GROUP, d->ifname);
	if (r) {
		first = r;
		snprintf(d->apply_error, sizeof(d->apply_error), "cannot set %s up: %s", d->ifname,
			 strerror(-r));
	}
	for (size_t i = 0; i < want.n_addrs; i++) {
		r = rn_system_addr_add(d->sys, RN_APPLY_GROUP, d->ifname, &want.addrs[i]);
		if (r && !first) {
			first = r;
			snprintf(d->apply_error, sizeof(d->apply_error),
				 "cannot add address %s: %s",
				 rn_ipaddr_format_prefix(&want.addrs[i], what), strerror(-r));
		}
	}
	for (size_t i = 0; i < want.n_routes; i++) {
		r = rn_system_route_add(d->sys, RN_APPLY_GROUP, &want.routes[i]);
		if (r && !first) {
			first = r;
			snprintf(d->apply_error, sizeof(d->apply_error), "cannot add route %s: %s",
				 rn_ipaddr_format_prefix(&want.routes[i].dst, what), strerror(-r));
		}
	}
	if (!first)
		d->installed = want; /* a partial install is retried by the next map */
	if (first)
		log_error(MAIN, "apply: %s (tunnels to peers may not work)", d->apply_error);
}

/* The guard covers this node's mesh addresses and its Magic DNS addresses (on lo). */
static void apply_guard(struct rn_daemon *d)
{
	struct rn_ip addrs[RN_GUARD_MAX_ADDRS];
	struct rn_apply_intents want;
	struct rn_prefix v4, v6;
	size_t n = 0;

	rn_apply_plan_system(&d->map, d->ifname, &want);
	for (size_t i = 0; i < want.n_addrs && n < RN_GUARD_MAX_ADDRS - 2; i++)
		addrs[n++] = want.addrs[i].addr;
	rn_daemon_dns_service_addrs(&d->map, &v4, &v6);
	addrs[n++] = v4.addr;
	addrs[n++] = v6.addr;
	rn_guard_sync(d, addrs, n);
}

/* Test builds: RUSTYNET_TEST_FILTER_FAIL makes every filter install fail (mesh-default-deny.sh). */
static bool filter_fail_injected(void)
{
#ifdef RN_TEST_HOOKS
	return getenv("RUSTYNET_TEST_FILTER_FAIL") != NULL;
#else
	return false;
#endif
}

/*
 * The filter moves from the map to the device, which frees it (even on failure). A filter that
 * cannot be installed leaves none: the device (started with RN_WG_DEVICE_DENY_UNFILTERED) then
 * drops every packet until a later map's filter is in place, and d->filter_error says why.
 */
static void apply_filter(struct rn_daemon *d, struct rn_netmap *next)
{
	struct rn_filter *f = filter_fail_injected() ? NULL : malloc(sizeof(*f));
	int r = f ? 0 : -ENOMEM;

	if (f) {
		*f = next->filter;
		memset(&next->filter, 0, sizeof(next->filter));
		r = rn_wg_device_set_filter(d->dev, f);
	}
	if (!r) {
		d->filter_error[0] = '\0';
		return;
	}
	rn_wg_device_set_filter(d->dev, NULL);
	snprintf(d->filter_error, sizeof(d->filter_error),
		 "the packet filter of netmap version %llu could not be installed (%s%s): every "
		 "packet from the tunnel is dropped until a later map's filter is; see the log, "
		 "then `rustynet down` and start rustynetd again",
		 (unsigned long long)next->version, strerror(-r),
		 filter_fail_injected() ? ", injected by RUSTYNET_TEST_FILTER_FAIL" : "");
	log_error(MAIN, "apply: %s", d->filter_error);
}

/*
 * The first map this process runs after a restart (from the cache, or from the server when the
 * cache was unusable): the peers may still send on sessions the data plane forgot with the
 * old process, and would until their own timer gives up on us (~15 s). One handshake from us
 * to each peer with an endpoint replaces those sessions at once. Peers that are gone are
 * retried as any unanswered handshake is, for REKEY_ATTEMPT_TIME.
 */
static void greet_peers(struct rn_daemon *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->map.n_peers; i++)
		n += rn_wg_device_initiate(d->dev, d->map.peers[i].public_key) == 0;
	log_info(MAIN, "apply: first map since start: handshake started with %zu of %zu peers", n,
		 d->map.n_peers);
}

static void reject(struct rn_daemon *d, const char *why)
{
	d->rejected_at = (uint64_t)time(NULL);
	snprintf(d->rejected_reason, sizeof(d->rejected_reason), "%s", why);
	log_warn(MAIN, "apply: refused a netmap, keeping version %llu: %s",
		 (unsigned long long)d->map.version, why);
}

int rn_apply_envelope(struct rn_daemon *d, const char *buf, size_t len, enum rn_apply_source src,
		      char *err, size_t errlen)
{
	const struct rn_netmap *cur = src == RN_APPLY_FROM_POLL && d->map.version ? &d->map : NULL;
	uint64_t max_age = src == RN_APPLY_FROM_CACHE ? RN_NETMAP_MAX_INT : RN_APPLY_MAX_AGE_S;
	struct rn_netmap next;
	bool greet;
	int r;

	r = rn_apply_verify(cur, d->public_key, d->login.netmap_pub, buf, len, (uint64_t)time(NULL),
			    max_age, &next, err, errlen);
	if (!r && src == RN_APPLY_FROM_CACHE) {
		r = rn_persist_netmap_fresh(&next, (uint64_t)time(NULL), err, errlen);
		if (r) {
			snprintf(d->cache_expired, sizeof(d->cache_expired), "%s", err);
			rn_netmap_free(&next);
		}
	}
	if (r) {
		reject(d, err);
		return r;
	}
	for (size_t i = 0; i < RN_APPLY_N_STEPS; i++) {
		switch (rn_apply_order[i]) {
		case RN_APPLY_STEP_GRANTS:
			rn_router_restrict(d, &next);
			break;
		case RN_APPLY_STEP_FILTER:
			apply_filter(d, &next);
			break;
		case RN_APPLY_STEP_PEERS:
			r = apply_peers(d, &next, err, errlen);
			break;
		case RN_APPLY_STEP_SYSTEM:
			apply_system(d, &next);
			break;
		case RN_APPLY_STEP_ROUTER:
			rn_router_apply(d, &next);
			break;
		case RN_APPLY_N_STEPS:
			break;
		}
		if (r) {
			/* The new filter stays: it is the server's latest word on what may pass. */
			reject(d, err);
			rn_netmap_free(&next);
			return r;
		}
	}
	if (src != RN_APPLY_FROM_CACHE) {
		int w = rn_persist_netmap_save(d->state_dir, buf, len);

		if (w)
			log_warn(MAIN,
				 "apply: cannot save %s/%s: %s: a restart without the server "
				 "will start with no peers",
				 d->state_dir, RN_PERSIST_NETMAP_FILE, strerror(-w));
	}
	log_info(MAIN, "apply: netmap version %llu%s: %zu peers, %s %s",
		 (unsigned long long)next.version, src == RN_APPLY_FROM_CACHE ? " (cached)" : "",
		 next.n_peers, next.self.name, d->apply_error[0] ? "(with errors)" : "");
	greet = !d->map.version && src != RN_APPLY_FROM_ENROLL;
	rn_netmap_free(&d->map);
	d->map = next;
	d->cache_expired[0] = '\0';
	rn_daemon_exit_apply(d);
	rn_daemon_dns_apply(d);
	rn_daemon_relays_apply(d); /* before the paths: their last candidate is a relay */
	rn_daemon_paths_apply(d);
	apply_guard(d);
	if (greet)
		greet_peers(d);
	return 0;
}

/* No usable copy of the running map: nothing forwarded, nothing from the tunnel admitted. */
static void offer_fail_closed(struct rn_daemon *d, const char *why)
{
	struct rn_netmap none = { 0 };
	int n;

	rn_wg_device_set_filter(d->dev, NULL);
	/* a long state dir path may cut the reason short: the log line and status still say it */
	n = snprintf(
	    d->filter_error, sizeof(d->filter_error),
	    "this node's offer changed and the running map (%s/%s) could not be read again "
	    "(%s): every packet from the tunnel is dropped until the next map",
	    d->state_dir, RN_PERSIST_NETMAP_FILE, why);
	log_error(MAIN, "apply: %s%s", d->filter_error,
		  n >= (int)sizeof(d->filter_error) ? "..." : "");
	rn_router_restrict(d, &none);
	rn_router_apply(d, &d->map);
}

void rn_apply_offer_changed(struct rn_daemon *d)
{
	char err[RN_CLIENT_ERR_MAX];
	struct rn_netmap m;
	char *env = NULL;
	size_t len = 0;
	int r;

	if (!d->map.version)
		return;
	r = rn_persist_netmap_load(d->state_dir, &env, &len);
	if (r) {
		offer_fail_closed(d, strerror(-r));
		return;
	}
	r = rn_netmap_decode(env, len, d->login.netmap_pub, &m, err, sizeof(err));
	free(env);
	if (r) {
		offer_fail_closed(d, err);
		return;
	}
	if (m.version != d->map.version) {
		rn_netmap_free(&m);
		offer_fail_closed(d, "it holds another version");
		return;
	}
	rn_router_restrict(d, &m);
	apply_filter(d, &m);
	rn_router_apply(d, &m);
	rn_netmap_free(&m);
	log_info(MAIN, "apply: the offer changed: netmap version %llu's grants narrowed to it",
		 (unsigned long long)d->map.version);
}

void rn_apply_clear(struct rn_daemon *d)
{
	struct rn_wg_config running = { 0 }, plan = { 0 };
	struct rn_netmap none = { 0 };
	int r;

	r = rn_wg_device_snapshot(d->dev, &running);
	if (!r)
		r = rn_apply_plan_peers(NULL, &running, &none, &plan);
	if (!r)
		r = rn_wg_device_apply(d->dev, &plan);
	if (r)
		log_error(MAIN, "logout: cannot remove the peers: %s", strerror(-r));
	rn_wg_config_free(&plan);
	rn_wg_config_free(&running);
	if (d->sys && rn_system_undo_group(d->sys, RN_APPLY_GROUP))
		log_error(MAIN, "logout: some mesh addresses or routes stay: see the log above");
	rn_router_clear(d);
	rn_guard_sync(d, NULL, 0);
	rn_wg_device_set_filter(d->dev, NULL); /* no map, no filter: the device drops everything */
	d->filter_error[0] = '\0';
	rn_netmap_free(&d->map);
	memset(&d->installed, 0, sizeof(d->installed));
	d->apply_error[0] = '\0';
	d->cache_expired[0] = '\0';
}
