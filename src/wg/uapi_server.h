/* SPDX-License-Identifier: MIT */
/*
 * The socket side of the UAPI: the Unix stream socket DIR/IFNAME.sock that wg(8) connects to.
 * One connection at a time, from the caller's poll loop; requests are framed, parsed and
 * answered here, and applied or read through the caller's rn_uapi_ops.
 */
#ifndef RN_WG_UAPI_SERVER_H
#define RN_WG_UAPI_SERVER_H

#include <net/if.h>
#include <sys/un.h>

#include "wg/config.h"

#define RN_UAPI_SOCKET_DIR "/var/run/wireguard" /* where wg(8) looks */
/*
 * One request; larger ones are refused, EMSGSIZE. wireguard-go takes a `wg setconf` of 10,000
 * peers (about 2.5 MB) in one request, so this leaves room for several times that.
 */
#define RN_UAPI_MAX_REQUEST_BYTES (16u << 20)
#define RN_UAPI_TIMEOUT_MS	  1000 /* per request, and per reply */

struct rn_uapi_ops {
	/* Fills *out (zeroed by the server) with a snapshot of the device; 0 or -errno. The
	 * server formats it, then frees it with rn_wg_config_free(). */
	int (*get)(void *ctx, struct rn_wg_config *out);
	/* Applies a fully parsed update (see rn_uapi_parse_set); 0 or -errno. The server frees
	 * cfg afterwards. */
	int (*set)(void *ctx, const struct rn_wg_config *cfg);
};

struct rn_uapi_server {
	int fd;			       /* listening socket; -1 when closed */
	int timeout_ms;		       /* RN_UAPI_TIMEOUT_MS; tests may shorten it after open */
	const struct rn_uapi_ops *ops; /* borrowed */
	void *ctx;		       /* borrowed, passed to ops */
	char ifname[IF_NAMESIZE];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/*
 * Creates dir (0755) if needed and listens on dir/ifname.sock, mode 0600. A socket file that a
 * live process still answers on is left alone (-EADDRINUSE); a stale one is replaced; any other
 * file there is refused (-EEXIST). Returns 0 or -errno; s->fd is -1 on failure.
 */
int rn_uapi_server_open(struct rn_uapi_server *s, const char *ifname, const char *dir,
			const struct rn_uapi_ops *ops, void *ctx);

/* The listening socket, for the caller's poll loop (POLLIN: call rn_uapi_server_handle). */
int rn_uapi_server_fd(const struct rn_uapi_server *s);

/*
 * Accepts one connection and serves its requests until the client closes it, sends something
 * malformed, or takes longer than s->timeout_ms for a request. Never blocks on an empty
 * backlog; errors are logged, never fatal.
 */
void rn_uapi_server_handle(struct rn_uapi_server *s);

/* Closes the socket and removes its path. Safe to call twice. */
void rn_uapi_server_close(struct rn_uapi_server *s);

#endif
