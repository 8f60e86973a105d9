/* SPDX-License-Identifier: MIT */
/*
 * Checking a parsed policy against the world (the names only the control server knows), the
 * world's own sanity, and the error text every policy function reports with.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/hujson.h"
#include "policy/policy.h"
#include "policy/policy_priv.h"

#define QUOTE_MAX 48 /* bytes of a token quoted in a message before it is cut short */

const char *rn_policy_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0, i = 0;

	if (len < 16)
		return "\"...\"";
	buf[o++] = '"';
	for (; s[i] && i < QUOTE_MAX && o + 8 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (s[i]) {
		while (o > 1 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--; /* do not leave half a UTF-8 character */
		if (o > 1 && (unsigned char)buf[o - 1] >= 0xc0)
			o--;
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static void set_error(struct rn_policy_error *err, const char *filename, unsigned line,
		      unsigned col, const char *msg)
{
	int n;

	err->line = line;
	err->column = line ? col : 0;
	snprintf(err->message, sizeof(err->message), "%s", msg);
	if (line)
		n = snprintf(err->text, sizeof(err->text), "%s:%u:%u: %s", filename, line, col,
			     err->message);
	else
		n = snprintf(err->text, sizeof(err->text), "%s: %s", filename, err->message);
	if (n < 0)
		err->text[0] = '\0';
}

int rn_policy_errorf(struct rn_policy_error *err, const char *filename, const char *text,
		     size_t len, size_t off, const char *fmt, ...)
{
	char msg[RN_POLICY_MSG_LEN];
	unsigned line = 0, col = 0;
	va_list ap;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (text && off != RN_POLICY_NO_POS)
		rn_hujson_line_col(text, len, off, &line, &col);
	set_error(err, filename, line, col, msg);
	return -EINVAL;
}

int rn_policy_errorf_lc(struct rn_policy_error *err, const char *filename, unsigned line,
			unsigned col, const char *fmt, ...)
{
	char msg[RN_POLICY_MSG_LEN];
	va_list ap;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_error(err, filename, line, col, msg);
	return -EINVAL;
}

int rn_policy_notef(struct rn_policy *pol, size_t off, const char *fmt, ...)
{
	char msg[RN_POLICY_MSG_LEN], **notes;
	unsigned line = 0, col = 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rn_hujson_line_col(pol->text, pol->len, off, &line, &col);
	notes = reallocarray(pol->notes, pol->n_notes + 1, sizeof(*notes));
	if (!notes)
		return -ENOMEM;
	pol->notes = notes;
	n = asprintf(&notes[pol->n_notes], "%s:%u:%u: note: %s", pol->filename, line, col, msg);
	if (n < 0)
		return -ENOMEM;
	pol->n_notes++;
	return 0;
}

const char *rn_policy_user_find(const struct rn_policy_world *w, const char *name)
{
	for (size_t i = 0; i < w->n_users; i++)
		if (w->users[i] && !strcmp(w->users[i], name))
			return w->users[i];
	return NULL;
}

const struct rn_policy_node *rn_policy_node_by_id(const struct rn_policy_world *w, uint64_t id)
{
	for (size_t i = 0; i < w->n_nodes; i++)
		if (w->nodes[i].id == id)
			return &w->nodes[i];
	return NULL;
}

const struct rn_policy_node *rn_policy_node_by_name(const struct rn_policy_world *w,
						    const char *name)
{
	for (size_t i = 0; i < w->n_nodes; i++)
		if (w->nodes[i].name && !strcmp(w->nodes[i].name, name))
			return &w->nodes[i];
	return NULL;
}

/* ---- the world ---- */

static bool prefixes_ok(const struct rn_filter_prefix *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i].family == AF_INET && p[i].len <= 32) ||
		      (p[i].family == AF_INET6 && p[i].len <= 128)))
			return false;
	return n == 0 || p;
}

static const char *node_fault(const struct rn_policy_world *w, const struct rn_policy_node *n)
{
	static const uint8_t ula = 0xfc;

	if (!n->name || !n->name[0])
		return "has no name";
	if (!n->user || !rn_policy_user_find(w, n->user))
		return "has an owner that is not among the users";
	if (n->ip4[0] != 100 || (n->ip4[1] & 0xc0) != 64)
		return "has an IPv4 address outside 100.64.0.0/10";
	if ((n->ip6[0] & 0xfe) != ula)
		return "has an IPv6 address outside fc00::/7 (ULA)";
	for (size_t i = 0; i < n->n_tags; i++)
		if (!n->tags[i])
			return "has a NULL tag";
	if (!prefixes_ok(n->advertised, n->n_advertised) ||
	    !prefixes_ok(n->approved, n->n_approved))
		return "has a malformed route";
	for (const struct rn_policy_node *m = w->nodes; m < n; m++) {
		if (m->id == n->id)
			return "has the id of another node";
		if (!strcmp(m->name, n->name))
			return "has the name of another node";
	}
	return NULL;
}

static int validate_world(const struct rn_policy *pol, const struct rn_policy_world *w,
			  struct rn_policy_error *err)
{
	char q[RN_POLICY_QUOTE_LEN];

	if ((w->n_users && !w->users) || (w->n_nodes && !w->nodes))
		return rn_policy_errorf_lc(err, pol->filename, 0, 0,
					   "world: NULL user or node list");
	for (size_t i = 0; i < w->n_users; i++) {
		if (!w->users[i] || !w->users[i][0])
			return rn_policy_errorf_lc(err, pol->filename, 0, 0,
						   "world: user %zu has no name", i);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(w->users[i], w->users[j]))
				return rn_policy_errorf_lc(
				    err, pol->filename, 0, 0, "world: user %s appears twice",
				    rn_policy_quote(w->users[i], q, sizeof(q)));
	}
	if (w->n_admins && !w->admins)
		return rn_policy_errorf_lc(err, pol->filename, 0, 0, "world: NULL admin list");
	for (size_t i = 0; i < w->n_admins; i++)
		if (!w->admins[i] || !rn_policy_user_find(w, w->admins[i]))
			return rn_policy_errorf_lc(err, pol->filename, 0, 0,
						   "world: admin %zu is not among the users", i);
	for (size_t i = 0; i < w->n_nodes; i++) {
		const struct rn_policy_node *n = &w->nodes[i];
		const char *fault = node_fault(w, n);

		if (fault)
			return rn_policy_errorf_lc(
			    err, pol->filename, 0, 0, "world: node %llu %s %s",
			    (unsigned long long)n->id,
			    rn_policy_quote(n->name ? n->name : "", q, sizeof(q)), fault);
	}
	return 0;
}

/* ---- the policy's names ---- */

enum want { WANT_USER, WANT_USER_OR_NODE, WANT_NODE };

static int check_names(const struct rn_policy *pol, const struct rn_policy_world *w,
		       const struct rn_policy_target *t, size_t n, enum want want, const char *path,
		       struct rn_policy_error *err)
{
	char q[RN_POLICY_QUOTE_LEN];

	for (size_t i = 0; i < n; i++) {
		const char *name = t[i].name;
		bool user, node;

		if (t[i].kind != RN_POLICY_TARGET_NAME)
			continue;
		user = rn_policy_user_find(w, name);
		node = rn_policy_node_by_name(w, name);
		if (want == WANT_USER && !user)
			return rn_policy_errorf(
			    err, pol->filename, pol->text, pol->len, t[i].off,
			    "unknown user %s in %s; add the user or fix the name",
			    rn_policy_quote(name, q, sizeof(q)), path);
		if (want == WANT_USER_OR_NODE && !user && !node)
			return rn_policy_errorf(err, pol->filename, pol->text, pol->len, t[i].off,
						"unknown user or node %s in %s; fix the name or "
						"remove it",
						rn_policy_quote(name, q, sizeof(q)), path);
		if (want == WANT_NODE && !node)
			return rn_policy_errorf(
			    err, pol->filename, pol->text, pol->len, t[i].off,
			    user ? "%s in %s is a user; via takes node names and tags"
				 : "unknown node %s in %s; fix the name or remove it",
			    rn_policy_quote(name, q, sizeof(q)), path);
	}
	return 0;
}

static int check_lists(const struct rn_policy *pol, const struct rn_policy_world *w,
		       const struct rn_policy_list *l, size_t n, const char *section,
		       struct rn_policy_error *err)
{
	char path[160], q[RN_POLICY_QUOTE_LEN];
	int ret;

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s[%s]", section,
			 rn_policy_quote(l[i].name, q, sizeof(q)));
		ret = check_names(pol, w, l[i].items, l[i].n_items, WANT_USER, path, err);
		if (ret)
			return ret;
	}
	return 0;
}

static int check_acls(const struct rn_policy *pol, const struct rn_policy_world *w,
		      struct rn_policy_error *err)
{
	char path[160];
	int ret;

	for (size_t i = 0; i < pol->n_acls; i++) {
		const struct rn_policy_acl *a = &pol->acls[i];

		snprintf(path, sizeof(path), "%s[%zu].src", a->section, a->index);
		ret = check_names(pol, w, a->src, a->n_src, WANT_USER_OR_NODE, path, err);
		for (size_t j = 0; !ret && j < a->n_dst; j++) {
			snprintf(path, sizeof(path), "%s[%zu].dst[%zu]", a->section, a->index, j);
			ret =
			    check_names(pol, w, &a->dst[j].target, 1, WANT_USER_OR_NODE, path, err);
		}
		snprintf(path, sizeof(path), "%s[%zu].via", a->section, a->index);
		if (!ret)
			ret = check_names(pol, w, a->via, a->n_via, WANT_NODE, path, err);
		if (ret)
			return ret;
	}
	return 0;
}

int rn_policy_validate(const struct rn_policy *pol, const struct rn_policy_world *w,
		       struct rn_policy_error *err)
{
	int ret;

	if (err)
		memset(err, 0, sizeof(*err));
	ret = validate_world(pol, w, err);
	if (!ret)
		ret = check_lists(pol, w, pol->groups, pol->n_groups, "groups", err);
	if (!ret)
		ret = check_lists(pol, w, pol->tag_owners, pol->n_tag_owners, "tagOwners", err);
	if (!ret)
		ret = check_acls(pol, w, err);
	if (!ret)
		ret = check_lists(pol, w, pol->route_approvers, pol->n_route_approvers,
				  "autoApprovers.routes", err);
	if (!ret)
		ret = check_names(pol, w, pol->exit_approvers.items, pol->exit_approvers.n_items,
				  WANT_USER, "autoApprovers.exitNode", err);
	return ret;
}

int rn_policy_check_notes(const char *buf, size_t len, const char *filename,
			  const struct rn_policy_world *world, struct rn_policy_error *err,
			  FILE *out)
{
	struct rn_policy *pol;
	int ret = rn_policy_parse(buf, len, filename, &pol, err);

	if (ret)
		return ret;
	ret = rn_policy_validate(pol, world, err);
	if (!ret)
		ret = rn_policy_run_tests(pol, world, err, out);
	for (size_t i = 0; !ret && out && i < pol->n_notes; i++)
		fprintf(out, "%s\n", pol->notes[i]);
	if (!ret && out && pol->names_admins && !world->n_admins)
		fprintf(out,
			"%s: note: autogroup:admin and autogroup:owner name the users with the "
			"admin role, and no user has it, so they name nobody (`rustynet-control "
			"users role USER admin` gives it)\n",
			pol->filename);
	if (!ret && out && pol->names_shared)
		fprintf(out,
			"%s: note: autogroup:shared names the users of other networks a node is "
			"shared with; nodes are not shared here, so it names nobody\n",
			pol->filename);
	rn_policy_free(pol);
	return ret;
}

int rn_policy_check(const char *buf, size_t len, const char *filename,
		    const struct rn_policy_world *world, struct rn_policy_error *err)
{
	return rn_policy_check_notes(buf, len, filename, world, err, NULL);
}
