/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control policy set|get|check`. A policy is checked against the network as it is
 * (its users and nodes) before it is stored; a bad one is refused with FILE:LINE:COL and the old
 * policy stays in force.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/world.h"
#include "policy/policy.h"
#include "rustynet-control/ctl.h"

enum { RN_POLICY_FILE_MAX = 4 << 20 }; /* bytes: far beyond any real policy */

/* Reads FILE ("-": stdin) whole. NULL after a message. */
static char *rn_policy_read(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf = NULL;
	size_t n = 0;

	if (!f) {
		fprintf(stderr, "rustynet-control: cannot read the policy \"%s\": %s\n", path,
			strerror(errno));
		return NULL;
	}
	buf = malloc(RN_POLICY_FILE_MAX + 1);
	if (buf)
		n = fread(buf, 1, RN_POLICY_FILE_MAX + 1, f);
	if (buf && (ferror(f) || n > RN_POLICY_FILE_MAX)) {
		fprintf(stderr,
			"rustynet-control: the policy \"%s\" is unreadable or over %d "
			"bytes\n",
			path, RN_POLICY_FILE_MAX);
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

int rn_ctl_policy_check_text(struct rn_store *store, const char *text, size_t len, const char *name,
			     FILE *notes, struct rn_policy_error *perr)
{
	struct rn_control_world cw;
	int ret;

	memset(perr, 0, sizeof(*perr));
	ret = rn_control_world_load(store, RN_CONTROL_WORLD_ALL, &cw);
	if (ret) {
		snprintf(perr->message, sizeof(perr->message), "%s", cw.err);
		ret = ret == -EINVAL ? -EIO : ret; /* -EINVAL means the policy's fault */
	} else {
		ret = rn_policy_check_notes(text, len, name, &cw.w, perr, notes);
		if (ret && ret != -EINVAL)
			snprintf(perr->message, sizeof(perr->message), "checking \"%s\": %s", name,
				 strerror(-ret));
	}
	rn_control_world_free(&cw);
	return ret;
}

/* Reads and checks FILE against the store's world; prints why not. 0 or -errno. */
static int rn_policy_load_checked(struct rn_store *store, const char *path, char **text_out)
{
	struct rn_policy_error err;
	char *text;
	size_t len;
	int ret;

	*text_out = NULL;
	text = rn_policy_read(path, &len);
	if (!text)
		return -EIO;
	ret = rn_ctl_policy_check_text(store, text, len, path, stdout, &err);
	if (ret == -EINVAL)
		fprintf(stderr, "%s\n", err.text[0] ? err.text : err.message);
	else if (ret)
		fprintf(stderr, "rustynet-control: %s\n", err.message);
	if (ret)
		free(text);
	else
		*text_out = text;
	return ret;
}

static int rn_policy_cmd_check(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	char *text = NULL;
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 1, 1, NULL, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_policy_load_checked(store, argv[first], &text) ? RN_CTL_ERR : RN_CTL_OK;
	if (!ret)
		printf("%s: ok\n", argv[first]);
	free(text);
	rn_store_close(store);
	return ret;
}

static int rn_policy_cmd_set(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	char *text = NULL;
	int64_t rev;
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 1, 1, NULL, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = RN_CTL_ERR;
	if (rn_policy_load_checked(store, argv[first], &text)) {
		fprintf(stderr,
			"rustynet-control: policy not changed; the old one stays in force\n");
		goto out;
	}
	ret = rn_store_policy_set(store, ctl->actor, text, time(NULL));
	if (ret) {
		ret = rn_ctl_store_error(store, "storing the policy", ret);
		goto out;
	}
	free(text);
	text = NULL;
	ret = rn_store_policy_get(store, &text, &rev);
	if (ret) {
		ret = rn_ctl_store_error(store, "reading the policy back", ret);
		goto out;
	}
	printf("Policy set from %s (revision %lld).\n", argv[first], (long long)rev);
out:
	free(text);
	rn_store_close(store);
	return ret;
}

static int rn_policy_cmd_get(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	char *text = NULL;
	int64_t rev = 0;
	int ret, first;
	bool json;

	ret = rn_ctl_simple_args(ctl, argc, argv, 0, 0, &json, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_policy_get(store, &text, &rev);
	if (ret) {
		ret = rn_ctl_store_error(store, "reading the policy", ret);
	} else if (json) {
		ret = rn_ctl_json_print(
		    json_pack("{s:I,s:s?}", "revision", (json_int_t)rev, "text", text));
	} else if (!text) {
		fprintf(stderr, "rustynet-control: no policy is set: everything is denied. Set one "
				"with `rustynet-control policy set FILE`\n");
		ret = RN_CTL_ERR;
	} else {
		fputs(text, stdout);
		if (text[0] && text[strlen(text) - 1] != '\n')
			putchar('\n');
	}
	free(text);
	rn_store_close(store);
	return ret;
}

static const struct rn_ctl_verb rn_policy_verbs[] = {
	{ "set", rn_policy_cmd_set, "policy set FILE",
	  "Checks the HuJSON policy in FILE (\"-\": stdin) against the network's users and nodes\n"
	  "and installs it. On an error it prints FILE:LINE:COL: message and keeps the old one.\n" },
	{ "get", rn_policy_cmd_get, "policy get [--json]",
	  "Prints the policy in force (--json: with its revision).\n" },
	{ "check", rn_policy_cmd_check, "policy check FILE",
	  "Checks FILE as `policy set` would, without installing it.\n" },
	{ 0 },
};

int rn_ctl_policy_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "policy", rn_policy_verbs, argc, argv);
}
