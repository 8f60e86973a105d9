/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control stun set ADDR:PORT... | list [--json] | clear`: the STUN servers every
 * node asks for its public address and port besides the control server's own responder
 * (`serve --stun-listen`, which every map lists first). Stored as the "stun_servers" setting
 * (audited) and sent in every netmap's "stun", so a change reaches the nodes like any other.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rustynet-control/ctl.h"

static int rn_stun_store(struct rn_ctl *ctl, const char *text, size_t n)
{
	struct rn_store *store = NULL;
	int ret;

	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_setting_set(store, ctl->actor, "stun_servers", text, time(NULL));
	if (ret) {
		ret = rn_ctl_store_error(store, "setting the STUN servers", ret);
	} else {
		printf("STUN servers: %s (nodes get them with their next netmap, after the "
		       "server's own responder)\n",
		       n ? text : "none");
		ret = RN_CTL_OK;
	}
	rn_store_close(store);
	return ret;
}

static int rn_stun_set(struct rn_ctl *ctl, int argc, char **argv)
{
	union rn_netmap_endpoint eps[RN_STORE_STUN_SERVERS_MAX];
	char text[RN_STORE_STUN_SERVERS_TEXT_MAX * 2], canon[RN_STORE_STUN_SERVERS_TEXT_MAX];
	char err[200];
	size_t n, used = 0;
	int first, ret = rn_ctl_simple_args(ctl, argc, argv, 1, -1, NULL, &first);

	if (ret >= 0)
		return ret;
	text[0] = '\0';
	for (int i = first; i < argc; i++) {
		int w =
		    snprintf(text + used, sizeof(text) - used, "%s%s", used ? "," : "", argv[i]);

		if (w < 0 || (size_t)w >= sizeof(text) - used)
			return rn_ctl_usage_error(ctl, "too many or too long: at most %d servers",
						  RN_STORE_STUN_SERVERS_MAX);
		used += (size_t)w;
	}
	if (rn_store_stun_servers_parse(text, eps, RN_STORE_STUN_SERVERS_MAX, &n, err, sizeof(err)))
		return rn_ctl_usage_error(ctl, "%s; nothing changed", err);
	if (!n)
		return rn_ctl_usage_error(ctl, "no server given: use `stun clear` for none");
	rn_store_stun_servers_format(eps, n, canon, sizeof(canon));
	return rn_stun_store(ctl, canon, n);
}

static int rn_stun_clear(struct rn_ctl *ctl, int argc, char **argv)
{
	int first, ret = rn_ctl_simple_args(ctl, argc, argv, 0, 0, NULL, &first);

	return ret >= 0 ? ret : rn_stun_store(ctl, "", 0);
}

static int rn_stun_list(struct rn_ctl *ctl, int argc, char **argv)
{
	char text[RN_STORE_STUN_SERVERS_TEXT_MAX] = "";
	struct rn_store *store = NULL;
	json_t *a;
	bool json;
	int first, ret = rn_ctl_simple_args(ctl, argc, argv, 0, 0, &json, &first);

	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_setting_get(store, "stun_servers", text, sizeof(text));
	if (ret && ret != -ENOENT) {
		ret = rn_ctl_store_error(store, "reading the STUN servers", ret);
		goto out;
	}
	ret = RN_CTL_OK;
	if (!json) {
		char *save = NULL;

		for (char *p = strtok_r(text, ",", &save); p; p = strtok_r(NULL, ",", &save))
			printf("%s\n", p);
		goto out;
	}
	a = json_array();
	for (char *save = NULL, *p = strtok_r(text, ",", &save); p; p = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(p));
	ret = rn_ctl_json_print(json_pack("{s:o}", "servers", a));
out:
	rn_store_close(store);
	return ret;
}

static const struct rn_ctl_verb rn_stun_verbs[] = {
	{ "set", rn_stun_set, "stun set ADDR:PORT [ADDR:PORT...]",
	  "The STUN servers every node asks for its public address and port, after the\n"
	  "control server's own responder (serve --stun-listen), which every map lists\n"
	  "first. ADDR:PORT is IPv4:PORT or [IPv6]:PORT, unicast, not loopback or link-local;\n"
	  "at most 6 (a map carries 8, and 2 are kept for the server's own). Replaces the\n"
	  "list; a bad entry is refused and nothing changes. Audited; nodes get it with their\n"
	  "next map.\n" },
	{ "list", rn_stun_list, "stun list [--json]",
	  "Prints the admin's STUN servers, one a line (nothing when none). The server's own\n"
	  "responder is not in this list: it is the --stun-listen of a running serve.\n" },
	{ "clear", rn_stun_clear, "stun clear",
	  "No STUN servers but the control server's own responder. Audited.\n" },
	{ 0 },
};

int rn_ctl_stun_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "stun", rn_stun_verbs, argc, argv);
}
