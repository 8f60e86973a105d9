/* SPDX-License-Identifier: MIT */
/* The SQLite store: opening the state dir safely, the versioned schema, transactions, settings,
 * users, the policy and the audit log. Auth keys and nodes have files of their own. */
#include "control/store_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/log.h"

enum {
	RN_STORE_BUSY_TIMEOUT_MS = 5000, /* how long a writer waits for another's transaction */
};

/*
 * Migration N takes the schema from version N - 1 to N. Fixed text only: never user data.
 * A new version is a new entry here and a bump of RN_STORE_SCHEMA_VERSION; never edit an old one.
 */
static const char *const rn_store_migrations[RN_STORE_SCHEMA_VERSION + 1] = {
	[1] = "CREATE TABLE settings (\n"
	      "	key TEXT PRIMARY KEY,\n"
	      "	value TEXT NOT NULL\n"
	      ") WITHOUT ROWID;\n"
	      "CREATE TABLE users (\n"
	      "	id INTEGER PRIMARY KEY,\n"
	      "	name TEXT NOT NULL UNIQUE,\n"
	      "	created_at INTEGER NOT NULL\n"
	      ");\n"
	      "CREATE TABLE authkeys (\n"
	      "	id INTEGER PRIMARY KEY,\n"
	      "	key_hash BLOB NOT NULL UNIQUE CHECK (length(key_hash) = 32),\n"
	      "	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE RESTRICT,\n"
	      "	reusable INTEGER NOT NULL CHECK (reusable IN (0, 1)),\n"
	      "	expires_at INTEGER NOT NULL DEFAULT 0,\n"
	      "	tags TEXT NOT NULL DEFAULT '[]',\n"
	      "	created_at INTEGER NOT NULL,\n"
	      "	revoked_at INTEGER NOT NULL DEFAULT 0,\n"
	      "	used_count INTEGER NOT NULL DEFAULT 0\n"
	      ");\n"
	      "CREATE TABLE nodes (\n"
	      "	id INTEGER PRIMARY KEY,\n"
	      "	name TEXT NOT NULL,\n"
	      "	dns_name TEXT NOT NULL UNIQUE,\n"
	      "	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE RESTRICT,\n"
	      "	tags TEXT NOT NULL DEFAULT '[]',\n"
	      "	public_key BLOB NOT NULL UNIQUE CHECK (length(public_key) = 32),\n"
	      "	ipv4 INTEGER NOT NULL UNIQUE,\n"
	      "	ipv6 TEXT NOT NULL UNIQUE,\n"
	      "	enrolled_at INTEGER NOT NULL,\n"
	      "	last_seen INTEGER NOT NULL DEFAULT 0,\n"
	      "	expired INTEGER NOT NULL DEFAULT 0 CHECK (expired IN (0, 1)),\n"
	      "	advertised_routes TEXT NOT NULL DEFAULT '[]',\n"
	      "	approved_routes TEXT NOT NULL DEFAULT '[]',\n"
	      "	advertises_exit INTEGER NOT NULL DEFAULT 0 CHECK (advertises_exit IN (0, 1)),\n"
	      "	exit_approved INTEGER NOT NULL DEFAULT 0 CHECK (exit_approved IN (0, 1)),\n"
	      "	endpoints TEXT NOT NULL DEFAULT '[]'\n"
	      ");\n"
	      "CREATE TABLE policy (\n"
	      "	rev INTEGER PRIMARY KEY,\n"
	      "	text TEXT NOT NULL,\n"
	      "	created_at INTEGER NOT NULL,\n"
	      "	actor TEXT NOT NULL\n"
	      ");\n"
	      "CREATE TABLE audit (\n"
	      "	id INTEGER PRIMARY KEY,\n"
	      "	time INTEGER NOT NULL,\n"
	      "	actor TEXT NOT NULL,\n"
	      "	action TEXT NOT NULL,\n"
	      "	details TEXT NOT NULL\n"
	      ");\n",
	/* Node tokens: SHA-256 of the bearer token a node polls with; NULL until it has one. */
	[2] = "ALTER TABLE nodes ADD COLUMN token_hash BLOB\n"
	      "	CHECK (token_hash IS NULL OR length(token_hash) = 32);\n"
	      "CREATE UNIQUE INDEX nodes_token_hash ON nodes (token_hash);\n",
	/* The admin role: what the policy's autogroup:admin and autogroup:owner name. */
	[3] = "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member'\n"
	      "	CHECK (role IN ('admin', 'member'));\n",
	/* Node key expiry: 0 none, -1 turned off for the node, else when (Unix seconds). */
	[4] = "ALTER TABLE nodes ADD COLUMN key_expires_at INTEGER NOT NULL DEFAULT 0;\n",
	/* Ephemeral keys and nodes: removed once offline for RN_STORE_EPHEMERAL_GONE_S. */
	[5] = "ALTER TABLE authkeys ADD COLUMN ephemeral INTEGER NOT NULL DEFAULT 0\n"
	      "	CHECK (ephemeral IN (0, 1));\n"
	      "ALTER TABLE nodes ADD COLUMN ephemeral INTEGER NOT NULL DEFAULT 0\n"
	      "	CHECK (ephemeral IN (0, 1));\n",
	/* Admin API tokens (store_token.c): looked up by the clear id part of the secret, which
	 * is then compared by its SHA-256; expires_at 0 never, revoked_at 0 not revoked. */
	[6] = "CREATE TABLE admin_tokens (\n"
	      "	id INTEGER PRIMARY KEY,\n"
	      "	name TEXT NOT NULL UNIQUE,\n"
	      "	scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'keys')),\n"
	      "	lookup TEXT NOT NULL UNIQUE,\n"
	      "	secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),\n"
	      "	created_at INTEGER NOT NULL,\n"
	      "	expires_at INTEGER NOT NULL DEFAULT 0,\n"
	      "	revoked_at INTEGER NOT NULL DEFAULT 0,\n"
	      "	last_used INTEGER NOT NULL DEFAULT 0\n"
	      ");\n",
};

int rn_store_fail(struct rn_store *store, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(store->err, sizeof(store->err), fmt, ap);
	va_end(ap);
	return err;
}

int rn_store_sql_fail(struct rn_store *store, int rc, const char *what)
{
	int err;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		err = -EBUSY;
		break;
	case SQLITE_CONSTRAINT:
		err = -EEXIST;
		break;
	case SQLITE_NOMEM:
		err = -ENOMEM;
		break;
	case SQLITE_FULL:
		err = -ENOSPC;
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		err = -EACCES;
		break;
	default:
		err = -EIO;
	}
	return rn_store_fail(store, err, "control database: %s failed: %s", what,
			     store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
}

int rn_store_prepare(struct rn_store *store, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v2(store->db, sql, -1, out, NULL);

	if (rc != SQLITE_OK)
		return rn_store_sql_fail(store, rc, "preparing a statement");
	return 0;
}

int rn_store_step_done(struct rn_store *store, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	int ret = 0;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = rn_store_sql_fail(store, rc, what);
	sqlite3_finalize(st);
	return ret;
}

static int rn_store_exec(struct rn_store *store, const char *sql, const char *what)
{
	int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : rn_store_sql_fail(store, rc, what);
}

int rn_store_begin(struct rn_store *store)
{
	return rn_store_exec(store, "BEGIN IMMEDIATE", "starting a transaction");
}

int rn_store_commit(struct rn_store *store)
{
	int ret = rn_store_exec(store, "COMMIT", "committing a transaction");

	if (ret)
		rn_store_rollback(store);
	return ret;
}

void rn_store_rollback(struct rn_store *store)
{
	if (!sqlite3_get_autocommit(store->db))
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}

int rn_store_audit(struct rn_store *store, const char *actor, int64_t now, const char *action,
		   json_t *details)
{
	sqlite3_stmt *st;
	char *text;
	int ret;

	text = json_dumps(details ? details : json_object(), JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(details);
	if (!text)
		return rn_store_fail(store, -ENOMEM, "out of memory writing the audit log");
	ret = rn_store_prepare(
	    store, "INSERT INTO audit (time, actor, action, details) VALUES (?, ?, ?, ?)", &st);
	if (!ret) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_text(st, 2, actor ? actor : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
		ret = rn_store_step_done(store, st, "writing the audit log");
	}
	free(text);
	return ret;
}

int rn_store_json_strings(struct rn_store *store, const char *what, const char *text,
			  bool (*check)(const char *), size_t max, char **out)
{
	json_error_t jerr;
	json_t *arr, *v;
	size_t i;

	*out = NULL;
	if (!text)
		text = "[]";
	arr = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!arr)
		return rn_store_fail(store, -EINVAL,
				     "%s \"%.80s\" is not JSON (%s): give an array "
				     "of strings such as [\"a\",\"b\"]",
				     what, text, jerr.text);
	if (!json_is_array(arr) || json_array_size(arr) > max) {
		json_decref(arr);
		return rn_store_fail(store, -EINVAL,
				     "%s \"%.80s\" is not an array of at most %zu "
				     "strings",
				     what, text, max);
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || (check && !check(json_string_value(v)))) {
			json_decref(arr);
			return rn_store_fail(store, -EINVAL,
					     "%s: item %zu of \"%.80s\" is not valid", what, i + 1,
					     text);
		}
	}
	*out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return *out ? 0 : rn_store_fail(store, -ENOMEM, "out of memory");
}

char *rn_store_column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return strdup(s ? (const char *)s : "[]");
}

const char *rn_store_errmsg(const struct rn_store *store)
{
	return store ? store->err : "";
}

/* The state dir holds the only copy of the network's state: nobody else may swap files in it. */
static int rn_store_check_dir(const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) < 0) {
		int err = -errno;

		log_error(MAIN, "state dir \"%s\": %s: create it (mode 0700) first", dir,
			  strerror(errno));
		return err;
	}
	if (!S_ISDIR(sb.st_mode)) {
		log_error(MAIN, "state dir \"%s\" is not a directory", dir);
		return -ENOTDIR;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		log_error(MAIN, "state dir \"%s\" is writable by others (mode %04o): chmod 700 it",
			  dir, (unsigned int)(sb.st_mode & 07777));
		return -EPERM;
	}
	if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		log_error(MAIN, "state dir \"%s\" belongs to uid %u, not to us or root: chown it",
			  dir, (unsigned int)sb.st_uid);
		return -EPERM;
	}
	return 0;
}

/* Creates the file 0600 ourselves: SQLite would use the umask, and copies the db's mode to the
 * -wal and -shm files, so getting it right here keeps all three private. */
static int rn_store_create_file(const char *path)
{
	struct stat sb;
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		log_error(MAIN, "cannot open \"%s\": %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &sb) < 0) {
		ret = -errno;
	} else if (!S_ISREG(sb.st_mode)) {
		log_error(MAIN, "\"%s\" is not a regular file: move it away", path);
		ret = -EINVAL;
	} else if (sb.st_mode & 077) {
		log_error(MAIN, "\"%s\" is open to others (mode %04o): chmod 600 it", path,
			  (unsigned int)(sb.st_mode & 07777));
		ret = -EPERM;
	}
	close(fd);
	return ret;
}

static int rn_store_schema_version(struct rn_store *store, int64_t *version)
{
	sqlite3_stmt *st;
	int ret, rc;

	*version = 0;
	ret = rn_store_prepare(
	    store, "SELECT count(*) FROM sqlite_schema WHERE name = 'schema_version'", &st);
	if (ret)
		return ret;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == 0) {
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rn_store_sql_fail(store, rc, "reading the schema");
	ret = rn_store_prepare(store, "SELECT max(version) FROM schema_version", &st);
	if (ret)
		return ret;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rn_store_sql_fail(store, rc, "reading the schema version");
}

static int rn_store_setting_insert(struct rn_store *store, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int ret;

	ret = rn_store_prepare(store, "INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)",
			       &st);
	if (ret)
		return ret;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return rn_store_step_done(store, st, "writing a setting");
}

/* What a new network starts with. The ULA /48 is fd + 40 random bits (RFC 4193). */
static int rn_store_init_settings(struct rn_store *store)
{
	uint8_t ula[RN_STORE_ULA_PREFIX_LEN];
	char text[32];
	int ret;

	ula[0] = 0xfd;
	if (RAND_bytes(ula + 1, sizeof(ula) - 1) != 1)
		return rn_store_fail(store, -EIO, "no randomness for the network's ULA prefix");
	snprintf(text, sizeof(text), "fd%02x:%02x%02x:%02x%02x::/48", ula[1], ula[2], ula[3],
		 ula[4], ula[5]);
	ret = rn_store_setting_insert(store, "domain", "rustynet");
	if (!ret)
		ret = rn_store_setting_insert(store, "ula_prefix", text);
	if (!ret)
		ret = rn_store_setting_insert(store, "netmap_version", "0");
	if (!ret)
		ret = rn_store_setting_insert(store, "ipv4_next", "0");
	return ret;
}

static int rn_store_migrate(struct rn_store *store, const char *path)
{
	int64_t version, v;
	int ret;

	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_store_schema_version(store, &version);
	if (ret)
		goto err;
	if (version > RN_STORE_SCHEMA_VERSION) {
		ret = rn_store_fail(store, -EPROTO,
				    "\"%s\" has schema version %lld but this "
				    "rustynet-control knows only up to %d: run a newer "
				    "rustynet-control, or restore a backup made by this version",
				    path, (long long)version, RN_STORE_SCHEMA_VERSION);
		goto err;
	}
	if (version == 0) {
		ret = rn_store_exec(store, "CREATE TABLE schema_version (version INTEGER NOT NULL)",
				    "creating the schema");
		if (ret)
			goto err;
	}
	for (v = version + 1; v <= RN_STORE_SCHEMA_VERSION; v++) {
		sqlite3_stmt *st;

		ret = rn_store_exec(store, rn_store_migrations[v], "migrating the schema");
		if (ret)
			goto err;
		ret =
		    rn_store_prepare(store, "INSERT INTO schema_version (version) VALUES (?)", &st);
		if (ret)
			goto err;
		sqlite3_bind_int64(st, 1, v);
		ret = rn_store_step_done(store, st, "recording the schema version");
		if (ret)
			goto err;
	}
	if (version == 0 && (ret = rn_store_init_settings(store)))
		goto err;
	return rn_store_commit(store);
err:
	rn_store_rollback(store);
	return ret;
}

static int rn_store_load_ula(struct rn_store *store)
{
	unsigned int b[5];
	char text[64];
	int ret, i;

	ret = rn_store_setting_get(store, "ula_prefix", text, sizeof(text));
	if (ret)
		return ret;
	if (sscanf(text, "fd%2x:%2x%2x:%2x%2x::/48", &b[0], &b[1], &b[2], &b[3], &b[4]) != 5)
		return rn_store_fail(store, -EINVAL,
				     "setting ula_prefix \"%s\" is not an "
				     "fdxx:xxxx:xxxx::/48 prefix: restore it from a backup",
				     text);
	store->ula[0] = 0xfd;
	for (i = 0; i < 5; i++)
		store->ula[i + 1] = (uint8_t)b[i];
	return 0;
}

static int rn_store_configure(struct rn_store *store)
{
	sqlite3_stmt *st;
	int ret, rc;

	sqlite3_busy_timeout(store->db, RN_STORE_BUSY_TIMEOUT_MS);
	ret = rn_store_prepare(store, "PRAGMA journal_mode = WAL", &st);
	if (ret)
		return ret;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0) ?: "", "wal") != 0) {
		sqlite3_finalize(st);
		return rn_store_fail(store, -EIO,
				     "control database: cannot switch to WAL mode "
				     "(is the state dir on a network file system?)");
	}
	sqlite3_finalize(st);
	/* FULL: an auth key marked used must stay used after a power cut. Triggers and views in
	 * the file are not trusted to run functions: the file may have been edited by hand. */
	return rn_store_exec(store,
			     "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; "
			     "PRAGMA trusted_schema = OFF;",
			     "configuring the database");
}

int rn_store_open(const char *state_dir, struct rn_store **out)
{
	struct rn_store *store;
	char *path = NULL;
	int ret, rc;

	*out = NULL;
	ret = rn_store_check_dir(state_dir);
	if (ret)
		return ret;
	if (asprintf(&path, "%s/control.db", state_dir) < 0)
		return -ENOMEM;
	ret = rn_store_create_file(path);
	if (ret)
		goto out;
	store = calloc(1, sizeof(*store));
	if (!store) {
		ret = -ENOMEM;
		goto out;
	}
	rc = sqlite3_open_v2(path, &store->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		ret = rn_store_sql_fail(store, rc, "opening");
		goto err;
	}
	ret = rn_store_configure(store);
	if (!ret)
		ret = rn_store_migrate(store, path);
	if (!ret)
		ret = rn_store_load_ula(store);
	if (ret)
		goto err;
	*out = store;
	goto out;
err:
	log_error(MAIN, "%s", store->err);
	rn_store_close(store);
out:
	free(path);
	return ret;
}

void rn_store_close(struct rn_store *store)
{
	if (!store)
		return;
	sqlite3_close_v2(store->db);
	free(store);
}

void rn_store_ula_prefix(const struct rn_store *store, uint8_t out[RN_STORE_ULA_PREFIX_LEN])
{
	memcpy(out, store->ula, RN_STORE_ULA_PREFIX_LEN);
}

int rn_store_setting_get(struct rn_store *store, const char *key, char *out, size_t size)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = rn_store_prepare(store, "SELECT value FROM settings WHERE key = ?", &st);
	if (ret)
		return ret;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);

		if (snprintf(out, size, "%s", v ?: "") >= (int)size)
			ret = rn_store_fail(store, -ENOSPC, "setting \"%s\" is too long", key);
	} else if (rc == SQLITE_DONE) {
		ret = rn_store_fail(store, -ENOENT, "there is no setting \"%s\"", key);
	} else {
		ret = rn_store_sql_fail(store, rc, "reading a setting");
	}
	sqlite3_finalize(st);
	return ret;
}

/* Whether value is dns_records text as the store keeps it: parses, and is its own canonical form. */
static bool rn_store_dns_records_canonical(const char *value)
{
	struct rn_netmap_dns_record *v = calloc(RN_STORE_DNS_RECORDS_MAX, sizeof(*v));
	char *canon = malloc(RN_STORE_DNS_RECORDS_TEXT_MAX), err[160];
	size_t n;
	bool ok =
	    v && canon &&
	    !rn_store_dns_records_parse(value, v, RN_STORE_DNS_RECORDS_MAX, &n, err, sizeof(err));

	if (ok) {
		rn_store_dns_records_format(v, n, canon, RN_STORE_DNS_RECORDS_TEXT_MAX);
		ok = strcmp(canon, value) == 0;
	}
	free(v);
	free(canon);
	return ok;
}

/* Only the settings an admin may change; the ULA prefix and counters are the store's own. */
static bool rn_store_setting_writable(const char *key, const char *value)
{
	if (strcmp(key, "domain") == 0) {
		char label[RN_STORE_LABEL_MAX + 1];

		rn_store_dns_label(value, label);
		return strcmp(label, value) == 0;
	}
	if (strcmp(key, "dns_upstreams") == 0) {
		struct rn_store_ip ips[RN_STORE_DNS_UPSTREAMS_MAX];
		char canon[RN_STORE_DNS_UPSTREAMS_TEXT_MAX], err[128];
		size_t n;

		if (rn_store_dns_upstreams_parse(value, ips, RN_STORE_DNS_UPSTREAMS_MAX, &n, err,
						 sizeof(err)))
			return false;
		rn_store_dns_upstreams_format(ips, n, canon, sizeof(canon));
		return strcmp(canon, value) == 0;
	}
	if (strcmp(key, "dns_records") == 0)
		return rn_store_dns_records_canonical(value);
	if (strcmp(key, "stun_servers") == 0) {
		union rn_netmap_endpoint eps[RN_STORE_STUN_SERVERS_MAX];
		char canon[RN_STORE_STUN_SERVERS_TEXT_MAX], err[160];
		size_t n;

		if (rn_store_stun_servers_parse(value, eps, RN_STORE_STUN_SERVERS_MAX, &n, err,
						sizeof(err)))
			return false;
		rn_store_stun_servers_format(eps, n, canon, sizeof(canon));
		return strcmp(canon, value) == 0;
	}
	if (strcmp(key, RN_STORE_SETTING_KEY_EXPIRY) == 0) {
		char canon[24];
		long long s;

		/* seconds, 0 (off) or positive, in canonical decimal */
		if (sscanf(value, "%lld", &s) != 1 || s < 0)
			return false;
		snprintf(canon, sizeof(canon), "%lld", s);
		return strcmp(canon, value) == 0;
	}
	return false;
}

int rn_store_setting_set(struct rn_store *store, const char *actor, const char *key,
			 const char *value, int64_t now)
{
	sqlite3_stmt *st;
	int ret;

	if (!rn_store_setting_writable(key, value))
		return rn_store_fail(
		    store, -EINVAL,
		    "cannot set \"%s\" to \"%.80s\": only \"domain\" (a DNS "
		    "label: a-z 0-9 -), \"dns_upstreams\" (IP[,IP...]), \"stun_servers\" "
		    "(IP:PORT[,IP:PORT...]) and \"" RN_STORE_SETTING_KEY_EXPIRY
		    "\" (seconds) may be "
		    "set, in canonical form",
		    key, value);
	ret = rn_store_begin(store);
	if (ret)
		return ret;
	/* An upsert: stores made before a key existed lack its row. */
	ret = rn_store_prepare(store,
			       "INSERT INTO settings (key, value) VALUES (?, ?) "
			       "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			       &st);
	if (ret)
		goto err;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	ret = rn_store_step_done(store, st, "writing a setting");
	if (!ret)
		ret = rn_store_audit(store, actor, now, "setting.set",
				     json_pack("{s:s,s:s}", "key", key, "value", value));
	if (ret)
		goto err;
	return rn_store_commit(store);
err:
	rn_store_rollback(store);
	return ret;
}

int rn_store_next_version(struct rn_store *store, uint64_t *out)
{
	sqlite3_stmt *st;
	int ret, rc;

	/* In an IMMEDIATE transaction so that racing callers wait rather than fail, and no two
	 * ever see the same value. */
	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_store_prepare(store,
			       "UPDATE settings SET value = CAST(value AS INTEGER) + 1 "
			       "WHERE key = 'netmap_version' RETURNING CAST(value AS INTEGER)",
			       &st);
	if (ret)
		goto err;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(st, 0);
	else
		ret = rn_store_sql_fail(store, rc, "bumping the netmap version");
	sqlite3_finalize(st);
	if (ret)
		goto err;
	return rn_store_commit(store);
err:
	rn_store_rollback(store);
	return ret;
}

static bool rn_store_user_name_ok(const char *name)
{
	size_t len = strlen(name);
	size_t i;

	if (len == 0 || len > RN_STORE_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

int rn_store_user_add(struct rn_store *store, const char *actor, const char *name, int64_t now,
		      int64_t *id_out)
{
	sqlite3_stmt *st;
	int64_t id;
	int ret;

	if (!rn_store_user_name_ok(name))
		return rn_store_fail(store, -EINVAL,
				     "user name \"%.80s\" is empty, longer than %d "
				     "bytes or has control characters",
				     name, RN_STORE_NAME_MAX);
	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_store_prepare(store, "INSERT INTO users (name, created_at) VALUES (?, ?)", &st);
	if (ret)
		goto err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	ret = rn_store_step_done(store, st, "adding a user");
	if (ret == -EEXIST)
		ret = rn_store_fail(store, -EEXIST, "user \"%s\" already exists", name);
	if (ret)
		goto err;
	id = sqlite3_last_insert_rowid(store->db);
	ret = rn_store_audit(store, actor, now, "user.add",
			     json_pack("{s:I,s:s}", "id", (json_int_t)id, "name", name));
	if (ret)
		goto err;
	ret = rn_store_commit(store);
	if (!ret && id_out)
		*id_out = id;
	return ret;
err:
	rn_store_rollback(store);
	return ret;
}

int rn_store_user_set_role(struct rn_store *store, const char *actor, int64_t id, bool admin,
			   int64_t now)
{
	const char *role = admin ? "admin" : "member";
	sqlite3_stmt *st;
	int ret;

	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_store_prepare(store, "UPDATE users SET role = ? WHERE id = ?", &st);
	if (ret)
		goto err;
	sqlite3_bind_text(st, 1, role, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	ret = rn_store_step_done(store, st, "setting a user's role");
	if (!ret && sqlite3_changes(store->db) == 0)
		ret = rn_store_fail(store, -ENOENT, "no user with id %lld", (long long)id);
	if (!ret)
		ret = rn_store_audit(store, actor, now, "user.role",
				     json_pack("{s:I,s:s}", "id", (json_int_t)id, "role", role));
	if (ret)
		goto err;
	return rn_store_commit(store);
err:
	rn_store_rollback(store);
	return ret;
}

int rn_store_user_get_by_name(struct rn_store *store, const char *name, int64_t *id_out)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = rn_store_prepare(store, "SELECT id FROM users WHERE name = ?", &st);
	if (ret)
		return ret;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id_out = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		ret = rn_store_fail(store, -ENOENT, "there is no user \"%.80s\"", name);
	else
		ret = rn_store_sql_fail(store, rc, "looking up a user");
	sqlite3_finalize(st);
	return ret;
}

int rn_store_user_list(struct rn_store *store, struct rn_store_user **out, size_t *n_out)
{
	struct rn_store_user *users = NULL, *grown;
	sqlite3_stmt *st;
	size_t n = 0;
	int ret, rc;

	*out = NULL;
	*n_out = 0;
	ret = rn_store_prepare(store, "SELECT id, name, created_at, role FROM users ORDER BY id",
			       &st);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);

		grown = realloc(users, (n + 1) * sizeof(*users));
		if (!grown || !(grown[n].name = strdup(name ? name : ""))) {
			users = grown ? grown : users;
			ret = rn_store_fail(store, -ENOMEM, "out of memory listing users");
			goto out;
		}
		users = grown;
		users[n].id = sqlite3_column_int64(st, 0);
		users[n].admin = !strcmp((const char *)sqlite3_column_text(st, 3) ?: "", "admin");
		users[n++].created_at = sqlite3_column_int64(st, 2);
	}
	if (rc != SQLITE_DONE)
		ret = rn_store_sql_fail(store, rc, "listing users");
out:
	sqlite3_finalize(st);
	if (ret) {
		rn_store_user_list_free(users, n);
		return ret;
	}
	*out = users;
	*n_out = n;
	return 0;
}

void rn_store_user_list_free(struct rn_store_user *users, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(users[i].name);
	free(users);
}

int rn_store_policy_set(struct rn_store *store, const char *actor, const char *text, int64_t now)
{
	return rn_store_policy_set_if(store, actor, text, -1, now);
}

/* The one integer sql (fixed text, no parameters) returns, into *out. */
static int rn_store_int64(struct rn_store *store, const char *sql, const char *what, int64_t *out)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = rn_store_prepare(store, sql, &st);
	if (ret)
		return ret;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		ret = rn_store_sql_fail(store, rc, what);
	sqlite3_finalize(st);
	return ret;
}

int rn_store_policy_set_if(struct rn_store *store, const char *actor, const char *text,
			   int64_t expect_rev, int64_t now)
{
	sqlite3_stmt *st;
	int64_t rev = 0;
	int ret;

	ret = rn_store_begin(store);
	if (ret)
		return ret;
	/* checked in the write transaction, so no other writer can slip in between */
	if (expect_rev >= 0) {
		ret = rn_store_int64(store, "SELECT coalesce(max(rev), 0) FROM policy",
				     "reading the policy revision", &rev);
		if (!ret && rev != expect_rev)
			ret = rn_store_fail(store, -ESTALE,
					    "the policy is at revision %lld, not %lld: someone "
					    "changed it; get it again and redo the change",
					    (long long)rev, (long long)expect_rev);
		if (ret)
			goto err;
	}
	ret = rn_store_prepare(
	    store, "INSERT INTO policy (text, created_at, actor) VALUES (?, ?, ?)", &st);
	if (ret)
		goto err;
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, actor ? actor : "", -1, SQLITE_STATIC);
	ret = rn_store_step_done(store, st, "saving the policy");
	if (!ret)
		ret = rn_store_audit(store, actor, now, "policy.set",
				     json_pack("{s:I,s:I}", "rev",
					       (json_int_t)sqlite3_last_insert_rowid(store->db),
					       "bytes", (json_int_t)strlen(text)));
	if (ret)
		goto err;
	return rn_store_commit(store);
err:
	rn_store_rollback(store);
	return ret;
}

int rn_store_policy_get(struct rn_store *store, char **text_out, int64_t *rev_out)
{
	sqlite3_stmt *st;
	int ret, rc;

	*text_out = NULL;
	*rev_out = 0;
	ret =
	    rn_store_prepare(store, "SELECT rev, text FROM policy ORDER BY rev DESC LIMIT 1", &st);
	if (ret)
		return ret;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*rev_out = sqlite3_column_int64(st, 0);
		*text_out = strdup((const char *)sqlite3_column_text(st, 1) ?: "");
		if (!*text_out)
			ret = rn_store_fail(store, -ENOMEM, "out of memory");
	} else if (rc != SQLITE_DONE) {
		ret = rn_store_sql_fail(store, rc, "reading the policy");
	}
	sqlite3_finalize(st);
	return ret;
}

/* Steps st (id, time, actor, action, details) to its end into *out, then finalizes it. */
static int rn_store_audit_rows(struct rn_store *store, sqlite3_stmt *st,
			       struct rn_store_audit **out, size_t *n_out)
{
	struct rn_store_audit *v = NULL, *e;
	size_t n = 0;
	int ret = 0, rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e = realloc(v, (n + 1) * sizeof(*v));
		if (!e) {
			ret = rn_store_fail(store, -ENOMEM, "out of memory");
			break;
		}
		v = e;
		e = &v[n++];
		e->id = sqlite3_column_int64(st, 0);
		e->time = sqlite3_column_int64(st, 1);
		e->actor = rn_store_column_dup(st, 2);
		e->action = rn_store_column_dup(st, 3);
		e->details = rn_store_column_dup(st, 4);
		if (!e->actor || !e->action || !e->details) {
			ret = rn_store_fail(store, -ENOMEM, "out of memory");
			break;
		}
	}
	if (!ret && rc != SQLITE_DONE)
		ret = rn_store_sql_fail(store, rc, "reading the audit log");
	sqlite3_finalize(st);
	if (ret) {
		rn_store_audit_list_free(v, n);
		return ret;
	}
	*out = v;
	*n_out = n;
	return 0;
}

int rn_store_audit_list(struct rn_store *store, int64_t after_id, size_t max,
			struct rn_store_audit **out, size_t *n_out)
{
	sqlite3_stmt *st;
	int ret;

	*out = NULL;
	*n_out = 0;
	ret = rn_store_prepare(store,
			       "SELECT id, time, actor, action, details FROM audit WHERE id > ? "
			       "ORDER BY id LIMIT ?",
			       &st);
	if (ret)
		return ret;
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, (int64_t)(max > INT64_MAX ? INT64_MAX : max));
	return rn_store_audit_rows(store, st, out, n_out);
}

int rn_store_audit_page(struct rn_store *store, int64_t since, int64_t before_id, size_t max,
			struct rn_store_audit **out, size_t *n_out)
{
	sqlite3_stmt *st;
	int ret;

	*out = NULL;
	*n_out = 0;
	ret = rn_store_prepare(store,
			       "SELECT id, time, actor, action, details FROM audit "
			       "WHERE time >= ? AND (? <= 0 OR id < ?) ORDER BY id DESC LIMIT ?",
			       &st);
	if (ret)
		return ret;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, before_id);
	sqlite3_bind_int64(st, 3, before_id);
	sqlite3_bind_int64(st, 4, (int64_t)(max > INT64_MAX ? INT64_MAX : max));
	return rn_store_audit_rows(store, st, out, n_out);
}

void rn_store_audit_list_free(struct rn_store_audit *entries, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(entries[i].actor);
		free(entries[i].action);
		free(entries[i].details);
	}
	free(entries);
}

int rn_store_audit_last_id(struct rn_store *store, int64_t *id_out)
{
	return rn_store_int64(store, "SELECT coalesce(max(id), 0) FROM audit",
			      "reading the audit log", id_out);
}
