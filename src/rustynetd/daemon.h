/* SPDX-License-Identifier: MIT */
/*
 * rustynetd's pieces and what they share: the daemon object (flags, the embedded data plane,
 * its UAPI socket and the local control socket), the state dir and node key, and the control
 * socket's command handlers.
 */
#ifndef RN_DAEMON_DAEMON_H
#define RN_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/config.h"
#include "wg/uapi_server.h"

#define RN_DAEMON_DEFAULT_STATE	    "/var/lib/rustynet"
#define RN_DAEMON_DEFAULT_INTERFACE "rustynet0"
#define RN_DAEMON_NODE_KEY	    "node.key" /* in the state dir, wg-compatible base64, 0600 */
#define RN_DAEMON_B64_KEY_LEN	    44	       /* base64 of 32 bytes with its one '=' */

struct rn_wg_device;

struct rn_daemon {
	const char *state_dir;	    /* borrowed from argv */
	const char *socket_path;    /* borrowed from argv */
	const char *ifname;	    /* borrowed from argv */
	struct rn_wg_device *dev;   /* owned: started and stopped by main.c */
	struct rn_uapi_server uapi; /* wg(8)'s socket onto dev */
	int ctl_fd;		    /* the local API's listening socket; -1 when closed */
	bool stop;		    /* set by `rustynet down`: leave the loop and clean up */
	uint8_t public_key[RN_WG_KEY_LEN];
};

/*
 * Creates the state dir 0700 if missing; refuses one that group or others may write, or that
 * another user owns. 0 or -errno, with err saying what to do.
 */
int rn_daemon_state_prepare(const char *dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Loads DIR/node.key, or generates and stores a new one (0600) on first start. A key file that
 * group or others may read is refused. 0 or -errno, with err saying what to do.
 */
int rn_daemon_key_load(const char *dir, uint8_t priv[RN_WG_KEY_LEN], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Base64 (wg's format) of a 32-byte key into out[RN_DAEMON_B64_KEY_LEN + 1]. */
void rn_daemon_key_b64(const uint8_t key[RN_WG_KEY_LEN], char out[RN_DAEMON_B64_KEY_LEN + 1]);

/* Accepts one connection on d->ctl_fd and answers its one request. Never fatal. */
void rn_daemon_control_handle(struct rn_daemon *d);

#endif
