/* SPDX-License-Identifier: MIT */
/*
 * Decoding a netmap on the node: size cap, envelope, format, key_id, signature, and only then
 * the map itself, parsed against a strict schema (every field, no unknown field, exact JSON
 * types) and validated (validate.c). Everything here reads outside input, so every error names
 * the field by its JSON path ("peers[3].endpoints[0]") and quotes what it found.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "netmap/netmap_priv.h"

/* Where the parser is in the map, for errors; the first error wins. */
struct pctx {
	char *err;
	size_t errlen;
	int ret; /* -EINVAL or -ENOMEM once something failed */
	size_t plen;
	char path[128];
};

typedef bool (*item_fn)(struct pctx *c, json_t *v, void *item);

static size_t push(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t push(struct pctx *c, const char *fmt, ...)
{
	size_t old = c->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->path + old, sizeof(c->path) - old, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->plen = old + (size_t)n < sizeof(c->path) ? old + (size_t)n : sizeof(c->path) - 1;
	return old;
}

static void pop(struct pctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

static bool perr(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool perr(struct pctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->ret)
		return false;
	c->ret = -EINVAL;
	if (!c->err || !c->errlen)
		return false;
	n = snprintf(c->err, c->errlen, "%s: ", c->plen ? c->path : "map");
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool nomem(struct pctx *c)
{
	if (!c->ret)
		c->ret = -ENOMEM;
	return false;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction or exponent";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

static bool want(struct pctx *c, const json_t *v, json_type type, const char *what)
{
	if (json_typeof(v) == type)
		return true;
	return perr(c, "want %s, got %s", what, type_name(v));
}

static const char *quote(const json_t *v, char buf[RN_NETMAP_QUOTE_LEN])
{
	return rn_netmap_quote(json_string_value(v), json_string_length(v), buf);
}

/* The object's members are exactly keys (NULL-terminated); none missing is checked by get(). */
static bool only_keys(struct pctx *c, json_t *obj, const char *const *keys)
{
	const char *key;
	json_t *v;

	if (!want(c, obj, JSON_OBJECT, "an object"))
		return false;
	json_object_foreach(obj, key, v) {
		const char *const *k = keys;
		char q[RN_NETMAP_QUOTE_LEN];

		while (*k && strcmp(*k, key))
			k++;
		if (!*k)
			return perr(c, "unknown field %s", rn_netmap_quote(key, strlen(key), q));
	}
	return true;
}

/* ---- one value each, at the current path ---- */

static bool v_u64(struct pctx *c, json_t *v, uint64_t *out)
{
	json_int_t i;

	if (!want(c, v, JSON_INTEGER, "an integer"))
		return false;
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > RN_NETMAP_MAX_INT)
		return perr(c, "%lld is out of range 0-%llu", (long long)i,
			    (unsigned long long)RN_NETMAP_MAX_INT);
	*out = (uint64_t)i;
	return true;
}

static bool v_bool(struct pctx *c, json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return perr(c, "want true or false, got %s", type_name(v));
	*out = json_is_true(v);
	return true;
}

static bool v_str(struct pctx *c, json_t *v, char *buf, size_t cap)
{
	char q[RN_NETMAP_QUOTE_LEN];

	if (!want(c, v, JSON_STRING, "a string"))
		return false;
	if (json_string_length(v) >= cap)
		return perr(c, "%s is %zu bytes long; at most %zu", quote(v, q),
			    json_string_length(v), cap - 1);
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool v_key(struct pctx *c, json_t *v, uint8_t key[RN_NETMAP_KEY_LEN])
{
	char q[RN_NETMAP_QUOTE_LEN];

	if (!want(c, v, JSON_STRING, "a string"))
		return false;
	if (!rn_netmap_b64_decode(json_string_value(v), json_string_length(v), key,
				  RN_NETMAP_KEY_LEN))
		return perr(c, "%s is not a key: want 44 characters of base64", quote(v, q));
	return true;
}

static bool v_ip(struct pctx *c, json_t *v, void *out)
{
	struct rn_netmap_ip *ip = out;
	char q[RN_NETMAP_QUOTE_LEN];

	if (!want(c, v, JSON_STRING, "a string"))
		return false;
	if (!rn_netmap_ip_parse(json_string_value(v), ip))
		return perr(c, "%s is not an IP address", quote(v, q));
	return true;
}

static bool v_ip_family(struct pctx *c, json_t *v, int family, uint8_t *addr)
{
	struct rn_netmap_ip ip;
	char q[RN_NETMAP_QUOTE_LEN];

	if (!v_ip(c, v, &ip))
		return false;
	if (ip.family != family)
		return perr(c, "%s is not an %s address", quote(v, q),
			    family == AF_INET ? "IPv4" : "IPv6");
	memcpy(addr, ip.addr, family == AF_INET ? 4 : 16);
	return true;
}

static bool v_prefix(struct pctx *c, json_t *v, void *out)
{
	char q[RN_NETMAP_QUOTE_LEN], fix[RN_FILTER_PREFIX_STRLEN];
	int ret;

	if (!want(c, v, JSON_STRING, "a string"))
		return false;
	ret = rn_filter_prefix_parse(json_string_value(v), out);
	if (ret == -EDOM)
		return perr(c, "%s has host bits set; did you mean %s?", quote(v, q),
			    rn_filter_prefix_format(out, fix, sizeof(fix)));
	if (ret)
		return perr(c, "%s is not an address or CIDR prefix", quote(v, q));
	return true;
}

static bool v_endpoint(struct pctx *c, json_t *v, void *out)
{
	char q[RN_NETMAP_QUOTE_LEN];
	int ret;

	if (!want(c, v, JSON_STRING, "a string"))
		return false;
	ret = rn_netmap_endpoint_parse(json_string_value(v), out);
	if (ret == -ERANGE)
		return perr(c, "%s: the port must be 1-65535", quote(v, q));
	if (ret)
		return perr(c, "%s is not an endpoint: want ip:port or [ip]:port", quote(v, q));
	return true;
}

/* A name from table[0..n), as its index; hint lists the names for the error. */
static bool v_enum(struct pctx *c, json_t *v, const char *const *table, size_t n, const char *hint,
		   int *out)
{
	char q[RN_NETMAP_QUOTE_LEN];

	if (!want(c, v, JSON_STRING, "a string"))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (table[i] && !strcmp(table[i], json_string_value(v))) {
			*out = (int)i;
			return true;
		}
	}
	return perr(c, "%s is not %s", quote(v, q), hint);
}

/* [first, last], each 0-65535. */
static bool v_ports(struct pctx *c, json_t *v, void *out)
{
	struct rn_filter_ports *p = out;
	uint64_t first = 0, last = 0; /* set by v_uint; gcc -O3 cannot see it */

	if (!want(c, v, JSON_ARRAY, "an array [first, last]"))
		return false;
	if (json_array_size(v) != 2)
		return perr(c, "%zu numbers; want two: [first, last]", json_array_size(v));
	if (!v_u64(c, json_array_get(v, 0), &first) || !v_u64(c, json_array_get(v, 1), &last))
		return false;
	if (first > 65535 || last > 65535)
		return perr(c, "[%llu, %llu]: ports are 0-65535", (unsigned long long)first,
			    (unsigned long long)last);
	p->first = (uint16_t)first;
	p->last = (uint16_t)last;
	return true;
}

/* ---- members ---- */

/* Runs fn on obj[key] with the path extended by ".key". */
static bool get(struct pctx *c, json_t *obj, const char *key,
		bool (*fn)(struct pctx *, json_t *, void *), void *out)
{
	size_t old = push(c, c->plen ? ".%s" : "%s", key);
	json_t *v = json_object_get(obj, key);
	bool ok = v ? fn(c, v, out) : perr(c, "missing");

	pop(c, old);
	return ok;
}

static bool g_u64(struct pctx *c, json_t *v, void *out)
{
	return v_u64(c, v, out);
}

static bool g_bool(struct pctx *c, json_t *v, void *out)
{
	return v_bool(c, v, out);
}

static bool g_key(struct pctx *c, json_t *v, void *out)
{
	return v_key(c, v, out);
}

static bool g_ip4(struct pctx *c, json_t *v, void *out)
{
	return v_ip_family(c, v, AF_INET, out);
}

static bool g_ip6(struct pctx *c, json_t *v, void *out)
{
	return v_ip_family(c, v, AF_INET6, out);
}

/* The fixed-size string fields: the buffer size comes with the pointer. */
struct strbuf {
	char *p;
	size_t cap;
};

static bool g_str(struct pctx *c, json_t *v, void *out)
{
	struct strbuf *b = out;

	return v_str(c, v, b->p, b->cap);
}

#define get_str(c, obj, key, arr) get(c, obj, key, g_str, &(struct strbuf){ arr, sizeof(arr) })

/* A list: obj[key] must be an array of at most max items, each parsed by fn into *items. */
struct list {
	size_t max, size;
	item_fn fn;
	void **items;
	size_t *n;
};

static bool g_list(struct pctx *c, json_t *v, void *out)
{
	struct list *l = out;
	size_t n;

	if (!want(c, v, JSON_ARRAY, "an array"))
		return false;
	n = json_array_size(v);
	if (n > l->max)
		return perr(c, "%zu entries, over the limit of %zu", n, l->max);
	if (n == 0)
		return true;
	*l->items = calloc(n, l->size);
	if (!*l->items)
		return nomem(c);
	*l->n = n; /* now, so that a failure below frees what was parsed */
	for (size_t i = 0; i < n; i++) {
		size_t old = push(c, "[%zu]", i);
		bool ok = l->fn(c, json_array_get(v, i), (char *)*l->items + i * l->size);

		pop(c, old);
		if (!ok)
			return false;
	}
	return true;
}

#define get_list(c, obj, key, max_, fn_, items_, n_)                                               \
	get(c, obj, key, g_list,                                                                   \
	    &(struct list){ (max_), sizeof(**(items_)), (fn_), (void **)(items_), (n_) })

/* ---- the map's objects ---- */

static bool g_self(struct pctx *c, json_t *v, void *out)
{
	static const char *const keys[] = { "id",   "name", "dns_name",	  "user",
					    "ipv4", "ipv6", "public_key", NULL };
	struct rn_netmap_self *s = out;

	return only_keys(c, v, keys) && get(c, v, "id", g_u64, &s->id) &&
	       get_str(c, v, "name", s->name) && get_str(c, v, "dns_name", s->dns_name) &&
	       get_str(c, v, "user", s->user) && get(c, v, "ipv4", g_ip4, s->ipv4) &&
	       get(c, v, "ipv6", g_ip6, s->ipv6) && get(c, v, "public_key", g_key, s->public_key);
}

static bool g_peer(struct pctx *c, json_t *v, void *out)
{
	static const char *const keys[] = { "id",     "name",	   "dns_name",	"public_key",
					    "ipv4",   "ipv6",	   "endpoints", "allowed_ips",
					    "online", "last_seen", "is_exit",	"lan_routes",
					    NULL };
	struct rn_netmap_peer *p = out;

	return only_keys(c, v, keys) && get(c, v, "id", g_u64, &p->id) &&
	       get_str(c, v, "name", p->name) && get_str(c, v, "dns_name", p->dns_name) &&
	       get(c, v, "public_key", g_key, p->public_key) && get(c, v, "ipv4", g_ip4, p->ipv4) &&
	       get(c, v, "ipv6", g_ip6, p->ipv6) &&
	       get_list(c, v, "endpoints", RN_NETMAP_MAX_ENDPOINTS, v_endpoint, &p->endpoints,
			&p->n_endpoints) &&
	       get_list(c, v, "allowed_ips", RN_NETMAP_MAX_ALLOWED_IPS, v_prefix, &p->allowed_ips,
			&p->n_allowed_ips) &&
	       get(c, v, "online", g_bool, &p->online) &&
	       get(c, v, "last_seen", g_u64, &p->last_seen) &&
	       get(c, v, "is_exit", g_bool, &p->is_exit) &&
	       get_list(c, v, "lan_routes", RN_NETMAP_MAX_ROUTES, v_prefix, &p->lan_routes,
			&p->n_lan_routes);
}

/* "" (not offered) or an endpoint. */
static bool g_opt_endpoint(struct pctx *c, json_t *v, void *out)
{
	union rn_netmap_endpoint *ep = out;

	if (json_is_string(v) && !json_string_length(v)) {
		memset(ep, 0, sizeof(*ep));
		return true;
	}
	return v_endpoint(c, v, out);
}

/* "" (no TLS) or the SHA-256 pin in base64. */
static bool g_opt_key(struct pctx *c, json_t *v, void *out)
{
	if (json_is_string(v) && !json_string_length(v)) {
		memset(out, 0, RN_NETMAP_KEY_LEN);
		return true;
	}
	return v_key(c, v, out);
}

static bool g_relay(struct pctx *c, json_t *v, void *out)
{
	static const char *const keys[] = { "name", "udp", "tls", "spki", NULL };
	struct rn_netmap_relay *r = out;

	return only_keys(c, v, keys) && get_str(c, v, "name", r->name) &&
	       get(c, v, "udp", g_opt_endpoint, &r->udp) &&
	       get(c, v, "tls", g_opt_endpoint, &r->tls) && get(c, v, "spki", g_opt_key, r->spki);
}

static bool g_relay_cred(struct pctx *c, json_t *v, void *out)
{
	static const char *const keys[] = { "expires", "token", NULL };
	struct rn_netmap_relay_cred *rc = out;

	return only_keys(c, v, keys) && get(c, v, "expires", g_u64, &rc->expires) &&
	       get(c, v, "token", g_key, rc->token);
}

static bool g_context(struct pctx *c, json_t *v, void *out)
{
	int i = 0;

	if (!v_enum(c, v, rn_netmap_context_names, 4, "mesh, subnet or exit", &i))
		return false;
	*(enum rn_filter_context *)out = (enum rn_filter_context)i;
	return true;
}

static bool g_proto(struct pctx *c, json_t *v, void *out)
{
	int i = 0;

	if (!v_enum(c, v, rn_netmap_proto_names, 4, "any, tcp, udp or icmp", &i))
		return false;
	*(enum rn_filter_proto *)out = (enum rn_filter_proto)i;
	return true;
}

static bool g_rule(struct pctx *c, json_t *v, void *out)
{
	static const char *const keys[] = { "context", "proto", "src", "dst", "ports", NULL };
	struct rn_filter_rule *r = out;

	return only_keys(c, v, keys) && get(c, v, "context", g_context, &r->context) &&
	       get(c, v, "proto", g_proto, &r->proto) &&
	       get_list(c, v, "src", RN_NETMAP_MAX_RULE_PREFIXES, v_prefix, &r->src, &r->n_src) &&
	       get_list(c, v, "dst", RN_NETMAP_MAX_RULE_PREFIXES, v_prefix, &r->dst, &r->n_dst) &&
	       get_list(c, v, "ports", RN_NETMAP_MAX_RULE_PORTS, v_ports, &r->ports, &r->n_ports);
}

/* filter.self is a fixed array of two in struct rn_filter. */
static bool g_filter_self(struct pctx *c, json_t *v, void *out)
{
	struct rn_filter *f = out;

	if (!want(c, v, JSON_ARRAY, "an array"))
		return false;
	if (json_array_size(v) > 2)
		return perr(c, "%zu entries; this node has two mesh addresses", json_array_size(v));
	for (size_t i = 0; i < json_array_size(v); i++) {
		size_t old = push(c, "[%zu]", i);
		bool ok = v_prefix(c, json_array_get(v, i), &f->self[i]);

		pop(c, old);
		if (!ok)
			return false;
		f->n_self = i + 1;
	}
	return true;
}

static bool g_filter(struct pctx *c, json_t *v, void *out)
{
	static const char *const keys[] = { "self", "routes", "exit", "rules", NULL };
	struct rn_filter *f = out;

	return only_keys(c, v, keys) && get(c, v, "self", g_filter_self, f) &&
	       get_list(c, v, "routes", RN_NETMAP_MAX_ROUTES, v_prefix, &f->routes, &f->n_routes) &&
	       get(c, v, "exit", g_bool, &f->exit) &&
	       get_list(c, v, "rules", RN_NETMAP_MAX_RULES, g_rule, &f->rules, &f->n_rules);
}

static bool g_rr_type(struct pctx *c, json_t *v, void *out)
{
	static const char *const names[] = { "A", "AAAA" };
	int i = 0;

	if (!v_enum(c, v, names, 2, "A or AAAA", &i))
		return false;
	*(enum rn_netmap_rr_type *)out = i ? RN_NETMAP_RR_AAAA : RN_NETMAP_RR_A;
	return true;
}

static bool g_record(struct pctx *c, json_t *v, void *out)
{
	static const char *const keys[] = { "name", "type", "value", NULL };
	struct rn_netmap_dns_record *r = out;

	return only_keys(c, v, keys) && get_str(c, v, "name", r->name) &&
	       get(c, v, "type", g_rr_type, &r->type) && get(c, v, "value", v_ip, &r->value);
}

static bool g_dns(struct pctx *c, json_t *v, void *out)
{
	static const char *const keys[] = { "resolvers", "records", "search_domain", NULL };
	struct rn_netmap_dns *d = out;

	return only_keys(c, v, keys) &&
	       get_list(c, v, "resolvers", RN_NETMAP_MAX_RESOLVERS, v_ip, &d->resolvers,
			&d->n_resolvers) &&
	       get_list(c, v, "records", RN_NETMAP_MAX_RECORDS, g_record, &d->records,
			&d->n_records) &&
	       get_str(c, v, "search_domain", d->search_domain);
}

/* cache_valid_s, the one optional member: absent leaves 0 (the default applies). */
static bool g_cache_valid(struct pctx *c, json_t *v, void *out)
{
	uint64_t *s = out;

	if (!v_u64(c, v, s))
		return false;
	if (*s < 1 || *s > RN_NETMAP_CACHE_VALID_MAX_S)
		return perr(c, "%" PRIu64 " is out of range 1-%d", *s, RN_NETMAP_CACHE_VALID_MAX_S);
	return true;
}

static bool parse_map(struct pctx *c, json_t *v, struct rn_netmap *m)
{
	static const char *const keys[] = { "version", "issued_at", "cache_valid_s",	"domain",
					    "self",    "peers",	    "filter",		"dns",
					    "stun",    "relays",    "relay_credential", NULL };

	return only_keys(c, v, keys) && get(c, v, "version", g_u64, &m->version) &&
	       get(c, v, "issued_at", g_u64, &m->issued_at) &&
	       (!json_object_get(v, "cache_valid_s") ||
		get(c, v, "cache_valid_s", g_cache_valid, &m->cache_valid_s)) &&
	       get_str(c, v, "domain", m->domain) && get(c, v, "self", g_self, &m->self) &&
	       get_list(c, v, "peers", RN_NETMAP_MAX_PEERS, g_peer, &m->peers, &m->n_peers) &&
	       get(c, v, "filter", g_filter, &m->filter) && get(c, v, "dns", g_dns, &m->dns) &&
	       (!json_object_get(v, "stun") ||
		get_list(c, v, "stun", RN_NETMAP_MAX_STUN, v_endpoint, &m->stun, &m->n_stun)) &&
	       (!json_object_get(v, "relays") || get_list(c, v, "relays", RN_NETMAP_MAX_RELAYS,
							  g_relay, &m->relays, &m->n_relays)) &&
	       (!json_object_get(v, "relay_credential") ||
		get(c, v, "relay_credential", g_relay_cred, &m->relay_cred));
}

/* ---- the envelope ---- */

/* envelope[key] as a string, or NULL with err set. */
static const char *env_string(json_t *env, const char *key, size_t *len, char *err, size_t errlen)
{
	json_t *v = json_object_get(env, key);

	if (!json_is_string(v)) {
		rn_netmap_fail(err, errlen, "envelope: %s is %s; want a string", key,
			       v ? type_name(v) : "missing");
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

/* Returns the map string, signed by signing_pub, or NULL with *ret and err set. */
static const char *open_envelope(json_t *env, const uint8_t *signing_pub, size_t *maplen, int *ret,
				 char *err, size_t errlen)
{
	static const char *const keys[] = { "format", "key_id", "map", "sig", NULL };
	char want_id[RN_NETMAP_KEY_ID_STRLEN], q[RN_NETMAP_QUOTE_LEN];
	const char *format, *key_id, *map, *sig_text;
	size_t flen, klen, slen;
	uint8_t sig[RN_NETMAP_SIG_LEN];
	struct pctx c = {
		.err = err, .errlen = errlen, .plen = sizeof("envelope") - 1, .path = "envelope"
	};

	*ret = -EINVAL;
	if (!only_keys(&c, env, keys))
		return NULL;
	format = env_string(env, "format", &flen, err, errlen);
	key_id = format ? env_string(env, "key_id", &klen, err, errlen) : NULL;
	map = key_id ? env_string(env, "map", maplen, err, errlen) : NULL;
	sig_text = map ? env_string(env, "sig", &slen, err, errlen) : NULL;
	if (!sig_text)
		return NULL;
	if (strcmp(format, RN_NETMAP_FORMAT)) {
		rn_netmap_fail(err, errlen,
			       "envelope: format %s is not %s (from a newer control server? "
			       "upgrade rustynetd)",
			       rn_netmap_quote(format, flen, q), RN_NETMAP_FORMAT);
		return NULL;
	}
	rn_netmap_key_id(signing_pub, want_id);
	if (strcmp(key_id, want_id)) {
		*ret = -EKEYREJECTED;
		rn_netmap_fail(err, errlen,
			       "envelope: key_id %s is not that of the pinned control server key "
			       "(%s): the map was signed by another key",
			       rn_netmap_quote(key_id, klen, q), want_id);
		return NULL;
	}
	*ret = -EBADMSG;
	if (!rn_netmap_b64_decode(sig_text, slen, sig, sizeof(sig))) {
		rn_netmap_fail(err, errlen, "envelope: sig %s is not 88 characters of base64",
			       rn_netmap_quote(sig_text, slen, q));
		return NULL;
	}
	if (!rn_netmap_verify(signing_pub, map, *maplen, sig)) {
		rn_netmap_fail(err, errlen,
			       "envelope: bad signature: the map was altered or not signed by the "
			       "pinned control server key %s",
			       want_id);
		return NULL;
	}
	*ret = 0;
	return map;
}

int rn_netmap_decode(const char *buf, size_t len, const uint8_t signing_pub[RN_NETMAP_KEY_LEN],
		     struct rn_netmap *out, char *err, size_t errlen)
{
	struct pctx c = { .err = err, .errlen = errlen };
	json_t *env = NULL, *map = NULL;
	const char *text;
	json_error_t jerr;
	size_t maplen;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > RN_NETMAP_MAX_BYTES) {
		rn_netmap_fail(err, errlen, "the netmap is %zu bytes; want 1-%d", len,
			       RN_NETMAP_MAX_BYTES);
		return -EMSGSIZE;
	}
	/* Duplicate keys are refused: two readers of one signed text must see one meaning. */
	env = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!env) {
		ret = rn_netmap_fail(err, errlen, "envelope: not JSON: %s at line %d column %d",
				     jerr.text, jerr.line, jerr.column);
		goto out;
	}
	text = open_envelope(env, signing_pub, &maplen, &ret, err, errlen);
	if (!text)
		goto out;
	map = json_loadb(text, maplen, JSON_REJECT_DUPLICATES, &jerr);
	if (!map) {
		ret = rn_netmap_fail(err, errlen, "map: not JSON: %s at line %d column %d",
				     jerr.text, jerr.line, jerr.column);
		goto out;
	}
	ret = parse_map(&c, map, out) ? 0 : c.ret ? c.ret : -EINVAL;
	if (!ret)
		ret = rn_netmap_validate(out, err, errlen);
out:
	json_decref(map);
	json_decref(env);
	if (ret)
		rn_netmap_free(out);
	return ret;
}
