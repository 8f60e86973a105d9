/* SPDX-License-Identifier: MIT */
/*
 * The system layer: apply, wait for the kernel's ACK, then record. The order matters both
 * ways: recording first would leave entries for changes the kernel refused, and a change that
 * cannot be recorded is reverted at once, so the kernel never holds state the journal lacks.
 */
#include "system/system.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/log.h"
#include "system/journal.h"
#include "system/nft.h"

struct rn_system {
	struct rn_nl *nl;	    /* owned */
	struct rn_journal *journal; /* owned */
	int lock_fd;		    /* owned; holds the state dir's flock */
};

/* Two processes writing one journal would each undo the other's work: one owner at a time. */
static int lock_state_dir(const char *dir, int *fd_out)
{
	char path[PATH_MAX];
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/%s", dir, RN_SYSTEM_LOCK_FILE) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		log_error(MAIN, "system: %s: %s: is another rustynetd using this state directory?",
			  path, strerror(-err));
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int rn_system_open(const char *state_dir, struct rn_system **out)
{
	struct rn_system *sys = calloc(1, sizeof(*sys));
	int err;

	if (!sys)
		return -ENOMEM;
	sys->lock_fd = -1;
	err = rn_nl_open(&sys->nl);
	if (!err)
		err = rn_journal_open(state_dir, &sys->journal);
	if (!err)
		err = lock_state_dir(state_dir, &sys->lock_fd);
	if (!err)
		err = rn_journal_load(sys->journal);
	if (err) {
		rn_system_close(sys);
		return err;
	}
	if (rn_journal_count(sys->journal, NULL))
		log_info(MAIN, "system: %s holds %zu changes left by an earlier run",
			 rn_journal_path(sys->journal), rn_journal_count(sys->journal, NULL));
	*out = sys;
	return 0;
}

void rn_system_close(struct rn_system *sys)
{
	if (!sys)
		return;
	rn_journal_free(sys->journal);
	rn_nl_close(sys->nl);
	if (sys->lock_fd >= 0)
		close(sys->lock_fd);
	free(sys);
}

static void log_failure(struct rn_system *sys, const char *verb, const struct rn_journal_entry *e,
			int err)
{
	const char *ext = rn_nl_extack(sys->nl);
	char what[RN_JOURNAL_DESCRIBE_MAX];

	log_warn(MAIN, "system: cannot %s %s: %s%s%s", verb,
		 rn_journal_describe(e, what, sizeof(what)), strerror(-err), ext[0] ? ": " : "",
		 ext);
}

/* The owner of e's object when it is another group's, which e's group may not touch. */
static const struct rn_journal_entry *foreign_owner(struct rn_system *sys,
						    const struct rn_journal_entry *e)
{
	const struct rn_journal_entry *owner = rn_journal_find(sys->journal, e);
	char what[RN_JOURNAL_DESCRIBE_MAX];

	if (!owner || !strcmp(owner->group, e->group))
		return NULL;
	log_warn(MAIN, "system: %s: already installed by group \"%s\"",
		 rn_journal_describe(e, what, sizeof(what)), owner->group);
	return owner;
}

/* ---- addresses, routes, rules ---- */

static int kernel_add(struct rn_nl *nl, const struct rn_journal_entry *e)
{
	switch (e->kind) {
	case RN_JOURNAL_ADDR:
		return rn_nl_addr_add(nl, &e->addr);
	case RN_JOURNAL_ROUTE:
		return rn_nl_route_add(nl, &e->route);
	case RN_JOURNAL_RULE:
		return rn_nl_rule_add(nl, &e->rule);
	default:
		return -EINVAL;
	}
}

static int kernel_del(struct rn_nl *nl, const struct rn_journal_entry *e)
{
	switch (e->kind) {
	case RN_JOURNAL_ADDR:
		return rn_nl_addr_del(nl, &e->addr);
	case RN_JOURNAL_ROUTE:
		return rn_nl_route_del(nl, &e->route);
	case RN_JOURNAL_RULE:
		return rn_nl_rule_del(nl, &e->rule);
	default:
		return -EINVAL;
	}
}

static int sys_add(struct rn_system *sys, const struct rn_journal_entry *e)
{
	bool owned;
	int err;

	if (!rn_journal_group_ok(e->group))
		return -EINVAL;
	if (foreign_owner(sys, e))
		return -EEXIST;
	owned = rn_journal_find(sys->journal, e) != NULL;
	err = kernel_add(sys->nl, e);
	/* Ours already, from this run or one before: re-applying is a no-op. */
	if (err == -EEXIST && owned)
		return 0;
	if (err) {
		log_failure(sys, "add", e, err);
		return err;
	}
	if (owned)
		return 0;
	err = rn_journal_append(sys->journal, e);
	if (err) {
		int del_err = kernel_del(sys->nl, e);

		if (del_err)
			log_failure(sys, "revert unrecorded", e, del_err);
	}
	return err;
}

static int sys_del(struct rn_system *sys, const struct rn_journal_entry *e)
{
	struct rn_journal_entry *owner;

	if (!rn_journal_group_ok(e->group))
		return -EINVAL;
	owner = rn_journal_find(sys->journal, e);
	if (!owner || strcmp(owner->group, e->group))
		return -ENOENT;
	return rn_journal_undo_entry(sys->journal, sys->nl, owner);
}

static bool entry_start(struct rn_journal_entry *e, enum rn_journal_kind kind, const char *group)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	if (!group || !rn_journal_group_ok(group))
		return false;
	strcpy(e->group, group);
	return true;
}

static bool set_dev(char *dev, const char *ifname)
{
	if (!ifname || strnlen(ifname, IFNAMSIZ) >= IFNAMSIZ || !ifname[0])
		return false;
	strcpy(dev, ifname);
	return true;
}

static int addr_entry(struct rn_journal_entry *e, const char *group, const char *ifname,
		      const struct rn_prefix *prefix)
{
	if (!entry_start(e, RN_JOURNAL_ADDR, group) || !set_dev(e->addr.dev, ifname) || !prefix)
		return -EINVAL;
	e->addr.prefix = *prefix;
	rn_nl_addr_normalize(&e->addr);
	return 0;
}

int rn_system_addr_add(struct rn_system *sys, const char *group, const char *ifname,
		       const struct rn_prefix *prefix)
{
	struct rn_journal_entry e;

	return addr_entry(&e, group, ifname, prefix) ?: sys_add(sys, &e);
}

int rn_system_addr_del(struct rn_system *sys, const char *group, const char *ifname,
		       const struct rn_prefix *prefix)
{
	struct rn_journal_entry e;

	return addr_entry(&e, group, ifname, prefix) ?: sys_del(sys, &e);
}

static int route_entry(struct rn_journal_entry *e, const char *group,
		       const struct rn_nl_route *route)
{
	if (!entry_start(e, RN_JOURNAL_ROUTE, group) || !route)
		return -EINVAL;
	e->route = *route;
	e->route.oif = 0;
	e->route.scope = 0;
	rn_nl_route_normalize(&e->route);
	return 0;
}

int rn_system_route_add(struct rn_system *sys, const char *group, const struct rn_nl_route *route)
{
	struct rn_journal_entry e;

	return route_entry(&e, group, route) ?: sys_add(sys, &e);
}

int rn_system_route_del(struct rn_system *sys, const char *group, const struct rn_nl_route *route)
{
	struct rn_journal_entry e;

	return route_entry(&e, group, route) ?: sys_del(sys, &e);
}

static int rule_entry(struct rn_journal_entry *e, const char *group, const struct rn_nl_rule *rule)
{
	if (!entry_start(e, RN_JOURNAL_RULE, group) || !rule)
		return -EINVAL;
	e->rule = *rule;
	e->rule.action = 0;
	rn_nl_rule_normalize(&e->rule);
	return 0;
}

int rn_system_rule_add(struct rn_system *sys, const char *group, const struct rn_nl_rule *rule)
{
	struct rn_journal_entry e;

	return rule_entry(&e, group, rule) ?: sys_add(sys, &e);
}

int rn_system_rule_del(struct rn_system *sys, const char *group, const struct rn_nl_rule *rule)
{
	struct rn_journal_entry e;

	return rule_entry(&e, group, rule) ?: sys_del(sys, &e);
}

/* ---- settings that replace a previous value ---- */

/* Re-setting what the group already owns keeps the first recorded previous value. */
static int record_setting(struct rn_system *sys, struct rn_journal_entry *owner,
			  const struct rn_journal_entry *e)
{
	if (!owner)
		return rn_journal_append(sys->journal, e);
	switch (e->kind) {
	case RN_JOURNAL_LINK_UP:
		owner->link_up.up = e->link_up.up;
		break;
	case RN_JOURNAL_LINK_MTU:
		owner->link_mtu.mtu = e->link_mtu.mtu;
		break;
	case RN_JOURNAL_SYSCTL:
		strcpy(owner->sysctl.value, e->sysctl.value);
		break;
	default:
		return -EINVAL;
	}
	return rn_journal_save(sys->journal);
}

static int link_set(struct rn_system *sys, const char *group, const char *ifname, bool up)
{
	struct rn_journal_entry e, *owner;
	struct rn_nl_link link;
	int err;

	if (!entry_start(&e, RN_JOURNAL_LINK_UP, group) || !set_dev(e.link_up.dev, ifname))
		return -EINVAL;
	if (foreign_owner(sys, &e))
		return -EEXIST;
	owner = rn_journal_find(sys->journal, &e);
	e.link_up.up = up;
	err = rn_nl_link_get(sys->nl, ifname, &link);
	if (!err)
		err = rn_nl_link_set_up(sys->nl, ifname, up);
	if (err) {
		log_failure(sys, "set", &e, err);
		return err;
	}
	e.link_up.prev_up = link.flags & IFF_UP;
	err = record_setting(sys, owner, &e);
	if (err && !owner)
		rn_nl_link_set_up(sys->nl, ifname, e.link_up.prev_up);
	return err;
}

int rn_system_link_up(struct rn_system *sys, const char *group, const char *ifname)
{
	return link_set(sys, group, ifname, true);
}

int rn_system_link_down(struct rn_system *sys, const char *group, const char *ifname)
{
	return link_set(sys, group, ifname, false);
}

int rn_system_link_mtu(struct rn_system *sys, const char *group, const char *ifname, uint32_t mtu)
{
	struct rn_journal_entry e, *owner;
	struct rn_nl_link link;
	int err;

	if (!entry_start(&e, RN_JOURNAL_LINK_MTU, group) || !set_dev(e.link_mtu.dev, ifname) ||
	    !mtu)
		return -EINVAL;
	if (foreign_owner(sys, &e))
		return -EEXIST;
	owner = rn_journal_find(sys->journal, &e);
	e.link_mtu.mtu = mtu;
	err = rn_nl_link_get(sys->nl, ifname, &link);
	if (!err)
		err = rn_nl_link_set_mtu(sys->nl, ifname, mtu);
	if (err) {
		log_failure(sys, "set", &e, err);
		return err;
	}
	e.link_mtu.prev_mtu = link.mtu;
	err = record_setting(sys, owner, &e);
	if (err && !owner)
		rn_nl_link_set_mtu(sys->nl, ifname, link.mtu);
	return err;
}

int rn_system_sysctl_set(struct rn_system *sys, const char *group, const char *key,
			 const char *value)
{
	struct rn_journal_entry e, *owner;
	int err;

	if (!entry_start(&e, RN_JOURNAL_SYSCTL, group) || !key || !value ||
	    strnlen(key, RN_SYSCTL_KEY_MAX) >= RN_SYSCTL_KEY_MAX ||
	    strnlen(value, RN_SYSCTL_VALUE_MAX) >= RN_SYSCTL_VALUE_MAX ||
	    !rn_journal_sysctl_key_ok(key))
		return -EINVAL;
	strcpy(e.sysctl.key, key);
	strcpy(e.sysctl.value, value);
	if (foreign_owner(sys, &e))
		return -EEXIST;
	owner = rn_journal_find(sys->journal, &e);
	err = rn_sysctl_write(key, value, e.sysctl.prev, sizeof(e.sysctl.prev));
	if (err) {
		log_failure(sys, "set", &e, err);
		return err;
	}
	err = record_setting(sys, owner, &e);
	if (err && !owner)
		rn_sysctl_write(key, e.sysctl.prev, NULL, 0);
	return err;
}

/* ---- nftables tables ---- */

static int nft_entry(struct rn_journal_entry *e, const char *group, const char *family,
		     const char *name)
{
	if (!entry_start(e, RN_JOURNAL_NFT_TABLE, group) || !rn_nft_family_ok(family) ||
	    !rn_nft_name_ok(name))
		return -EINVAL;
	strcpy(e->nft_table.family, family);
	strcpy(e->nft_table.name, name);
	return 0;
}

int rn_system_nft_table_set(struct rn_system *sys, const char *group, const char *family,
			    const char *name, const char *ruleset)
{
	char why[RN_NFT_ERR_MAX] = "", what[RN_JOURNAL_DESCRIBE_MAX];
	struct rn_journal_entry e;
	bool owned;
	int err = nft_entry(&e, group, family, name);

	if (err || !rn_nft_body_ok(ruleset))
		return -EINVAL;
	if (foreign_owner(sys, &e))
		return -EEXIST;
	owned = rn_journal_find(sys->journal, &e) != NULL;
	err = rn_nft_table_replace(family, name, ruleset, why, sizeof(why));
	if (err) {
		log_warn(MAIN, "system: cannot set %s: %s%s%s",
			 rn_journal_describe(&e, what, sizeof(what)), strerror(-err),
			 why[0] ? ": " : "", why);
		return err;
	}
	if (owned)
		return 0;
	err = rn_journal_append(sys->journal, &e);
	if (err && rn_nft_table_delete(family, name, NULL, 0))
		log_warn(MAIN, "system: cannot revert unrecorded %s",
			 rn_journal_describe(&e, what, sizeof(what)));
	return err;
}

int rn_system_nft_table_del(struct rn_system *sys, const char *group, const char *family,
			    const char *name)
{
	struct rn_journal_entry e;

	return nft_entry(&e, group, family, name) ?: sys_del(sys, &e);
}

/* ---- undo, sweep, queries ---- */

int rn_system_undo_group(struct rn_system *sys, const char *group)
{
	return rn_journal_undo_group(sys->journal, sys->nl, group);
}

int rn_system_undo_all(struct rn_system *sys)
{
	return rn_journal_undo_all(sys->journal, sys->nl);
}

int rn_system_undo_all_but(struct rn_system *sys, const char *keep)
{
	return rn_journal_undo_all_but(sys->journal, sys->nl, keep);
}

/* Whether a journalled route is the one a dump shows. The kernel fills in what we left to it:
 * IPv6 reports metric 1024 for our 0 and puts unreachable-type routes on "lo". */
static bool route_covers(const struct rn_nl_route *ours, const struct rn_nl_route *seen)
{
	return rn_ipaddr_prefix_equal(&ours->dst, &seen->dst) && ours->table == seen->table &&
	       ours->type == seen->type && ours->protocol == seen->protocol &&
	       rn_ipaddr_equal(&ours->gateway, &seen->gateway) &&
	       (!ours->metric || ours->metric == seen->metric) &&
	       (!ours->dev[0] || !strncmp(ours->dev, seen->dev, IFNAMSIZ));
}

static bool journal_covers(const struct rn_journal *j, const struct rn_journal_entry *seen)
{
	const struct rn_journal_entry *e;

	for (size_t i = 0; (e = rn_journal_at(j, i)); i++) {
		if (e->kind != seen->kind)
			continue;
		if (e->kind == RN_JOURNAL_ROUTE ? route_covers(&e->route, &seen->route)
						: rn_journal_same_object(e, seen))
			return true;
	}
	return false;
}

/* Deletes seen unless the journal owns it; counts what it deleted. */
static int sweep_one(struct rn_system *sys, const struct rn_journal_entry *seen, size_t *removed)
{
	char what[RN_JOURNAL_DESCRIBE_MAX];
	int err;

	if (journal_covers(sys->journal, seen))
		return 0;
	err = kernel_del(sys->nl, seen);
	if (err == -ESRCH || err == -ENOENT || err == -EADDRNOTAVAIL)
		return 0;
	if (err) {
		log_failure(sys, "sweep", seen, err);
		return err;
	}
	log_info(MAIN, "system: swept unrecorded %s",
		 rn_journal_describe(seen, what, sizeof(what)));
	(*removed)++;
	return 0;
}

static int sweep_routes(struct rn_system *sys, const struct rn_nl_filter *f, size_t *removed)
{
	struct rn_journal_entry seen = { .kind = RN_JOURNAL_ROUTE, .group = "sweep" };
	struct rn_nl_route *routes = NULL;
	size_t n = 0;
	int err = rn_nl_route_list(sys->nl, f, &routes, &n);

	for (size_t i = 0; !err && i < n; i++) {
		seen.route = routes[i];
		err = sweep_one(sys, &seen, removed);
	}
	free(routes);
	return err;
}

static int sweep_rules(struct rn_system *sys, const struct rn_nl_filter *f, size_t *removed)
{
	struct rn_journal_entry seen = { .kind = RN_JOURNAL_RULE, .group = "sweep" };
	struct rn_nl_rule *rules = NULL;
	size_t n = 0;
	int err = rn_nl_rule_list(sys->nl, f, &rules, &n);

	for (size_t i = 0; !err && i < n; i++) {
		seen.rule = rules[i];
		seen.rule.action = 0;
		err = sweep_one(sys, &seen, removed);
	}
	free(rules);
	return err;
}

static int sweep_addrs(struct rn_system *sys, const struct rn_nl_filter *f, size_t *removed)
{
	struct rn_journal_entry seen = { .kind = RN_JOURNAL_ADDR, .group = "sweep" };
	struct rn_nl_addr *addrs = NULL;
	size_t n = 0;
	int err = rn_nl_addr_list(sys->nl, f, &addrs, &n);

	for (size_t i = 0; !err && i < n; i++) {
		seen.addr = addrs[i];
		err = sweep_one(sys, &seen, removed);
	}
	free(addrs);
	return err;
}

struct nft_sweep {
	struct rn_system *sys;
	size_t *removed;
	int err;
};

static void sweep_nft_one(const char *family, const char *name, void *arg)
{
	struct nft_sweep *sw = arg;
	struct rn_journal_entry seen;
	char what[RN_JOURNAL_DESCRIBE_MAX];
	int err;

	if (nft_entry(&seen, "sweep", family, name) || rn_journal_find(sw->sys->journal, &seen))
		return;
	err = rn_nft_table_delete(family, name, NULL, 0);
	rn_journal_describe(&seen, what, sizeof(what));
	if (err && err != -ENOENT) {
		log_warn(MAIN, "system: cannot sweep %s: %s", what, strerror(-err));
		if (!sw->err)
			sw->err = err;
		return;
	}
	if (!err) {
		log_info(MAIN, "system: swept unrecorded %s", what);
		(*sw->removed)++;
	}
}

/* Tables go first: with a route gone, a table's rules for it would only be dead weight. */
static int sweep_nft(struct rn_system *sys, size_t *removed)
{
	struct nft_sweep sw = { sys, removed, 0 };
	int err = rn_nft_tables_ours(sweep_nft_one, &sw);

	return err ? err : sw.err;
}

int rn_system_sweep(struct rn_system *sys, size_t *removed)
{
	const struct rn_nl_filter ours = { .protocol = RN_RTPROT };
	size_t n = 0;
	int err;

	err = sweep_nft(sys, &n);
	/* Rules first, as undo would: nothing steers traffic into a table being emptied. */
	if (!err)
		err = sweep_rules(sys, &ours, &n);
	if (!err)
		err = sweep_routes(sys, &ours, &n);
	if (!err)
		err = sweep_addrs(sys, &ours, &n);
	if (removed)
		*removed = n;
	return err;
}

int rn_system_route_get(struct rn_system *sys, const struct rn_ip *dst, uint32_t mark,
			struct rn_nl_route_info *out)
{
	return rn_nl_route_get(sys->nl, dst, mark, out);
}

size_t rn_system_count(const struct rn_system *sys, const char *group)
{
	return rn_journal_count(sys->journal, group);
}
