/* SPDX-License-Identifier: MIT */
/*
 * The admin API's endpoints (admin_api.h, docs/admin-api.md): authentication, scopes, rate
 * limits and a route table; each handler is a thin layer over the store and the helpers the
 * admin commands use (ctl.h), so the API and the CLI cannot disagree.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "common/authkey_format.h"
#include "common/log.h"
#include "policy/policy.h"
#include "rustynet-control/admin_api.h"
#include "rustynet-control/ctl.h"
#include "rustynet-control/duration.h"

#ifndef RN_VERSION
#define RN_VERSION "unknown"
#endif

enum {
	RN_ADMIN_SEGS = 5,	 /* path segments after /admin/v1/, at most */
	RN_ADMIN_PATH_MAX = 512, /* bytes of that path */
	RN_ADMIN_ROUTES_MAX = 64,
};

struct rn_admin_api {
	struct rn_ratelimit *calls; /* every call, per client */
	struct rn_ratelimit *fails; /* failed authentications, per client */
};

struct rn_admin_api *rn_admin_api_new(void)
{
	struct rn_admin_api *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->calls = rn_ratelimit_new_with(RN_ADMIN_API_BURST, RN_ADMIN_API_REFILL_MS);
	a->fails = rn_ratelimit_new_with(RN_ADMIN_AUTH_FAILS, RN_ADMIN_AUTH_REFILL_MS);
	if (!a->calls || !a->fails) {
		rn_admin_api_free(a);
		return NULL;
	}
	return a;
}

void rn_admin_api_free(struct rn_admin_api *a)
{
	if (!a)
		return;
	rn_ratelimit_free(a->calls);
	rn_ratelimit_free(a->fails);
	free(a);
}

/* One call, as the handlers see it; the server's lock is held while they run. */
struct rn_admin_call {
	struct rn_serve *s;
	struct MHD_Connection *conn;
	char *seg[RN_ADMIN_SEGS];
	size_t n_seg;
	const char *body; /* NUL-terminated or NULL */
	size_t len;
	struct rn_store_token tok;
	char actor[8 + RN_STORE_TOKEN_NAME_MAX + 1]; /* "token:NAME" */
	int64_t now;
	struct rn_serve_reply *r;
};

/* ---- replies ---- */

/* r = status with obj (stolen) as its body. */
static void rn_admin_json(struct rn_admin_call *c, unsigned status, json_t *obj)
{
	struct rn_serve_reply *r = c->r;

	free(r->body);
	r->body = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	r->len = r->body ? strlen(r->body) : 0;
	r->status = status;
	json_decref(obj);
	if (!r->body)
		rn_serve_error(r, 500, "out of memory");
}

static unsigned rn_admin_status_of(int err)
{
	switch (err) {
	case -ENOENT:
		return 404;
	case -EINVAL:
		return 400;
	case -EEXIST:
	case -EALREADY:
		return 409;
	case -EBUSY:
		return 503;
	default:
		return 500;
	}
}

/* A store call failed: its message, with the status its error means. */
static void rn_admin_store_fail(struct rn_admin_call *c, const char *what, int err)
{
	const char *msg = rn_store_errmsg(c->s->store);

	rn_serve_error(c->r, rn_admin_status_of(err), "%s: %s", what,
		       msg[0] ? msg : strerror(-err));
}

/* The body as a JSON object, or NULL after a 400. An empty body is {}. */
static json_t *rn_admin_body(struct rn_admin_call *c)
{
	json_error_t jerr;
	json_t *obj;

	if (!c->body || !c->len)
		return json_object();
	obj = json_loadb(c->body, c->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(obj)) {
		json_decref(obj);
		rn_serve_error(c->r, 400, "the body is not a JSON object%s%s", obj ? "" : ": ",
			       obj ? "" : jerr.text);
		return NULL;
	}
	return obj;
}

/* json_unpack_ex with JSON_STRICT: unknown or missing keys are a 400 naming them. */
static bool rn_admin_unpack(struct rn_admin_call *c, json_t *obj, const char *fmt, ...)
{
	json_error_t jerr;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = json_vunpack_ex(obj, &jerr, JSON_STRICT, fmt, ap);
	va_end(ap);
	if (ret)
		rn_serve_error(c->r, 400, "bad request body: %s", jerr.text);
	return ret == 0;
}

/* A change went in: every long-poll wakes now, rather than at the watcher's next look. */
static void rn_admin_changed(struct rn_admin_call *c, json_t *obj)
{
	rn_serve_bump(c->s);
	rn_admin_json(c, 200, obj ? obj : json_pack("{s:b}", "ok", 1));
}

/* ---- nodes ---- */

/* The node the path's second segment names (DNS name or id); false after a reply. */
static bool rn_admin_node(struct rn_admin_call *c, struct rn_store_node *nd)
{
	int ret = rn_ctl_node_lookup(c->s->store, c->seg[1], nd);

	if (ret == -ENOENT)
		rn_serve_error(c->r, 404, "no node \"%.80s\": give its DNS name or id", c->seg[1]);
	else if (ret)
		rn_admin_store_fail(c, "looking up the node", ret);
	return ret == 0;
}

/* Nodes as JSON, with their users' names; all of them, or only id when id > 0. */
static json_t *rn_admin_nodes_json(struct rn_admin_call *c, int64_t id)
{
	struct rn_store_node *nodes = NULL;
	struct rn_store_user *users = NULL;
	size_t n = 0, n_users = 0;
	json_t *arr = NULL;
	int ret;

	ret = rn_store_node_list(c->s->store, &nodes, &n);
	if (!ret)
		ret = rn_store_user_list(c->s->store, &users, &n_users);
	if (ret) {
		rn_admin_store_fail(c, "listing nodes", ret);
		goto out;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		if (!id || nodes[i].id == id)
			json_array_append_new(
			    arr, rn_ctl_node_json(
				     &nodes[i], rn_ctl_user_name(users, n_users, nodes[i].user_id),
				     c->now));
out:
	rn_store_user_list_free(users, n_users);
	rn_store_node_list_free(nodes, n);
	return arr;
}

static void rn_admin_nodes_list(struct rn_admin_call *c)
{
	json_t *arr = rn_admin_nodes_json(c, 0);

	if (arr)
		rn_admin_json(c, 200, json_pack("{s:o}", "nodes", arr));
}

static void rn_admin_node_show(struct rn_admin_call *c)
{
	struct rn_store_node nd = { 0 };
	json_t *arr;

	if (!rn_admin_node(c, &nd))
		return;
	arr = rn_admin_nodes_json(c, nd.id);
	if (arr && json_array_size(arr) == 1)
		rn_admin_json(c, 200, json_incref(json_array_get(arr, 0)));
	else if (arr)
		rn_serve_error(c->r, 404, "node %lld is gone", (long long)nd.id);
	json_decref(arr);
	rn_store_node_clear(&nd);
}

static void rn_admin_node_rename(struct rn_admin_call *c)
{
	struct rn_store_node nd = { 0 };
	const char *name;
	json_t *body = rn_admin_body(c);
	int ret;

	if (!body || !rn_admin_unpack(c, body, "{s:s}", "name", &name) || !rn_admin_node(c, &nd))
		goto out;
	ret = rn_store_node_rename(c->s->store, c->actor, nd.id, name, c->now);
	if (ret)
		rn_admin_store_fail(c, "renaming the node", ret);
	else
		rn_admin_changed(c, NULL);
out:
	rn_store_node_clear(&nd);
	json_decref(body);
}

static void rn_admin_node_tags(struct rn_admin_call *c)
{
	struct rn_store_node nd = { 0 };
	json_t *body = rn_admin_body(c), *tags;
	char *text = NULL;
	int ret;

	if (!body || !rn_admin_unpack(c, body, "{s:o}", "tags", &tags) || !rn_admin_node(c, &nd))
		goto out;
	text = json_dumps(tags, JSON_COMPACT | JSON_ENCODE_ANY);
	ret = text ? rn_store_node_set_tags(c->s->store, c->actor, nd.id, text, c->now) : -ENOMEM;
	if (ret)
		rn_admin_store_fail(c, "setting the node's tags", ret);
	else
		rn_admin_changed(c, NULL);
out:
	free(text);
	rn_store_node_clear(&nd);
	json_decref(body);
}

static void rn_admin_node_expire(struct rn_admin_call *c)
{
	struct rn_store_node nd = { 0 };
	json_t *body = rn_admin_body(c);
	int ret;

	if (!body || !rn_admin_unpack(c, body, "{}") || !rn_admin_node(c, &nd))
		goto out;
	ret = rn_store_node_expire(c->s->store, c->actor, nd.id, c->now);
	if (ret)
		rn_admin_store_fail(c, "expiring the node", ret);
	else
		rn_admin_changed(c, NULL);
out:
	rn_store_node_clear(&nd);
	json_decref(body);
}

static void rn_admin_node_remove(struct rn_admin_call *c)
{
	struct rn_store_node nd = { 0 };
	int ret;

	if (c->len) {
		rn_serve_error(c->r, 400, "DELETE takes no body");
		return;
	}
	if (!rn_admin_node(c, &nd))
		return;
	ret = rn_store_node_remove(c->s->store, c->actor, nd.id, c->now);
	if (ret)
		rn_admin_store_fail(c, "removing the node", ret);
	else
		rn_admin_changed(c, NULL);
	rn_store_node_clear(&nd);
}

/* POST nodes/N/routes/approve|unapprove {"routes": ["CIDR", ...]} */
static void rn_admin_node_routes(struct rn_admin_call *c)
{
	bool remove = !strcmp(c->seg[3], "unapprove");
	struct rn_store_node nd = { 0 };
	json_t *body = rn_admin_body(c), *routes, *v;
	char *cidrs[RN_NETMAP_MAX_ROUTES], *text = NULL, err[512];
	size_t n = 0, i;
	int ret;

	if (!body || !rn_admin_unpack(c, body, "{s:o}", "routes", &routes))
		goto out;
	if (!json_is_array(routes) || !json_array_size(routes) ||
	    json_array_size(routes) > RN_NETMAP_MAX_ROUTES) {
		rn_serve_error(c->r, 400, "\"routes\" is an array of 1 to %d CIDRs",
			       RN_NETMAP_MAX_ROUTES);
		goto out;
	}
	json_array_foreach(routes, i, v) {
		if (!json_is_string(v)) {
			rn_serve_error(c->r, 400, "\"routes\": item %zu is not a string", i + 1);
			goto out;
		}
		cidrs[n++] = (char *)json_string_value(v);
	}
	if (!rn_admin_node(c, &nd))
		goto out;
	text = rn_ctl_routes_update(nd.approved_routes, cidrs, n, remove, err, sizeof(err));
	if (!text) {
		rn_serve_error(c->r, 400, "%s", err);
		goto out;
	}
	ret = rn_store_node_approve_routes(c->s->store, c->actor, nd.id, text, c->now);
	if (ret)
		rn_admin_store_fail(c, remove ? "unapproving routes" : "approving routes", ret);
	else
		rn_admin_changed(c, json_pack("{s:o}", "approved_routes", rn_ctl_json_array(text)));
out:
	free(text);
	rn_store_node_clear(&nd);
	json_decref(body);
}

/* POST nodes/N/exit/approve|unapprove */
static void rn_admin_node_exit(struct rn_admin_call *c)
{
	bool approve = !strcmp(c->seg[3], "approve");
	struct rn_store_node nd = { 0 };
	json_t *body = rn_admin_body(c);
	char err[512];
	int ret;

	if (!body || !rn_admin_unpack(c, body, "{}") || !rn_admin_node(c, &nd))
		goto out;
	ret = rn_ctl_exit_set(c->s->store, c->actor, &nd, approve, c->now, err, sizeof(err));
	if (ret)
		rn_serve_error(c->r, ret == -EINVAL ? 409 : rn_admin_status_of(ret), "%s", err);
	else
		rn_admin_changed(c, NULL);
out:
	rn_store_node_clear(&nd);
	json_decref(body);
}

/* ---- users, auth keys ---- */

static void rn_admin_users(struct rn_admin_call *c)
{
	struct rn_store_node *nodes = NULL;
	struct rn_store_user *users = NULL;
	size_t n_users = 0, n_nodes = 0;
	json_t *arr;
	int ret;

	ret = rn_store_node_list(c->s->store, &nodes, &n_nodes);
	if (!ret)
		ret = rn_store_user_list(c->s->store, &users, &n_users);
	if (ret) {
		rn_admin_store_fail(c, "listing users", ret);
		goto out;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n_users; i++) {
		int count = 0;

		for (size_t j = 0; j < n_nodes; j++)
			count += nodes[j].user_id == users[i].id;
		json_array_append_new(arr, rn_ctl_user_json(&users[i], count));
	}
	rn_admin_json(c, 200, json_pack("{s:o}", "users", arr));
out:
	rn_store_user_list_free(users, n_users);
	rn_store_node_list_free(nodes, n_nodes);
}

static void rn_admin_authkeys_list(struct rn_admin_call *c)
{
	struct rn_store_authkey *keys = NULL;
	struct rn_store_user *users = NULL;
	size_t n = 0, n_users = 0;
	json_t *arr;
	int ret;

	ret = rn_store_authkey_list(c->s->store, &keys, &n);
	if (!ret)
		ret = rn_store_user_list(c->s->store, &users, &n_users);
	if (ret) {
		rn_admin_store_fail(c, "listing auth keys", ret);
		goto out;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(
		    arr, rn_ctl_authkey_json(
			     &keys[i], rn_ctl_user_name(users, n_users, keys[i].user_id), c->now));
	rn_admin_json(c, 200, json_pack("{s:o}", "authkeys", arr));
out:
	rn_store_user_list_free(users, n_users);
	rn_store_authkey_list_free(keys, n);
}

/* POST authkeys {"user", "reusable"?, "ephemeral"?, "expires"?: "7d", "tags"?: [...]} */
static void rn_admin_authkeys_create(struct rn_admin_call *c)
{
	struct rn_ctl_authkey_req req = { 0 };
	json_t *body = rn_admin_body(c), *tags = NULL;
	const char *expires = NULL;
	char text[RN_AUTHKEY_STRSIZE] = "", err[512], *tag_text = NULL;
	int reusable = 0, ephemeral = 0;
	int64_t id = 0;

	if (!body || !rn_admin_unpack(c, body, "{s:s,s?b,s?b,s?s,s?o}", "user", &req.user,
				      "reusable", &reusable, "ephemeral", &ephemeral, "expires",
				      &expires, "tags", &tags))
		goto out;
	if (expires && !rn_duration_parse(expires, &req.expires_s, err, sizeof(err))) {
		rn_serve_error(c->r, 400, "\"expires\": %s", err);
		goto out;
	}
	tag_text = json_dumps(tags ? tags : json_array(), JSON_COMPACT | JSON_ENCODE_ANY);
	req.reusable = reusable;
	req.ephemeral = ephemeral;
	req.tags = tag_text;
	if (!tag_text) {
		rn_serve_error(c->r, 500, "out of memory");
		goto out;
	}
	if (rn_ctl_authkey_make(c->s->store, c->s->state, c->actor, &req, c->now, text,
				sizeof(text), &id, err, sizeof(err))) {
		rn_serve_error(c->r, 400, "creating the auth key: %s", err);
		goto out;
	}
	rn_admin_json(c, 201, json_pack("{s:I,s:s}", "id", (json_int_t)id, "key", text));
	c->r->secret = true; /* the body holds the key: wiped once sent */
out:
	OPENSSL_cleanse(text, sizeof(text));
	free(tag_text);
	json_decref(body);
}

static void rn_admin_authkeys_revoke(struct rn_admin_call *c)
{
	char *end;
	long long id;
	int ret;

	errno = 0;
	id = strtoll(c->seg[1], &end, 10);
	if (c->seg[1][0] < '1' || c->seg[1][0] > '9' || *end || errno) {
		rn_serve_error(c->r, 400, "\"%.80s\" is not an auth key id", c->seg[1]);
		return;
	}
	ret = rn_store_authkey_revoke(c->s->store, c->actor, id, c->now);
	if (ret)
		rn_admin_store_fail(c, "revoking the auth key", ret);
	else
		rn_admin_json(c, 200, json_pack("{s:b}", "ok", 1));
}

/* ---- policy ---- */

static void rn_admin_etag(struct rn_admin_call *c, int64_t rev)
{
	snprintf(c->r->etag, sizeof(c->r->etag), "\"%lld\"", (long long)rev);
}

static void rn_admin_policy_get(struct rn_admin_call *c)
{
	char *text = NULL;
	int64_t rev = 0;
	int ret = rn_store_policy_get(c->s->store, &text, &rev);

	if (ret) {
		rn_admin_store_fail(c, "reading the policy", ret);
		return;
	}
	rn_admin_json(c, 200, json_pack("{s:I,s:s?}", "revision", (json_int_t)rev, "text", text));
	rn_admin_etag(c, rev);
	free(text);
}

/* The body checked as `policy check` checks a file; false after a 400 with line and column. */
static bool rn_admin_policy_checked(struct rn_admin_call *c)
{
	struct rn_policy_error perr;
	int ret;

	if (!c->body || !c->len) {
		rn_serve_error(c->r, 400, "the body is the policy (HuJSON), and it is empty");
		return false;
	}
	if (strlen(c->body) != c->len) { /* it is stored as text */
		rn_serve_error(c->r, 400, "the policy holds a NUL byte");
		return false;
	}
	ret = rn_ctl_policy_check_text(c->s->store, c->body, c->len, "policy", NULL, &perr);
	if (ret == -EINVAL)
		rn_admin_json(c, 400,
			      json_pack("{s:s,s:i,s:i}", "error",
					perr.text[0] ? perr.text : perr.message, "line", perr.line,
					"column", perr.column));
	else if (ret)
		rn_serve_error(c->r, 500, "%s", perr.message);
	return ret == 0;
}

static void rn_admin_policy_check(struct rn_admin_call *c)
{
	if (rn_admin_policy_checked(c))
		rn_admin_json(c, 200, json_pack("{s:b}", "ok", 1));
}

/* If-Match: "N" (or N): the revision the change was made against. -1 when malformed. */
static int64_t rn_admin_if_match(const char *v)
{
	char *end;
	long long rev;
	size_t len = strlen(v);

	if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
		v++;
		len -= 2;
	}
	if (!len || v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	rev = strtoll(v, &end, 10);
	return errno || (size_t)(end - v) != len ? -1 : rev;
}

static void rn_admin_policy_put(struct rn_admin_call *c)
{
	const char *im =
	    MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH);
	char *text = NULL;
	int64_t want, rev = 0;
	int ret;

	if (!im) {
		rn_serve_error(c->r, 428,
			       "If-Match is required: the ETag of GET policy, so that a change "
			       "made since is not overwritten");
		return;
	}
	want = rn_admin_if_match(im);
	if (want < 0) {
		rn_serve_error(c->r, 400, "If-Match \"%.40s\" is not a revision such as \"3\"", im);
		return;
	}
	if (!rn_admin_policy_checked(c))
		return;
	ret = rn_store_policy_set_if(c->s->store, c->actor, c->body, want, c->now);
	if (ret == -ESTALE) {
		rn_serve_error(c->r, 412, "%s", rn_store_errmsg(c->s->store));
		return;
	}
	if (!ret)
		ret = rn_store_policy_get(c->s->store, &text, &rev);
	if (ret) {
		rn_admin_store_fail(c, "storing the policy", ret);
		return;
	}
	free(text);
	rn_admin_changed(c, json_pack("{s:I}", "revision", (json_int_t)rev));
	rn_admin_etag(c, rev);
}

/* ---- audit, health ---- */

/* A query argument as a number >= 0 (absent: dflt); false after a 400. */
static bool rn_admin_query_num(struct rn_admin_call *c, const char *name, int64_t dflt,
			       int64_t *out)
{
	const char *v = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
	char *end;

	*out = dflt;
	if (!v)
		return true;
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (v[0] >= '0' && v[0] <= '9' && !*end && !errno)
		return true;
	rn_serve_error(c->r, 400, "?%s=%.40s is not a number", name, v);
	return false;
}

/* GET audit?since=WHEN&before=ID&limit=N: newest first; next_before pages back. */
static void rn_admin_audit(struct rn_admin_call *c)
{
	const char *sv = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "since");
	struct rn_store_audit *rows = NULL;
	int64_t since = 0, before, limit;
	char err[200];
	size_t n = 0;
	json_t *arr;
	int ret;

	if (sv && !rn_when_parse(sv, c->now, -1, &since, err, sizeof(err))) {
		rn_serve_error(c->r, 400, "?since: %s", err);
		return;
	}
	if (!rn_admin_query_num(c, "before", 0, &before) ||
	    !rn_admin_query_num(c, "limit", RN_ADMIN_AUDIT_PAGE, &limit))
		return;
	if (limit < 1 || limit > RN_ADMIN_AUDIT_MAX) {
		rn_serve_error(c->r, 400, "?limit is 1 to %d", RN_ADMIN_AUDIT_MAX);
		return;
	}
	ret = rn_store_audit_page(c->s->store, since, before, (size_t)limit, &rows, &n);
	if (ret) {
		rn_admin_store_fail(c, "reading the audit log", ret);
		return;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, rn_ctl_audit_json(&rows[i]));
	rn_admin_json(c, 200,
		      json_pack("{s:o,s:o}", "entries", arr, "next_before",
				n == (size_t)limit ? json_integer(rows[n - 1].id) : json_null()));
	rn_store_audit_list_free(rows, n);
}

static void rn_admin_health(struct rn_admin_call *c)
{
	struct rn_store_node *nodes = NULL;
	char *text = NULL;
	size_t n = 0;
	int64_t rev = 0;
	int ret;

	ret = rn_store_node_list(c->s->store, &nodes, &n);
	if (!ret)
		ret = rn_store_policy_get(c->s->store, &text, &rev);
	if (ret)
		rn_admin_store_fail(c, "reading the store", ret);
	else
		rn_admin_json(c, 200,
			      json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:s}", "status", "ok", "version",
					RN_VERSION, "nodes", (json_int_t)n, "policy_revision",
					(json_int_t)rev, "epoch", (json_int_t)c->s->epoch, "token",
					c->tok.name, "scope",
					rn_store_token_scope_name(c->tok.scope)));
	free(text);
	rn_store_node_list_free(nodes, n);
}

/* ---- routing ---- */

enum rn_admin_need { RN_ADMIN_READ, RN_ADMIN_WRITE, RN_ADMIN_KEYS };

struct rn_admin_route {
	const char *method;
	const char *pattern; /* segments; "*" matches one */
	enum rn_admin_need need;
	void (*fn)(struct rn_admin_call *c);
};

static const struct rn_admin_route rn_admin_routes[] = {
	{ "GET", "health", RN_ADMIN_READ, rn_admin_health },
	{ "GET", "nodes", RN_ADMIN_READ, rn_admin_nodes_list },
	{ "GET", "nodes/*", RN_ADMIN_READ, rn_admin_node_show },
	{ "DELETE", "nodes/*", RN_ADMIN_WRITE, rn_admin_node_remove },
	{ "POST", "nodes/*/rename", RN_ADMIN_WRITE, rn_admin_node_rename },
	{ "POST", "nodes/*/tags", RN_ADMIN_WRITE, rn_admin_node_tags },
	{ "POST", "nodes/*/expire", RN_ADMIN_WRITE, rn_admin_node_expire },
	{ "POST", "nodes/*/routes/approve", RN_ADMIN_WRITE, rn_admin_node_routes },
	{ "POST", "nodes/*/routes/unapprove", RN_ADMIN_WRITE, rn_admin_node_routes },
	{ "POST", "nodes/*/exit/approve", RN_ADMIN_WRITE, rn_admin_node_exit },
	{ "POST", "nodes/*/exit/unapprove", RN_ADMIN_WRITE, rn_admin_node_exit },
	{ "GET", "users", RN_ADMIN_READ, rn_admin_users },
	{ "GET", "authkeys", RN_ADMIN_READ, rn_admin_authkeys_list },
	{ "POST", "authkeys", RN_ADMIN_KEYS, rn_admin_authkeys_create },
	{ "DELETE", "authkeys/*", RN_ADMIN_KEYS, rn_admin_authkeys_revoke },
	{ "GET", "policy", RN_ADMIN_READ, rn_admin_policy_get },
	{ "PUT", "policy", RN_ADMIN_WRITE, rn_admin_policy_put },
	{ "POST", "policy/check", RN_ADMIN_READ, rn_admin_policy_check },
	{ "GET", "audit", RN_ADMIN_READ, rn_admin_audit },
};

static bool rn_admin_match(const char *pattern, char *const *seg, size_t n)
{
	size_t i = 0;

	for (const char *p = pattern; *p; i++) {
		size_t len = strcspn(p, "/");
		bool wild = len == 1 && p[0] == '*';

		if (i >= n || (!wild && (strlen(seg[i]) != len || strncmp(p, seg[i], len))))
			return false;
		p += len + (p[len] == '/');
	}
	return i == n;
}

/* Whether the token's scope covers need: write covers everything, keys only auth keys. */
static bool rn_admin_allowed(enum rn_store_token_scope scope, enum rn_admin_need need)
{
	return need == RN_ADMIN_READ || scope == RN_STORE_TOKEN_WRITE ||
	       (need == RN_ADMIN_KEYS && scope == RN_STORE_TOKEN_KEYS);
}

/* Splits path into c->seg (in buf); false if it has an empty segment or too many. */
static bool rn_admin_split(struct rn_admin_call *c, char *buf)
{
	char *save = NULL;
	size_t len = strlen(buf);

	if (!len || buf[0] == '/' || buf[len - 1] == '/' || strstr(buf, "//"))
		return false;
	for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (c->n_seg == RN_ADMIN_SEGS)
			return false;
		c->seg[c->n_seg++] = t;
	}
	return true;
}

static void rn_admin_route(struct rn_admin_call *c, const char *method, const char *path)
{
	char buf[RN_ADMIN_PATH_MAX];
	const struct rn_admin_route *hit = NULL;
	bool path_known = false;

	if (strlen(path) >= sizeof(buf) || !rn_admin_split(c, strcpy(buf, path)))
		goto unknown;
	for (size_t i = 0; i < sizeof(rn_admin_routes) / sizeof(rn_admin_routes[0]); i++) {
		if (!rn_admin_match(rn_admin_routes[i].pattern, c->seg, c->n_seg))
			continue;
		path_known = true;
		if (!strcmp(rn_admin_routes[i].method, method))
			hit = &rn_admin_routes[i];
	}
	if (!hit && path_known) {
		for (size_t i = 0; i < sizeof(rn_admin_routes) / sizeof(rn_admin_routes[0]); i++)
			if (rn_admin_match(rn_admin_routes[i].pattern, c->seg, c->n_seg) &&
			    strlen(c->r->allow) + 8 < sizeof(c->r->allow))
				snprintf(c->r->allow + strlen(c->r->allow),
					 sizeof(c->r->allow) - strlen(c->r->allow), "%s%s",
					 c->r->allow[0] ? ", " : "", rn_admin_routes[i].method);
		rn_serve_error(c->r, 405, "%s is not a method of /admin/v1/%.200s", method, path);
		return;
	}
	if (!hit)
		goto unknown;
	if (!rn_admin_allowed(c->tok.scope, hit->need)) {
		log_info(MAIN, "admin API: token \"%s\" (scope %s) refused %s /admin/v1/%.200s",
			 c->tok.name, rn_store_token_scope_name(c->tok.scope), method, path);
		rn_serve_error(c->r, 403, "token \"%s\" has scope %s; %s /admin/v1/%.200s needs %s",
			       c->tok.name, rn_store_token_scope_name(c->tok.scope), method, path,
			       hit->need == RN_ADMIN_KEYS ? "keys or write" : "write");
		return;
	}
	hit->fn(c);
	return;
unknown:
	rn_serve_error(c->r, 404, "unknown path /admin/v1/%.200s: see docs/admin-api.md", path);
}

static uint64_t rn_admin_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The rate limits and the token; false after a reply (429 or 401). Lock held. */
static bool rn_admin_auth(struct rn_admin_call *c, struct rn_admin_api *a,
			  const struct sockaddr *peer)
{
	const char *auth =
	    MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	uint64_t now_ms = rn_admin_now_ms();
	unsigned retry = 0;

	if (!rn_ratelimit_allow(a->calls, peer, now_ms, &retry) ||
	    !rn_ratelimit_allow(a->fails, peer, now_ms, &retry)) {
		rn_serve_error(c->r, 429, "too many calls from this address: wait %u s", retry);
		c->r->retry_after_s = retry ? retry : 1;
		return false;
	}
	rn_ratelimit_fail(a->calls, peer, now_ms);
	if (auth && !strncasecmp(auth, "Bearer ", 7) &&
	    !rn_store_token_check(c->s->store, auth + 7, c->now, &c->tok)) {
		snprintf(c->actor, sizeof(c->actor), "token:%s", c->tok.name);
		return true;
	}
	log_debug(MAIN, "admin API: refused: %s",
		  auth ? rn_store_errmsg(c->s->store) : "no Authorization");
	rn_ratelimit_fail(a->fails, peer, now_ms);
	rn_serve_error(c->r, 401,
		       "an admin token is required: Authorization: Bearer TOKEN, a valid token "
		       "from `rustynet-control token create`");
	return false;
}

void rn_admin_api_handle(struct rn_serve *s, struct MHD_Connection *conn,
			 const struct sockaddr *peer, const char *method, const char *url,
			 const char *body, size_t len, struct rn_serve_reply *r)
{
	struct rn_admin_call c = {
		.s = s, .conn = conn, .body = body, .len = len, .now = time(NULL), .r = r
	};

	pthread_mutex_lock(&s->lock);
	if (rn_admin_auth(&c, s->admin, peer))
		rn_admin_route(&c, method, url + strlen(RN_ADMIN_API_PREFIX));
	pthread_mutex_unlock(&s->lock);
}
