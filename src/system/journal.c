/* SPDX-License-Identifier: MIT */
/*
 * The journal's list, its file and undo. The file is rewritten whole on every change: it holds
 * tens of entries, and a whole-file atomic replace means a crash leaves either the old list or
 * the new one, never a torn one.
 */
#include "common/util.h"
#include "system/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

struct rn_journal {
	char *dir, *path, *tmp_path;	  /* owned */
	struct rn_journal_entry *entries; /* owned; in the order applied */
	size_t n, cap;
};

/*
 * What the journal says is done as root at the next start, so only we may have written it:
 * owned by our user, writable by nobody else. Otherwise refuse, as OpenBSD daemons refuse
 * config files others can write.
 */
static int check_private(const char *path, const struct stat *st)
{
	if (st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	log_error(MAIN, "system: %s must be owned by uid %u and writable by it alone; refusing it",
		  path, (unsigned int)geteuid());
	return -EPERM;
}

int rn_journal_open(const char *state_dir, struct rn_journal **out)
{
	struct rn_journal *j;
	struct stat st;
	int err;

	if (!state_dir || !state_dir[0])
		return -EINVAL;
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (stat(state_dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	err = check_private(state_dir, &st);
	if (err)
		return err;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->dir = strdup(state_dir);
	if (j->dir && asprintf(&j->path, "%s/%s", state_dir, RN_JOURNAL_FILE) < 0)
		j->path = NULL;
	if (j->path && asprintf(&j->tmp_path, "%s.tmp", j->path) < 0)
		j->tmp_path = NULL;
	if (!j->tmp_path) {
		rn_journal_free(j);
		return -ENOMEM;
	}
	*out = j;
	return 0;
}

void rn_journal_free(struct rn_journal *j)
{
	if (!j)
		return;
	free(j->entries);
	free(j->tmp_path);
	free(j->path);
	free(j->dir);
	free(j);
}

const char *rn_journal_path(const struct rn_journal *j)
{
	return j->path;
}

/* ---- the file ---- */

static char *journal_dump(const struct rn_journal *j)
{
	json_t *root = json_pack("{s:i, s:[]}", "version", RN_JOURNAL_VERSION, "entries");
	json_t *arr = json_object_get(root, "entries");
	char *text = NULL;

	for (size_t i = 0; root && i < j->n; i++) {
		json_t *e = rn_journal_entry_to_json(&j->entries[i]);

		if (!e || json_array_append_new(arr, e))
			goto out;
	}
	if (root)
		text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
out:
	json_decref(root);
	return text;
}

/* The directory's fsync makes the rename itself durable. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int write_file(const struct rn_journal *j, const char *text)
{
	int fd, err;

	fd = open(j->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* O_CREAT's mode does not apply to a temp file left by a crash: set it again. */
	err = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (!err)
		err = rn_write_all(fd, text, strlen(text));
	if (!err)
		err = rn_write_all(fd, "\n", 1);
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(j->tmp_path, j->path) < 0)
		err = -errno;
	if (err) {
		unlink(j->tmp_path);
		return err;
	}
	return sync_dir(j->dir);
}

int rn_journal_save(struct rn_journal *j)
{
	char *text = journal_dump(j);
	int err;

	if (!text)
		return -ENOMEM;
	err = write_file(j, text);
	free(text);
	if (err)
		log_error(MAIN, "system: cannot write journal %s: %s", j->path, strerror(-err));
	return err;
}

static int read_file(const char *path, char **out, size_t *len)
{
	char *buf = NULL;
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	/* O_NONBLOCK: a FIFO planted in its place must not hang the start. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_size > (off_t)RN_JOURNAL_MAX_BYTES)
		err = -EBADMSG;
	else
		err = check_private(path, &st);
	if (!err && !(buf = malloc((size_t)st.st_size + 1)))
		err = -ENOMEM;
	if (!err) {
		do
			n = pread(fd, buf, (size_t)st.st_size, 0);
		while (n < 0 && errno == EINTR);
		if (n != st.st_size)
			err = n < 0 ? -errno : -EIO;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = (size_t)st.st_size;
	return 0;
}

static int parse_entries(const char *path, const json_t *arr, struct rn_journal_entry *out)
{
	char why[200];
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		if (rn_journal_entry_from_json(v, &out[i], why, sizeof(why)) == 0)
			continue;
		log_error(MAIN, "system: journal %s: entry %zu: %s; fix or remove the file", path,
			  i, why);
		return -EBADMSG;
	}
	return 0;
}

static int journal_parse(struct rn_journal *j, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *arr = NULL;
	struct rn_journal_entry *entries = NULL;
	json_int_t version = 0;
	int err = -EBADMSG;

	if (!root) {
		log_error(MAIN, "system: journal %s: line %d: %s", j->path, jerr.line, jerr.text);
		return -EBADMSG;
	}
	if (json_unpack_ex(root, &jerr, 0, "{s:I, s:o !}", "version", &version, "entries", &arr) ||
	    version != RN_JOURNAL_VERSION || !json_is_array(arr)) {
		log_error(MAIN, "system: journal %s: not a version %d journal", j->path,
			  RN_JOURNAL_VERSION);
		goto out;
	}
	entries = calloc(json_array_size(arr) + 1, sizeof(*entries));
	if (!entries) {
		err = -ENOMEM;
		goto out;
	}
	err = parse_entries(j->path, arr, entries);
	if (err)
		goto out;
	free(j->entries);
	j->entries = entries;
	j->n = json_array_size(arr);
	j->cap = j->n + 1;
	entries = NULL;
out:
	free(entries);
	json_decref(root);
	return err;
}

int rn_journal_load(struct rn_journal *j)
{
	char *text = NULL;
	size_t len = 0;
	int err = read_file(j->path, &text, &len);

	if (err == -ENOENT) {
		j->n = 0;
		return 0;
	}
	if (err) {
		log_error(MAIN, "system: cannot read journal %s: %s", j->path, strerror(-err));
		return err;
	}
	err = journal_parse(j, text, len);
	free(text);
	return err;
}

/* ---- the list ---- */

int rn_journal_append(struct rn_journal *j, const struct rn_journal_entry *e)
{
	int err;

	if (!rn_journal_group_ok(e->group))
		return -EINVAL;
	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 16;
		struct rn_journal_entry *p = reallocarray(j->entries, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		j->entries = p;
		j->cap = cap;
	}
	j->entries[j->n++] = *e;
	err = rn_journal_save(j);
	if (err)
		j->n--;
	return err;
}

size_t rn_journal_count(const struct rn_journal *j, const char *group)
{
	size_t n = 0;

	for (size_t i = 0; i < j->n; i++)
		if (!group || !strcmp(j->entries[i].group, group))
			n++;
	return n;
}

const struct rn_journal_entry *rn_journal_at(const struct rn_journal *j, size_t i)
{
	return i < j->n ? &j->entries[i] : NULL;
}

bool rn_journal_same_object(const struct rn_journal_entry *a, const struct rn_journal_entry *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case RN_JOURNAL_ADDR:
		return rn_nl_addr_equal(&a->addr, &b->addr);
	case RN_JOURNAL_ROUTE:
		return rn_nl_route_equal(&a->route, &b->route);
	case RN_JOURNAL_RULE:
		return rn_nl_rule_equal(&a->rule, &b->rule);
	case RN_JOURNAL_LINK_UP:
		return !strncmp(a->link_up.dev, b->link_up.dev, IFNAMSIZ);
	case RN_JOURNAL_LINK_MTU:
		return !strncmp(a->link_mtu.dev, b->link_mtu.dev, IFNAMSIZ);
	case RN_JOURNAL_SYSCTL:
		return !strncmp(a->sysctl.key, b->sysctl.key, sizeof(a->sysctl.key));
	case RN_JOURNAL_NFT_TABLE:
		return !strncmp(a->nft_table.family, b->nft_table.family, RN_NFT_FAMILY_MAX) &&
		       !strncmp(a->nft_table.name, b->nft_table.name, RN_NFT_NAME_MAX);
	}
	return false;
}

struct rn_journal_entry *rn_journal_find(struct rn_journal *j, const struct rn_journal_entry *like)
{
	for (size_t i = 0; i < j->n; i++)
		if (rn_journal_same_object(&j->entries[i], like))
			return &j->entries[i];
	return NULL;
}

/* ---- undo ---- */

static bool already_gone(int err)
{
	return err == -ENOENT || err == -ESRCH || err == -EADDRNOTAVAIL || err == -ENODEV;
}

static int undo_kernel(struct rn_nl *nl, const struct rn_journal_entry *e)
{
	switch (e->kind) {
	case RN_JOURNAL_ADDR:
		return rn_nl_addr_del(nl, &e->addr);
	case RN_JOURNAL_ROUTE:
		return rn_nl_route_del(nl, &e->route);
	case RN_JOURNAL_RULE:
		return rn_nl_rule_del(nl, &e->rule);
	case RN_JOURNAL_LINK_UP:
		if (e->link_up.up == e->link_up.prev_up)
			return 0;
		return rn_nl_link_set_up(nl, e->link_up.dev, e->link_up.prev_up);
	case RN_JOURNAL_LINK_MTU:
		if (e->link_mtu.mtu == e->link_mtu.prev_mtu)
			return 0;
		return rn_nl_link_set_mtu(nl, e->link_mtu.dev, e->link_mtu.prev_mtu);
	case RN_JOURNAL_SYSCTL:
		return rn_sysctl_write(e->sysctl.key, e->sysctl.prev, NULL, 0);
	case RN_JOURNAL_NFT_TABLE:
		return rn_nft_table_delete(e->nft_table.family, e->nft_table.name, NULL, 0);
	}
	return -EINVAL;
}

/* Undoes entry i in the kernel only; true when it may be dropped from the list. */
static bool undo_one(struct rn_journal *j, struct rn_nl *nl, size_t i, int *first_err)
{
	const struct rn_journal_entry *e = &j->entries[i];
	char what[RN_JOURNAL_DESCRIBE_MAX];
	int err = undo_kernel(nl, e);

	rn_journal_describe(e, what, sizeof(what));
	if (!err) {
		log_debug(MAIN, "system: undid %s", what);
		return true;
	}
	if (already_gone(err)) {
		log_info(MAIN, "system: %s was already gone", what);
		return true;
	}
	log_warn(MAIN, "system: cannot undo %s: %s%s%s; kept in the journal for the next try", what,
		 strerror(-err), rn_nl_extack(nl)[0] ? ": " : "", rn_nl_extack(nl));
	if (!*first_err)
		*first_err = err;
	return false;
}

static void drop(struct rn_journal *j, size_t i)
{
	memmove(&j->entries[i], &j->entries[i + 1], (j->n - i - 1) * sizeof(j->entries[0]));
	j->n--;
}

/* group NULL: every entry; keep (if given) is a group left in place. */
static int undo_matching(struct rn_journal *j, struct rn_nl *nl, const char *group,
			 const char *keep)
{
	int first_err = 0, err;
	bool changed = false;

	for (size_t i = j->n; i-- > 0;) {
		if (group && strcmp(j->entries[i].group, group))
			continue;
		if (keep && !strcmp(j->entries[i].group, keep))
			continue;
		if (undo_one(j, nl, i, &first_err)) {
			drop(j, i);
			changed = true;
		}
	}
	if (!changed)
		return first_err;
	err = rn_journal_save(j);
	return first_err ? first_err : err;
}

int rn_journal_undo_all(struct rn_journal *j, struct rn_nl *nl)
{
	return undo_matching(j, nl, NULL, NULL);
}

int rn_journal_undo_all_but(struct rn_journal *j, struct rn_nl *nl, const char *keep)
{
	if (!keep || !rn_journal_group_ok(keep))
		return -EINVAL;
	return undo_matching(j, nl, NULL, keep);
}

int rn_journal_undo_group(struct rn_journal *j, struct rn_nl *nl, const char *group)
{
	if (!group || !rn_journal_group_ok(group))
		return -EINVAL;
	return undo_matching(j, nl, group, NULL);
}

int rn_journal_undo_entry(struct rn_journal *j, struct rn_nl *nl, struct rn_journal_entry *e)
{
	size_t i = (size_t)(e - j->entries);
	int first_err = 0;

	if (e < j->entries || i >= j->n)
		return -EINVAL;
	if (!undo_one(j, nl, i, &first_err))
		return first_err;
	drop(j, i);
	return rn_journal_save(j);
}
