/* SPDX-License-Identifier: MIT */
/*
 * rustynet logout: leaves the network. The daemon tells the control server (which expires this
 * node), removes its peers, addresses, routes and filter and forgets the login; the node key
 * stays, so a later `up` with a new auth key gets the same addresses back.
 */
#include <stdio.h>

#include "rustynet/cli.h"

int rn_cli_logout_main(int argc, char **argv)
{
	json_t *res = NULL;
	const char *warn;
	int rc;

	rc = rn_cli_read_opts(argc, argv, "logout", NULL);
	if (rc >= 0)
		return rc;
	rc = rn_cli_call_args("logout", NULL, RN_CLI_SLOW_TIMEOUT_MS, &res);
	if (rc)
		return rc;
	warn = json_string_value(json_object_get(res, "warning"));
	if (warn)
		fprintf(stderr,
			PROG_NAME " logout: logged out here, but the server was not told: %s\n"
				  "(an admin can remove this node with rustynet-control nodes)\n",
			warn);
	printf("logged out\n");
	json_decref(res);
	return RN_CLI_OK;
}
