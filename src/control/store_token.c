/* SPDX-License-Identifier: MIT */
/*
 * Admin API tokens: bearer secrets for /admin/v1/, each with a name, a scope and an expiry. The
 * secret carries a lookup id in clear, so a check finds its row by that id and then compares the
 * SHA-256 of the whole secret in constant time: no lookup by secret, no early exit on a prefix.
 * The secret never reaches a log, an error message, the audit log or the database.
 */
#include "control/store_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/authkey_format.h"

#define RN_TOKEN_PREFIX "rnadm_"

enum {
	RN_TOKEN_PREFIX_LEN = sizeof(RN_TOKEN_PREFIX) - 1,
	RN_TOKEN_LOOKUP_BYTES = 8, /* random bytes of the clear lookup id */
	RN_TOKEN_LOOKUP_LEN = 2 * RN_TOKEN_LOOKUP_BYTES,
	RN_TOKEN_SECRET_BYTES = 32,
};
_Static_assert(RN_STORE_TOKEN_SIZE ==
		   RN_TOKEN_PREFIX_LEN + RN_TOKEN_LOOKUP_LEN + 1 + RN_AUTHKEY_B64_LEN + 1,
	       "the token's layout");

static const char *const rn_token_scopes[] = {
	[RN_STORE_TOKEN_READ] = "read",
	[RN_STORE_TOKEN_WRITE] = "write",
	[RN_STORE_TOKEN_KEYS] = "keys",
};

const char *rn_store_token_scope_name(enum rn_store_token_scope scope)
{
	return (size_t)scope < sizeof(rn_token_scopes) / sizeof(rn_token_scopes[0])
		   ? rn_token_scopes[scope]
		   : "?";
}

bool rn_store_token_scope_parse(const char *text, enum rn_store_token_scope *out)
{
	for (size_t i = 0; i < sizeof(rn_token_scopes) / sizeof(rn_token_scopes[0]); i++) {
		if (!strcmp(text, rn_token_scopes[i])) {
			*out = (enum rn_store_token_scope)i;
			return true;
		}
	}
	return false;
}

static bool rn_token_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > RN_STORE_TOKEN_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static bool rn_token_hex_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The secret's shape: prefix, lookup id, '_', base64url of 32 bytes. */
static bool rn_token_format_ok(const char *secret)
{
	uint8_t raw[RN_TOKEN_SECRET_BYTES];
	const char *b64 = secret + RN_TOKEN_PREFIX_LEN + RN_TOKEN_LOOKUP_LEN + 1;
	bool ok;

	if (strnlen(secret, RN_STORE_TOKEN_SIZE) != RN_STORE_TOKEN_SIZE - 1 ||
	    strncmp(secret, RN_TOKEN_PREFIX, RN_TOKEN_PREFIX_LEN) != 0 ||
	    !rn_token_hex_ok(secret + RN_TOKEN_PREFIX_LEN, RN_TOKEN_LOOKUP_LEN) || b64[-1] != '_')
		return false;
	ok = rn_authkey_b64_decode(b64, RN_AUTHKEY_B64_LEN, raw);
	OPENSSL_cleanse(raw, sizeof(raw));
	return ok;
}

static int rn_token_generate(struct rn_store *store, char out[RN_STORE_TOKEN_SIZE])
{
	uint8_t lookup[RN_TOKEN_LOOKUP_BYTES], raw[RN_TOKEN_SECRET_BYTES];
	char b64[RN_AUTHKEY_B64_LEN + 1];
	int ret = 0;

	if (RAND_bytes(lookup, sizeof(lookup)) != 1 || RAND_bytes(raw, sizeof(raw)) != 1) {
		ret = rn_store_fail(store, -EIO, "no randomness for an admin token");
		goto out;
	}
	rn_authkey_b64_encode(raw, b64);
	memcpy(out, RN_TOKEN_PREFIX, RN_TOKEN_PREFIX_LEN);
	for (size_t i = 0; i < sizeof(lookup); i++)
		snprintf(out + RN_TOKEN_PREFIX_LEN + 2 * i, 3, "%02x", lookup[i]);
	out[RN_TOKEN_PREFIX_LEN + RN_TOKEN_LOOKUP_LEN] = '_';
	memcpy(out + RN_TOKEN_PREFIX_LEN + RN_TOKEN_LOOKUP_LEN + 1, b64, sizeof(b64));
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(b64, sizeof(b64));
	return ret;
}

int rn_store_token_create(struct rn_store *store, const char *actor, const char *name,
			  enum rn_store_token_scope scope, int64_t expires_at, int64_t now,
			  char secret_out[RN_STORE_TOKEN_SIZE], int64_t *id_out)
{
	uint8_t hash[RN_STORE_SECRET_HASH_LEN];
	char secret[RN_STORE_TOKEN_SIZE], lookup[RN_TOKEN_LOOKUP_LEN + 1];
	sqlite3_stmt *st;
	int64_t id = 0;
	int ret;

	if (!rn_token_name_ok(name))
		return rn_store_fail(store, -EINVAL,
				     "token name \"%.80s\" is not 1-%d of a-z A-Z 0-9 . _ -", name,
				     RN_STORE_TOKEN_NAME_MAX);
	if (expires_at < 0 || (expires_at && expires_at <= now))
		return rn_store_fail(store, -EINVAL,
				     "expiry %lld is not in the future: give a later time, or 0 "
				     "for a token that never expires",
				     (long long)expires_at);
	ret = rn_token_generate(store, secret);
	if (!ret)
		ret = rn_store_secret_hash(store, secret, hash);
	if (ret)
		goto out;
	memcpy(lookup, secret + RN_TOKEN_PREFIX_LEN, RN_TOKEN_LOOKUP_LEN);
	lookup[RN_TOKEN_LOOKUP_LEN] = '\0';
	ret = rn_store_begin(store);
	if (ret)
		goto out;
	ret = rn_store_prepare(store,
			       "INSERT INTO admin_tokens (name, scope, lookup, secret_hash, "
			       "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
			       &st);
	if (ret)
		goto err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rn_store_token_scope_name(scope), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, lookup, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, expires_at);
	ret = rn_store_step_done(store, st, "adding an admin token");
	if (ret == -EEXIST)
		ret = rn_store_fail(store, -EEXIST,
				    "an admin token named \"%s\" already exists: revoke it or "
				    "choose another name",
				    name);
	if (ret)
		goto err;
	id = sqlite3_last_insert_rowid(store->db);
	ret = rn_store_audit(store, actor, now, "token.create",
			     json_pack("{s:I,s:s,s:s,s:I}", "id", (json_int_t)id, "name", name,
				       "scope", rn_store_token_scope_name(scope), "expires_at",
				       (json_int_t)expires_at));
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
	OPENSSL_cleanse(hash, sizeof(hash));
	return ret;
}

static void rn_token_row(sqlite3_stmt *st, struct rn_store_token *t)
{
	const char *name = (const char *)sqlite3_column_text(st, 1);
	const char *scope = (const char *)sqlite3_column_text(st, 2);

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
	if (!scope || !rn_store_token_scope_parse(scope, &t->scope))
		t->scope = RN_STORE_TOKEN_READ; /* the CHECK forbids it; the least power */
	t->created_at = sqlite3_column_int64(st, 3);
	t->expires_at = sqlite3_column_int64(st, 4);
	t->revoked_at = sqlite3_column_int64(st, 5);
	t->last_used = sqlite3_column_int64(st, 6);
}

#define RN_TOKEN_COLUMNS "id, name, scope, created_at, expires_at, revoked_at, last_used"

int rn_store_token_list(struct rn_store *store, struct rn_store_token **out, size_t *n_out)
{
	struct rn_store_token *v = NULL, *grown;
	sqlite3_stmt *st;
	size_t n = 0;
	int ret, rc;

	*out = NULL;
	*n_out = 0;
	ret = rn_store_prepare(store, "SELECT " RN_TOKEN_COLUMNS " FROM admin_tokens ORDER BY id",
			       &st);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		grown = realloc(v, (n + 1) * sizeof(*v));
		if (!grown) {
			ret = rn_store_fail(store, -ENOMEM, "out of memory listing admin tokens");
			break;
		}
		v = grown;
		rn_token_row(st, &v[n++]);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = rn_store_sql_fail(store, rc, "listing admin tokens");
	sqlite3_finalize(st);
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	*n_out = n;
	return 0;
}

int rn_store_token_revoke(struct rn_store *store, const char *actor, const char *name, int64_t now)
{
	sqlite3_stmt *st;
	int64_t id = 0, revoked = 0;
	int ret, rc;

	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret =
	    rn_store_prepare(store, "SELECT id, revoked_at FROM admin_tokens WHERE name = ?", &st);
	if (ret)
		goto err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		revoked = sqlite3_column_int64(st, 1);
	} else if (rc == SQLITE_DONE) {
		ret = rn_store_fail(store, -ENOENT, "there is no admin token \"%.80s\"", name);
	} else {
		ret = rn_store_sql_fail(store, rc, "looking up an admin token");
	}
	sqlite3_finalize(st);
	if (!ret && revoked)
		ret =
		    rn_store_fail(store, -EALREADY, "admin token \"%s\" is already revoked", name);
	if (ret)
		goto err;
	ret = rn_store_prepare(store, "UPDATE admin_tokens SET revoked_at = ? WHERE id = ?", &st);
	if (ret)
		goto err;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	ret = rn_store_step_done(store, st, "revoking an admin token");
	if (!ret)
		ret = rn_store_audit(store, actor, now, "token.revoke",
				     json_pack("{s:I,s:s}", "id", (json_int_t)id, "name", name));
	if (ret)
		goto err;
	return rn_store_commit(store);
err:
	rn_store_rollback(store);
	return ret;
}

/* Notes the use, to the minute: a write per call would cost a sync per read. */
static void rn_token_touch(struct rn_store *store, const struct rn_store_token *t, int64_t now)
{
	sqlite3_stmt *st;

	if (now - t->last_used < RN_STORE_TOKEN_LAST_USED_S)
		return;
	if (rn_store_prepare(store, "UPDATE admin_tokens SET last_used = ? WHERE id = ?", &st))
		return;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, t->id);
	rn_store_step_done(store, st, "noting an admin token's use");
}

int rn_store_token_check(struct rn_store *store, const char *secret, int64_t now,
			 struct rn_store_token *out)
{
	uint8_t hash[RN_STORE_SECRET_HASH_LEN], want[RN_STORE_SECRET_HASH_LEN];
	char lookup[RN_TOKEN_LOOKUP_LEN + 1];
	sqlite3_stmt *st;
	bool found = false;
	int ret, rc;

	memset(out, 0, sizeof(*out));
	if (!rn_token_format_ok(secret))
		return rn_store_fail(store, -EACCES, "not an admin token (rnadm_...)");
	memcpy(lookup, secret + RN_TOKEN_PREFIX_LEN, RN_TOKEN_LOOKUP_LEN);
	lookup[RN_TOKEN_LOOKUP_LEN] = '\0';
	ret = rn_store_secret_hash(store, secret, hash);
	if (ret)
		return ret;
	ret = rn_store_prepare(store,
			       "SELECT " RN_TOKEN_COLUMNS ", secret_hash FROM admin_tokens "
			       "WHERE lookup = ?",
			       &st);
	if (ret)
		return ret;
	sqlite3_bind_text(st, 1, lookup, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 7) == RN_STORE_SECRET_HASH_LEN) {
		memcpy(want, sqlite3_column_blob(st, 7), sizeof(want));
		rn_token_row(st, out);
		found = true;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = rn_store_sql_fail(store, rc, "looking up an admin token");
	}
	sqlite3_finalize(st);
	if (ret)
		return ret;
	if (!found || CRYPTO_memcmp(hash, want, sizeof(hash)) != 0)
		ret = rn_store_fail(store, -EACCES, "unknown admin token");
	else if (out->revoked_at)
		ret = rn_store_fail(store, -EACCES, "admin token \"%s\" is revoked", out->name);
	else if (out->expires_at && out->expires_at <= now)
		ret = rn_store_fail(store, -EACCES, "admin token \"%s\" has expired", out->name);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (ret) {
		memset(out, 0, sizeof(*out));
		return ret;
	}
	rn_token_touch(store, out, now);
	return 0;
}
