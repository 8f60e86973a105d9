/* SPDX-License-Identifier: MIT */
/*
 * Backups: one SQLite file holding a consistent online copy of the store (SQLite's backup API:
 * a snapshot even while the server writes) and, in a table of its own, the state dir's other
 * files the caller names (keys and certificate). Restoring writes those files back and copies
 * the store out of the backup, without that table, then opens it as usual (schema migrations
 * included). A backup file is read as hostile: only the names the caller allows are written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/store_priv.h"

#define RN_BACKUP_FILES "rustynet_backup_files"

/* Creates path 0600, refusing an existing one; closes it again (SQLite opens it by name). */
static int rn_backup_create(struct rn_store *store, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return rn_store_fail(store, -errno, "cannot create \"%s\": %s%s", path,
				     strerror(errno),
				     errno == EEXIST ? " (a backup never overwrites a file)" : "");
	close(fd);
	return 0;
}

/* Copies database "main" of src into dst with SQLite's backup API (a consistent snapshot). */
static int rn_backup_copy(struct rn_store *store, sqlite3 *dst, sqlite3 *src, const char *what)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc;

	if (!b)
		return rn_store_sql_fail(store, sqlite3_errcode(dst), what);
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	return rc == SQLITE_DONE ? 0 : rn_store_sql_fail(store, rc, what);
}

int rn_store_backup(struct rn_store *store, const char *path, const struct rn_store_file *files,
		    size_t n)
{
	sqlite3 *dst = NULL;
	sqlite3_stmt *st = NULL;
	int ret, rc;

	ret = rn_backup_create(store, path);
	if (ret)
		return ret;
	rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		ret = rn_store_sql_fail(store, rc, "opening the backup file");
		goto out;
	}
	ret = rn_backup_copy(store, dst, store->db, "copying the store into the backup");
	if (ret)
		goto out;
	/* one self-contained file: no -wal or -shm beside it, whoever opens it */
	rc = sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(dst,
				  "CREATE TABLE " RN_BACKUP_FILES " (name TEXT PRIMARY KEY, "
				  "mode INTEGER NOT NULL, content BLOB NOT NULL)",
				  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(dst, "INSERT INTO " RN_BACKUP_FILES " VALUES (?, ?, ?)", -1,
					&st, NULL);
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		sqlite3_bind_text(st, 1, files[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)files[i].mode);
		sqlite3_bind_blob(st, 3, files[i].content, (int)files[i].len, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_reset(st) : sqlite3_errcode(dst);
	}
	if (rc != SQLITE_OK)
		ret = rn_store_sql_fail(store, rc, "writing the keys into the backup");
out:
	sqlite3_finalize(st);
	if (dst && sqlite3_close(dst) != SQLITE_OK && !ret)
		ret = rn_store_fail(store, -EIO, "closing the backup file failed");
	if (ret)
		unlink(path);
	return ret;
}

static bool rn_backup_allowed(const char *name, const char *const *allowed)
{
	for (size_t i = 0; allowed[i]; i++)
		if (!strcmp(name, allowed[i]))
			return true;
	return false;
}

/* Writes the backup's files whose names are allowed into state_dir, with their modes (& 0644). */
static int rn_backup_write_files(struct rn_store *store, sqlite3 *src, const char *state_dir,
				 const char *const *allowed, size_t *n_out)
{
	sqlite3_stmt *st;
	int ret = 0, rc;

	*n_out = 0;
	rc = sqlite3_prepare_v2(src, "SELECT name, mode, content FROM " RN_BACKUP_FILES, -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		return rn_store_fail(store, -EINVAL,
				     "not a rustynet-control backup (no key table): %s",
				     sqlite3_errmsg(src));
	while (!ret && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const void *content = sqlite3_column_blob(st, 2);
		int len = sqlite3_column_bytes(st, 2), fd;
		mode_t mode = (mode_t)sqlite3_column_int(st, 1) & 0644;
		char *path = NULL;

		if (!name || !rn_backup_allowed(name, allowed)) {
			ret = rn_store_fail(store, -EINVAL,
					    "the backup holds an unexpected file \"%.60s\"",
					    name ?: "");
			break;
		}
		if (asprintf(&path, "%s/%s", state_dir, name) < 0) {
			ret = rn_store_fail(store, -ENOMEM, "out of memory");
			break;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd < 0 || (len > 0 && write(fd, content, (size_t)len) != len) || fsync(fd) < 0)
			ret = rn_store_fail(store, -errno, "cannot write \"%s\": %s", path,
					    strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		*n_out += !ret;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = rn_store_fail(store, -EIO, "reading the backup's keys: %s",
				    sqlite3_errmsg(src));
	sqlite3_finalize(st);
	return ret;
}

/* Undoes a failed restore: what it wrote, and the state dir it made. */
static void rn_backup_undo(const char *state_dir, const char *const *allowed)
{
	static const char *const db[] = { "control.db", "control.db-wal", "control.db-shm" };
	char path[4096];

	for (size_t i = 0; allowed[i]; i++)
		if (snprintf(path, sizeof(path), "%s/%s", state_dir, allowed[i]) <
		    (int)sizeof(path))
			unlink(path);
	for (size_t i = 0; i < sizeof(db) / sizeof(db[0]); i++)
		if (snprintf(path, sizeof(path), "%s/%s", state_dir, db[i]) < (int)sizeof(path))
			unlink(path);
	rmdir(state_dir);
}

int rn_store_restore(const char *backup, const char *state_dir, const char *const *allowed,
		     size_t *n_files, char *err, size_t errlen)
{
	struct rn_store scratch = { 0 }, *store = NULL;
	sqlite3 *src = NULL, *dst = NULL;
	char *db = NULL;
	int ret, rc;

	*n_files = 0;
	if (mkdir(state_dir, 0700) < 0) {
		snprintf(err, errlen, "cannot create the state dir \"%s\": %s%s", state_dir,
			 strerror(errno),
			 errno == EEXIST ? " (restore makes a new one; it never writes over one)"
					 : "");
		return -errno;
	}
	rc = sqlite3_open_v2(backup, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		ret = rn_store_sql_fail(&scratch, rc, "opening the backup");
		goto out;
	}
	ret = rn_backup_write_files(&scratch, src, state_dir, allowed, n_files);
	if (ret)
		goto out;
	if (asprintf(&db, "%s/control.db", state_dir) < 0) {
		ret = rn_store_fail(&scratch, -ENOMEM, "out of memory");
		goto out;
	}
	ret = rn_backup_create(&scratch, db);
	if (ret)
		goto out;
	rc = sqlite3_open_v2(db, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		ret = rn_store_sql_fail(&scratch, rc, "creating the restored store");
		goto out;
	}
	ret = rn_backup_copy(&scratch, dst, src, "copying the store out of the backup");
	if (!ret && sqlite3_exec(dst, "DROP TABLE " RN_BACKUP_FILES, NULL, NULL, NULL) != SQLITE_OK)
		ret = rn_store_sql_fail(&scratch, sqlite3_errcode(dst), "dropping the key table");
	sqlite3_close(dst);
	dst = NULL;
	/* Opening it checks and migrates it as for any store: a backup from an older version. */
	if (!ret && (ret = rn_store_open(state_dir, &store)) != 0)
		snprintf(scratch.err, sizeof(scratch.err), "the restored store does not open (%s)",
			 strerror(-ret));
	rn_store_close(store);
out:
	sqlite3_close(dst);
	sqlite3_close(src);
	free(db);
	if (ret) {
		snprintf(err, errlen, "%s", scratch.err[0] ? scratch.err : strerror(-ret));
		rn_backup_undo(state_dir, allowed);
	}
	return ret;
}
