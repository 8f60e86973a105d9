/* SPDX-License-Identifier: MIT */
/*
 * The journal: the record of every change the system layer made to kernel state, in the order
 * made, each entry tagged with a group ("base", "exit-node", ...). It lives in memory and in
 * STATE_DIR/system-journal.json, rewritten atomically (temp file, fsync, rename, fsync of the
 * directory; mode 0600) on every change, so a process that crashes leaves behind exactly the
 * list a restart needs to undo. Undo runs in reverse order and removes each entry it undoes.
 */
#ifndef RN_SYSTEM_JOURNAL_H
#define RN_SYSTEM_JOURNAL_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "system/netlink.h"
#include "system/nft.h"
#include "system/sysctl.h"

#define RN_JOURNAL_FILE		"system-journal.json"
#define RN_JOURNAL_VERSION	1
#define RN_JOURNAL_GROUP_MAX	32 /* with the NUL: a-z, 0-9, '-', '_' */
#define RN_JOURNAL_DESCRIBE_MAX 512
#define RN_JOURNAL_MAX_BYTES	(4u << 20) /* a journal file larger than this is refused */

enum rn_journal_kind {
	RN_JOURNAL_ADDR = 1,
	RN_JOURNAL_ROUTE,
	RN_JOURNAL_RULE,
	RN_JOURNAL_LINK_UP, /* administrative up/down state */
	RN_JOURNAL_LINK_MTU,
	RN_JOURNAL_SYSCTL,
	RN_JOURNAL_NFT_TABLE, /* a whole nftables table of ours: undo deletes it */
};

struct rn_journal_link_up {
	char dev[IFNAMSIZ];
	bool up;      /* what we set */
	bool prev_up; /* what undo restores */
};

struct rn_journal_link_mtu {
	char dev[IFNAMSIZ];
	uint32_t mtu;	   /* what we set */
	uint32_t prev_mtu; /* what undo restores */
};

struct rn_journal_sysctl {
	char key[RN_SYSCTL_KEY_MAX];
	char value[RN_SYSCTL_VALUE_MAX]; /* what we set */
	char prev[RN_SYSCTL_VALUE_MAX];	 /* what undo restores */
};

/* Only which table: its rules are rebuilt from the map, never read back from the journal. */
struct rn_journal_nft_table {
	char family[RN_NFT_FAMILY_MAX];
	char name[RN_NFT_NAME_MAX];
};

/* Specs are kept normalized (rn_nl_*_normalize), so equal objects compare equal. */
struct rn_journal_entry {
	enum rn_journal_kind kind;
	char group[RN_JOURNAL_GROUP_MAX];
	union {
		struct rn_nl_addr addr;
		struct rn_nl_route route;
		struct rn_nl_rule rule;
		struct rn_journal_link_up link_up;
		struct rn_journal_link_mtu link_mtu;
		struct rn_journal_sysctl sysctl;
		struct rn_journal_nft_table nft_table;
	};
};

struct rn_journal;

/* Creates state_dir (mode 0700) if needed; the journal starts empty: rn_journal_load reads it. */
int rn_journal_open(const char *state_dir, struct rn_journal **out);
/* Frees memory only: the file and the kernel state it records stay for the next process. */
void rn_journal_free(struct rn_journal *j);
/* Replaces the in-memory list with the file's (none: empty). -EBADMSG for a file that is not a
 * journal we wrote, logged with the reason; the in-memory list is then unchanged. */
int rn_journal_load(struct rn_journal *j);
int rn_journal_save(struct rn_journal *j);
const char *rn_journal_path(const struct rn_journal *j);

/* Appends and persists; if persisting fails the entry is dropped again and the error returned. */
int rn_journal_append(struct rn_journal *j, const struct rn_journal_entry *e);
/* Entries of one group (NULL: all). */
size_t rn_journal_count(const struct rn_journal *j, const char *group);
const struct rn_journal_entry *rn_journal_at(const struct rn_journal *j, size_t i);
/* The entry that owns the same kernel object as like (any group), or NULL. Callers may change
 * its recorded value and then call rn_journal_save. */
struct rn_journal_entry *rn_journal_find(struct rn_journal *j, const struct rn_journal_entry *like);
bool rn_journal_same_object(const struct rn_journal_entry *a, const struct rn_journal_entry *b);

/*
 * Undo in reverse order: delete addresses, routes, rules and nft tables, put link settings and
 * sysctls back to their previous values. Objects already gone (-ENOENT, -ESRCH, -EADDRNOTAVAIL, -ENODEV)
 * count as undone. Other failures are logged, keep their entry (a later undo retries them) and
 * do not stop the rest; the first one is returned.
 */
int rn_journal_undo_all(struct rn_journal *j, struct rn_nl *nl);
int rn_journal_undo_group(struct rn_journal *j, struct rn_nl *nl, const char *group);
/* Every group but keep (the kill switch, which outlives the process that installed it). */
int rn_journal_undo_all_but(struct rn_journal *j, struct rn_nl *nl, const char *keep);
/* Undo one entry (a pointer from rn_journal_find) and drop it. */
int rn_journal_undo_entry(struct rn_journal *j, struct rn_nl *nl, struct rn_journal_entry *e);

/* "route unicast 10.0.0.0/8 table 52 dev rustynet0 metric 0 [exit-node]", for logs and
 * errors; RN_JOURNAL_DESCRIBE_MAX bytes always suffice. */
const char *rn_journal_describe(const struct rn_journal_entry *e, char *buf, size_t len);
bool rn_journal_group_ok(const char *group);
/* Only network sysctls ("net.*") are ever recorded: what a journal may make root write back
 * at the next start is limited to them. */
bool rn_journal_sysctl_key_ok(const char *key);

/* The JSON form of one entry: the file's, and the one a privileged parent would be sent. */
json_t *rn_journal_entry_to_json(const struct rn_journal_entry *e);
/* Strict: unknown keys, wrong types and out-of-range values are refused with a reason in err. */
int rn_journal_entry_from_json(const json_t *obj, struct rn_journal_entry *e, char *err,
			       size_t errlen);

#endif
