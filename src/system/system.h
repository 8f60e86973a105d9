/* SPDX-License-Identifier: MIT */
/*
 * The system layer: the one narrow interface through which rustynetd changes kernel network
 * state. Each change is sent to the kernel, and only once the kernel has ACKed it is it
 * recorded in the journal (STATE_DIR/system-journal.json) under a group. So `down` is
 * rn_system_undo_all, `exit-node off` is rn_system_undo_group(sys, "exit-node"), and a restart
 * after a crash opens the same state dir, finds what the dead process left and undoes it (or
 * re-applies it: adding what the journal already owns is a no-op). A failed call leaves no
 * entry; a change whose entry cannot be written is reverted in the kernel.
 *
 * Groups are short names ([a-z0-9_-], < 32 bytes) such as "base", "exit-node", "lan". An
 * object (address, route, rule, link setting, sysctl key) has one owning group: adding it from
 * another group fails with -EEXIST, and the *_del calls remove only what the caller's group
 * installed (-ENOENT otherwise), never anything the journal does not own.
 *
 * Privilege separation (ARCHITECTURE.md, "Where privilege separation goes"): in the split, a
 * root parent process owns the rn_system handle (netlink socket, journal, state dir) and the
 * unprivileged engine calls each function below through one framed request/reply pair, with
 * arguments carried in the journal's JSON form (rn_journal_entry_to_json) and the reply a
 * -errno (route_get's reply adds the rn_nl_route_info):
 *   proxied, state-changing: addr_add/del, route_add/del, rule_add/del, link_up/down/mtu,
 *     sysctl_set, nft_table_set/del, undo_group, undo_all, sweep;
 *   proxied, read-only: route_get, count (they need the parent's netlink socket or journal);
 *   parent-only: open and close, run once by the parent at start and exit, never on request.
 * The parent must check each request against the daemon's configuration before acting:
 * interfaces limited to rustynet's own and the uplink, tables and rule priorities to the
 * configured ranges, sysctl keys to an allow-list (forwarding, src_valid_mark, ...), nft
 * tables to rustynet's own names (the ruleset text is checked to stay inside its table).
 */
#ifndef RN_SYSTEM_SYSTEM_H
#define RN_SYSTEM_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

#include "system/ipaddr.h"
#include "system/netlink.h"

/* In the state dir beside the journal: flock'ed by the process that owns the journal. */
#define RN_SYSTEM_LOCK_FILE "system.lock"

struct rn_system;

/* Opens netlink, locks state_dir (created 0700 if missing) and loads its journal. Entries found
 * there were left by an earlier process: see rn_system_count. -EBUSY while another process
 * holds the state dir; -EPERM if others could write it; -EBADMSG for a damaged journal
 * (logged with the reason): then nothing is known about what to undo, so refuse to start. */
int rn_system_open(const char *state_dir, struct rn_system **out);
/* Frees the handle. Undoes nothing: what is installed stays, and so does its journal. */
void rn_system_close(struct rn_system *sys);

int rn_system_addr_add(struct rn_system *sys, const char *group, const char *ifname,
		       const struct rn_prefix *prefix);
int rn_system_addr_del(struct rn_system *sys, const char *group, const char *ifname,
		       const struct rn_prefix *prefix);
/* route->protocol 0 means RN_RTPROT (use it: sweep and dumps recognise our routes by it). */
int rn_system_route_add(struct rn_system *sys, const char *group, const struct rn_nl_route *route);
int rn_system_route_del(struct rn_system *sys, const char *group, const struct rn_nl_route *route);
int rn_system_rule_add(struct rn_system *sys, const char *group, const struct rn_nl_rule *rule);
int rn_system_rule_del(struct rn_system *sys, const char *group, const struct rn_nl_rule *rule);

/* Link settings record the previous state, which undo puts back. */
int rn_system_link_up(struct rn_system *sys, const char *group, const char *ifname);
int rn_system_link_down(struct rn_system *sys, const char *group, const char *ifname);
int rn_system_link_mtu(struct rn_system *sys, const char *group, const char *ifname, uint32_t mtu);
/* Sets a sysctl of this network namespace ("net.ipv4.ip_forward"; only "net.*" keys); undo
 * restores the value it had before the group first set it, however often it was set since. */
int rn_system_sysctl_set(struct rn_system *sys, const char *group, const char *key,
			 const char *value);

/*
 * Creates or replaces the whole nftables table family/name ("inet", "rustynet-router") with
 * ruleset (chains and rules in nft block syntax, without the "table" line: see nft.h) in one
 * transaction. Undo deletes the table. Replacing a table the group owns keeps one entry.
 */
int rn_system_nft_table_set(struct rn_system *sys, const char *group, const char *family,
			    const char *name, const char *ruleset);
int rn_system_nft_table_del(struct rn_system *sys, const char *group, const char *family,
			    const char *name);

/* Reverse order; "already gone" counts as done; other failures are logged, kept for a retry,
 * and the first is returned after the rest were tried. */
int rn_system_undo_group(struct rn_system *sys, const char *group);
int rn_system_undo_all(struct rn_system *sys);
/* All but group keep, which stays installed and journaled (-EINVAL for a bad name). */
int rn_system_undo_all_but(struct rn_system *sys, const char *keep);

/*
 * Removes routes, rules and addresses that carry our protocol tag (RN_RTPROT), and nft tables
 * named "rustynet*", that the journal does not own: left by a crash between the kernel's ACK
 * and the journal write. Only
 * correct when one rustynetd runs per network namespace. *removed counts them.
 */
int rn_system_sweep(struct rn_system *sys, size_t *removed);

/* "ip route get": see rn_nl_route_get. */
int rn_system_route_get(struct rn_system *sys, const struct rn_ip *dst, uint32_t mark,
			struct rn_nl_route_info *out);
/* Journal entries of one group (NULL: all). */
size_t rn_system_count(const struct rn_system *sys, const char *group);

#endif
