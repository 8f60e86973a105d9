/* SPDX-License-Identifier: MIT */
/*
 * What this node offers the network, from the control socket: `up --advertise-exit-node
 * --advertise-routes ...` and `route advertise|retract|list`. A change is checked in full
 * first (bad input changes nothing), written to STATE/advertise.json, then handed to the poll
 * thread, which restarts its long-poll so the server has it within about a second.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "ipc/ipc.h"
#include "rustynetd/daemon.h"

void rn_daemon_advertise_load(struct rn_daemon *d)
{
	char err[RN_CLIENT_ERR_MAX];
	int r = rn_advertise_load(d->state_dir, &d->adv, err, sizeof(err));

	if (r && r != -ENOENT)
		log_error(MAIN,
			  "%s: advertising nothing until `rustynet up --advertise-...` or "
			  "`rustynet route advertise` writes it again",
			  err);
	else if (d->adv.exit || d->adv.n_routes)
		log_info(MAIN, "advertising%s %zu LAN routes", d->adv.exit ? " exit node and" : "",
			 d->adv.n_routes);
}

int rn_daemon_advertise_set(struct rn_daemon *d, const struct rn_advertise *adv, char *err,
			    size_t errlen)
{
	int r;

	if (rn_advertise_equal(&d->adv, adv))
		return 0;
	r = rn_advertise_save(d->state_dir, adv);
	if (r) {
		snprintf(err, errlen, "cannot write %s/%s: %s", d->state_dir, RN_ADVERTISE_FILE,
			 strerror(-r));
		return r;
	}
	d->adv = *adv;
	rn_apply_offer_changed(d); /* a retraction holds at once, whatever the server does */
	rn_client_set_advertise(d->client, adv);
	log_info(MAIN, "now advertising%s %zu LAN routes", adv->exit ? " exit node and" : "",
		 adv->n_routes);
	return 0;
}

/* The network's /48 once a map names it; before that the server checks alone. */
static const struct rn_filter_prefix *mesh6_of(const struct rn_daemon *d,
					       struct rn_filter_prefix *buf)
{
	if (!d->map.version)
		return NULL;
	rn_filter_prefix_make(buf, AF_INET6, d->map.self.ipv6, RN_APPLY_V6_NET_LEN);
	return buf;
}

int rn_daemon_advertise_args(const struct rn_daemon *d, json_t *args, struct rn_advertise *out,
			     char *err, size_t errlen)
{
	json_t *x = json_object_get(args, "advertise_exit");
	json_t *routes = json_object_get(args, "advertise_routes"), *v;
	struct rn_filter_prefix m6, p;
	size_t i;

	*out = d->adv;
	if (x && !json_is_boolean(x)) {
		snprintf(err, errlen, "advertise_exit must be true or false");
		return -EINVAL;
	}
	if (x)
		out->exit = json_is_true(x);
	if (!routes)
		return 0;
	if (!json_is_array(routes) || json_array_size(routes) > RN_ADVERTISE_MAX_ROUTES) {
		snprintf(err, errlen, "advertise_routes must be a list of at most %d CIDRs",
			 RN_ADVERTISE_MAX_ROUTES);
		return -EINVAL;
	}
	out->n_routes = 0;
	json_array_foreach(routes, i, v) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "advertise_routes[%zu] is not a string", i);
			return -EINVAL;
		}
		if (!rn_advertise_cidr_parse(json_string_value(v), mesh6_of(d, &m6), &p, err,
					     errlen))
			return -EINVAL;
		rn_advertise_add(out, &p);
	}
	return 0;
}

static json_t *reply(const struct rn_daemon *d, bool changed)
{
	return rn_ipc_reply_ok(json_pack("{s:b, s:o}", "changed", changed, "advertised",
					 rn_advertise_to_json(&d->adv)));
}

/* {"action": "advertise"|"retract"|"list", "cidr": "..."} */
json_t *rn_daemon_cmd_route(struct rn_daemon *d, json_t *args)
{
	const char *action = json_string_value(json_object_get(args, "action"));
	const char *cidr = json_string_value(json_object_get(args, "cidr"));
	char err[RN_CLIENT_ERR_MAX];
	struct rn_filter_prefix m6, p;
	struct rn_advertise next = d->adv;
	int r;

	if (action && !strcmp(action, "list"))
		return reply(d, false);
	if (!action || !cidr || (strcmp(action, "advertise") && strcmp(action, "retract")))
		return rn_ipc_reply_error("route needs action advertise, retract or list, and a "
					  "cidr");
	if (!rn_advertise_cidr_parse(cidr, mesh6_of(d, &m6), &p, err, sizeof(err)))
		return rn_ipc_reply_error("%s", err);
	r = !strcmp(action, "advertise") ? rn_advertise_add(&next, &p)
					 : rn_advertise_remove(&next, &p);
	if (r == -EEXIST)
		return reply(d, false);
	if (r == -ENOENT)
		return rn_ipc_reply_error("%s is not advertised: nothing to retract", cidr);
	if (r == -ENOSPC)
		return rn_ipc_reply_error("already advertising %d routes, the most a node may",
					  RN_ADVERTISE_MAX_ROUTES);
	if (rn_daemon_advertise_set(d, &next, err, sizeof(err)))
		return rn_ipc_reply_error("%s", err);
	return reply(d, true);
}
