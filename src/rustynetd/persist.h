/* SPDX-License-Identifier: MIT */
/*
 * What survives a restart besides node.key: the login (STATE/control.json: server, pins, node
 * token, hostname, node id; 0600, it holds a secret) and the last accepted netmap
 * (STATE/netmap.json, the signed envelope as received, checked again when loaded, and used at
 * start only within the validity its server gave it: cache_valid_s after issued_at, 24 h when
 * the map names none). Both are written atomically: temp file, fsync, rename, fsync of the
 * directory.
 */
#ifndef RN_DAEMON_PERSIST_H
#define RN_DAEMON_PERSIST_H

#include <stddef.h>

#include "netmap/netmap.h"
#include "rustynetd/client.h"

#define RN_PERSIST_LOGIN_FILE  "control.json"
#define RN_PERSIST_NETMAP_FILE "netmap.json"
#define RN_PERSIST_MAX_LOGIN   (64u << 10) /* a larger control.json is not ours */

/* 0, -ENOENT (not logged in), or -errno / -EBADMSG with err saying what is wrong. */
int rn_persist_login_load(const char *dir, struct rn_login *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int rn_persist_login_save(const char *dir, const struct rn_login *l, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* *buf for free(); -ENOENT when there is none. */
int rn_persist_netmap_load(const char *dir, char **buf, size_t *len)
    __attribute__((warn_unused_result));
int rn_persist_netmap_save(const char *dir, const char *buf, size_t len)
    __attribute__((warn_unused_result));

/*
 * Whether m, loaded from STATE/netmap.json at start, may still be run at now (unix seconds):
 * not past issued_at + its cache validity (rn_netmap_cache_valid_s). 0, or -ESTALE with err
 * saying how old it is and that the node waits for the control server.
 */
int rn_persist_netmap_fresh(const struct rn_netmap *m, uint64_t now, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The atomic write (mode 0600) and the bounded read (regular files only; *buf NUL-terminated,
 * for free()) that the files above use, for other state files in dir. 0 or -errno. */
int rn_persist_write(const char *dir, const char *name, const char *buf, size_t len)
    __attribute__((warn_unused_result));
int rn_persist_read(const char *dir, const char *name, size_t max, char **buf, size_t *len)
    __attribute__((warn_unused_result));

/* Removes both files (the node key stays). 0 or the first -errno other than -ENOENT. */
int rn_persist_forget(const char *dir);

#endif
