/* SPDX-License-Identifier: MIT */
/*
 * rustynet: the CLI. This file is only the table of commands, the global --socket option and
 * the helpers every command uses; each command lives in a file of its own and talks to
 * rustynetd over its local socket (ipc/ipc.h).
 */
#include <stdio.h>
#include <string.h>

#include "ipc/ipc.h"
#include "rustynet/cli.h"

#ifndef RN_VERSION
#define RN_VERSION "unknown"
#endif

const char *rn_cli_socket = RN_IPC_DEFAULT_SOCKET;

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "up", rn_cli_up_main, "log in to a control server and join its network" },
	{ "status", rn_cli_status_main, "show this node, its interface and its peers" },
	{ "ping", rn_cli_ping_main, "ping a peer through the tunnel, by name or mesh address" },
	{ "netcheck", rn_cli_netcheck_main,
	  "public address mappings, NAT type, STUN reachability and relay latencies of this node" },
	{ "exit-node", rn_cli_exit_node_main,
	  "list, select or turn off the exit node for internet "
	  "traffic" },
	{ "lan-access", rn_cli_lan_access_main,
	  "on|off: reach the LAN subnets granted to this node" },
	{ "route", rn_cli_route_main, "advertise or retract LAN routes this node can forward to" },
	{ "dns", rn_cli_dns_main, "inspect|query: what Magic DNS serves, and ask it a name" },
	{ "logout", rn_cli_logout_main, "leave the network: peers, addresses and routes removed" },
	{ "version", rn_cli_version_main, "print the versions of rustynet and rustynetd" },
	{ "down", rn_cli_down_main, "stop rustynetd: interface and sockets removed" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: " PROG_NAME " [--socket PATH] COMMAND [ARGS...]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n--socket PATH: rustynetd's control socket (default " RN_IPC_DEFAULT_SOCKET ").\n"
		"`" PROG_NAME " COMMAND --help` describes a command. Read commands take --json.\n"
		"Exit status: 0 ok, 1 error, 2 bad usage.\n");
}

int rn_cli_read_opts(int argc, char **argv, const char *use, bool *json)
{
	for (int i = 1; i < argc; i++) {
		if (json && !strcmp(argv[i], "--json")) {
			*json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: " PROG_NAME " %s\n", use);
			return RN_CLI_OK;
		} else {
			fprintf(stderr,
				PROG_NAME " %s: unexpected argument \"%s\"\nUsage: " PROG_NAME
					  " %s\n",
				argv[0], argv[i], use);
			return RN_CLI_USAGE;
		}
	}
	return -1;
}

int rn_cli_call(const char *cmd, json_t **result)
{
	return rn_cli_call_args(cmd, NULL, RN_IPC_TIMEOUT_MS, result);
}

int rn_cli_call_args(const char *cmd, json_t *args, int timeout_ms, json_t **result)
{
	char err[1024];

	if (rn_ipc_call_timeout(rn_cli_socket, cmd, args, timeout_ms, result, err, sizeof(err))) {
		fprintf(stderr, PROG_NAME " %s: %s\n", cmd, err);
		return RN_CLI_ERR;
	}
	return RN_CLI_OK;
}

void rn_cli_print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

void rn_cli_print_warning(const json_t *res, const char *cmd)
{
	const char *warn = json_string_value(json_object_get(res, "warning"));

	if (warn)
		fprintf(stderr, PROG_NAME " %s: warning: %s\n", cmd, warn);
}

int main(int argc, char **argv)
{
	int i = 1;

	rn_ipc_json_wipe_frees(); /* `up`'s request carries the auth key */
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			rn_cli_socket = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			rn_cli_socket = argv[i] + 9;
			i++;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return RN_CLI_OK;
		} else if (!strcmp(argv[i], "--version")) {
			/* this CLI's own; `version` also asks rustynetd */
			printf(PROG_NAME " %s\n", RN_VERSION);
			return RN_CLI_OK;
		} else {
			fprintf(stderr, PROG_NAME ": unknown option \"%s\"\n", argv[i]);
			usage(stderr);
			return RN_CLI_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return RN_CLI_USAGE;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(argc - i, argv + i);
	fprintf(stderr, PROG_NAME ": unknown command \"%s\"\n", argv[i]);
	usage(stderr);
	return RN_CLI_USAGE;
}
