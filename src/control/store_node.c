/* SPDX-License-Identifier: MIT */
/*
 * Nodes: enrollment, addresses, DNS names, routes. Addresses and DNS names are chosen once, when
 * a key first enrolls, and stored; nothing recomputes them, so no node's name or address moves
 * because another node joins or leaves.
 *
 * DNS names: the label of the hostname if free, else the first free of LABEL-2, LABEL-3, ... (the
 * label cut so that the suffix fits in 63). "Free" means no existing node has it, so a removed
 * node's name goes to the next node that asks for that label; a rename must pick a free name.
 *
 * IPv4: 100.64.0.0/10 from a cursor that only moves forward (wrapping when the range is used up),
 * so a removed node's address is not handed to the next node at once while peers may still hold
 * rules for it. Never used: x.x.x.0 and x.x.x.255 (some stacks still treat them as network and
 * broadcast) and 100.100.100.0/24, kept for mesh services (Magic DNS is 100.100.100.100).
 * IPv6: the network's ULA /48, subnet 0, with the node's IPv4 as the last 32 bits: unique
 * because the IPv4 is, and easy to match with its IPv4 when reading logs.
 */
#include "control/store_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define RN_NODE_COLUMNS                                                                            \
	"id, name, dns_name, user_id, public_key, ipv4, ipv6, enrolled_at, last_seen, expired, "   \
	"advertises_exit, exit_approved, tags, advertised_routes, approved_routes, endpoints, "    \
	"key_expires_at, ephemeral"

enum {
	RN_CGNAT_BASE = 0x64400000,  /* 100.64.0.0 */
	RN_CGNAT_SIZE = 1 << 22,     /* a /10 */
	RN_SERVICE_NET = 0x64646400, /* 100.100.100.0/24 */
	RN_NODE_MAX_TAGS = 64,
	RN_NODE_MAX_ROUTES = 256,
	RN_NODE_MAX_ENDPOINTS = 16,
};

static bool rn_node_cidr_ok(const char *s)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char buf[16];
	const char *slash = strchr(s, '/');
	char *end;
	long len;
	size_t alen;
	int family;

	if (!slash || (alen = (size_t)(slash - s)) >= sizeof(addr))
		return false;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr, buf) != 1 || !slash[1] || slash[1] == '-' || slash[1] == '+')
		return false;
	len = strtol(slash + 1, &end, 10);
	return *end == '\0' && len >= 0 && len <= (family == AF_INET ? 32 : 128);
}

static bool rn_node_endpoint_ok(const char *s)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char buf[16];
	const char *colon, *start = s;
	size_t alen;
	char *end;
	long port;
	int family = AF_INET;

	if (*s == '[') {
		colon = strstr(s, "]:");
		start = s + 1;
		family = AF_INET6;
	} else {
		colon = strchr(s, ':');
	}
	if (!colon || (alen = (size_t)(colon - start)) >= sizeof(addr))
		return false;
	memcpy(addr, start, alen);
	addr[alen] = '\0';
	colon += family == AF_INET6 ? 2 : 1;
	if (inet_pton(family, addr, buf) != 1 || *colon < '0' || *colon > '9')
		return false;
	port = strtol(colon, &end, 10);
	return *end == '\0' && port > 0 && port <= 65535;
}

static bool rn_node_tag_ok(const char *tag)
{
	return strncmp(tag, "tag:", 4) == 0 && strlen(tag) > 4 &&
	       strlen(tag) <= 4 + RN_STORE_LABEL_MAX;
}

static bool rn_node_hostname_ok(const char *name)
{
	size_t i, len = name ? strlen(name) : 0;

	if (len > RN_STORE_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

void rn_store_node_clear(struct rn_store_node *node)
{
	free(node->tags);
	free(node->advertised_routes);
	free(node->approved_routes);
	free(node->endpoints);
	memset(node, 0, sizeof(*node));
}

void rn_store_node_list_free(struct rn_store_node *nodes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rn_store_node_clear(&nodes[i]);
	free(nodes);
}

static int rn_node_from_row(struct rn_store *store, sqlite3_stmt *st, struct rn_store_node *out)
{
	const void *key = sqlite3_column_blob(st, 4);
	const char *ipv6 = (const char *)sqlite3_column_text(st, 6);

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	snprintf(out->name, sizeof(out->name), "%s",
		 (const char *)sqlite3_column_text(st, 1) ?: "");
	snprintf(out->dns_name, sizeof(out->dns_name), "%s",
		 (const char *)sqlite3_column_text(st, 2) ?: "");
	out->user_id = sqlite3_column_int64(st, 3);
	if (key && sqlite3_column_bytes(st, 4) == RN_STORE_KEY_LEN)
		memcpy(out->public_key, key, RN_STORE_KEY_LEN);
	out->ipv4.s_addr = htonl((uint32_t)sqlite3_column_int64(st, 5));
	if (!ipv6 || inet_pton(AF_INET6, ipv6, &out->ipv6) != 1)
		return rn_store_fail(store, -EIO, "node %lld has a corrupt IPv6 address \"%s\"",
				     (long long)out->id, ipv6 ?: "");
	out->enrolled_at = sqlite3_column_int64(st, 7);
	out->last_seen = sqlite3_column_int64(st, 8);
	out->expired = sqlite3_column_int(st, 9) != 0;
	out->advertises_exit = sqlite3_column_int(st, 10) != 0;
	out->exit_approved = sqlite3_column_int(st, 11) != 0;
	out->tags = rn_store_column_dup(st, 12);
	out->advertised_routes = rn_store_column_dup(st, 13);
	out->approved_routes = rn_store_column_dup(st, 14);
	out->endpoints = rn_store_column_dup(st, 15);
	out->key_expires_at = sqlite3_column_int64(st, 16);
	out->ephemeral = sqlite3_column_int(st, 17) != 0;
	if (!out->tags || !out->advertised_routes || !out->approved_routes || !out->endpoints) {
		rn_store_node_clear(out);
		return rn_store_fail(store, -ENOMEM, "out of memory");
	}
	return 0;
}

/* Runs a SELECT of RN_NODE_COLUMNS that yields at most one row, and finalizes it. */
static int rn_node_get_one(struct rn_store *store, sqlite3_stmt *st, const char *what,
			   struct rn_store_node *out)
{
	int rc = sqlite3_step(st);
	int ret;

	if (rc == SQLITE_ROW)
		ret = rn_node_from_row(store, st, out);
	else if (rc == SQLITE_DONE)
		ret = rn_store_fail(store, -ENOENT, "there is no such node (%s)", what);
	else
		ret = rn_store_sql_fail(store, rc, what);
	sqlite3_finalize(st);
	return ret;
}

int rn_store_node_get_by_key(struct rn_store *store, const uint8_t key[RN_STORE_KEY_LEN],
			     struct rn_store_node *out)
{
	sqlite3_stmt *st;
	int ret;

	ret = rn_store_prepare(store, "SELECT " RN_NODE_COLUMNS " FROM nodes WHERE public_key = ?",
			       &st);
	if (ret)
		return ret;
	sqlite3_bind_blob(st, 1, key, RN_STORE_KEY_LEN, SQLITE_STATIC);
	return rn_node_get_one(store, st, "looking up a node by key", out);
}

int rn_store_node_get_by_name(struct rn_store *store, const char *dns_name,
			      struct rn_store_node *out)
{
	sqlite3_stmt *st;
	int ret;

	ret = rn_store_prepare(store, "SELECT " RN_NODE_COLUMNS " FROM nodes WHERE dns_name = ?",
			       &st);
	if (ret)
		return ret;
	sqlite3_bind_text(st, 1, dns_name, -1, SQLITE_STATIC);
	return rn_node_get_one(store, st, "looking up a node by name", out);
}

static int rn_node_get_by_id(struct rn_store *store, int64_t id, struct rn_store_node *out)
{
	sqlite3_stmt *st;
	int ret;

	ret = rn_store_prepare(store, "SELECT " RN_NODE_COLUMNS " FROM nodes WHERE id = ?", &st);
	if (ret)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	ret = rn_node_get_one(store, st, "looking up a node by id", out);
	if (ret == -ENOENT)
		ret = rn_store_fail(store, -ENOENT, "there is no node with id %lld", (long long)id);
	return ret;
}

int rn_store_node_list(struct rn_store *store, struct rn_store_node **out, size_t *n_out)
{
	struct rn_store_node *v = NULL, *e;
	sqlite3_stmt *st;
	size_t n = 0, cap = 0;
	int ret, rc;

	*out = NULL;
	*n_out = 0;
	ret = rn_store_prepare(store, "SELECT " RN_NODE_COLUMNS " FROM nodes ORDER BY id", &st);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			e = realloc(v, cap * sizeof(*v));
			if (!e) {
				ret = rn_store_fail(store, -ENOMEM, "out of memory");
				break;
			}
			v = e;
		}
		ret = rn_node_from_row(store, st, &v[n]);
		if (ret)
			break;
		n++;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = rn_store_sql_fail(store, rc, "listing nodes");
	sqlite3_finalize(st);
	if (ret) {
		rn_store_node_list_free(v, n);
		return ret;
	}
	*out = v;
	*n_out = n;
	return 0;
}

/* 1: some node other than except_id has the DNS name; 0: free; < 0: error. */
static int rn_node_name_taken(struct rn_store *store, const char *dns_name, int64_t except_id)
{
	sqlite3_stmt *st;
	int ret, rc;

	ret = rn_store_prepare(store, "SELECT 1 FROM nodes WHERE dns_name = ? AND id != ?", &st);
	if (ret)
		return ret;
	sqlite3_bind_text(st, 1, dns_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, except_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : rn_store_sql_fail(store, rc, "looking up a DNS name");
}

/* The first free of LABEL, LABEL-2, LABEL-3, ... (see the top of the file). */
static int rn_node_pick_dns_name(struct rn_store *store, const char *hostname,
				 char out[RN_STORE_LABEL_MAX + 1])
{
	char label[RN_STORE_LABEL_MAX + 1], suffix[24];
	unsigned long n;
	size_t keep;
	int ret;

	rn_store_dns_label(hostname, label);
	snprintf(out, RN_STORE_LABEL_MAX + 1, "%s", label);
	for (n = 2;; n++) {
		ret = rn_node_name_taken(store, out, 0);
		if (ret <= 0)
			return ret;
		snprintf(suffix, sizeof(suffix), "-%lu", n);
		keep = strlen(label);
		if (keep > RN_STORE_LABEL_MAX - strlen(suffix))
			keep = RN_STORE_LABEL_MAX - strlen(suffix);
		while (keep > 0 && label[keep - 1] == '-')
			keep--;
		snprintf(out, RN_STORE_LABEL_MAX + 1, "%.*s%s", (int)keep, label, suffix);
	}
}

static bool rn_node_ipv4_usable(uint32_t offset)
{
	uint32_t ip = RN_CGNAT_BASE + offset;
	uint8_t last = ip & 0xff;

	return last != 0 && last != 255 && (ip & 0xffffff00) != RN_SERVICE_NET;
}

static int rn_node_cursor(struct rn_store *store, uint32_t *cursor, bool write)
{
	sqlite3_stmt *st;
	char text[24];
	int ret;

	if (!write) {
		ret = rn_store_setting_get(store, "ipv4_next", text, sizeof(text));
		*cursor = ret ? 0 : (uint32_t)strtoul(text, NULL, 10) % RN_CGNAT_SIZE;
		return ret;
	}
	ret = rn_store_prepare(store, "UPDATE settings SET value = ? WHERE key = 'ipv4_next'", &st);
	if (ret)
		return ret;
	sqlite3_bind_int64(st, 1, *cursor);
	return rn_store_step_done(store, st, "saving the address cursor");
}

/* Inside the caller's transaction. */
static int rn_node_alloc_ipv4(struct rn_store *store, uint32_t *ip_out)
{
	sqlite3_stmt *st;
	uint32_t cursor, tries;
	int ret, rc = SQLITE_DONE;

	ret = rn_node_cursor(store, &cursor, false);
	if (ret)
		return ret;
	ret = rn_store_prepare(store, "SELECT 1 FROM nodes WHERE ipv4 = ?", &st);
	if (ret)
		return ret;
	for (tries = 0; tries < RN_CGNAT_SIZE; tries++, cursor = (cursor + 1) % RN_CGNAT_SIZE) {
		if (!rn_node_ipv4_usable(cursor))
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, RN_CGNAT_BASE + cursor);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc == SQLITE_ROW ? rn_store_fail(store, -ENOSPC,
							"100.64.0.0/10 is full: "
							"remove nodes that are gone")
					: rn_store_sql_fail(store, rc, "allocating an address");
	*ip_out = RN_CGNAT_BASE + cursor;
	cursor = (cursor + 1) % RN_CGNAT_SIZE;
	return rn_node_cursor(store, &cursor, true);
}

static void rn_node_ipv6_text(const struct rn_store *store, uint32_t ipv4, char *out, size_t size)
{
	struct in6_addr a6;

	memset(&a6, 0, sizeof(a6));
	memcpy(a6.s6_addr, store->ula, RN_STORE_ULA_PREFIX_LEN);
	a6.s6_addr[12] = (uint8_t)(ipv4 >> 24);
	a6.s6_addr[13] = (uint8_t)(ipv4 >> 16);
	a6.s6_addr[14] = (uint8_t)(ipv4 >> 8);
	a6.s6_addr[15] = (uint8_t)ipv4;
	inet_ntop(AF_INET6, &a6, out, (socklen_t)size);
}

/* When a key enrolled now expires under the network's setting (RN_STORE_KEY_EXPIRY_NONE: never). */
static int64_t rn_node_key_expiry(struct rn_store *store, int64_t now)
{
	char text[32];
	long long s;

	if (rn_store_setting_get(store, RN_STORE_SETTING_KEY_EXPIRY, text, sizeof(text)) ||
	    sscanf(text, "%lld", &s) != 1 || s <= 0)
		return RN_STORE_KEY_EXPIRY_NONE;
	return now + s;
}

bool rn_store_node_is_expired(const struct rn_store_node *n, int64_t now)
{
	return n->expired || (n->key_expires_at > 0 && n->key_expires_at <= now);
}

static int rn_node_insert(struct rn_store *store, const char *actor,
			  const struct rn_store_node_enroll *req, const char *tags, int64_t now)
{
	char dns_name[RN_STORE_LABEL_MAX + 1], ipv6[INET6_ADDRSTRLEN], ipv4_text[INET_ADDRSTRLEN];
	struct in_addr a4;
	sqlite3_stmt *st;
	uint32_t ipv4 = 0; /* set by the allocator; gcc -O3 cannot see it */
	int ret;

	ret = rn_node_pick_dns_name(store, req->hostname, dns_name);
	if (!ret)
		ret = rn_node_alloc_ipv4(store, &ipv4);
	if (!ret)
		ret = rn_store_prepare(
		    store,
		    "INSERT INTO nodes (name, dns_name, user_id, tags, public_key, "
		    "ipv4, ipv6, enrolled_at, key_expires_at, ephemeral) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		    &st);
	if (ret)
		return ret;
	rn_node_ipv6_text(store, ipv4, ipv6, sizeof(ipv6));
	sqlite3_bind_text(st, 1, req->hostname ?: "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dns_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, req->user_id);
	sqlite3_bind_text(st, 4, tags, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, req->public_key, RN_STORE_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, ipv4);
	sqlite3_bind_text(st, 7, ipv6, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	sqlite3_bind_int64(st, 9, rn_node_key_expiry(store, now));
	sqlite3_bind_int(st, 10, req->ephemeral);
	ret = rn_store_step_done(store, st, "adding a node");
	if (ret == -EEXIST)
		return rn_store_fail(store, -ENOENT,
				     "cannot enroll \"%s\": there is no user with "
				     "id %lld",
				     req->hostname ?: "", (long long)req->user_id);
	if (ret)
		return ret;
	a4.s_addr = htonl(ipv4);
	inet_ntop(AF_INET, &a4, ipv4_text, sizeof(ipv4_text));
	return rn_store_audit(store, actor, now, "node.add",
			      json_pack("{s:I,s:s,s:s,s:I,s:s,s:s}", "id",
					(json_int_t)sqlite3_last_insert_rowid(store->db), "name",
					req->hostname ?: "", "dns_name", dns_name, "user_id",
					(json_int_t)req->user_id, "ipv4", ipv4_text, "ipv6", ipv6));
}

/*
 * Same key again: same node, addresses and DNS name; its user and tags stay, and so do its
 * routes and approvals. Only the owner may do it: anyone else holding an auth key would
 * otherwise take the node over (its user, tags and token) with nothing but its public key, which
 * every netmap lists.
 */
static int rn_node_reenroll(struct rn_store *store, const char *actor,
			    const struct rn_store_node *old, const struct rn_store_node_enroll *req,
			    int64_t now)
{
	sqlite3_stmt *st;
	int ret;

	if (old->user_id != req->user_id)
		return rn_store_fail(store, -EPERM,
				     "this WireGuard key is already enrolled as node %lld by "
				     "another user: enroll with an auth key of that node's user, "
				     "or ask the admin to remove the node first",
				     (long long)old->id);
	ret = rn_store_prepare(
	    store,
	    "UPDATE nodes SET name = ?, expired = 0, key_expires_at = ?, ephemeral = ? WHERE id = ?",
	    &st);
	if (ret)
		return ret;
	sqlite3_bind_text(st, 1, req->hostname ?: "", -1, SQLITE_STATIC);
	/* a renewal: a new expiry, unless it is turned off for this node */
	sqlite3_bind_int64(st, 2,
			   old->key_expires_at == RN_STORE_KEY_EXPIRY_OFF
			       ? RN_STORE_KEY_EXPIRY_OFF
			       : rn_node_key_expiry(store, now));
	sqlite3_bind_int(st, 3, req->ephemeral); /* the key's, as for a new node */
	sqlite3_bind_int64(st, 4, old->id);
	ret = rn_store_step_done(store, st, "re-enrolling a node");
	if (ret)
		return ret;
	return rn_store_audit(store, actor, now, "node.reenroll",
			      json_pack("{s:I,s:s,s:I}", "id", (json_int_t)old->id, "name",
					req->hostname ?: "", "user_id", (json_int_t)old->user_id));
}

int rn_store_node_enroll_tx(struct rn_store *store, const char *actor,
			    const struct rn_store_node_enroll *req, int64_t now,
			    bool *reenrolled_out)
{
	struct rn_store_node old = { 0 };
	char *tags = NULL;
	int ret;

	*reenrolled_out = false;
	if (!req->public_key)
		return rn_store_fail(store, -EINVAL, "a node needs a public key to enroll");
	if (!rn_node_hostname_ok(req->hostname))
		return rn_store_fail(store, -EINVAL,
				     "hostname \"%.80s\" is longer than %d bytes or "
				     "has control characters",
				     req->hostname ?: "", RN_STORE_NAME_MAX);
	ret = rn_store_json_strings(store, "node tags", req->tags, rn_node_tag_ok, RN_NODE_MAX_TAGS,
				    &tags);
	if (ret)
		return ret;
	ret = rn_store_node_get_by_key(store, req->public_key, &old);
	if (ret == 0) {
		*reenrolled_out = true;
		ret = rn_node_reenroll(store, actor, &old, req, now);
		rn_store_node_clear(&old);
	} else if (ret == -ENOENT) {
		ret = rn_node_insert(store, actor, req, tags, now);
	}
	free(tags);
	return ret;
}

int rn_store_node_add(struct rn_store *store, const char *actor,
		      const struct rn_store_node_enroll *req, int64_t now,
		      struct rn_store_node *out, bool *reenrolled_out)
{
	bool reenrolled = false;
	int ret;

	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_store_node_enroll_tx(store, actor, req, now, &reenrolled);
	if (ret) {
		rn_store_rollback(store);
		return ret;
	}
	ret = rn_store_commit(store);
	if (ret)
		return ret;
	if (reenrolled_out)
		*reenrolled_out = reenrolled;
	if (out)
		ret = rn_store_node_get_by_key(store, req->public_key, out);
	return ret;
}

/*
 * Runs an UPDATE or DELETE of one node (bound by the caller) and audits it, in one transaction.
 * details is the audit entry's JSON object, taken over; "id" is added to it.
 */
static int rn_node_change(struct rn_store *store, const char *actor, int64_t now, int64_t id,
			  sqlite3_stmt *st, const char *action, json_t *details)
{
	int ret;

	ret = rn_store_step_done(store, st, action);
	if (!ret && sqlite3_changes(store->db) == 0)
		ret = rn_store_fail(store, -ENOENT, "there is no node with id %lld", (long long)id);
	if (ret) {
		json_decref(details);
		return ret;
	}
	if (details)
		json_object_set_new(details, "id", json_integer(id));
	return rn_store_audit(store, actor, now, action, details);
}

/* Begins a transaction and prepares sql; on failure nothing is left open. */
static int rn_node_begin(struct rn_store *store, const char *sql, sqlite3_stmt **st)
{
	int ret = rn_store_begin(store);

	if (ret)
		return ret;
	ret = rn_store_prepare(store, sql, st);
	if (ret)
		rn_store_rollback(store);
	return ret;
}

static int rn_node_end(struct rn_store *store, int ret)
{
	if (ret) {
		rn_store_rollback(store);
		return ret;
	}
	return rn_store_commit(store);
}

int rn_store_node_remove(struct rn_store *store, const char *actor, int64_t id, int64_t now)
{
	struct rn_store_node old = { 0 };
	sqlite3_stmt *st;
	int ret;

	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_node_get_by_id(store, id, &old);
	if (ret)
		return rn_node_end(store, ret);
	ret = rn_store_prepare(store, "DELETE FROM nodes WHERE id = ?", &st);
	if (!ret) {
		sqlite3_bind_int64(st, 1, id);
		ret = rn_node_change(
		    store, actor, now, id, st, "node.remove",
		    json_pack("{s:s,s:s}", "name", old.name, "dns_name", old.dns_name));
	}
	rn_store_node_clear(&old);
	return rn_node_end(store, ret);
}

int rn_store_node_remove_gone_ephemeral(struct rn_store *store, int64_t gone_since, int64_t now,
					size_t *removed)
{
	int64_t ids[64];
	size_t n = 0;
	sqlite3_stmt *st;
	int ret, rc = SQLITE_DONE;

	*removed = 0;
	do { /* in batches: a removal takes its own transaction */
		ret = rn_store_prepare(store,
				       "SELECT id FROM nodes WHERE ephemeral = 1 AND "
				       "max(last_seen, enrolled_at) < ? LIMIT 64",
				       &st);
		if (ret)
			return ret;
		sqlite3_bind_int64(st, 1, gone_since);
		for (n = 0; n < 64 && (rc = sqlite3_step(st)) == SQLITE_ROW; n++)
			ids[n] = sqlite3_column_int64(st, 0);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			ret = rn_store_sql_fail(store, rc,
						"looking for ephemeral nodes gone offline");
		sqlite3_finalize(st);
		if (ret)
			return ret;
		for (size_t i = 0; i < n; i++) {
			ret = rn_store_node_remove(store, "control:ephemeral", ids[i], now);
			if (ret && ret != -ENOENT) /* -ENOENT: an admin was quicker */
				return ret;
			*removed += !ret;
		}
	} while (n == 64);
	return 0;
}

int rn_store_node_rename(struct rn_store *store, const char *actor, int64_t id, const char *name,
			 int64_t now)
{
	char label[RN_STORE_LABEL_MAX + 1];
	sqlite3_stmt *st;
	int ret;

	if (!rn_node_hostname_ok(name))
		return rn_store_fail(store, -EINVAL,
				     "name \"%.80s\" is longer than %d bytes or has "
				     "control characters",
				     name ?: "", RN_STORE_NAME_MAX);
	rn_store_dns_label(name, label);
	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_node_name_taken(store, label, id);
	if (ret > 0)
		ret = rn_store_fail(store, -EEXIST,
				    "DNS name \"%s\" (from \"%.80s\") is taken by "
				    "another node: pick another name, or rename that node first",
				    label, name);
	if (ret)
		return rn_node_end(store, ret);
	ret = rn_store_prepare(store, "UPDATE nodes SET name = ?, dns_name = ? WHERE id = ?", &st);
	if (!ret) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, label, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, id);
		ret = rn_node_change(store, actor, now, id, st, "node.rename",
				     json_pack("{s:s,s:s}", "name", name, "dns_name", label));
	}
	return rn_node_end(store, ret);
}

int rn_store_node_set_key_expiry(struct rn_store *store, const char *actor, int64_t id,
				 int64_t expires_at, int64_t now)
{
	sqlite3_stmt *st;
	int ret;

	if (expires_at < RN_STORE_KEY_EXPIRY_OFF)
		return rn_store_fail(store, -EINVAL, "a key expiry time is not negative");
	ret = rn_node_begin(store, "UPDATE nodes SET key_expires_at = ? WHERE id = ?", &st);
	if (ret)
		return ret;
	sqlite3_bind_int64(st, 1, expires_at);
	sqlite3_bind_int64(st, 2, id);
	ret = rn_node_change(store, actor, now, id, st, "node.key_expiry",
			     json_pack("{s:I}", "key_expires_at", (json_int_t)expires_at));
	return rn_node_end(store, ret);
}

int rn_store_node_set_tags(struct rn_store *store, const char *actor, int64_t id, const char *tags,
			   int64_t now)
{
	char *norm = NULL;
	sqlite3_stmt *st;
	int ret;

	ret = rn_store_json_strings(store, "node tags", tags, rn_node_tag_ok, RN_NODE_MAX_TAGS,
				    &norm);
	if (ret)
		return ret;
	ret = rn_node_begin(store, "UPDATE nodes SET tags = ? WHERE id = ?", &st);
	if (!ret) {
		sqlite3_bind_text(st, 1, norm, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		ret = rn_node_change(store, actor, now, id, st, "node.tag",
				     json_pack("{s:o}", "tags", json_loads(norm, 0, NULL)));
		ret = rn_node_end(store, ret);
	}
	free(norm);
	return ret;
}

int rn_store_node_expire(struct rn_store *store, const char *actor, int64_t id, int64_t now)
{
	sqlite3_stmt *st;
	int ret;

	ret = rn_node_begin(store, "UPDATE nodes SET expired = 1 WHERE id = ?", &st);
	if (ret)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	ret = rn_node_change(store, actor, now, id, st, "node.expire", json_object());
	return rn_node_end(store, ret);
}

/* The members of the JSON array a that are also in b, as JSON text (malloc'd). */
static char *rn_node_intersect(const char *a, const char *b)
{
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL), *res = json_array();
	json_t *va, *vb;
	size_t i, j;
	char *text = NULL;

	if (ja && jb && res) {
		json_array_foreach(ja, i, va) {
			json_array_foreach(jb, j, vb) {
				if (json_equal(va, vb)) {
					json_array_append(res, va);
					break;
				}
			}
		}
		text = json_dumps(res, JSON_COMPACT);
	}
	json_decref(ja);
	json_decref(jb);
	json_decref(res);
	return text;
}

int rn_store_node_set_routes(struct rn_store *store, const char *actor, int64_t id,
			     const char *routes, bool advertises_exit, int64_t now)
{
	struct rn_store_node old = { 0 };
	char *adv = NULL, *approved = NULL;
	sqlite3_stmt *st;
	int ret;

	ret = rn_store_json_strings(store, "advertised routes", routes, rn_node_cidr_ok,
				    RN_NODE_MAX_ROUTES, &adv);
	if (ret)
		return ret;
	ret = rn_store_begin(store);
	if (ret)
		goto out;
	ret = rn_node_get_by_id(store, id, &old);
	if (ret)
		goto end;
	/* Withdrawn routes and exit lose their approval: advertising again asks the admin again. */
	approved = rn_node_intersect(old.approved_routes, adv);
	if (!approved)
		ret = rn_store_fail(store, -ENOMEM, "out of memory");
	if (!ret)
		ret =
		    rn_store_prepare(store,
				     "UPDATE nodes SET advertised_routes = ?, approved_routes = ?, "
				     "advertises_exit = ?, exit_approved = exit_approved AND ? "
				     "WHERE id = ?",
				     &st);
	if (!ret) {
		sqlite3_bind_text(st, 1, adv, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, approved, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, advertises_exit);
		sqlite3_bind_int(st, 4, advertises_exit);
		sqlite3_bind_int64(st, 5, id);
		ret = rn_node_change(store, actor, now, id, st, "node.set_routes",
				     json_pack("{s:o,s:b}", "routes", json_loads(adv, 0, NULL),
					       "advertises_exit", advertises_exit));
	}
	rn_store_node_clear(&old);
end:
	ret = rn_node_end(store, ret);
out:
	free(adv);
	free(approved);
	return ret;
}

int rn_store_node_approve_routes(struct rn_store *store, const char *actor, int64_t id,
				 const char *routes, int64_t now)
{
	struct rn_store_node old = { 0 };
	char *want = NULL, *ok = NULL;
	sqlite3_stmt *st;
	int ret;

	ret = rn_store_json_strings(store, "approved routes", routes, rn_node_cidr_ok,
				    RN_NODE_MAX_ROUTES, &want);
	if (ret)
		return ret;
	ret = rn_store_begin(store);
	if (ret)
		goto out;
	ret = rn_node_get_by_id(store, id, &old);
	if (ret)
		goto end;
	ok = rn_node_intersect(want, old.advertised_routes);
	if (!ok)
		ret = rn_store_fail(store, -ENOMEM, "out of memory");
	else if (strcmp(ok, want) != 0)
		ret = rn_store_fail(store, -EINVAL,
				    "node %lld advertises %s, not all of %s: "
				    "approve only routes it advertises",
				    (long long)id, old.advertised_routes, want);
	if (!ret)
		ret = rn_store_prepare(store, "UPDATE nodes SET approved_routes = ? WHERE id = ?",
				       &st);
	if (!ret) {
		sqlite3_bind_text(st, 1, want, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		ret = rn_node_change(store, actor, now, id, st, "node.approve_routes",
				     json_pack("{s:o}", "routes", json_loads(want, 0, NULL)));
	}
	rn_store_node_clear(&old);
end:
	ret = rn_node_end(store, ret);
out:
	free(want);
	free(ok);
	return ret;
}

int rn_store_node_approve_exit(struct rn_store *store, const char *actor, int64_t id, bool approved,
			       int64_t now)
{
	sqlite3_stmt *st;
	int ret;

	ret = rn_node_begin(store, "UPDATE nodes SET exit_approved = ? WHERE id = ?", &st);
	if (ret)
		return ret;
	sqlite3_bind_int(st, 1, approved);
	sqlite3_bind_int64(st, 2, id);
	ret = rn_node_change(store, actor, now, id, st, "node.approve_exit",
			     json_pack("{s:b}", "approved", approved));
	return rn_node_end(store, ret);
}

int rn_store_node_touch(struct rn_store *store, int64_t id, int64_t now, const char *endpoints)
{
	char *eps = NULL;
	sqlite3_stmt *st;
	int ret;

	if (endpoints) {
		ret = rn_store_json_strings(store, "endpoints", endpoints, rn_node_endpoint_ok,
					    RN_NODE_MAX_ENDPOINTS, &eps);
		if (ret)
			return ret;
	}
	ret = rn_store_prepare(store,
			       "UPDATE nodes SET last_seen = ?, endpoints = coalesce(?, endpoints) "
			       "WHERE id = ?",
			       &st);
	if (!ret) {
		sqlite3_bind_int64(st, 1, now);
		if (eps)
			sqlite3_bind_text(st, 2, eps, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, id);
		ret = rn_store_step_done(store, st, "recording a check-in");
		if (!ret && sqlite3_changes(store->db) == 0)
			ret = rn_store_fail(store, -ENOENT, "there is no node with id %lld",
					    (long long)id);
	}
	free(eps);
	return ret;
}

#define RN_NODE_TOKEN_PREFIX "rnt_"

int rn_store_node_set_token(struct rn_store *store, int64_t id,
			    char token_out[RN_STORE_NODE_TOKEN_SIZE])
{
	uint8_t hash[RN_STORE_SECRET_HASH_LEN];
	char token[RN_STORE_NODE_TOKEN_SIZE];
	sqlite3_stmt *st;
	int ret;

	ret = rn_store_secret_generate(store, RN_NODE_TOKEN_PREFIX, token);
	if (!ret)
		ret = rn_store_secret_hash(store, token, hash);
	if (!ret)
		ret = rn_store_prepare(store, "UPDATE nodes SET token_hash = ? WHERE id = ?", &st);
	if (ret)
		goto out;
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	ret = rn_store_step_done(store, st, "storing a node token");
	if (!ret && sqlite3_changes(store->db) == 0)
		ret = rn_store_fail(store, -ENOENT, "there is no node with id %lld", (long long)id);
	if (!ret)
		memcpy(token_out, token, sizeof(token));
out:
	OPENSSL_cleanse(token, sizeof(token));
	return ret;
}

int rn_store_node_get_by_token(struct rn_store *store, const char *token, struct rn_store_node *out)
{
	uint8_t hash[RN_STORE_SECRET_HASH_LEN];
	sqlite3_stmt *st;
	int ret;

	if (!rn_store_secret_format_ok(token, RN_NODE_TOKEN_PREFIX))
		return rn_store_fail(store, -EINVAL,
				     "that is not a node token: tokens are \"" RN_NODE_TOKEN_PREFIX
				     "\" and 43 more letters");
	ret = rn_store_secret_hash(store, token, hash);
	if (!ret)
		ret = rn_store_prepare(
		    store, "SELECT " RN_NODE_COLUMNS " FROM nodes WHERE token_hash = ?", &st);
	if (ret)
		return ret;
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
	ret = rn_node_get_one(store, st, "looking up a node by token", out);
	if (ret == -ENOENT)
		ret = rn_store_fail(store, -ENOENT,
				    "unknown node token: the node was removed or logged in again");
	return ret;
}

int rn_store_node_logout(struct rn_store *store, const char *actor, int64_t id, int64_t now)
{
	sqlite3_stmt *st;
	int ret;

	ret = rn_node_begin(store, "UPDATE nodes SET expired = 1, token_hash = NULL WHERE id = ?",
			    &st);
	if (ret)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	ret = rn_node_change(store, actor, now, id, st, "node.logout", json_object());
	return rn_node_end(store, ret);
}
