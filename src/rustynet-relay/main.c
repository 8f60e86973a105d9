/* SPDX-License-Identifier: MIT */
/*
 * rustynet-relay: forwards WireGuard ciphertext between nodes that cannot reach each other
 * (src/relay/relay.h says how and what it trusts). This file is the command table and the
 * foreground loop around the embeddable server; `serve` logs to stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "rustynet-relay/cmd.h"

#ifndef RN_VERSION
#define RN_VERSION "unknown"
#endif

static int version_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("rustynet-relay %s\n", RN_VERSION);
	return RN_RELAY_OK;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "serve", rn_relay_serve_main, "relay between registered nodes over UDP and TLS" },
	{ "genkey", rn_relay_genkey_main, "make a new relay secret file" },
	{ "spki", rn_relay_spki_main, "print the pin of a TLS certificate" },
	{ "issue", rn_relay_issue_main, "make a node's credential (what the control server does)" },
	{ "probe", rn_relay_probe_main,
	  "register with a relay as a node, send and receive (tests)" },
	{ "version", version_main, "print the version" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: rustynet-relay COMMAND [ARGS...]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`rustynet-relay COMMAND --help` describes a command. Exit status: 0 ok, "
		   "1 error, 2 bad usage.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return RN_RELAY_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return RN_RELAY_OK;
	}
	if (!strcmp(argv[1], "--version"))
		return version_main(argc - 1, argv + 1);
	rn_log_open("rustynet-relay", false);
	signal(SIGPIPE, SIG_IGN); /* TLS peers that close: an error to handle, not a death */
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "rustynet-relay: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return RN_RELAY_USAGE;
}
