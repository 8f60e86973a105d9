/* SPDX-License-Identifier: MIT */
/* rustynet-relay's commands, one file each group; main.c is only their table. */
#ifndef RN_RELAY_CMD_H
#define RN_RELAY_CMD_H

enum { RN_RELAY_OK = 0, RN_RELAY_ERROR = 1, RN_RELAY_USAGE = 2 }; /* exit statuses */

int rn_relay_serve_main(int argc, char **argv);
int rn_relay_genkey_main(int argc, char **argv);
int rn_relay_spki_main(int argc, char **argv);
int rn_relay_issue_main(int argc, char **argv);
int rn_relay_probe_main(int argc, char **argv);

#endif
