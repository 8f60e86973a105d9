/* SPDX-License-Identifier: MIT */
/* Internals shared by the SQLite store's files: the handle, errors, transactions, audit. */
#ifndef RN_CONTROL_STORE_PRIV_H
#define RN_CONTROL_STORE_PRIV_H

#include <jansson.h>
#include <sqlite3.h>

#include "control/store.h"

struct rn_store {
	sqlite3 *db;
	uint8_t ula[RN_STORE_ULA_PREFIX_LEN];
	char err[512];
};

/* Records a message for rn_store_errmsg() and returns err (a -errno). */
int rn_store_fail(struct rn_store *store, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps a SQLite result code to -errno and records what failed, with SQLite's own words. */
int rn_store_sql_fail(struct rn_store *store, int rc, const char *what);
int rn_store_prepare(struct rn_store *store, const char *sql, sqlite3_stmt **out);
/* Runs a statement that returns no rows, then finalizes it. */
int rn_store_step_done(struct rn_store *store, sqlite3_stmt *st, const char *what);

/* BEGIN IMMEDIATE: takes the write lock up front, so a transaction never fails half-way on
 * SQLITE_BUSY when a reader turns writer; the busy timeout does the waiting. */
int rn_store_begin(struct rn_store *store);
int rn_store_commit(struct rn_store *store);
void rn_store_rollback(struct rn_store *store);

/* Appends an audit entry inside the caller's transaction. Takes ownership of details. */
int rn_store_audit(struct rn_store *store, const char *actor, int64_t now, const char *action,
		   json_t *details);

/* Checks text is a JSON array of strings each passing check (NULL: any), at most max of them,
 * and returns it re-encoded compactly (malloc'd). NULL text is the empty array. */
int rn_store_json_strings(struct rn_store *store, const char *what, const char *text,
			  bool (*check)(const char *), size_t max, char **out);
/* Secrets (store_secret.c): PREFIX + base64url of 32 random bytes, kept only as SHA-256. */
bool rn_store_secret_format_ok(const char *secret, const char *prefix);
int rn_store_secret_hash(struct rn_store *store, const char *secret,
			 uint8_t hash[RN_STORE_SECRET_HASH_LEN]);
int rn_store_secret_generate(struct rn_store *store, const char *prefix,
			     char out[RN_STORE_SECRET_SIZE]);

/* Inside the caller's transaction: rn_store_authkey_consume's check, use and audit of the key
 * whose SHA-256 is hash. 0 with *refused 0: used; 0 with *refused a -errno: refused, audited, the
 * message set; < 0: failed, roll back. */
int rn_store_authkey_use_tx(struct rn_store *store, const uint8_t hash[RN_STORE_SECRET_HASH_LEN],
			    int64_t now, struct rn_store_authkey_use *out, int *refused);
/* Inside the caller's transaction: rn_store_node_add's work. */
int rn_store_node_enroll_tx(struct rn_store *store, const char *actor,
			    const struct rn_store_node_enroll *req, int64_t now,
			    bool *reenrolled_out);

/* A malloc'd copy of a text column ("[]" when NULL), or NULL when out of memory. */
char *rn_store_column_dup(sqlite3_stmt *st, int col);

#endif
