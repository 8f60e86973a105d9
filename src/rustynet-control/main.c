/* SPDX-License-Identifier: MIT */
/*
 * rustynet-control: the control server's admin commands. This file is only the table of command
 * groups and the global options; each group lives in a file of its own. The admin commands work
 * on the state dir directly, whether or not a server runs on it.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "rustynet-control/ctl.h"

#ifndef RN_VERSION
#define RN_VERSION "unknown"
#endif

static int rn_ctl_version_main(struct rn_ctl *ctl, int argc, char **argv);

static const struct {
	const char *name;
	rn_ctl_main_fn fn;
	const char *summary;
} rn_ctl_commands[] = {
	{ "init", rn_ctl_init_main,
	  "create a new state dir: store, signing key, TLS cert, policy" },
	{ "authkey", rn_ctl_authkey_main, "create, list and revoke auth keys" },
	{ "nodes", rn_ctl_nodes_main, "list, remove, expire and rename nodes" },
	{ "users", rn_ctl_users_main, "list users and set their role" },
	{ "routes", rn_ctl_routes_main,
	  "list, approve and unapprove the LAN routes nodes advertise" },
	{ "exit", rn_ctl_exit_main, "approve and unapprove a node as an exit node" },
	{ "policy", rn_ctl_policy_main, "set, get and check the network policy" },
	{ "dns", rn_ctl_dns_main, "set and get the DNS upstreams nodes forward to" },
	{ "stun", rn_ctl_stun_main, "set, list and clear the STUN servers nodes ask" },
	{ "relay", rn_ctl_relay_main, "add, list and remove the relays nodes use" },
	{ "serve", rn_ctl_serve_main, "serve the control protocol to nodes over HTTPS" },
	{ "token", rn_ctl_token_main, "create, list and revoke admin API tokens" },
	{ "settings", rn_ctl_settings_main, "get and set network-wide settings (key expiry)" },
	{ "audit", rn_ctl_audit_main, "who changed what, and when (the audit log)" },
	{ "backup", rn_ctl_backup_main, "copy the store and keys into one file, online" },
	{ "restore", rn_ctl_restore_main, "make a new state dir from a backup" },
	{ "version", rn_ctl_version_main, "print the version" },
};

static void rn_ctl_usage(FILE *f)
{
	fprintf(f,
		"Usage: rustynet-control [--state DIR] COMMAND [ARGS...]\n\n"
		"Administers a rustynet control server's state dir (default " RN_CTL_DEFAULT_STATE
		").\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(rn_ctl_commands) / sizeof(rn_ctl_commands[0]); i++)
		fprintf(f, "  %-9s %s\n", rn_ctl_commands[i].name, rn_ctl_commands[i].summary);
	fprintf(f, "\n--state DIR may also follow the command. `rustynet-control COMMAND --help` "
		   "describes a command.\nRead commands take --json. Exit status: 0 ok, 1 error, "
		   "2 bad usage.\n");
}

static int rn_ctl_version_main(struct rn_ctl *ctl, int argc, char **argv)
{
	(void)ctl;
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: rustynet-control version\n");
		return RN_CTL_OK;
	}
	if (argc > 1) {
		fprintf(stderr, "rustynet-control version: unexpected argument \"%s\"\n", argv[1]);
		return RN_CTL_USAGE;
	}
	printf("rustynet-control %s\n", RN_VERSION);
	return RN_CTL_OK;
}

static void rn_ctl_set_actor(struct rn_ctl *ctl)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw && pw->pw_name && pw->pw_name[0])
		snprintf(ctl->actor, sizeof(ctl->actor), "admin:%s", pw->pw_name);
	else
		snprintf(ctl->actor, sizeof(ctl->actor), "admin:uid%u", (unsigned)getuid());
}

/*
 * Takes "--state DIR" / "--state=DIR" out of argv wherever it is (before "--"), so that both
 * `rustynet-control --state D init` and `rustynet-control init --state D` work. Returns the new
 * argc, or -1 after an error message.
 */
static int rn_ctl_take_state(struct rn_ctl *ctl, int argc, char **argv)
{
	int out = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (!strncmp(argv[i], "--state=", 8)) {
			ctl->state = argv[i] + 8;
		} else if (!strcmp(argv[i], "--state")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "rustynet-control: --state needs a directory, "
						"e.g. --state " RN_CTL_DEFAULT_STATE "\n");
				return -1;
			}
			ctl->state = argv[++i];
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	if (!ctl->state[0]) {
		fprintf(stderr, "rustynet-control: --state is empty: give the state directory\n");
		return -1;
	}
	return out;
}

int main(int argc, char **argv)
{
	struct rn_ctl ctl = { .state = RN_CTL_DEFAULT_STATE, .prog = "rustynet-control" };

	rn_log_open("rustynet-control", false);
	rn_ctl_set_actor(&ctl);
	argc = rn_ctl_take_state(&ctl, argc - 1, argv + 1);
	argv++;
	if (argc < 0)
		return RN_CTL_USAGE;
	if (argc == 0) {
		rn_ctl_usage(stderr);
		return RN_CTL_USAGE;
	}
	if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
		rn_ctl_usage(stdout);
		return RN_CTL_OK;
	}
	if (!strcmp(argv[0], "--version"))
		return rn_ctl_version_main(&ctl, 1, argv);
	for (size_t i = 0; i < sizeof(rn_ctl_commands) / sizeof(rn_ctl_commands[0]); i++)
		if (!strcmp(argv[0], rn_ctl_commands[i].name))
			return rn_ctl_commands[i].fn(&ctl, argc, argv);
	fprintf(stderr,
		"rustynet-control: unknown command \"%s\"; run `rustynet-control --help` "
		"for the list\n",
		argv[0]);
	return RN_CTL_USAGE;
}
