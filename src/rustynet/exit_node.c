/* SPDX-License-Identifier: MIT */
/*
 * rustynet exit-node list [--json] | select NAME|IP | off: the exit nodes this node may use,
 * and which one (if any) its internet traffic goes through. The daemon checks the choice
 * against the netmap: a node that is not an exit this node may use is refused, nothing changed.
 */
#include <stdio.h>
#include <string.h>

#include "rustynet/cli.h"

#define USE "exit-node list [--json] | exit-node select NAME|IP | exit-node off"

static int list(int argc, char **argv)
{
	json_t *res = NULL, *arr, *x, *r;
	bool json = false;
	size_t i, j;
	int rc;

	rc = rn_cli_read_opts(argc, argv, "exit-node list [--json]", &json);
	if (rc >= 0)
		return rc;
	rc = rn_cli_call("exit-node-list", &res);
	if (rc)
		return rc;
	arr = json_object_get(res, "exit_nodes");
	if (json) {
		rn_cli_print_json(res);
	} else if (!json_array_size(arr)) {
		printf(
		    "no exit nodes this node may use (an exit must be advertised, approved by the "
		    "admin and granted by the policy)\n");
	} else {
		json_array_foreach(arr, i, x) {
			printf("%s %-30s %-15s %s%s",
			       json_is_true(json_object_get(x, "selected")) ? "*" : " ",
			       json_string_value(json_object_get(x, "dns_name")),
			       json_string_value(json_object_get(x, "ipv4")),
			       json_is_true(json_object_get(x, "online")) ? "online" : "offline",
			       json_array_size(json_object_get(x, "lan_routes")) ? ", LAN:" : "");
			json_array_foreach(json_object_get(x, "lan_routes"), j, r)
				printf(" %s", json_string_value(r));
			putchar('\n');
		}
	}
	json_decref(res);
	return RN_CLI_OK;
}

static int select_exit(int argc, char **argv)
{
	json_t *res = NULL;
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: " PROG_NAME " exit-node select NAME|IP\n");
		return RN_CLI_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, PROG_NAME " exit-node select: name one exit node\nUsage: " PROG_NAME
					  " exit-node select NAME|IP\n");
		return RN_CLI_USAGE;
	}
	rc = rn_cli_call_args("exit-node-select", json_pack("{s:s}", "node", argv[1]),
			      RN_CLI_SLOW_TIMEOUT_MS, &res);
	if (rc)
		return rc;
	printf("%s %s: internet traffic goes through it\n",
	       json_is_true(json_object_get(res, "already")) ? "already using" : "now using",
	       json_string_value(json_object_get(res, "exit_node")));
	rn_cli_print_warning(res, "exit-node select");
	json_decref(res);
	return RN_CLI_OK;
}

static int off(int argc, char **argv)
{
	json_t *res = NULL;
	int rc;

	rc = rn_cli_read_opts(argc, argv, "exit-node off", NULL);
	if (rc >= 0)
		return rc;
	rc = rn_cli_call_args("exit-node-off", NULL, RN_CLI_SLOW_TIMEOUT_MS, &res);
	if (rc)
		return rc;
	printf("%s: internet traffic goes directly\n", json_is_true(json_object_get(res, "already"))
							   ? "no exit node was selected"
							   : "exit node off");
	rn_cli_print_warning(res, "exit-node off");
	json_decref(res);
	return RN_CLI_OK;
}

int rn_cli_exit_node_main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return list(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "select"))
		return select_exit(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "off"))
		return off(argc - 1, argv + 1);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: " PROG_NAME " " USE "\n");
		return RN_CLI_OK;
	}
	fprintf(stderr, PROG_NAME " exit-node: %s%s%s\nUsage: " PROG_NAME " " USE "\n",
		argc >= 2 ? "unknown subcommand \"" : "missing subcommand",
		argc >= 2 ? argv[1] : "", argc >= 2 ? "\"" : "");
	return RN_CLI_USAGE;
}
