/* SPDX-License-Identifier: MIT */
/*
 * What the rustynet commands share: the control socket chosen by --socket, each command's entry
 * point (one file per command, dispatched from the table in main.c), exit codes and helpers.
 */
#ifndef RN_CLI_CLI_H
#define RN_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>

#define PROG_NAME "rustynet"

/* Exit codes of every command. */
enum { RN_CLI_OK = 0, RN_CLI_ERR = 1, RN_CLI_USAGE = 2 };

/* The daemon's control socket: --socket PATH, or RN_IPC_DEFAULT_SOCKET. */
extern const char *rn_cli_socket;

int rn_cli_status_main(int argc, char **argv);
int rn_cli_version_main(int argc, char **argv);
int rn_cli_down_main(int argc, char **argv);
int rn_cli_up_main(int argc, char **argv);
int rn_cli_logout_main(int argc, char **argv);
int rn_cli_ping_main(int argc, char **argv);
int rn_cli_exit_node_main(int argc, char **argv);
int rn_cli_lan_access_main(int argc, char **argv);
int rn_cli_route_main(int argc, char **argv);
int rn_cli_netcheck_main(int argc, char **argv);

/* Whether cidr may be advertised (route.c); otherwise says why as "rustynet CMD: ...". */
bool rn_cli_cidr_ok(const char *cmd, const char *cidr);
/* status's lines on what this node advertises and forwards (route.c); none if nothing. */
void rn_cli_print_router(const json_t *status);
int rn_cli_dns_main(int argc, char **argv);

/* How long `up` and `logout` wait for the daemon, which waits for the control server. */
#define RN_CLI_SLOW_TIMEOUT_MS 25000

/*
 * Parses a command's only options, --json and --help. Returns -1 to go on, or an exit code
 * (usage printed) for --help and bad arguments.
 */
int rn_cli_read_opts(int argc, char **argv, const char *use, bool *json);

/* Sends cmd to the daemon; on failure prints "rustynet CMD: <why>" and returns RN_CLI_ERR. */
int rn_cli_call(const char *cmd, json_t **result);

/* rn_cli_call with arguments (stolen) and a reply timeout. */
int rn_cli_call_args(const char *cmd, json_t *args, int timeout_ms, json_t **result);

/* Prints v as indented JSON and a newline. */
void rn_cli_print_json(const json_t *v);

/* Prints the daemon's "warning" of a reply, if any, as "rustynet CMD: warning: ..." on stderr. */
void rn_cli_print_warning(const json_t *res, const char *cmd);

#endif
