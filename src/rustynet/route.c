/* SPDX-License-Identifier: MIT */
/*
 * rustynet route: the LAN routes this node offers to the network as a subnet router.
 * `route advertise CIDR` and `route retract CIDR` change the offer at once (the daemon tells
 * the control server within about a second); nothing is forwarded until the admin approves.
 * `route` or `route list` shows the offer. Also the --advertise-routes parsing `up` uses.
 */
#include <stdio.h>
#include <string.h>

#include "rustynet/cli.h"
#include "rustynetd/advertise.h"

#define ROUTE_USAGE "route [list] [--json] | route advertise CIDR | route retract CIDR"

static int usage_error(const char *why, const char *arg)
{
	fprintf(stderr, PROG_NAME " route: %s%s%s%s\nUsage: " PROG_NAME " " ROUTE_USAGE "\n", why,
		arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "");
	return RN_CLI_USAGE;
}

bool rn_cli_cidr_ok(const char *cmd, const char *cidr)
{
	struct rn_filter_prefix p;
	char err[256];

	if (rn_advertise_cidr_parse(cidr, NULL, &p, err, sizeof(err)))
		return true;
	fprintf(stderr, PROG_NAME " %s: %s\n", cmd, err);
	return false;
}

static void print_offer(const json_t *adv)
{
	const json_t *routes = json_object_get(adv, "routes"), *v;
	size_t i;

	printf("exit node: %s\n",
	       json_is_true(json_object_get(adv, "exit")) ? "advertised" : "not advertised");
	if (!json_array_size(routes))
		printf("routes:    none advertised\n");
	json_array_foreach(routes, i, v)
		printf("%s %s\n", i ? "          " : "routes:   ", json_string_value(v));
}

static void print_list(const char *label, const json_t *arr)
{
	const json_t *v;
	size_t i;

	printf("%s", label);
	json_array_foreach(arr, i, v)
		printf("%s%s", i ? ", " : " ", json_string_value(v));
	printf("%s\n", json_array_size(arr) ? "" : " none");
}

void rn_cli_print_router(const json_t *status)
{
	const json_t *adv = json_object_get(status, "advertised");
	const json_t *r = json_object_get(status, "router");
	const char *err = json_string_value(json_object_get(r, "error"));
	bool offers = json_is_true(json_object_get(adv, "exit")) ||
		      json_array_size(json_object_get(adv, "routes"));
	bool approved = json_is_true(json_object_get(r, "approved_exit")) ||
			json_array_size(json_object_get(r, "approved_routes"));

	if (!offers && !approved)
		return;
	printf("  advertised: exit node %s;",
	       json_is_true(json_object_get(adv, "exit")) ? "yes" : "no");
	print_list(" routes", json_object_get(adv, "routes"));
	printf("  approved: exit node %s;",
	       json_is_true(json_object_get(r, "approved_exit")) ? "yes" : "no");
	print_list(" routes", json_object_get(r, "approved_routes"));
	printf("  forwarding: %s%s%s\n",
	       json_is_true(json_object_get(r, "forwarding")) ? "on" : "off", err ? ": " : "",
	       err ? err : "");
}

int rn_cli_route_main(int argc, char **argv)
{
	const char *action = "list", *cidr = NULL;
	bool json = false;
	json_t *res = NULL;
	int rc, i = 1;

	if (argc > 1 && (!strcmp(argv[1], "advertise") || !strcmp(argv[1], "retract") ||
			 !strcmp(argv[1], "list")))
		action = argv[i++];
	if (strcmp(action, "list")) {
		if (argc != 3)
			return usage_error("route advertise and route retract take one CIDR", NULL);
		cidr = argv[2];
		if (!rn_cli_cidr_ok("route", cidr))
			return RN_CLI_USAGE;
	} else {
		for (; i < argc; i++) {
			if (!strcmp(argv[i], "--json"))
				json = true;
			else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
				return printf("Usage: " PROG_NAME " " ROUTE_USAGE "\n"), RN_CLI_OK;
			else
				return usage_error("unexpected argument", argv[i]);
		}
	}
	rc = rn_cli_call_args("route", json_pack("{s:s, s:s?}", "action", action, "cidr", cidr),
			      RN_CLI_SLOW_TIMEOUT_MS, &res);
	if (rc)
		return rc;
	if (json)
		rn_cli_print_json(json_object_get(res, "advertised"));
	else if (!strcmp(action, "list"))
		print_offer(json_object_get(res, "advertised"));
	else if (!json_is_true(json_object_get(res, "changed")))
		printf("%s was already advertised\n", cidr);
	else
		printf("%s %s; the admin approves it with `rustynet-control routes approve`\n",
		       cidr, !strcmp(action, "advertise") ? "advertised" : "retracted");
	json_decref(res);
	return RN_CLI_OK;
}
