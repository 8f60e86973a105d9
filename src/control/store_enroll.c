/* SPDX-License-Identifier: MIT */
/*
 * An enrollment as one transaction: the auth key's use, the node's row and its token commit
 * together or not at all. Apart, a failure after the key was used (a full address range, a
 * refused re-enrollment, a busy database) used up a single-use key for nothing.
 */
#include "control/store_priv.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

int rn_store_enroll(struct rn_store *store, const struct rn_store_enrollment *req, int64_t now,
		    struct rn_store_authkey_use *use, struct rn_store_node *out,
		    char token_out[RN_STORE_NODE_TOKEN_SIZE], bool *reenrolled_out)
{
	uint8_t hash[RN_STORE_SECRET_HASH_LEN];
	char token[RN_STORE_NODE_TOKEN_SIZE];
	struct rn_store_node nd;
	bool reenrolled = false;
	int ret, refused = 0;

	memset(use, 0, sizeof(*use));
	memset(out, 0, sizeof(*out));
	if (!req->auth_key || !rn_store_secret_format_ok(req->auth_key, "rnk_"))
		return rn_store_fail(store, -EINVAL,
				     "that is not an auth key: keys are \"rnk_\" and %d more "
				     "letters; copy the whole key",
				     RN_STORE_AUTHKEY_SECRET_SIZE - 1 - 4);
	ret = rn_store_secret_hash(store, req->auth_key, hash);
	if (ret)
		return ret;
	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_store_authkey_use_tx(store, hash, now, use, &refused);
	if (ret)
		goto err;
	if (refused) {
		/* keeps the refusal's audit entry: that is how a leaked key shows up */
		ret = rn_store_commit(store);
		return ret ? ret : refused;
	}
	ret = rn_store_node_enroll_tx(store, "authkey",
				      &(struct rn_store_node_enroll){ .hostname = req->hostname,
								      .user_id = use->user_id,
								      .public_key = req->public_key,
								      .tags = use->tags,
								      .ephemeral = use->ephemeral },
				      now, &reenrolled);
	if (!ret)
		ret = rn_store_node_get_by_key(store, req->public_key, &nd);
	if (ret)
		goto err;
	ret = rn_store_node_set_token(store, nd.id, token);
	if (!ret)
		ret = rn_store_commit(store);
	if (ret) {
		rn_store_node_clear(&nd);
		goto err;
	}
	*out = nd;
	memcpy(token_out, token, sizeof(token));
	if (reenrolled_out)
		*reenrolled_out = reenrolled;
	OPENSSL_cleanse(token, sizeof(token));
	return 0;
err:
	rn_store_rollback(store); /* nothing to do when a failed commit has rolled back */
	OPENSSL_cleanse(token, sizeof(token));
	rn_store_authkey_use_clear(use);
	return ret;
}
