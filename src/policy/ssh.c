/* SPDX-License-Identifier: MIT */
/*
 * The "ssh" section, read to Tailscale's rules so that a file Tailscale accepts is accepted and
 * one it refuses is refused at the offending token, then set aside: Rustynet has no SSH server,
 * so an ssh rule grants nothing here (network access to port 22 comes from acls and grants
 * only), and `policy check` says so once per rule. "sshTests" are read the same way and not
 * run: there are no SSH rules in force to test.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parser.h"
#include "policy/policy_priv.h"

struct ssh_rule {
	struct rn_policy_target *src, *dst;
	size_t n_src, n_dst;
	bool has_action, has_users, check;
	size_t period_off; /* checkPeriod's value, or 0 */
};

static void targets_free(struct rn_policy_target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].name);
	free(t);
}

/* Sources: users, groups, tags, autogroup:member and autogroup:tagged. */
static int check_src(struct rn_policy_parser *p, const struct ssh_rule *r, const char *path)
{
	char q[RN_POLICY_QUOTE_LEN];

	for (size_t i = 0; i < r->n_src; i++) {
		enum rn_policy_target_kind k = r->src[i].kind;

		if (k != RN_POLICY_TARGET_NAME && k != RN_POLICY_TARGET_GROUP &&
		    k != RN_POLICY_TARGET_TAG && k != RN_POLICY_TARGET_MEMBER &&
		    k != RN_POLICY_TARGET_TAGGED)
			return rn_policy_fail(p, r->src[i].off,
					      "%s in %s.src: ssh sources are users, groups, tags, "
					      "autogroup:member and autogroup:tagged",
					      rn_policy_quote(r->src[i].name, q, sizeof(q)), path);
	}
	return 0;
}

/*
 * Destinations: tags, autogroup:self, autogroup:member, autogroup:tagged, or a user, and a
 * user only from that same user alone; tagged sources reach no user's nodes.
 */
static int check_dst(struct rn_policy_parser *p, const struct ssh_rule *r, const char *path)
{
	char q[RN_POLICY_QUOTE_LEN];
	bool tagged_src = false;

	for (size_t i = 0; i < r->n_src; i++)
		tagged_src = tagged_src || r->src[i].kind == RN_POLICY_TARGET_TAG ||
			     r->src[i].kind == RN_POLICY_TARGET_TAGGED;
	for (size_t i = 0; i < r->n_dst; i++) {
		const struct rn_policy_target *t = &r->dst[i];
		bool user = t->kind == RN_POLICY_TARGET_NAME ||
			    t->kind == RN_POLICY_TARGET_MEMBER || t->kind == RN_POLICY_TARGET_SELF;

		if (t->kind != RN_POLICY_TARGET_TAG && t->kind != RN_POLICY_TARGET_TAGGED && !user)
			return rn_policy_fail(
			    p, t->off,
			    "%s in %s.dst: ssh destinations are tags, users, "
			    "autogroup:self, autogroup:member and autogroup:tagged",
			    rn_policy_quote(t->name, q, sizeof(q)), path);
		if (user && tagged_src)
			return rn_policy_fail(p, t->off,
					      "%s in %s.dst: tagged sources may not ssh to users' "
					      "nodes; use tags or autogroup:tagged as destinations",
					      rn_policy_quote(t->name, q, sizeof(q)), path);
		if (t->kind == RN_POLICY_TARGET_NAME &&
		    (r->n_src != 1 || r->src[0].kind != RN_POLICY_TARGET_NAME ||
		     strcmp(r->src[0].name, t->name)))
			return rn_policy_fail(p, t->off,
					      "%s in %s.dst: a user's nodes are reached over ssh "
					      "only by that same user alone; use autogroup:self",
					      rn_policy_quote(t->name, q, sizeof(q)), path);
	}
	return 0;
}

/* A list of strings, each checked by ok() (NULL: any). */
static int strings(struct rn_policy_parser *p, struct rn_policy_cursor c, const char *path,
		   bool (*ok)(const char *), const char *what)
{
	size_t child = c.node + 1;
	int ret = rn_policy_want(p, c, JSON_ARRAY, path);

	for (size_t i = 0; !ret && i < json_array_size(c.v); i++) {
		struct rn_policy_cursor e = { json_array_get(c.v, i), child };
		char epath[RN_POLICY_PATH_LEN], q[RN_POLICY_QUOTE_LEN];

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			break;
		rn_policy_pathf(epath, sizeof(epath), "%s[%zu]", path, i);
		ret = rn_policy_want(p, e, JSON_STRING, epath);
		if (!ret && ok && !ok(json_string_value(e.v)))
			ret = rn_policy_fail(p, rn_policy_val_off(p, e), "bad %s %s: %s", epath,
					     rn_policy_quote(json_string_value(e.v), q, sizeof(q)),
					     what);
		child = p->idx.pos[child].next;
	}
	return ret;
}

/* "root", "autogroup:nonroot", "localpart:*@DOMAIN", or a login name. */
static bool login_ok(const char *s)
{
	if (!strncmp(s, "autogroup:", 10))
		return !strcmp(s, "autogroup:nonroot");
	if (!strncmp(s, "localpart:", 10))
		return !strncmp(s + 10, "*@", 2) && s[12];
	return *s && !strpbrk(s, " \t:/\"\\");
}

/* A Go duration of hours, minutes and seconds ("12h", "30m", "1h30m"), or "always". */
static bool period_ok(const char *s)
{
	if (!strcmp(s, "always"))
		return true;
	if (!*s)
		return false;
	while (*s) {
		size_t n = strspn(s, "0123456789");

		if (!n || !strchr("hms", s[n]) || !s[n])
			return false;
		s += n + 1;
	}
	return true;
}

static int ssh_member(struct rn_policy_parser *p, const char *key, struct rn_policy_cursor m,
		      const char *path, struct ssh_rule *r)
{
	char q[RN_POLICY_QUOTE_LEN], mpath[RN_POLICY_PATH_LEN];
	int ret;

	rn_policy_pathf(mpath, sizeof(mpath), "%s.%s", path, key);
	if (!strcmp(key, "action")) {
		r->has_action = true;
		ret = rn_policy_want(p, m, JSON_STRING, mpath);
		if (ret)
			return ret;
		r->check = !strcmp(json_string_value(m.v), "check");
		if (r->check || !strcmp(json_string_value(m.v), "accept"))
			return 0;
		return rn_policy_fail(p, rn_policy_val_off(p, m),
				      "unknown action %s in %s; use \"accept\" or \"check\"",
				      rn_policy_quote(json_string_value(m.v), q, sizeof(q)), mpath);
	}
	if (!strcmp(key, "src"))
		return rn_policy_parse_targets(p, m, RN_POLICY_ROLE_SRC, false, mpath, &r->src,
					       &r->n_src);
	if (!strcmp(key, "dst"))
		return rn_policy_parse_targets(p, m, RN_POLICY_ROLE_DST, false, mpath, &r->dst,
					       &r->n_dst);
	if (!strcmp(key, "users")) {
		r->has_users = true;
		return strings(p, m, mpath, login_ok,
			       "write a login name, \"root\", \"autogroup:nonroot\" or "
			       "\"localpart:*@DOMAIN\"");
	}
	if (!strcmp(key, "checkPeriod")) {
		r->period_off = rn_policy_val_off(p, m);
		ret = rn_policy_want(p, m, JSON_STRING, mpath);
		if (!ret && !period_ok(json_string_value(m.v)))
			ret = rn_policy_fail(p, rn_policy_val_off(p, m),
					     "bad %s %s: write a duration such as \"12h\" or "
					     "\"always\"",
					     mpath,
					     rn_policy_quote(json_string_value(m.v), q, sizeof(q)));
		return ret;
	}
	if (!strcmp(key, "acceptEnv") || !strcmp(key, "recorder"))
		return strings(p, m, mpath, NULL, NULL);
	if (!strcmp(key, "enforceRecorder")) {
		if (json_is_boolean(m.v))
			return 0;
		return rn_policy_fail(p, rn_policy_val_off(p, m), "%s must be true or false",
				      mpath);
	}
	return rn_policy_fail(
	    p, p->idx.pos[m.node].key,
	    "unknown key %s in %s; expected action, src, dst, users, checkPeriod, "
	    "acceptEnv, recorder or enforceRecorder",
	    rn_policy_quote(key, q, sizeof(q)), path);
}

static int ssh_rule(struct rn_policy_parser *p, struct rn_policy_cursor c, const char *path,
		    struct ssh_rule *r)
{
	size_t child = c.node + 1, off;
	const char *key;
	json_t *v;
	int ret = rn_policy_want(p, c, JSON_OBJECT, path);

	if (ret)
		return ret;
	off = rn_policy_val_off(p, c);
	json_object_foreach(c.v, key, v) {
		ret = rn_policy_next_child(p, c.node, &child);
		if (!ret)
			ret = ssh_member(p, key, (struct rn_policy_cursor){ v, child }, path, r);
		if (ret)
			return ret;
		child = p->idx.pos[child].next;
	}
	if (!r->has_action || !r->n_src || !r->n_dst || !r->has_users)
		return rn_policy_fail(p, off, "%s needs \"action\", \"src\", \"dst\" and \"users\"",
				      path);
	if (r->period_off && !r->check)
		return rn_policy_fail(p, r->period_off,
				      "%s.checkPeriod: only an action \"check\" rule has one",
				      path);
	ret = check_src(p, r, path);
	if (!ret)
		ret = check_dst(p, r, path);
	if (!ret)
		ret = rn_policy_notef(p->pol, off,
				      "%s is not enforced here: Rustynet has no SSH server, so it "
				      "grants nothing (port 22 is reached through acls and grants "
				      "only)",
				      path);
	return ret;
}

int rn_policy_parse_ssh(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	size_t child = c.node + 1;
	int ret = rn_policy_want(p, c, JSON_ARRAY, "ssh");

	for (size_t i = 0; !ret && i < json_array_size(c.v); i++) {
		struct ssh_rule r = { 0 };
		char path[RN_POLICY_PATH_LEN];

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			break;
		rn_policy_pathf(path, sizeof(path), "ssh[%zu]", i);
		ret = ssh_rule(p, (struct rn_policy_cursor){ json_array_get(c.v, i), child }, path,
			       &r);
		targets_free(r.src, r.n_src);
		targets_free(r.dst, r.n_dst);
		child = p->idx.pos[child].next;
	}
	return ret;
}

static int ssh_test_member(struct rn_policy_parser *p, const char *key, struct rn_policy_cursor m,
			   const char *path, bool *has_src)
{
	char q[RN_POLICY_QUOTE_LEN], mpath[RN_POLICY_PATH_LEN];
	struct rn_policy_target t = { 0 };
	int ret;

	rn_policy_pathf(mpath, sizeof(mpath), "%s.%s", path, key);
	if (!strcmp(key, "src")) {
		*has_src = true;
		ret = rn_policy_want(p, m, JSON_STRING, mpath);
		if (!ret)
			ret = rn_policy_parse_target(p, json_string_value(m.v),
						     rn_policy_val_off(p, m), RN_POLICY_ROLE_SRC,
						     mpath, &t);
		free(t.name);
		return ret;
	}
	if (!strcmp(key, "dst")) {
		struct rn_policy_target *d = NULL;
		size_t n = 0;

		ret = rn_policy_parse_targets(p, m, RN_POLICY_ROLE_DST, false, mpath, &d, &n);
		targets_free(d, n);
		return ret;
	}
	if (!strcmp(key, "accept") || !strcmp(key, "check") || !strcmp(key, "deny"))
		return strings(p, m, mpath, login_ok,
			       "write a login name, \"root\", \"autogroup:nonroot\" or "
			       "\"localpart:*@DOMAIN\"");
	return rn_policy_fail(p, p->idx.pos[m.node].key,
			      "unknown key %s in %s; expected src, dst, accept, check or deny",
			      rn_policy_quote(key, q, sizeof(q)), path);
}

int rn_policy_parse_ssh_tests(struct rn_policy_parser *p, struct rn_policy_cursor c)
{
	size_t child = c.node + 1;
	int ret = rn_policy_want(p, c, JSON_ARRAY, "sshTests");

	for (size_t i = 0; !ret && i < json_array_size(c.v); i++) {
		struct rn_policy_cursor e = { json_array_get(c.v, i), 0 };
		char path[RN_POLICY_PATH_LEN];
		size_t echild;
		bool has_src = false;
		const char *key;
		json_t *v;

		ret = rn_policy_next_child(p, c.node, &child);
		if (ret)
			break;
		e.node = child;
		echild = child + 1;
		rn_policy_pathf(path, sizeof(path), "sshTests[%zu]", i);
		ret = rn_policy_want(p, e, JSON_OBJECT, path);
		json_object_foreach(e.v, key, v) {
			if (ret)
				break;
			ret = rn_policy_next_child(p, e.node, &echild);
			if (!ret)
				ret = ssh_test_member(
				    p, key, (struct rn_policy_cursor){ v, echild }, path, &has_src);
			echild = p->idx.pos[echild].next;
		}
		if (!ret && !has_src)
			ret = rn_policy_fail(p, rn_policy_val_off(p, e), "%s has no \"src\"", path);
		if (!ret)
			ret =
			    rn_policy_notef(p->pol, rn_policy_val_off(p, e),
					    "%s is not run here: Rustynet has no SSH server", path);
		child = p->idx.pos[child].next;
	}
	return ret;
}
