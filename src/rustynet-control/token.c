/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control token create|list|revoke`: the bearer tokens of the admin API
 * (docs/admin-api.md). Only root on the control host makes them; the API cannot.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "rustynet-control/ctl.h"
#include "rustynet-control/duration.h"

struct rn_token_opts {
	const char *name;
	enum rn_store_token_scope scope;
	bool has_scope;
	int64_t expires_at; /* 0: never */
	bool has_expires;
};

/* "never", a UTC date or time, or a duration from now. A usage error's exit code, or -1. */
static int rn_token_expires_arg(struct rn_ctl *ctl, const char *arg, int64_t now,
				struct rn_token_opts *o)
{
	char err[200];

	o->has_expires = true;
	if (!strcmp(arg, "never")) {
		o->expires_at = 0;
		return -1;
	}
	if (!rn_when_parse(arg, now, 1, &o->expires_at, err, sizeof(err)))
		return rn_ctl_usage_error(ctl, "--expires: %s, or \"never\"", err);
	if (o->expires_at <= now)
		return rn_ctl_usage_error(ctl, "--expires \"%s\" is not in the future", arg);
	return -1;
}

static int rn_token_create_args(struct rn_ctl *ctl, int argc, char **argv, int64_t now,
				struct rn_token_opts *o)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "scope", required_argument, NULL, 's' },
		{ "expires", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->name = optarg;
			break;
		case 's':
			if (!rn_store_token_scope_parse(optarg, &o->scope))
				return rn_ctl_usage_error(
				    ctl, "--scope \"%s\": give read, write or keys", optarg);
			o->has_scope = true;
			break;
		case 'e':
			r = rn_token_expires_arg(ctl, optarg, now, o);
			if (r >= 0)
				return r;
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
	if (!o->name || !o->has_scope || !o->has_expires)
		return rn_ctl_usage_error(ctl, "--name, --scope and --expires are required "
					       "(--expires never for a token that never expires)");
	return -1;
}

static int rn_token_create(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_token_opts o = { 0 };
	struct rn_store *store = NULL;
	char secret[RN_STORE_TOKEN_SIZE], when[32];
	int64_t now = time(NULL), id = 0;
	int ret;

	ret = rn_token_create_args(ctl, argc, argv, now, &o);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_token_create(store, ctl->actor, o.name, o.scope, o.expires_at, now, secret,
				    &id);
	if (ret) {
		ret = rn_ctl_store_error(store, "creating the admin token", ret);
		goto out;
	}
	rn_ctl_time_format(o.expires_at, when, sizeof(when));
	fprintf(stderr,
		"Admin token %lld \"%s\": scope %s, expires %s. It is shown only now; only its\n"
		"hash is stored. Use it as: Authorization: Bearer TOKEN (docs/admin-api.md)\n",
		(long long)id, o.name, rn_store_token_scope_name(o.scope), when);
	printf("%s\n", secret);
	ret = RN_CTL_OK;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	rn_store_close(store);
	return ret;
}

static const char *rn_token_state(const struct rn_store_token *t, int64_t now)
{
	if (t->revoked_at)
		return "revoked";
	if (t->expires_at && t->expires_at <= now)
		return "expired";
	return "valid";
}

static int rn_token_list(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store_token *tokens = NULL;
	struct rn_store *store = NULL;
	int64_t now = time(NULL);
	json_t *arr = NULL;
	size_t n = 0;
	int ret, first;
	bool json;

	ret = rn_ctl_simple_args(ctl, argc, argv, 0, 0, &json, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_token_list(store, &tokens, &n);
	if (ret) {
		ret = rn_ctl_store_error(store, "listing admin tokens", ret);
		goto out;
	}
	ret = RN_CTL_ERR;
	if (!(arr = json_array()))
		goto out;
	if (!json)
		printf("%-5s %-20s %-6s %-8s %-20s %s\n", "ID", "NAME", "SCOPE", "STATE", "EXPIRES",
		       "LAST USED");
	for (size_t i = 0; i < n; i++) {
		const struct rn_store_token *t = &tokens[i];
		char when[32], used[32];

		if (json) {
			json_array_append_new(arr,
					      json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "id",
							(json_int_t)t->id, "name", t->name, "scope",
							rn_store_token_scope_name(t->scope),
							"state", rn_token_state(t, now),
							"created_at", (json_int_t)t->created_at,
							"expires_at", (json_int_t)t->expires_at,
							"revoked_at", (json_int_t)t->revoked_at,
							"last_used", (json_int_t)t->last_used));
			continue;
		}
		rn_ctl_time_format(t->expires_at, when, sizeof(when));
		rn_ctl_time_format(t->last_used, used, sizeof(used));
		printf("%-5lld %-20s %-6s %-8s %-20s %s\n", (long long)t->id, t->name,
		       rn_store_token_scope_name(t->scope), rn_token_state(t, now), when, used);
	}
	ret = json ? rn_ctl_json_print(json_pack("{s:O}", "tokens", arr)) : RN_CTL_OK;
out:
	json_decref(arr);
	free(tokens);
	rn_store_close(store);
	return ret;
}

static int rn_token_revoke(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 1, 1, NULL, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_token_revoke(store, ctl->actor, argv[first], time(NULL));
	if (ret)
		ret = rn_ctl_store_error(store, "revoking", ret);
	else
		printf("Revoked admin token \"%s\": the API refuses it from now on.\n",
		       argv[first]);
	rn_store_close(store);
	return ret;
}

static const struct rn_ctl_verb rn_token_verbs[] = {
	{ "create", rn_token_create,
	  "token create --name NAME --scope read|write|keys --expires DURATION|DATE|never",
	  "Makes a bearer token for the admin API (/admin/v1/ on `serve`'s listener) and prints\n"
	  "it once: only its SHA-256 is stored. Every call it makes is audited as token:NAME.\n\n"
	  "  --name NAME       unique; 1-63 of a-z A-Z 0-9 . _ -\n"
	  "  --scope read      GET only: nodes, users, auth keys, policy, audit, health\n"
	  "  --scope write     read, and every change the API offers (auth keys included)\n"
	  "  --scope keys      read, and creating and revoking auth keys only (provisioning)\n"
	  "  --expires WHEN    a duration from now (90d, 12h), a UTC date or time\n"
	  "                    (2027-06-01, 2027-06-01T08:00:00Z), or never\n" },
	{ "list", rn_token_list, "token list [--json]",
	  "Lists the admin tokens (never their secrets): name, scope, state, expiry, last use\n"
	  "(to the minute).\n" },
	{ "revoke", rn_token_revoke, "token revoke NAME",
	  "Revokes admin token NAME: the API refuses it at once. The name stays taken.\n" },
	{ 0 },
};

int rn_ctl_token_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "token", rn_token_verbs, argc, argv);
}
