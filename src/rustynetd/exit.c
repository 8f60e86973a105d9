/* SPDX-License-Identifier: MIT */
/*
 * Exit nodes and LAN access in the daemon: the local API's exit-node and lan-access commands,
 * STATE/exit.json, and installing the plan of exit_plan.c through the system layer (journal
 * group "exit"; "exit-mark" for the conntrack mark restore that strict rp_filter needs) and the
 * data plane (fwmark, the exit peer's default allowed IPs). Re-applying the same state changes
 * nothing; a change adds what is new before it removes what is stale, so a switch of exits
 * never opens a moment of direct internet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "ipc/ipc.h"
#include "rustynetd/client.h"
#include "rustynetd/daemon.h"
#include "rustynetd/persist.h"
#include "system/sysctl.h"
#include "system/system.h"
#include "wg/device.h"
#include "wg/messages.h"

static void set_error(struct rn_daemon *d, int r, const char *what, const char *name)
{
	if (d->exit.error[0])
		return;
	snprintf(d->exit.error, sizeof(d->exit.error), "cannot %s %s: %s", what, name,
		 strerror(-r));
	log_error(MAIN, "exit: %s", d->exit.error);
}

static int set_fwmark(struct rn_daemon *d, uint32_t mark)
{
	struct rn_wg_config cfg = { .flags = RN_WG_DEV_HAS_FWMARK, .fwmark = mark };

	return rn_wg_device_apply(d->dev, &cfg);
}

/* Removes what is installed and not wanted; conflicts_only: only routes want replaces. */
static void remove_stale(struct rn_daemon *d, const struct rn_exit_plan *want, bool conflicts_only)
{
	const struct rn_exit_plan *have = &d->exit.installed;
	char what[RN_IPADDR_STRLEN];
	int r;

	for (size_t i = have->n_rules; !conflicts_only && i-- > 0;) {
		if (rn_exit_plan_has_rule(want, &have->rules[i]))
			continue;
		r = rn_system_rule_del(d->sys, RN_EXIT_GROUP, &have->rules[i]);
		if (r && r != -ENOENT)
			set_error(d, r, "remove rule",
				  have->rules[i].family == AF_INET ? "(IPv4)" : "(IPv6)");
	}
	for (size_t i = have->n_routes; i-- > 0;) {
		const struct rn_nl_route *rt = &have->routes[i].route;

		if (rn_exit_plan_has_route(want, rt) ||
		    (conflicts_only && !rn_exit_plan_has_dst(want, rt)))
			continue;
		r = rn_system_route_del(d->sys, RN_EXIT_GROUP, rt);
		if (r && r != -ENOENT)
			set_error(d, r, "remove route", rn_ipaddr_format_prefix(&rt->dst, what));
	}
}

static void add_wanted(struct rn_daemon *d, const struct rn_exit_plan *want)
{
	char what[RN_IPADDR_STRLEN];
	int r;

	/* Routes before the rules that send traffic to them. */
	for (size_t i = 0; i < want->n_routes; i++) {
		const struct rn_nl_route *rt = &want->routes[i].route;

		if (!d->exit.dirty && rn_exit_plan_has_route(&d->exit.installed, rt))
			continue;
		r = rn_system_route_add(d->sys, RN_EXIT_GROUP, rt);
		if (r)
			set_error(d, r, "add route", rn_ipaddr_format_prefix(&rt->dst, what));
	}
	for (size_t i = 0; i < want->n_rules; i++) {
		if (!d->exit.dirty && rn_exit_plan_has_rule(&d->exit.installed, &want->rules[i]))
			continue;
		r = rn_system_rule_add(d->sys, RN_EXIT_GROUP, &want->rules[i]);
		if (r)
			set_error(d, r, "add rule",
				  want->rules[i].family == AF_INET ? "(IPv4)" : "(IPv6)");
	}
}

/*
 * Strict rp_filter: replies to the marked sockets get their mark back from conntrack and the
 * reverse lookup uses it (exit.h). Re-asserting replaces the table in one transaction.
 * Conntrack learns the mark from a packet sent after the table exists: the control server's
 * long poll, opened before and silent while it waits for the next map, would have that map
 * dropped by rp_filter and wait out its timeout (35 s without maps; an exit behind a NAT
 * and a client behind another showed it, tests/integration/exit-nat.sh). So the poll starts
 * over on a new connection when the table first goes in.
 */
static void mark_restore_on(struct rn_daemon *d)
{
	char ruleset[RN_EXIT_MARK_RULESET_MAX], val[RN_SYSCTL_VALUE_MAX];
	bool was = d->exit.mark_restore;
	int r;

	r = rn_exit_mark_ruleset(RN_EXIT_FWMARK, RN_EXIT_FWMASK, ruleset, sizeof(ruleset));
	if (r >= 0)
		r = rn_system_nft_table_set(d->sys, RN_EXIT_MARK_GROUP, RN_EXIT_MARK_FAMILY,
					    RN_EXIT_MARK_TABLE, ruleset);
	if (r < 0) {
		set_error(d, r, "install nft table", RN_EXIT_MARK_FAMILY " " RN_EXIT_MARK_TABLE);
		return;
	}
	d->exit.mark_restore = true;
	if (!was)
		rn_client_repoll(d->client);
	/* Left alone when already 1: the journal then has nothing of ours to put back. */
	r = rn_sysctl_read(RN_EXIT_MARK_SYSCTL, val, sizeof(val));
	if (!r && !strcmp(val, "1"))
		return;
	r = rn_system_sysctl_set(d->sys, RN_EXIT_MARK_GROUP, RN_EXIT_MARK_SYSCTL, "1");
	if (r)
		set_error(d, r, "set", RN_EXIT_MARK_SYSCTL "=1");
}

static void mark_restore_off(struct rn_daemon *d)
{
	int r;

	if (!d->exit.mark_restore && !rn_system_count(d->sys, RN_EXIT_MARK_GROUP))
		return;
	r = rn_system_undo_group(d->sys, RN_EXIT_MARK_GROUP);
	if (r) {
		set_error(d, r, "remove", "the mark restore (group " RN_EXIT_MARK_GROUP ")");
		return;
	}
	d->exit.mark_restore = false;
}

void rn_daemon_exit_apply(struct rn_daemon *d)
{
	struct rn_exit_plan want;
	int r;

	if (!d->sys) {
		snprintf(d->exit.error, sizeof(d->exit.error),
			 "no system layer: exit node and LAN routes not installed");
		return;
	}
	if (rn_exit_plan_make(&d->map, &d->exit.prefs, d->ifname, &want)) {
		snprintf(d->exit.error, sizeof(d->exit.error), "out of memory planning routes");
		return;
	}
	if (!d->exit.dirty && rn_exit_plan_equal(&d->exit.installed, &want)) {
		rn_exit_plan_free(&want);
		return;
	}
	d->exit.error[0] = '\0';
	/* The mark first: once the rules exist, an unmarked WireGuard packet would loop. */
	if (want.fwmark) {
		r = set_fwmark(d, want.fwmark);
		if (r)
			set_error(d, r, "set the fwmark on", d->ifname);
		mark_restore_on(d); /* before the rules would make the replies fail rp_filter */
	}
	remove_stale(d, &want, true);
	add_wanted(d, &want);
	remove_stale(d, &want, false);
	if (!want.fwmark && d->exit.installed.fwmark) {
		r = set_fwmark(d, 0);
		if (r)
			set_error(d, r, "clear the fwmark on", d->ifname);
	}
	if (!want.fwmark)
		mark_restore_off(d);
	d->exit.dirty = d->exit.error[0] != '\0';
	log_info(MAIN, "exit: %zu rules, %zu routes in table %d%s", want.n_rules, want.n_routes,
		 RN_EXIT_TABLE, d->exit.dirty ? " (with errors)" : "");
	rn_exit_plan_free(&d->exit.installed);
	d->exit.installed = want;
}

int rn_daemon_exit_add_defaults(struct rn_daemon *d, const struct rn_netmap *next,
				struct rn_wg_config *plan)
{
	return rn_exit_plan_peer_defaults(plan, next, d->exit.prefs.node_id);
}

/* The peers again from the running map, with the default routes where the choice puts them. */
static int reapply_peers(struct rn_daemon *d)
{
	struct rn_wg_config running = { 0 }, plan = { 0 };
	int r;

	if (!d->map.version)
		return 0;
	r = rn_wg_device_snapshot(d->dev, &running);
	if (!r)
		r = rn_apply_plan_peers(&d->map, &running, &d->map, &plan);
	if (!r)
		r = rn_daemon_exit_add_defaults(d, &d->map, &plan);
	if (!r) {
		rn_apply_plan_keepalive(&plan, rn_daemon_disco_keepalive(d));
		r = rn_wg_device_apply(d->dev, &plan);
	}
	rn_wg_config_free(&plan);
	rn_wg_config_free(&running);
	if (r)
		log_error(MAIN, "exit: cannot update the peers' allowed IPs: %s", strerror(-r));
	return r;
}

void rn_daemon_exit_load(struct rn_daemon *d)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	memset(&d->exit.prefs, 0, sizeof(d->exit.prefs));
	r = rn_persist_read(d->state_dir, RN_EXIT_PREFS_FILE, RN_EXIT_PREFS_MAX, &text, &len);
	if (r == -ENOENT)
		return;
	if (r || !rn_exit_prefs_parse(text, len, &d->exit.prefs))
		log_error(MAIN,
			  "%s/%s is %s: no exit node, LAN access off (choose again with "
			  "rustynet exit-node select / lan-access on)",
			  d->state_dir, RN_EXIT_PREFS_FILE, r ? strerror(-r) : "damaged");
	else if (d->exit.prefs.node_id || d->exit.prefs.lan_access)
		log_info(MAIN, "exit: exit node %s, LAN access %s",
			 d->exit.prefs.node_id ? d->exit.prefs.name : "none",
			 d->exit.prefs.lan_access ? "on" : "off");
	free(text);
}

/* Saves next and makes it the running choice; nothing changes when it cannot be saved. */
static json_t *change(struct rn_daemon *d, const struct rn_exit_prefs *next)
{
	char *text = rn_exit_prefs_dump(next);
	int r =
	    text ? rn_persist_write(d->state_dir, RN_EXIT_PREFS_FILE, text, strlen(text)) : -ENOMEM;

	free(text);
	if (r)
		return rn_ipc_reply_error("cannot save %s/%s: %s: nothing changed", d->state_dir,
					  RN_EXIT_PREFS_FILE, strerror(-r));
	d->exit.prefs = *next;
	rn_killswitch_sync(d); /* on before the routes change, off before they go */
	if (next->node_id) {
		rn_daemon_exit_apply(d); /* routes into the tunnel before the peer takes them */
		reapply_peers(d);
	} else {
		reapply_peers(d);
		rn_daemon_exit_apply(d);
	}
	return NULL;
}

void rn_daemon_exit_forget(struct rn_daemon *d)
{
	struct rn_exit_prefs next = d->exit.prefs;
	json_t *rep;

	/* With no map left, the plan is empty: LAN routes go too. */
	if (!next.node_id) {
		rn_daemon_exit_apply(d);
		return;
	}
	next.node_id = 0;
	next.name[0] = '\0';
	rep = change(d, &next);
	if (rep)
		log_error(MAIN, "logout: %s", json_string_value(json_object_get(rep, "error")));
	json_decref(rep);
}

static json_t *ip_json(int family, const void *addr)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *lan_routes_json(const struct rn_netmap_peer *p)
{
	char buf[RN_FILTER_PREFIX_STRLEN];
	json_t *a = json_array();

	for (size_t i = 0; a && i < p->n_lan_routes; i++)
		json_array_append_new(
		    a, json_string(rn_filter_prefix_format(&p->lan_routes[i], buf, sizeof(buf))));
	return a;
}

json_t *rn_daemon_exit_cmd_list(struct rn_daemon *d, json_t *args)
{
	json_t *arr = json_array();

	(void)args;
	for (size_t i = 0; arr && i < d->map.n_peers; i++) {
		const struct rn_netmap_peer *p = &d->map.peers[i];

		if (!p->is_exit)
			continue;
		json_array_append_new(
		    arr,
		    json_pack("{s:s, s:s, s:o, s:o, s:b, s:b, s:o}", "name", p->name, "dns_name",
			      p->dns_name, "ipv4", ip_json(AF_INET, p->ipv4), "ipv6",
			      ip_json(AF_INET6, p->ipv6), "online", p->online, "selected",
			      p->id == d->exit.prefs.node_id, "lan_routes", lan_routes_json(p)));
	}
	return arr ? rn_ipc_reply_ok(json_pack("{s:o}", "exit_nodes", arr)) : NULL;
}

/* {"node": NAME|IP}: select an exit this node may use. */
json_t *rn_daemon_exit_cmd_select(struct rn_daemon *d, json_t *args)
{
	const char *q = json_string_value(json_object_get(args, "node"));
	const struct rn_netmap_peer *p;
	struct rn_exit_prefs next = d->exit.prefs;
	char err[512];
	json_t *rep;

	if (!d->map.version)
		return rn_ipc_reply_error("no network map yet: run `rustynet up` first");
	p = rn_exit_find(&d->map, q, err, sizeof(err));
	if (!p)
		return rn_ipc_reply_error("%s", err);
	if (p->id == d->exit.prefs.node_id)
		return rn_ipc_reply_ok(
		    json_pack("{s:s, s:b}", "exit_node", p->dns_name, "already", 1));
	next.node_id = p->id;
	snprintf(next.name, sizeof(next.name), "%s", p->name);
	rep = change(d, &next);
	if (rep)
		return rep;
	log_info(MAIN, "exit: internet traffic now goes through %s", p->dns_name);
	return rn_ipc_reply_ok(json_pack("{s:s, s:b, s:s?}", "exit_node", p->dns_name, "already", 0,
					 "warning", d->exit.error[0] ? d->exit.error : NULL));
}

json_t *rn_daemon_exit_cmd_off(struct rn_daemon *d, json_t *args)
{
	struct rn_exit_prefs next = d->exit.prefs;
	json_t *rep;

	(void)args;
	if (!next.node_id)
		return rn_ipc_reply_ok(json_pack("{s:b}", "already", 1));
	next.node_id = 0;
	next.name[0] = '\0';
	rep = change(d, &next);
	if (rep)
		return rep;
	log_info(MAIN, "exit: no exit node: internet traffic goes directly again");
	return rn_ipc_reply_ok(json_pack("{s:b, s:s?}", "already", 0, "warning",
					 d->exit.error[0] ? d->exit.error : NULL));
}

/* {"on": bool} */
json_t *rn_daemon_exit_cmd_lan(struct rn_daemon *d, json_t *args)
{
	json_t *on = json_object_get(args, "on"), *rep;
	struct rn_exit_prefs next = d->exit.prefs;

	if (!json_is_boolean(on))
		return rn_ipc_reply_error("lan-access needs \"on\": true or false");
	next.lan_access = json_is_true(on);
	if (next.lan_access != d->exit.prefs.lan_access) {
		rep = change(d, &next);
		if (rep)
			return rep;
		log_info(MAIN, "exit: LAN access %s", next.lan_access ? "on" : "off");
	}
	return rn_ipc_reply_ok(json_pack("{s:b, s:s?}", "lan_access", next.lan_access, "warning",
					 d->exit.error[0] ? d->exit.error : NULL));
}

static const struct rn_wg_peer_config *running_peer(const struct rn_wg_config *cfg,
						    const uint8_t *key)
{
	for (size_t i = 0; cfg && i < cfg->n_peers; i++)
		if (!memcmp(cfg->peers[i].public_key, key, RN_WG_KEY_LEN))
			return &cfg->peers[i];
	return NULL;
}

static json_t *exit_json(const struct rn_daemon *d, const struct rn_wg_config *cfg)
{
	const struct rn_exit_prefs *x = &d->exit.prefs;
	const struct rn_netmap_peer *p = rn_exit_peer(&d->map, x->node_id);
	const struct rn_wg_peer_config *run = p ? running_peer(cfg, p->public_key) : NULL;
	time_t now = time(NULL);
	bool reachable;
	char problem[512] = "";

	if (!x->node_id)
		return json_null();
	reachable = p && p->is_exit && p->online && rn_exit_answers(run, now);
	if (!p || !p->is_exit)
		snprintf(problem, sizeof(problem),
			 "exit node %s is no longer allowed (removed from the network, approval or "
			 "policy changed): internet traffic is blocked until you run `rustynet "
			 "exit-node off` or select another",
			 x->name);
	else if (!p->online)
		snprintf(problem, sizeof(problem),
			 "exit node %s is offline: internet traffic is blocked, not sent directly",
			 p->name);
	else if (run && run->unanswered_ms >= RN_EXIT_UNANSWERED_MS)
		snprintf(
		    problem, sizeof(problem),
		    "exit node %s does not answer (handshakes unanswered for %llu s): internet "
		    "traffic is blocked, not sent directly",
		    p->name, (unsigned long long)(run->unanswered_ms / 1000));
	else if (d->exit.error[0])
		snprintf(problem, sizeof(problem), "routes not fully installed: %s", d->exit.error);
	else if (!reachable && run && run->last_handshake.tv_sec)
		snprintf(problem, sizeof(problem),
			 "exit node %s does not answer (no handshake for %lld s): internet traffic "
			 "is blocked, not sent directly",
			 p->name, (long long)(now - run->last_handshake.tv_sec));
	else if (!reachable)
		snprintf(problem, sizeof(problem),
			 "exit node %s has not answered yet: internet traffic is blocked, not sent "
			 "directly",
			 p->name);
	return json_pack("{s:s, s:o, s:o, s:b, s:b, s:s}", "name", p ? p->name : x->name, "ipv4",
			 p ? ip_json(AF_INET, p->ipv4) : json_null(), "ipv6",
			 p ? ip_json(AF_INET6, p->ipv6) : json_null(), "online", p && p->online,
			 "reachable", reachable, "problem", problem);
}

json_t *rn_daemon_exit_status(const struct rn_daemon *d, const struct rn_wg_config *cfg)
{
	const struct rn_exit_plan *in = &d->exit.installed;
	char buf[RN_IPADDR_STRLEN];
	json_t *routes = json_array();

	for (size_t i = 0; routes && i < in->n_routes; i++)
		if (in->routes[i].via[0])
			json_array_append_new(routes, json_pack("{s:s, s:s}", "cidr",
								rn_ipaddr_format_prefix(
								    &in->routes[i].route.dst, buf),
								"via", in->routes[i].via));
	return json_pack("{s:o, s:b, s:o}", "exit_node", exit_json(d, cfg), "lan_access",
			 d->exit.prefs.lan_access, "lan_routes", routes);
}
