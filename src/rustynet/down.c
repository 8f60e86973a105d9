/* SPDX-License-Identifier: MIT */
/*
 * rustynet down: asks rustynetd to shut down cleanly (interface and sockets removed) and waits
 * until its control socket is gone, so a script can rely on it having stopped.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "rustynet/cli.h"

#define DOWN_WAIT_MS 10000

int rn_cli_down_main(int argc, char **argv)
{
	struct timespec tick = { .tv_nsec = 50 * 1000 * 1000 };
	json_t *res = NULL;
	struct stat st;
	int rc;

	rc = rn_cli_read_opts(argc, argv, "down", NULL);
	if (rc >= 0)
		return rc;
	rc = rn_cli_call("down", &res);
	json_decref(res);
	if (rc)
		return rc;
	for (int waited = 0; waited < DOWN_WAIT_MS; waited += 50) {
		if (stat(rn_cli_socket, &st) < 0 && errno == ENOENT) {
			printf("rustynetd stopped\n");
			return RN_CLI_OK;
		}
		nanosleep(&tick, NULL);
	}
	fprintf(stderr,
		PROG_NAME
		" down: rustynetd accepted but %s is still there after %d s: see its log\n",
		rn_cli_socket, DOWN_WAIT_MS / 1000);
	return RN_CLI_ERR;
}
