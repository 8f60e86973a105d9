/* SPDX-License-Identifier: MIT */
/*
 * nftables tables by libnftables. Replacing is "table F N; delete table F N; table F N { ... }"
 * in one buffer: nft sends it as one batch, so the kernel commits all of it or none, and a
 * chain or set the new ruleset no longer has does not linger as it would after a flush.
 */
#include "system/nft.h"

#include <errno.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

bool rn_nft_name_ok(const char *name)
{
	size_t n = name ? strnlen(name, RN_NFT_NAME_MAX) : 0;

	if (n >= RN_NFT_NAME_MAX || strncmp(name, RN_NFT_PREFIX, strlen(RN_NFT_PREFIX)))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool rn_nft_ifname_ok(const char *s)
{
	size_t n = s ? strnlen(s, IFNAMSIZ) : 0;

	if (n == 0 || n >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == '"' || s[i] == '\\' || s[i] == '/' || s[i] > '~')
			return false;
	return true;
}

bool rn_nft_family_ok(const char *family)
{
	return family && (!strcmp(family, "inet") || !strcmp(family, "ip") ||
			  !strcmp(family, "ip6") || !strcmp(family, "arp"));
}

bool rn_nft_body_ok(const char *body)
{
	size_t n = body ? strnlen(body, RN_NFT_BODY_MAX) : RN_NFT_BODY_MAX;
	bool quoted = false;
	long depth = 0;

	if (n >= RN_NFT_BODY_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (body[i] == '"')
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (body[i] == '{')
			depth++;
		else if (body[i] == '}' && --depth < 0)
			return false;
	}
	return !quoted && depth == 0;
}

/* Runs cmds as one nft batch; output (if wanted) is copied to *out for free(). */
static int run(const char *cmds, char **out, char *err, size_t errlen)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *msg;
	int rc = 0;

	if (!ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx)) {
		nft_ctx_free(ctx);
		return -ENOMEM;
	}
	if (nft_run_cmd_from_buffer(ctx, cmds)) {
		msg = nft_ctx_get_error_buffer(ctx);
		msg = msg ? msg : "";
		rc = strstr(msg, "Operation not permitted")	? -EPERM
		     : strstr(msg, "No such file or directory") ? -ENOENT
								: -EIO;
		if (err)
			snprintf(err, errlen, "%.*s", (int)strcspn(msg, "\n"), msg);
		log_debug(MAIN, "nft: %s: %s", cmds, msg);
	} else if (out) {
		*out = strdup(nft_ctx_get_output_buffer(ctx) ?: "");
		if (!*out)
			rc = -ENOMEM;
	}
	nft_ctx_free(ctx);
	return rc;
}

int rn_nft_table_replace(const char *family, const char *name, const char *body, char *err,
			 size_t errlen)
{
	char *cmds = NULL;
	int rc;

	if (!rn_nft_family_ok(family) || !rn_nft_name_ok(name) || !rn_nft_body_ok(body))
		return -EINVAL;
	if (asprintf(&cmds, "table %s %s\ndelete table %s %s\ntable %s %s {\n%s\n}\n", family, name,
		     family, name, family, name, body) < 0)
		return -ENOMEM;
	rc = run(cmds, NULL, err, errlen);
	free(cmds);
	return rc == -ENOENT ? -EIO : rc;
}

int rn_nft_table_delete(const char *family, const char *name, char *err, size_t errlen)
{
	char cmds[32 + RN_NFT_NAME_MAX];
	int rc;

	if (!rn_nft_family_ok(family) || !rn_nft_name_ok(name))
		return -EINVAL;
	snprintf(cmds, sizeof(cmds), "delete table %s %s", family, name);
	rc = run(cmds, NULL, err, errlen);
	/* nft's messages vary by version: ask whether it is there rather than parse them. */
	if (rc && rn_nft_table_exists(family, name) == 0)
		return -ENOENT;
	return rc;
}

struct find {
	const char *family, *name;
	bool found;
};

static void find_one(const char *family, const char *name, void *arg)
{
	struct find *f = arg;

	if (!strcmp(family, f->family) && !strcmp(name, f->name))
		f->found = true;
}

int rn_nft_table_exists(const char *family, const char *name)
{
	struct find f = { family, name, false };
	int rc;

	if (!rn_nft_family_ok(family) || !rn_nft_name_ok(name))
		return -EINVAL;
	rc = rn_nft_tables_ours(find_one, &f);
	return rc ? rc : f.found;
}

/* "list tables" prints one "table FAMILY NAME" a line. */
int rn_nft_tables_ours(void (*fn)(const char *family, const char *name, void *arg), void *arg)
{
	char *out = NULL, *line, *save = NULL;
	char family[RN_NFT_FAMILY_MAX], name[RN_NFT_NAME_MAX];
	int rc = run("list tables", &out, NULL, 0);

	if (rc)
		return rc;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "table %7s %63s", family, name) != 2)
			continue;
		if (rn_nft_family_ok(family) && rn_nft_name_ok(name))
			fn(family, name, arg);
	}
	free(out);
	return 0;
}
