/* SPDX-License-Identifier: MIT */
/* Auth keys: made here, shown once, stored only as SHA-256, used up atomically, every use
 * audited. The secret never reaches a log, an error message or the database. */
#include "control/store_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define RN_AUTHKEY_PREFIX "rnk_"

enum {
	RN_AUTHKEY_MAX_TAGS = 64,
};

static bool rn_authkey_tag_ok(const char *tag)
{
	size_t i, len = strlen(tag);

	if (len <= 4 || len > 4 + RN_STORE_LABEL_MAX || strncmp(tag, "tag:", 4) != 0)
		return false;
	for (i = 4; i < len; i++) {
		char c = tag[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

int rn_store_authkey_create(struct rn_store *store, const char *actor, int64_t user_id,
			    unsigned flags, int64_t expires_at, const char *tags, int64_t now,
			    char secret_out[RN_STORE_AUTHKEY_SECRET_SIZE], int64_t *id_out)
{
	uint8_t hash[RN_STORE_SECRET_HASH_LEN];
	char secret[RN_STORE_AUTHKEY_SECRET_SIZE];
	bool reusable = flags & RN_STORE_AUTHKEY_REUSABLE;
	bool ephemeral = flags & RN_STORE_AUTHKEY_EPHEMERAL;
	char *norm_tags = NULL;
	sqlite3_stmt *st;
	int64_t id;
	int ret;

	if (expires_at < 0)
		return rn_store_fail(store, -EINVAL,
				     "expiry %lld is negative: give a Unix time, "
				     "or 0 for a key that never expires",
				     (long long)expires_at);
	ret = rn_store_json_strings(store, "auth key tags", tags, rn_authkey_tag_ok,
				    RN_AUTHKEY_MAX_TAGS, &norm_tags);
	if (ret)
		return ret;
	ret = rn_store_secret_generate(store, RN_AUTHKEY_PREFIX, secret);
	if (!ret)
		ret = rn_store_secret_hash(store, secret, hash);
	if (ret)
		goto out;
	ret = rn_store_begin(store);
	if (ret)
		goto out;
	ret =
	    rn_store_prepare(store,
			     "INSERT INTO authkeys (key_hash, user_id, reusable, expires_at, tags, "
			     "created_at, ephemeral) VALUES (?, ?, ?, ?, ?, ?, ?)",
			     &st);
	if (ret)
		goto err;
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, user_id);
	sqlite3_bind_int(st, 3, reusable);
	sqlite3_bind_int64(st, 4, expires_at);
	sqlite3_bind_text(st, 5, norm_tags, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int(st, 7, ephemeral);
	ret = rn_store_step_done(store, st, "creating an auth key");
	if (ret == -EEXIST) /* the only constraint left once the hash is random: the user */
		ret = rn_store_fail(store, -ENOENT, "there is no user with id %lld",
				    (long long)user_id);
	if (ret)
		goto err;
	id = sqlite3_last_insert_rowid(store->db);
	ret = rn_store_audit(store, actor, now, "authkey.create",
			     json_pack("{s:I,s:I,s:b,s:b,s:I,s:o}", "id", (json_int_t)id, "user_id",
				       (json_int_t)user_id, "reusable", reusable, "ephemeral",
				       ephemeral, "expires_at", (json_int_t)expires_at, "tags",
				       json_loads(norm_tags, 0, NULL)));
	if (ret)
		goto err;
	ret = rn_store_commit(store);
	if (ret)
		goto out;
	memcpy(secret_out, secret, sizeof(secret));
	if (id_out)
		*id_out = id;
	goto out;
err:
	rn_store_rollback(store);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	free(norm_tags);
	return ret;
}

void rn_store_authkey_list_free(struct rn_store_authkey *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(keys[i].tags);
	free(keys);
}

int rn_store_authkey_list(struct rn_store *store, struct rn_store_authkey **out, size_t *n_out)
{
	struct rn_store_authkey *v = NULL, *k;
	sqlite3_stmt *st;
	size_t n = 0;
	int ret, rc;

	*out = NULL;
	*n_out = 0;
	ret = rn_store_prepare(store,
			       "SELECT id, user_id, reusable, expires_at, tags, created_at, "
			       "revoked_at, used_count, ephemeral FROM authkeys ORDER BY id",
			       &st);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		k = realloc(v, (n + 1) * sizeof(*v));
		if (!k) {
			ret = rn_store_fail(store, -ENOMEM, "out of memory");
			break;
		}
		v = k;
		k = &v[n++];
		k->id = sqlite3_column_int64(st, 0);
		k->user_id = sqlite3_column_int64(st, 1);
		k->reusable = sqlite3_column_int(st, 2) != 0;
		k->ephemeral = sqlite3_column_int(st, 8) != 0;
		k->expires_at = sqlite3_column_int64(st, 3);
		k->tags = rn_store_column_dup(st, 4);
		k->created_at = sqlite3_column_int64(st, 5);
		k->revoked_at = sqlite3_column_int64(st, 6);
		k->used_count = sqlite3_column_int64(st, 7);
		if (!k->tags) {
			ret = rn_store_fail(store, -ENOMEM, "out of memory");
			break;
		}
	}
	if (!ret && rc != SQLITE_DONE)
		ret = rn_store_sql_fail(store, rc, "listing auth keys");
	sqlite3_finalize(st);
	if (ret) {
		rn_store_authkey_list_free(v, n);
		return ret;
	}
	*out = v;
	*n_out = n;
	return 0;
}

/* Revoking a revoked key changes nothing and returns 0 without a new audit entry. */
int rn_store_authkey_revoke(struct rn_store *store, const char *actor, int64_t id, int64_t now)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_store_prepare(store, "SELECT revoked_at FROM authkeys WHERE id = ?", &st);
	if (ret)
		goto err;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		ret = rn_store_fail(store, -ENOENT,
				    "there is no auth key with id %lld: see the "
				    "list of keys",
				    (long long)id);
	else if (rc != SQLITE_ROW)
		ret = rn_store_sql_fail(store, rc, "revoking an auth key");
	else if (sqlite3_column_int64(st, 0) != 0)
		ret = 1;
	sqlite3_finalize(st);
	if (ret)
		goto err;
	ret = rn_store_prepare(store, "UPDATE authkeys SET revoked_at = ? WHERE id = ?", &st);
	if (ret)
		goto err;
	sqlite3_bind_int64(st, 1, now > 0 ? now : 1);
	sqlite3_bind_int64(st, 2, id);
	ret = rn_store_step_done(store, st, "revoking an auth key");
	if (!ret)
		ret = rn_store_audit(store, actor, now, "authkey.revoke",
				     json_pack("{s:I}", "id", (json_int_t)id));
	if (ret)
		goto err;
	return rn_store_commit(store);
err:
	rn_store_rollback(store);
	return ret > 0 ? 0 : ret;
}

void rn_store_authkey_use_clear(struct rn_store_authkey_use *use)
{
	free(use->tags);
	memset(use, 0, sizeof(*use));
}

/* Why a known key may not be used now, or NULL if it may. */
static const char *rn_authkey_refusal(sqlite3_stmt *st, int64_t now, int *err)
{
	bool reusable = sqlite3_column_int(st, 2) != 0;
	int64_t expires_at = sqlite3_column_int64(st, 3);

	if (sqlite3_column_int64(st, 4) != 0) {
		*err = -EKEYREVOKED;
		return "revoked";
	}
	if (expires_at != 0 && now >= expires_at) {
		*err = -EKEYEXPIRED;
		return "expired";
	}
	if (!reusable && sqlite3_column_int64(st, 5) > 0) {
		*err = -EKEYREJECTED;
		return "used";
	}
	return NULL;
}

static int rn_authkey_mark_used(struct rn_store *store, int64_t id)
{
	sqlite3_stmt *st;
	int ret;

	ret = rn_store_prepare(store,
			       "UPDATE authkeys SET used_count = used_count + 1 WHERE id = ?", &st);
	if (ret)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	return rn_store_step_done(store, st, "using an auth key");
}

int rn_store_authkey_use_tx(struct rn_store *store, const uint8_t hash[RN_STORE_SECRET_HASH_LEN],
			    int64_t now, struct rn_store_authkey_use *out, int *refused)
{
	const char *refusal;
	sqlite3_stmt *st;
	int ret, rc;
	int64_t id;

	memset(out, 0, sizeof(*out));
	*refused = 0;
	ret = rn_store_prepare(store,
			       "SELECT id, user_id, reusable, expires_at, revoked_at, used_count, "
			       "tags, ephemeral FROM authkeys WHERE key_hash = ?",
			       &st);
	if (ret)
		return ret;
	sqlite3_bind_blob(st, 1, hash, RN_STORE_SECRET_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		ret =
		    rn_store_fail(store, -ENOENT, "unknown auth key: ask the admin for a new one");
	else if (rc != SQLITE_ROW)
		ret = rn_store_sql_fail(store, rc, "looking up an auth key");
	if (ret) {
		sqlite3_finalize(st);
		return ret;
	}
	id = sqlite3_column_int64(st, 0);
	refusal = rn_authkey_refusal(st, now, refused);
	if (!refusal) {
		out->key_id = id;
		out->user_id = sqlite3_column_int64(st, 1);
		out->tags = rn_store_column_dup(st, 6);
		out->ephemeral = sqlite3_column_int(st, 7) != 0;
		ret = out->tags ? rn_authkey_mark_used(store, id)
				: rn_store_fail(store, -ENOMEM, "out of memory");
	}
	sqlite3_finalize(st);
	/* Refused uses of a known key are audited too: they are how a leaked key shows up. */
	if (!ret)
		ret = rn_store_audit(store, "authkey", now, "authkey.consume",
				     json_pack("{s:I,s:s}", "id", (json_int_t)id, "result",
					       refusal ? refusal : "ok"));
	if (!ret && refusal)
		rn_store_fail(store, *refused, "auth key %lld is %s: ask the admin for a new one",
			      (long long)id, refusal);
	if (ret || refusal)
		rn_store_authkey_use_clear(out);
	return ret;
}

int rn_store_authkey_consume(struct rn_store *store, const char *secret, int64_t now,
			     struct rn_store_authkey_use *out)
{
	uint8_t hash[RN_STORE_SECRET_HASH_LEN];
	int ret, refused = 0;

	memset(out, 0, sizeof(*out));
	if (!rn_store_secret_format_ok(secret, RN_AUTHKEY_PREFIX))
		return rn_store_fail(store, -EINVAL,
				     "that is not an auth key: keys are \"%s\" and "
				     "%d more letters; copy the whole key",
				     RN_AUTHKEY_PREFIX, RN_STORE_AUTHKEY_SECRET_SIZE - 1 - 4);
	ret = rn_store_secret_hash(store, secret, hash);
	if (ret)
		return ret;
	/* IMMEDIATE: the check and the mark happen under the write lock, so a second consumer
	 * of a single-use key waits for the first to commit and then sees it used. */
	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_store_authkey_use_tx(store, hash, now, out, &refused);
	if (ret) {
		rn_store_rollback(store);
		return ret;
	}
	ret = rn_store_commit(store);
	if (!ret && refused)
		ret = refused; /* its message was set, and a commit that works keeps it */
	if (ret)
		rn_store_authkey_use_clear(out);
	return ret;
}
