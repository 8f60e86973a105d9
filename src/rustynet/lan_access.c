/* SPDX-License-Identifier: MIT */
/*
 * rustynet lan-access on|off: whether this node reaches the LAN subnets the admin approved and
 * the policy grants it, through their subnet routers or exit node. Off by default; kept across
 * restarts. With it off, private ranges never go through an exit node.
 */
#include <stdio.h>
#include <string.h>

#include "rustynet/cli.h"

#define USE "lan-access on|off"

int rn_cli_lan_access_main(int argc, char **argv)
{
	json_t *res = NULL;
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: " PROG_NAME " " USE "\n");
		return RN_CLI_OK;
	}
	if (argc != 2 || (strcmp(argv[1], "on") && strcmp(argv[1], "off"))) {
		fprintf(stderr,
			PROG_NAME " lan-access: say on or off\nUsage: " PROG_NAME " " USE "\n");
		return RN_CLI_USAGE;
	}
	rc = rn_cli_call_args("lan-access", json_pack("{s:b}", "on", !strcmp(argv[1], "on")),
			      RN_CLI_SLOW_TIMEOUT_MS, &res);
	if (rc)
		return rc;
	printf("LAN access %s\n", json_is_true(json_object_get(res, "lan_access")) ? "on" : "off");
	rn_cli_print_warning(res, "lan-access");
	json_decref(res);
	return RN_CLI_OK;
}
