/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control authkey create|list|revoke`. The key printed by create is the rnk1 text of
 * authkey_format.h: the store's secret with the server's TLS pin and netmap signing key, so that
 * `rustynet up --server URL --auth-key KEY` is all a node needs to trust the server.
 */
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netmap/netmap.h"
#include "common/authkey_format.h"
#include "rustynet-control/ctl.h"
#include "rustynet-control/duration.h"

/* What a node needs to trust this server, as auth keys carry it. */
static int rn_authkey_server_id(const char *state, struct rn_authkey *key, char *err, size_t errlen)
{
	char path[4096], kerr[256] = "";
	int ret;

	snprintf(path, sizeof(path), "%s/%s", state, RN_CTL_TLS_CERT);
	ret = rn_ctl_tls_pin(path, key->tls_pin);
	if (ret) {
		snprintf(err, errlen, "reading the TLS certificate's pin: %s", strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof(path), "%s/%s", state, RN_CTL_SIGN_PUB);
	ret = rn_netmap_key_load(path, RN_NETMAP_KEY_PUBLIC, key->netmap_pub, kerr, sizeof(kerr));
	if (ret)
		snprintf(err, errlen, "reading the netmap signing key: %s",
			 kerr[0] ? kerr : strerror(-ret));
	return ret;
}

int rn_ctl_authkey_make(struct rn_store *store, const char *state, const char *actor,
			struct rn_ctl_authkey_req *req, int64_t now, char *text, size_t text_size,
			int64_t *id, char *err, size_t errlen)
{
	struct rn_authkey key = { 0 };
	int64_t uid;
	int ret;

	if (text_size < RN_AUTHKEY_STRSIZE)
		return -ENOSPC;
	ret = rn_authkey_server_id(state, &key, err, errlen);
	if (ret)
		goto out;
	ret = rn_store_user_get_by_name(store, req->user, &uid);
	req->user_made = ret == -ENOENT;
	if (ret == -ENOENT)
		ret = rn_store_user_add(store, actor, req->user, now, &uid);
	if (!ret)
		ret = rn_store_authkey_create(store, actor, uid,
					      (req->reusable ? RN_STORE_AUTHKEY_REUSABLE : 0) |
						  (req->ephemeral ? RN_STORE_AUTHKEY_EPHEMERAL : 0),
					      req->expires_s ? now + req->expires_s : 0, req->tags,
					      now, key.secret, id);
	if (ret) {
		snprintf(err, errlen, "%s", rn_store_errmsg(store));
		goto out;
	}
	if (!rn_authkey_format(&key, text)) {
		snprintf(err, errlen, "the store made a malformed secret");
		ret = -EIO;
	}
out:
	OPENSSL_cleanse(&key, sizeof(key));
	return ret;
}

struct rn_authkey_opts {
	const char *user;
	bool reusable, ephemeral;
	int64_t expires_s; /* 0: never */
	json_t *tags;
};

static int rn_authkey_create_args(struct rn_ctl *ctl, int argc, char **argv,
				  struct rn_authkey_opts *o)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "reusable", no_argument, NULL, 'r' },
		{ "ephemeral", no_argument, NULL, 'E' },
		{ "expires", required_argument, NULL, 'e' },
		{ "tag", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char err[200];
	int c;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			o->user = optarg;
			break;
		case 'r':
			o->reusable = true;
			break;
		case 'E':
			o->ephemeral = true;
			break;
		case 'e':
			if (!rn_duration_parse(optarg, &o->expires_s, err, sizeof(err)))
				return rn_ctl_usage_error(ctl, "--expires: %s", err);
			break;
		case 't':
			if (strncmp(optarg, "tag:", 4) || !optarg[4])
				return rn_ctl_usage_error(ctl,
							  "--tag \"%s\": a tag is \"tag:\" and "
							  "a name, e.g. tag:server",
							  optarg);
			json_array_append_new(o->tags, json_string(optarg));
			break;
		case 'h':
			rn_ctl_print_help(ctl);
			return RN_CTL_OK;
		default:
			return rn_ctl_usage_error(ctl, "unknown option or missing value \"%s\"",
						  argv[optind - 1]);
		}
	}
	if (optind < argc)
		return rn_ctl_usage_error(ctl, "unexpected argument \"%s\"", argv[optind]);
	if (!o->user)
		return rn_ctl_usage_error(ctl, "--user NAME is required: the user whose nodes "
					       "this key enrolls");
	return -1;
}

static int rn_authkey_create(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_authkey_opts o = { .tags = json_array() };
	struct rn_ctl_authkey_req req = { 0 };
	struct rn_store *store = NULL;
	char text[RN_AUTHKEY_STRSIZE], when[32], err[512];
	int64_t now = time(NULL), id = 0;
	char *tags = NULL;
	int ret;

	ret = o.tags ? rn_authkey_create_args(ctl, argc, argv, &o) : RN_CTL_ERR;
	if (ret >= 0)
		goto out;
	ret = RN_CTL_ERR;
	tags = json_dumps(o.tags, JSON_COMPACT);
	if (!tags || rn_ctl_store_open(ctl, &store))
		goto out;
	req = (struct rn_ctl_authkey_req){ .user = o.user,
					   .reusable = o.reusable,
					   .ephemeral = o.ephemeral,
					   .expires_s = o.expires_s,
					   .tags = tags };
	if (rn_ctl_authkey_make(store, ctl->state, ctl->actor, &req, now, text, sizeof(text), &id,
				err, sizeof(err))) {
		fprintf(stderr, "rustynet-control: creating the auth key: %s\n", err);
		goto out;
	}
	if (req.user_made)
		fprintf(stderr, "rustynet-control: created user \"%s\"\n", o.user);
	rn_ctl_time_format(o.expires_s ? now + o.expires_s : 0, when, sizeof(when));
	fprintf(stderr,
		"Auth key %lld for user \"%s\": %s%s, expires %s, tags %s.\n"
		"On the node, run: rustynet up --server URL --auth-key KEY\n",
		(long long)id, o.user, o.reusable ? "reusable" : "single-use",
		o.ephemeral ? ", ephemeral (its nodes are removed once offline)" : "", when, tags);
	printf("%s\n", text);
	ret = RN_CTL_OK;
out:
	OPENSSL_cleanse(text, sizeof(text));
	free(tags);
	json_decref(o.tags);
	rn_store_close(store);
	return ret;
}

static const char *rn_authkey_state(const struct rn_store_authkey *k, int64_t now)
{
	if (k->revoked_at)
		return "revoked";
	if (k->expires_at && k->expires_at <= now)
		return "expired";
	if (!k->reusable && k->used_count)
		return "used";
	return "valid";
}

json_t *rn_ctl_authkey_json(const struct rn_store_authkey *k, const char *user, int64_t now)
{
	return json_pack("{s:I,s:s,s:b,s:b,s:I,s:I,s:I,s:I,s:o,s:s}", "id", (json_int_t)k->id,
			 "user", user, "reusable", k->reusable, "ephemeral", k->ephemeral,
			 "expires_at", (json_int_t)k->expires_at, "created_at",
			 (json_int_t)k->created_at, "revoked_at", (json_int_t)k->revoked_at,
			 "used_count", (json_int_t)k->used_count, "tags",
			 rn_ctl_json_array(k->tags), "state", rn_authkey_state(k, now));
}

static int rn_authkey_list(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store_authkey *keys = NULL;
	struct rn_store_user *users = NULL;
	struct rn_store *store = NULL;
	size_t n = 0, n_users = 0;
	int64_t now = time(NULL);
	int ret, first;
	json_t *arr = NULL;
	bool json;

	ret = rn_ctl_simple_args(ctl, argc, argv, 0, 0, &json, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_authkey_list(store, &keys, &n);
	if (ret) {
		ret = rn_ctl_store_error(store, "listing auth keys", ret);
		goto out;
	}
	ret = RN_CTL_ERR;
	if (rn_ctl_users_load(store, &users, &n_users) || !(arr = json_array()))
		goto out;
	if (!json)
		printf("%-5s %-16s %-10s %-8s %-20s %-5s %s\n", "ID", "USER", "TYPE", "STATE",
		       "EXPIRES", "USES", "TAGS");
	for (size_t i = 0; i < n; i++) {
		const char *user = rn_ctl_user_name(users, n_users, keys[i].user_id);
		char when[32];

		if (json) {
			json_array_append_new(arr, rn_ctl_authkey_json(&keys[i], user, now));
			continue;
		}
		rn_ctl_time_format(keys[i].expires_at, when, sizeof(when));
		printf("%-5lld %-16s %-10s %-8s %-20s %-5lld %s\n", (long long)keys[i].id, user,
		       keys[i].reusable	   ? (keys[i].ephemeral ? "reuse,eph" : "reusable")
		       : keys[i].ephemeral ? "single,eph"
					   : "single",
		       rn_authkey_state(&keys[i], now), when, (long long)keys[i].used_count,
		       keys[i].tags);
	}
	if (json) {
		ret = rn_ctl_json_print(json_pack("{s:O}", "authkeys", arr));
	} else {
		ret = RN_CTL_OK;
	}
out:
	json_decref(arr);
	rn_ctl_users_free(users, n_users);
	rn_store_authkey_list_free(keys, n);
	rn_store_close(store);
	return ret;
}

static int rn_authkey_revoke(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	long long id;
	char *end;
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 1, 1, NULL, &first);
	if (ret >= 0)
		return ret;
	errno = 0;
	id = strtoll(argv[first], &end, 10);
	if (argv[first][0] < '1' || argv[first][0] > '9' || *end || errno)
		return rn_ctl_usage_error(ctl,
					  "\"%s\" is not a key id: give the ID column of "
					  "`rustynet-control authkey list`",
					  argv[first]);
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_authkey_revoke(store, ctl->actor, id, time(NULL));
	if (ret == -ENOENT)
		fprintf(stderr,
			"rustynet-control: no auth key %lld: see `rustynet-control authkey "
			"list`\n",
			id);
	if (ret)
		ret = ret == -ENOENT ? RN_CTL_ERR : rn_ctl_store_error(store, "revoking", ret);
	else
		printf("Revoked auth key %lld.\n", id);
	rn_store_close(store);
	return ret;
}

static const struct rn_ctl_verb rn_authkey_verbs[] = {
	{ "create", rn_authkey_create,
	  "authkey create --user NAME [--reusable] [--ephemeral] [--expires DURATION] "
	  "[--tag TAG]...",
	  "Makes an auth key that enrolls nodes for user NAME (made if new), and prints it once:\n"
	  "only its hash is stored. Give it to the node: rustynet up --server URL --auth-key KEY\n\n"
	  "  --user NAME          the user the nodes belong to\n"
	  "  --reusable           enroll any number of nodes (default: one)\n"
	  "  --ephemeral          its nodes are removed a few minutes after they go offline\n"
	  "                       (CI runners, containers): no stale nodes left behind\n"
	  "  --expires DURATION   e.g. 30m, 12h, 7d, 1w (default: never)\n"
	  "  --tag TAG            tag:NAME given to the nodes it enrolls; repeat for several\n\n"
	  "The key is four parts joined by '.':\n"
	  "  rnk1.<secret>.<TLS pin>.<netmap key>\n"
	  "secret: the store's secret (rnk_ + base64url); TLS pin: base64url SHA-256 of the server\n"
	  "certificate's public key (DER SubjectPublicKeyInfo); netmap key: base64url of the\n"
	  "Ed25519 key that signs netmaps. With these the node trusts this server from the start.\n" },
	{ "list", rn_authkey_list, "authkey list [--json]",
	  "Lists auth keys (never their secrets): id, user, type, state, expiry, uses, tags.\n" },
	{ "revoke", rn_authkey_revoke, "authkey revoke ID",
	  "Revokes auth key ID (from `authkey list`): it enrolls no more nodes. Nodes it\n"
	  "already enrolled stay.\n" },
	{ 0 },
};

int rn_ctl_authkey_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "authkey", rn_authkey_verbs, argc, argv);
}
