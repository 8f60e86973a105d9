/* SPDX-License-Identifier: MIT */
/* Strict parsers and builders of the control protocol's JSON bodies (see api.h). */
#include "common/util.h"
#include "control/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/authkey_format.h"
#include "netmap/netmap_priv.h"
#include "policy/filter.h"

/* The body as a JSON object, with only the members in allowed (NULL-terminated). */
static int rn_api_load(const char *body, size_t len, const char *const *allowed, json_t **out,
		       char *err, size_t errlen)
{
	json_error_t jerr;
	const char *key;
	json_t *obj, *v;

	*out = NULL;
	if (len > RN_API_BODY_MAX)
		return rn_errf(err, errlen, -EMSGSIZE, "the body is over %d bytes",
			       RN_API_BODY_MAX);
	obj = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return rn_errf(err, errlen, -EINVAL,
			       "the body is not JSON (%s at byte %d): send one JSON object",
			       jerr.text, jerr.position);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return rn_errf(err, errlen, -EINVAL, "the body is not a JSON object");
	}
	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
			;
		if (!allowed[i]) {
			char q[RN_NETMAP_QUOTE_LEN];

			/* quoted before the object (and key with it) is freed */
			rn_errf(err, errlen, -EINVAL,
				"unknown member %s: check its spelling against the protocol",
				rn_netmap_quote(key, strlen(key), q));
			json_decref(obj);
			return -EINVAL;
		}
	}
	*out = obj;
	return 0;
}

/* A required string member, 1..max bytes. */
static const char *rn_api_string(json_t *obj, const char *name, size_t max, char *err,
				 size_t errlen)
{
	json_t *v = json_object_get(obj, name);

	if (!v) {
		rn_errf(err, errlen, -EINVAL, "member \"%s\" is missing", name);
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
		rn_errf(err, errlen, -EINVAL, "\"%s\" must be a string of 1 to %zu bytes", name,
			max);
		return NULL;
	}
	return json_string_value(v);
}

/*
 * Why a peer must not be told to send to ep, or NULL if it may: an address that is not a place
 * on a network (unspecified, multicast, broadcast), one that means the peer itself (loopback,
 * link-local: every host has its own), or one inside the mesh (100.64.0.0/10, the network's
 * ULA /48), which would loop WireGuard into its own tunnel. Private LAN addresses are fine:
 * peers on the same LAN reach each other by them.
 */
static const char *rn_api_endpoint_refusal(const union rn_netmap_endpoint *ep, const uint8_t *ula)
{
	if (ep->sa.sa_family == AF_INET) {
		const uint8_t *a = (const uint8_t *)&ep->sin.sin_addr;

		if (a[0] == 0)
			return "is an unspecified (0.0.0.0/8) address";
		if (a[0] == 127)
			return "is a loopback address";
		if (a[0] == 169 && a[1] == 254)
			return "is a link-local address";
		if (a[0] >= 224)
			return "is a multicast, reserved or broadcast address";
		if (a[0] == 100 && (a[1] & 0xc0) == 64)
			return "is a mesh address (100.64.0.0/10)";
		return NULL;
	}
	{
		const struct in6_addr *a = &ep->sin6.sin6_addr;

		if (IN6_IS_ADDR_UNSPECIFIED(a))
			return "is the unspecified address";
		if (IN6_IS_ADDR_LOOPBACK(a))
			return "is a loopback address";
		if (IN6_IS_ADDR_LINKLOCAL(a) || ep->sin6.sin6_scope_id)
			return "is a link-local address";
		if (IN6_IS_ADDR_MULTICAST(a))
			return "is a multicast address";
		if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a))
			return "is an IPv4 address written as IPv6: send it as IPv4";
		if (ula && !memcmp(a->s6_addr, ula, RN_STORE_ULA_PREFIX_LEN))
			return "is a mesh address (the network's ULA prefix)";
		return NULL;
	}
}

bool rn_api_endpoint_ok(const char *s, const uint8_t *ula, char *why, size_t whylen)
{
	union rn_netmap_endpoint ep;
	const char *refusal;

	if (rn_netmap_endpoint_parse(s, &ep) != 0) {
		snprintf(why, whylen, "is not ip:port or [ip]:port with a port of 1-65535");
		return false;
	}
	refusal = rn_api_endpoint_refusal(&ep, ula);
	if (refusal) {
		snprintf(why, whylen, "%s: report only addresses peers can reach", refusal);
		return false;
	}
	return true;
}

/* A LAN route a node may offer: a CIDR with its host bits zero, not a default route (that is
 * advertise_exit), clear of the mesh's 100.64.0.0/10. */
static bool rn_api_route_ok(const char *s, const uint8_t *ula, char *why, size_t whylen)
{
	static const uint8_t cgnat_addr[4] = { 100, 64 };
	struct rn_filter_prefix p, cgnat, unused;
	int ret = rn_filter_prefix_parse(s, &p);

	(void)ula;
	if (ret == -EDOM) {
		snprintf(why, whylen, "has host bits set: write the network address");
		return false;
	}
	if (ret || !strchr(s, '/')) {
		snprintf(why, whylen, "is not a CIDR such as 192.168.1.0/24");
		return false;
	}
	rn_filter_prefix_make(&cgnat, AF_INET, cgnat_addr, 10);
	if (p.len == 0) {
		snprintf(why, whylen, "is a default route: use advertise_exit instead");
		return false;
	}
	if (rn_filter_prefix_intersect(&p, &cgnat, &unused)) {
		snprintf(why, whylen, "overlaps the mesh addresses 100.64.0.0/10");
		return false;
	}
	return true;
}

/* An optional array member of at most max strings, each passing check; *out compact JSON. */
static int rn_api_strings(json_t *obj, const char *name, size_t max,
			  bool (*check)(const char *, const uint8_t *, char *, size_t),
			  const uint8_t *ula, char **out, char *err, size_t errlen)
{
	json_t *a = json_object_get(obj, name), *v;
	char why[96], q[RN_NETMAP_QUOTE_LEN];
	size_t i;

	*out = NULL;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > max)
		return rn_errf(err, errlen, -EINVAL,
			       "\"%s\" must be an array of at most %zu "
			       "strings",
			       name, max);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return rn_errf(err, errlen, -EINVAL, "%s[%zu] is not a string", name, i);
		if (!check(json_string_value(v), ula, why, sizeof(why)))
			return rn_errf(
			    err, errlen, -EINVAL, "%s[%zu] %s %s", name, i,
			    rn_netmap_quote(json_string_value(v), json_string_length(v), q), why);
	}
	*out = json_dumps(a, JSON_COMPACT);
	return *out ? 0 : rn_errf(err, errlen, -ENOMEM, "out of memory");
}

static int rn_api_offer(json_t *obj, const uint8_t *ula, struct rn_api_offer *o, char *err,
			size_t errlen)
{
	json_t *x = json_object_get(obj, "advertise_exit");
	int ret;

	ret = rn_api_strings(obj, "endpoints", RN_API_ENDPOINTS_MAX, rn_api_endpoint_ok, ula,
			     &o->endpoints, err, errlen);
	if (!ret)
		ret = rn_api_strings(obj, "advertise_routes", RN_API_ROUTES_MAX, rn_api_route_ok,
				     ula, &o->routes, err, errlen);
	if (!ret && x && !json_is_boolean(x))
		ret = rn_errf(err, errlen, -EINVAL, "\"advertise_exit\" must be true or false");
	if (!ret && x) {
		o->has_exit = true;
		o->advertise_exit = json_is_true(x);
	}
	return ret;
}

static void rn_api_offer_clear(struct rn_api_offer *o)
{
	free(o->endpoints);
	free(o->routes);
	memset(o, 0, sizeof(*o));
}

static bool rn_api_hostname_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A required base64url (no padding) member of exactly 32 bytes. */
static int rn_api_b64u32(json_t *obj, const char *name, uint8_t out[32], char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, name);

	if (!v)
		return rn_errf(err, errlen, -EINVAL,
			       "member \"%s\" is missing: enrollment proves the node key since "
			       "this server version; update rustynetd",
			       name);
	if (!json_is_string(v) ||
	    !rn_authkey_b64_decode(json_string_value(v), json_string_length(v), out))
		return rn_errf(err, errlen, -EINVAL,
			       "\"%s\" is not 43 characters of base64url (32 bytes)", name);
	return 0;
}

static int rn_api_enroll_fields(json_t *obj, const uint8_t *ula, struct rn_api_enroll *out,
				char *err, size_t errlen)
{
	const char *key, *pub, *host;
	static const uint8_t zero[RN_STORE_KEY_LEN];

	key = rn_api_string(obj, "auth_key", RN_STORE_AUTHKEY_SECRET_SIZE, err, errlen);
	if (!key)
		return -EINVAL;
	/* Only the shape here; the store checks the rest. Never quoted: it is a secret. */
	if (strlen(key) != RN_STORE_AUTHKEY_SECRET_SIZE - 1 || strncmp(key, "rnk_", 4))
		return rn_errf(err, errlen, -EINVAL,
			       "\"auth_key\" is not an auth key secret: send the \"rnk_...\" "
			       "part of the rnk1 key, 47 characters");
	memcpy(out->auth_key, key, RN_STORE_AUTHKEY_SECRET_SIZE);
	pub = rn_api_string(obj, "public_key", 64, err, errlen);
	if (!pub)
		return -EINVAL;
	if (!rn_netmap_b64_decode(pub, strlen(pub), out->public_key, RN_STORE_KEY_LEN) ||
	    !memcmp(out->public_key, zero, sizeof(zero)))
		return rn_errf(err, errlen, -EINVAL,
			       "\"public_key\" is not a WireGuard public key (44 characters "
			       "of base64, as `wg pubkey` prints)");
	host = rn_api_string(obj, "hostname", RN_API_HOSTNAME_MAX, err, errlen);
	if (!host)
		return -EINVAL;
	if (!rn_api_hostname_ok(host))
		return rn_errf(err, errlen, -EINVAL, "\"hostname\" has control characters");
	snprintf(out->hostname, sizeof(out->hostname), "%s", host);
	if (rn_api_b64u32(obj, "nonce", out->nonce, err, errlen) ||
	    rn_api_b64u32(obj, "proof", out->proof, err, errlen))
		return -EINVAL;
	return rn_api_offer(obj, ula, &out->offer, err, errlen);
}

int rn_api_parse_enroll(const char *body, size_t len, const uint8_t *ula, struct rn_api_enroll *out,
			char *err, size_t errlen)
{
	static const char *const members[] = {
		"auth_key",  "public_key",	 "hostname",	   "nonce", "proof",
		"endpoints", "advertise_routes", "advertise_exit", NULL
	};
	json_t *obj;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = rn_api_load(body, len, members, &obj, err, errlen);
	if (ret)
		return ret;
	ret = rn_api_enroll_fields(obj, ula, out, err, errlen);
	/* jansson keeps the secret in its own copy of the string: wipe it before freeing */
	{
		json_t *k = json_object_get(obj, "auth_key");

		if (json_is_string(k))
			OPENSSL_cleanse((char *)json_string_value(k), json_string_length(k));
	}
	json_decref(obj);
	if (ret)
		rn_api_enroll_clear(out);
	return ret;
}

int rn_api_parse_poll(const char *body, size_t len, const uint8_t *ula, struct rn_api_poll *out,
		      char *err, size_t errlen)
{
	static const char *const members[] = {
		"since", "endpoints", "advertise_routes", "advertise_exit", "calls", NULL,
	};
	json_t *obj, *since, *calls;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = rn_api_load(body, len, members, &obj, err, errlen);
	if (ret)
		return ret;
	since = json_object_get(obj, "since");
	if (!since)
		ret = rn_errf(err, errlen, -EINVAL,
			      "member \"since\" is missing: send the version of the netmap "
			      "the node runs, 0 for none");
	else if (!json_is_integer(since) || json_integer_value(since) < 0 ||
		 (uint64_t)json_integer_value(since) > RN_NETMAP_MAX_INT)
		ret = rn_errf(err, errlen, -EINVAL,
			      "\"since\" must be an integer from 0 to 2^53 - 1");
	else
		out->since = (uint64_t)json_integer_value(since);
	calls = json_object_get(obj, "calls");
	if (!ret && calls && !json_is_boolean(calls))
		ret = rn_errf(err, errlen, -EINVAL, "\"calls\" must be true or false");
	out->calls = json_is_true(calls);
	if (!ret)
		ret = rn_api_offer(obj, ula, &out->offer, err, errlen);
	json_decref(obj);
	if (ret)
		rn_api_poll_clear(out);
	return ret;
}

int rn_api_parse_empty(const char *body, size_t len, char *err, size_t errlen)
{
	static const char *const members[] = { NULL };
	json_t *obj;
	int ret;

	ret = rn_api_load(body, len, members, &obj, err, errlen);
	json_decref(obj);
	return ret;
}

int rn_api_parse_call(const char *body, size_t len, uint64_t *peer, char *err, size_t errlen)
{
	static const char *const members[] = { "peer", NULL };
	json_t *obj, *v;
	int ret;

	*peer = 0;
	ret = rn_api_load(body, len, members, &obj, err, errlen);
	if (ret)
		return ret;
	v = json_object_get(obj, "peer");
	if (!v)
		ret = rn_errf(err, errlen, -EINVAL,
			      "member \"peer\" is missing: send the node id of the peer to call");
	else if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		 (uint64_t)json_integer_value(v) > RN_NETMAP_MAX_INT)
		ret = rn_errf(err, errlen, -EINVAL,
			      "\"peer\" must be a node id, an integer from 1 to 2^53 - 1");
	else
		*peer = (uint64_t)json_integer_value(v);
	json_decref(obj);
	return ret;
}

char *rn_api_calls_body(const uint64_t *from, size_t n)
{
	json_t *a = json_array(), *o;
	char *text;

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:I}", "from", (json_int_t)from[i]));
	o = a ? json_pack("{s:o}", "calls", a) : NULL;
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

void rn_api_enroll_clear(struct rn_api_enroll *e)
{
	rn_api_offer_clear(&e->offer);
	OPENSSL_cleanse(e, sizeof(*e));
}

void rn_api_poll_clear(struct rn_api_poll *p)
{
	rn_api_offer_clear(&p->offer);
	memset(p, 0, sizeof(*p));
}

bool rn_api_bearer(const char *header, char token[RN_STORE_NODE_TOKEN_SIZE])
{
	static const char scheme[] = "Bearer ";
	size_t n = sizeof(scheme) - 1;

	if (!header || strncasecmp(header, scheme, n))
		return false;
	header += n;
	while (*header == ' ')
		header++;
	if (strlen(header) != RN_STORE_NODE_TOKEN_SIZE - 1)
		return false;
	memcpy(token, header, RN_STORE_NODE_TOKEN_SIZE);
	return true;
}

char *rn_api_error_body(const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

char *rn_api_challenge_body(const uint8_t nonce[RN_ENROLL_NONCE_LEN],
			    const uint8_t server_key[RN_ENROLL_KEY_LEN], unsigned expires_in_s)
{
	char n64[RN_AUTHKEY_B64_LEN + 1], k64[45];
	json_t *o;
	char *text;

	rn_authkey_b64_encode(nonce, n64);
	rn_netmap_b64_encode(server_key, RN_ENROLL_KEY_LEN, k64);
	o = json_pack("{s:s,s:s,s:I}", "nonce", n64, "server_key", k64, "expires_in",
		      (json_int_t)expires_in_s);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

char *rn_api_enroll_body(int64_t node_id, const char *token, const char *envelope, size_t len)
{
	json_t *map = json_loadb(envelope, len, 0, NULL), *o;
	char *text;

	if (!map)
		return NULL;
	o = json_pack("{s:I,s:s,s:o}", "node_id", (json_int_t)node_id, "node_token", token,
		      "netmap", map);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	/* the token's copy inside o: wiped before it is freed */
	if (o)
		OPENSSL_cleanse((char *)json_string_value(json_object_get(o, "node_token")),
				strlen(token));
	json_decref(o);
	return text;
}
