/* SPDX-License-Identifier: MIT */
/*
 * /etc/resolv.conf while Magic DNS runs (no systemd-resolved): rewritten to our nameserver and
 * search domain, with the exact bytes it had kept in STATE/resolv.conf.backup (0600) and what
 * we wrote in STATE/resolv.conf.ours. The backup is also the crash marker: a daemon that finds
 * it at start restores the file. A file someone else rewrote meanwhile (it no longer holds
 * what we wrote) is never clobbered: the backup is kept aside as resolv.conf.previous and the
 * problem reported.
 */
#ifndef RN_DAEMON_RESOLVCONF_H
#define RN_DAEMON_RESOLVCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "netmap/netmap.h"

#define RN_RESOLVCONF_DEFAULT  "/etc/resolv.conf"
#define RN_RESOLVCONF_BACKUP   "resolv.conf.backup" /* in the state dir */
#define RN_RESOLVCONF_OURS     "resolv.conf.ours"
#define RN_RESOLVCONF_PREVIOUS "resolv.conf.previous"
#define RN_RESOLVCONF_MAX      (64 << 10) /* a larger file is not a resolv.conf */
#define RN_RESOLVCONF_MAX_NS   8

struct rn_resolvconf {
	const char *path;      /* borrowed: --resolv-conf */
	const char *state_dir; /* borrowed */
	bool resolved;	       /* systemd-resolved fronts the system: the file is not ours */
	bool installed;	       /* our file is in place and the backup saved */
	char problem[512];     /* the last thing that went wrong, "" if none */
	/* The host's own nameservers, read before we rewrote the file: the upstreams without
	 * an exit node when the map names none. */
	struct rn_netmap_ip host_ns[RN_RESOLVCONF_MAX_NS];
	size_t n_host_ns;
};

/* At start: restore after a crash; read the host's nameservers. */
void rn_resolvconf_init(struct rn_resolvconf *rc, const char *path, const char *state_dir);
/* Points the file at nameserver v4 with search domain (rewriting ours when it changed). */
int rn_resolvconf_install(struct rn_resolvconf *rc, const char *nameserver, const char *domain);
/* Puts the original back, byte for byte, unless someone else rewrote the file. */
int rn_resolvconf_restore(struct rn_resolvconf *rc);
/* Whether the file still holds what we wrote (false when not installed). */
bool rn_resolvconf_intact(const struct rn_resolvconf *rc);
/* The whole file into *buf (malloc'ed, NUL-terminated). 0, -ENOENT, -EFBIG, -errno. */
int rn_resolvconf_slurp(const char *path, char **buf, size_t *len);
/* The "nameserver ..." lines the file has now, for `dns inspect`; returns how many. */
size_t rn_resolvconf_nameservers(const char *path, char lines[][64], size_t max);

#endif
