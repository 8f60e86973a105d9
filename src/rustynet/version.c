/* SPDX-License-Identifier: MIT */
/* rustynet version: this CLI's version, and the daemon's when it runs. */
#include <stdio.h>

#include "ipc/ipc.h"
#include "rustynet/cli.h"

#ifndef RN_VERSION
#define RN_VERSION "unknown"
#endif

int rn_cli_version_main(int argc, char **argv)
{
	json_t *res = NULL, *out;
	const char *dv = NULL;
	bool json = false;
	char err[512];
	int rc;

	rc = rn_cli_read_opts(argc, argv, "version [--json]", &json);
	if (rc >= 0)
		return rc;
	/* The CLI's own version is useful even when the daemon is down: not an error. */
	if (!rn_ipc_call(rn_cli_socket, "version", NULL, &res, err, sizeof(err)))
		dv = json_string_value(json_object_get(res, "version"));
	if (json) {
		out = json_pack("{s:s, s:s?}", "rustynet", RN_VERSION, "rustynetd", dv);
		if (!dv)
			json_object_set_new(out, "rustynetd_error", json_string(err));
		rn_cli_print_json(out);
		json_decref(out);
	} else {
		printf(PROG_NAME " %s\n", RN_VERSION);
		if (dv)
			printf("rustynetd %s\n", dv);
		else
			printf("rustynetd: unknown (%s)\n", err);
	}
	json_decref(res);
	return RN_CLI_OK;
}
