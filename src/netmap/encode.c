/* SPDX-License-Identifier: MIT */
/*
 * Encoding and signing a netmap, for the control server. The map is validated first with the
 * rules the node applies, so the server finds out about a map nodes would refuse before it
 * sends one. The map is written compact, fields in a fixed order; the signature covers those
 * exact bytes, which travel as a JSON string inside the envelope.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "netmap/netmap_priv.h"

/*
 * jansson's *_set_new and *_append_new take the value even when they fail, and fail on a NULL
 * value, so building goes on after an allocation failure and is checked once at the end.
 */
static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
	if (json_object_set_new(obj, key, v))
		*ok = false;
}

static void add(json_t *arr, json_t *v, bool *ok)
{
	if (json_array_append_new(arr, v))
		*ok = false;
}

static json_t *done(json_t *v, bool ok)
{
	if (ok)
		return v;
	json_decref(v);
	return NULL;
}

static json_t *j_int(uint64_t v)
{
	return json_integer((json_int_t)v); /* validated: at most 2^53 - 1 */
}

static json_t *j_ip(int family, const void *addr)
{
	struct rn_netmap_ip ip = {.family = (uint8_t)family};
	char text[INET6_ADDRSTRLEN];

	memcpy(ip.addr, addr, family == AF_INET ? 4 : 16);
	rn_netmap_ip_format(&ip, text, sizeof(text));
	return json_string(text);
}

static json_t *j_key(const uint8_t key[RN_NETMAP_KEY_LEN])
{
	char text[RN_NETMAP_B64_KEY_LEN + 1];

	rn_netmap_b64_encode(key, RN_NETMAP_KEY_LEN, text);
	return json_string(text);
}

static json_t *j_prefixes(const struct rn_filter_prefix *p, size_t n)
{
	json_t *arr = json_array();
	char text[RN_FILTER_PREFIX_STRLEN];
	bool ok = arr != NULL;

	for (size_t i = 0; i < n && ok; i++)
		add(arr, json_string(rn_filter_prefix_format(&p[i], text, sizeof(text))), &ok);
	return done(arr, ok);
}

static json_t *j_self(const struct rn_netmap_self *s)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	put(o, "id", j_int(s->id), &ok);
	put(o, "name", json_string(s->name), &ok);
	put(o, "dns_name", json_string(s->dns_name), &ok);
	put(o, "user", json_string(s->user), &ok);
	put(o, "ipv4", j_ip(AF_INET, s->ipv4), &ok);
	put(o, "ipv6", j_ip(AF_INET6, s->ipv6), &ok);
	put(o, "public_key", j_key(s->public_key), &ok);
	return done(o, ok);
}

static json_t *j_endpoints(const union rn_netmap_endpoint *ep, size_t n)
{
	json_t *arr = json_array();
	char text[RN_NETMAP_ENDPOINT_STRLEN];
	bool ok = arr != NULL;

	for (size_t i = 0; i < n && ok; i++) {
		rn_netmap_endpoint_format(&ep[i], text, sizeof(text));
		add(arr, json_string(text), &ok);
	}
	return done(arr, ok);
}

static json_t *j_peer(const struct rn_netmap_peer *p)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	put(o, "id", j_int(p->id), &ok);
	put(o, "name", json_string(p->name), &ok);
	put(o, "dns_name", json_string(p->dns_name), &ok);
	put(o, "public_key", j_key(p->public_key), &ok);
	put(o, "ipv4", j_ip(AF_INET, p->ipv4), &ok);
	put(o, "ipv6", j_ip(AF_INET6, p->ipv6), &ok);
	put(o, "endpoints", j_endpoints(p->endpoints, p->n_endpoints), &ok);
	put(o, "allowed_ips", j_prefixes(p->allowed_ips, p->n_allowed_ips), &ok);
	put(o, "online", json_boolean(p->online), &ok);
	put(o, "last_seen", j_int(p->last_seen), &ok);
	put(o, "is_exit", json_boolean(p->is_exit), &ok);
	put(o, "lan_routes", j_prefixes(p->lan_routes, p->n_lan_routes), &ok);
	return done(o, ok);
}

static json_t *j_rule(const struct rn_filter_rule *r)
{
	json_t *o = json_object(), *ports = json_array();
	bool ok = o && ports;

	for (size_t i = 0; i < r->n_ports && ok; i++)
		add(ports, json_pack("[ii]", r->ports[i].first, r->ports[i].last), &ok);
	put(o, "context", json_string(rn_netmap_context_names[r->context]), &ok);
	put(o, "proto", json_string(rn_netmap_proto_names[r->proto]), &ok);
	put(o, "src", j_prefixes(r->src, r->n_src), &ok);
	put(o, "dst", j_prefixes(r->dst, r->n_dst), &ok);
	put(o, "ports", ports, &ok);
	return done(o, ok);
}

static json_t *j_filter(const struct rn_filter *f)
{
	json_t *o = json_object(), *rules = json_array();
	bool ok = o && rules;

	for (size_t i = 0; i < f->n_rules && ok; i++)
		add(rules, j_rule(&f->rules[i]), &ok);
	put(o, "self", j_prefixes(f->self, f->n_self), &ok);
	put(o, "routes", j_prefixes(f->routes, f->n_routes), &ok);
	put(o, "exit", json_boolean(f->exit), &ok);
	put(o, "rules", rules, &ok);
	return done(o, ok);
}

static json_t *j_dns(const struct rn_netmap_dns *d)
{
	json_t *o = json_object(), *res = json_array(), *rec = json_array();
	bool ok = o && res && rec;

	for (size_t i = 0; i < d->n_resolvers && ok; i++)
		add(res, j_ip(d->resolvers[i].family, d->resolvers[i].addr), &ok);
	for (size_t i = 0; i < d->n_records && ok; i++) {
		const struct rn_netmap_dns_record *r = &d->records[i];
		json_t *one = json_object();

		put(one, "name", json_string(r->name), &ok);
		put(one, "type", json_string(r->type == RN_NETMAP_RR_A ? "A" : "AAAA"), &ok);
		put(one, "value", j_ip(r->value.family, r->value.addr), &ok);
		add(rec, one, &ok);
	}
	put(o, "resolvers", res, &ok);
	put(o, "records", rec, &ok);
	put(o, "search_domain", json_string(d->search_domain), &ok);
	return done(o, ok);
}

static json_t *j_map(const struct rn_netmap *m)
{
	json_t *o = json_object(), *peers = json_array();
	bool ok = o && peers;

	for (size_t i = 0; i < m->n_peers && ok; i++)
		add(peers, j_peer(&m->peers[i]), &ok);
	put(o, "version", j_int(m->version), &ok);
	put(o, "issued_at", j_int(m->issued_at), &ok);
	put(o, "domain", json_string(m->domain), &ok);
	put(o, "self", j_self(&m->self), &ok);
	put(o, "peers", peers, &ok);
	put(o, "filter", j_filter(&m->filter), &ok);
	put(o, "dns", j_dns(&m->dns), &ok);
	return done(o, ok);
}

int rn_netmap_seal(const char *map, size_t len, const uint8_t signing_priv[RN_NETMAP_KEY_LEN],
		   char **out, size_t *outlen)
{
	uint8_t pub[RN_NETMAP_KEY_LEN], sig[RN_NETMAP_SIG_LEN];
	char key_id[RN_NETMAP_KEY_ID_STRLEN], sig_text[RN_NETMAP_B64_SIG_LEN + 1];
	json_t *env;
	int ret;

	*out = NULL;
	*outlen = 0;
	if (len > RN_NETMAP_MAX_BYTES)
		return -EMSGSIZE;
	if (memchr(map, '\0', len))
		return -EINVAL; /* the node reads JSON strings without NUL bytes */
	ret = rn_netmap_sign_key_public(signing_priv, pub);
	if (!ret)
		ret = rn_netmap_sign(signing_priv, map, len, sig);
	if (ret)
		return ret;
	rn_netmap_key_id(pub, key_id);
	rn_netmap_b64_encode(sig, sizeof(sig), sig_text);
	/* json_pack refuses a map that is not UTF-8: the node could not read it back. */
	env = json_pack("{s:s,s:s,s:s%,s:s}", "format", RN_NETMAP_FORMAT, "key_id", key_id, "map",
			map, len, "sig", sig_text);
	if (!env)
		return -EINVAL; /* not UTF-8, or out of memory */
	*out = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	if (!*out)
		return -ENOMEM;
	*outlen = strlen(*out);
	if (*outlen > RN_NETMAP_MAX_BYTES) {
		free(*out);
		*out = NULL;
		*outlen = 0;
		return -EMSGSIZE;
	}
	return 0;
}

int rn_netmap_encode(const struct rn_netmap *m, const uint8_t signing_priv[RN_NETMAP_KEY_LEN],
		     char **out, size_t *len, char *err, size_t errlen)
{
	json_t *map;
	char *text;
	int ret;

	*out = NULL;
	*len = 0;
	ret = rn_netmap_validate(m, err, errlen);
	if (ret)
		return ret;
	map = j_map(m);
	if (!map)
		return -ENOMEM;
	text = json_dumps(map, JSON_COMPACT);
	json_decref(map);
	if (!text)
		return -ENOMEM;
	ret = rn_netmap_seal(text, strlen(text), signing_priv, out, len);
	if (ret == -EMSGSIZE)
		rn_netmap_fail(err, errlen,
			       "the encoded map is over %d bytes: nodes would refuse it",
			       RN_NETMAP_MAX_BYTES);
	free(text);
	return ret;
}
