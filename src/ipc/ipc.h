/* SPDX-License-Identifier: MIT */
/*
 * The local API between rustynet (the CLI) and rustynetd: JSON messages over a Unix stream
 * socket, each framed by a 4-byte big-endian length. A request is {"cmd": "...", "args": {...}};
 * the answer is {"ok": true, "result": ...} or {"ok": false, "error": "what to do"}. One request
 * per connection. The daemon checks the caller with SO_PEERCRED; the socket file is 0600.
 */
#ifndef RN_IPC_IPC_H
#define RN_IPC_IPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RN_IPC_DEFAULT_SOCKET "/var/run/rustynet/rustynetd.sock"
#define RN_IPC_HDR_BYTES      4		 /* big-endian length of the JSON body that follows */
#define RN_IPC_MAX_MSG_BYTES  (1u << 20) /* body cap; larger frames are refused, EMSGSIZE */
#define RN_IPC_TIMEOUT_MS     5000	 /* per message, and for connect */

/*
 * Sends msg as one frame within timeout_ms. 0, -EMSGSIZE (body over the cap), -ETIMEDOUT,
 * -ENOMEM or the -errno of write.
 */
int rn_ipc_send(int fd, const json_t *msg, int timeout_ms);

/*
 * Receives one frame within timeout_ms and parses it as a JSON object (new reference in *out).
 * -ECONNRESET: the peer closed before the frame began; -EPROTO: truncated frame, bad JSON or
 * not an object; -EMSGSIZE: the announced length is 0 or over the cap (nothing more is read);
 * -ETIMEDOUT; or the -errno of read. Never allocates more than the cap.
 */
int rn_ipc_recv(int fd, json_t **out, int timeout_ms);

/*
 * Requests may carry secrets (`up`'s auth key). Every buffer this module fills with a message
 * is zeroed before it is freed; these cover what jansson allocates:
 * rn_ipc_json_wipe zeroes every string value in v (objects and arrays, recursively) in place,
 * for a request about to be freed; rn_ipc_json_wipe_frees makes jansson zero each block it
 * frees (its parser's and printer's scratch buffers too). Call the latter once at start,
 * before any JSON is made; it lasts for the process.
 */
void rn_ipc_json_wipe(json_t *v);
void rn_ipc_json_wipe_frees(void);

/* Messages. Each returns a new reference, or NULL when out of memory. args/result are stolen
 * (may be NULL: an empty object / null). */
json_t *rn_ipc_request_new(const char *cmd, json_t *args);
json_t *rn_ipc_reply_ok(json_t *result);
json_t *rn_ipc_reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Checks a request's shape: *cmd and *args (an object, borrowed) are set on success. */
bool rn_ipc_request_parse(json_t *req, const char **cmd, json_t **args)
    __attribute__((warn_unused_result));

/*
 * Client side: connects to path within timeout_ms. Returns the fd, or -errno with a message for
 * people in err (e.g. the daemon is not running, and how to start it).
 */
int rn_ipc_connect(const char *path, int timeout_ms, char *err, size_t errlen);

/*
 * One round trip: connect, send {"cmd","args"} (args stolen), wait for the reply. On success
 * *result is a new reference to the reply's result (json null if none). On failure returns
 * -errno (-EREMOTEIO: the daemon refused the request) and err says what is wrong.
 */
int rn_ipc_call(const char *path, const char *cmd, json_t *args, json_t **result, char *err,
		size_t errlen);

/* rn_ipc_call for commands the daemon answers only after a slow step (a control server
 * round trip): the reply may take reply_timeout_ms. */
int rn_ipc_call_timeout(const char *path, const char *cmd, json_t *args, int reply_timeout_ms,
			json_t **result, char *err, size_t errlen);

/*
 * Server side: listens on path (mode 0600). The directory is created 0755 if missing. A socket
 * a live daemon answers on is left alone (-EADDRINUSE); a stale one is replaced; any other file
 * is refused (-EEXIST). Returns the listening fd (non-blocking, close-on-exec) or -errno.
 */
int rn_ipc_listen(const char *path, char *err, size_t errlen);

/* The uid and pid of the process on the other end of a connected Unix socket. 0 or -errno. */
int rn_ipc_peer_cred(int fd, uid_t *uid, pid_t *pid);

#endif
