/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control dns upstreams set IP[,IP...] | clear | get [--json]`: the resolvers every
 * node's Magic DNS forwards names outside the network to. Stored as the "dns_upstreams"
 * setting (audited) and sent in every netmap's dns.resolvers, so a change reaches the nodes
 * like any other. In protected mode (an exit node selected) nodes use only these.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rustynet-control/ctl.h"

#define USE "dns upstreams set IP[,IP...] | dns upstreams clear | dns upstreams get [--json]"

static int set(struct rn_ctl *ctl, const char *value)
{
	struct rn_store_ip ips[RN_STORE_DNS_UPSTREAMS_MAX];
	char canon[RN_STORE_DNS_UPSTREAMS_TEXT_MAX], err[160];
	struct rn_store *store = NULL;
	size_t n;
	int ret;

	if (rn_store_dns_upstreams_parse(value, ips, RN_STORE_DNS_UPSTREAMS_MAX, &n, err,
					 sizeof(err))) {
		fprintf(stderr, "%s dns upstreams set: %s\n", ctl->prog, err);
		return RN_CTL_USAGE;
	}
	rn_store_dns_upstreams_format(ips, n, canon, sizeof(canon));
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_setting_set(store, ctl->actor, "dns_upstreams", canon, time(NULL));
	if (ret) {
		ret = rn_ctl_store_error(store, "setting the DNS upstreams", ret);
	} else {
		printf("DNS upstreams: %s (nodes get them with their next netmap)\n",
		       n ? canon : "none");
		ret = RN_CTL_OK;
	}
	rn_store_close(store);
	return ret;
}

static int get(struct rn_ctl *ctl, bool json)
{
	char text[RN_STORE_DNS_UPSTREAMS_TEXT_MAX] = "";
	struct rn_store *store = NULL;
	int ret;

	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_setting_get(store, "dns_upstreams", text, sizeof(text));
	if (ret && ret != -ENOENT) {
		ret = rn_ctl_store_error(store, "reading the DNS upstreams", ret);
		goto out;
	}
	if (json) {
		json_t *a = json_array(), *o;
		char *save = NULL;

		for (char *p = strtok_r(text, ",", &save); p; p = strtok_r(NULL, ",", &save))
			json_array_append_new(a, json_string(p));
		o = json_pack("{s:o}", "upstreams", a);
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s\n", text[0] ? text : "none");
	}
	ret = RN_CTL_OK;
out:
	rn_store_close(store);
	return ret;
}

static int upstreams(struct rn_ctl *ctl, int argc, char **argv)
{
	bool json = argc == 3 && !strcmp(argv[2], "--json");

	if (argc == 3 && !strcmp(argv[1], "set"))
		return set(ctl, argv[2]);
	if (argc == 2 && !strcmp(argv[1], "clear"))
		return set(ctl, "");
	if ((argc == 2 || json) && !strcmp(argv[1], "get"))
		return get(ctl, json);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		rn_ctl_print_help(ctl);
		return RN_CTL_OK;
	}
	return rn_ctl_usage_error(ctl, "say set IP[,IP...], clear or get");
}

static const struct rn_ctl_verb rn_dns_verbs[] = {
	{ "upstreams", upstreams, USE,
	  "set: the resolvers nodes forward names outside the network to (at most 8, unicast).\n"
	  "clear: none (nodes without an exit node then use their own resolvers).\n"
	  "get: prints them.\n" },
	{ 0 },
};

int rn_ctl_dns_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "dns", rn_dns_verbs, argc, argv);
}
