/* SPDX-License-Identifier: MIT */
/*
 * Encoding and signing a netmap, for the control server. The map is validated first with the
 * rules the node applies, so the server finds out about a map nodes would refuse before it
 * sends one. The map is written compact, fields in a fixed order; the signature covers those
 * exact bytes, which travel as a JSON string inside the envelope.
 *
 * Speed (docs/performance.md): a change rebuilds every node's map, and in a network where all
 * reach all each map lists every node. So the map is written directly (jsonw.h), and its
 * escaped copy for the envelope as it goes; what repeats from map to map (a peer's fields,
 * a rule's long source list) is kept, checked field by field against the map at hand, and
 * copied rather than formatted again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "netmap/encode_memo.h"
#include "netmap/jsonw.h"
#include "netmap/netmap_priv.h"

struct rn_netmap_encoder {
	EVP_PKEY *key; /* owned */
	char key_id[RN_NETMAP_KEY_ID_STRLEN];
	struct rn_jw map; /* the map being written, kept between calls for its buffer */
	struct rn_jw env; /* its envelope, escaped up to map_done; handed to the caller */
	size_t map_done;
	struct rn_enc_memo memo;
};

/* Brings the envelope's escaped copy of the map up to date. */
static void rn_enc_flush(struct rn_netmap_encoder *enc)
{
	rn_jw_esc(&enc->env, enc->map.buf + enc->map_done, enc->map.len - enc->map_done);
	enc->map_done = enc->map.len;
}

void rn_enc_paste(struct rn_netmap_encoder *enc, const struct rn_enc_text *t)
{
	rn_enc_flush(enc);
	rn_jw_raw(&enc->map, t->raw, t->raw_len);
	rn_jw_raw(&enc->env, t->esc, t->esc_len);
	enc->map_done = enc->map.len;
}

struct rn_jw *rn_enc_map(struct rn_netmap_encoder *enc)
{
	return &enc->map;
}

struct rn_enc_memo *rn_enc_memo(struct rn_netmap_encoder *enc)
{
	return &enc->memo;
}

static void rn_enc_key(struct rn_jw *w, const uint8_t key[RN_NETMAP_KEY_LEN])
{
	char text[RN_NETMAP_B64_KEY_LEN + 3];

	text[0] = '"';
	rn_netmap_b64_encode(key, RN_NETMAP_KEY_LEN, text + 1);
	text[RN_NETMAP_B64_KEY_LEN + 1] = '"';
	rn_jw_raw(w, text, RN_NETMAP_B64_KEY_LEN + 2);
}

static void rn_enc_self(struct rn_jw *w, const struct rn_netmap_self *s)
{
	RN_JW_LIT(w, "\"self\":{\"id\":");
	rn_jw_u64(w, s->id);
	RN_JW_LIT(w, ",\"name\":");
	rn_jw_str(w, s->name);
	RN_JW_LIT(w, ",\"dns_name\":");
	rn_jw_str(w, s->dns_name);
	RN_JW_LIT(w, ",\"user\":");
	rn_jw_str(w, s->user);
	RN_JW_LIT(w, ",\"ipv4\":");
	rn_jw_ip(w, AF_INET, s->ipv4);
	RN_JW_LIT(w, ",\"ipv6\":");
	rn_jw_ip(w, AF_INET6, s->ipv6);
	RN_JW_LIT(w, ",\"public_key\":");
	rn_enc_key(w, s->public_key);
	RN_JW_LIT(w, "}");
}

void rn_enc_peer_head(struct rn_jw *w, const struct rn_netmap_peer *p)
{
	char text[RN_NETMAP_ENDPOINT_STRLEN];

	RN_JW_LIT(w, "{\"id\":");
	rn_jw_u64(w, p->id);
	RN_JW_LIT(w, ",\"name\":");
	rn_jw_str(w, p->name);
	RN_JW_LIT(w, ",\"dns_name\":");
	rn_jw_str(w, p->dns_name);
	RN_JW_LIT(w, ",\"public_key\":");
	rn_enc_key(w, p->public_key);
	RN_JW_LIT(w, ",\"ipv4\":");
	rn_jw_ip(w, AF_INET, p->ipv4);
	RN_JW_LIT(w, ",\"ipv6\":");
	rn_jw_ip(w, AF_INET6, p->ipv6);
	RN_JW_LIT(w, ",\"endpoints\":[");
	for (size_t i = 0; i < p->n_endpoints; i++) {
		if (i)
			RN_JW_LIT(w, ",");
		rn_netmap_endpoint_format(&p->endpoints[i], text, sizeof(text));
		rn_jw_str(w, text);
	}
	RN_JW_LIT(w, "],\"allowed_ips\":");
}

void rn_enc_peer_mid(struct rn_jw *w, const struct rn_netmap_peer *p)
{
	RN_JW_LIT(w, ",\"online\":");
	rn_jw_bool(w, p->online);
	RN_JW_LIT(w, ",\"last_seen\":");
	rn_jw_u64(w, p->last_seen);
	RN_JW_LIT(w, ",\"is_exit\":");
}

static void rn_enc_peer_tail(struct rn_jw *w, const struct rn_netmap_peer *p)
{
	rn_jw_bool(w, p->is_exit);
	RN_JW_LIT(w, ",\"lan_routes\":");
	rn_jw_prefixes(w, p->lan_routes, p->n_lan_routes);
	RN_JW_LIT(w, "}");
}

static void rn_enc_peer(struct rn_netmap_encoder *enc, const struct rn_netmap_peer *p)
{
	if (!rn_enc_memo_peer(enc, p)) {
		rn_enc_peer_head(&enc->map, p);
		rn_jw_prefixes(&enc->map, p->allowed_ips, p->n_allowed_ips);
		rn_enc_peer_mid(&enc->map, p);
	}
	rn_enc_peer_tail(&enc->map, p);
}

static void rn_enc_rule(struct rn_netmap_encoder *enc, const struct rn_filter_rule *r)
{
	struct rn_jw *w = &enc->map;

	RN_JW_LIT(w, "{\"context\":");
	rn_jw_str(w, rn_netmap_context_names[r->context]);
	RN_JW_LIT(w, ",\"proto\":");
	rn_jw_str(w, rn_netmap_proto_names[r->proto]);
	RN_JW_LIT(w, ",\"src\":");
	rn_enc_memo_prefixes(enc, r->src, r->n_src);
	RN_JW_LIT(w, ",\"dst\":");
	rn_enc_memo_prefixes(enc, r->dst, r->n_dst);
	RN_JW_LIT(w, ",\"ports\":[");
	for (size_t i = 0; i < r->n_ports; i++) {
		if (i)
			RN_JW_LIT(w, ",");
		RN_JW_LIT(w, "[");
		rn_jw_u64(w, r->ports[i].first);
		RN_JW_LIT(w, ",");
		rn_jw_u64(w, r->ports[i].last);
		RN_JW_LIT(w, "]");
	}
	RN_JW_LIT(w, "]}");
}

static void rn_enc_filter(struct rn_netmap_encoder *enc, const struct rn_filter *f)
{
	struct rn_jw *w = &enc->map;

	RN_JW_LIT(w, "\"filter\":{\"self\":");
	rn_jw_prefixes(w, f->self, f->n_self);
	RN_JW_LIT(w, ",\"routes\":");
	rn_jw_prefixes(w, f->routes, f->n_routes);
	RN_JW_LIT(w, ",\"exit\":");
	rn_jw_bool(w, f->exit);
	RN_JW_LIT(w, ",\"rules\":[");
	for (size_t i = 0; i < f->n_rules; i++) {
		if (i)
			RN_JW_LIT(w, ",");
		rn_enc_rule(enc, &f->rules[i]);
	}
	RN_JW_LIT(w, "]}");
}

static void rn_enc_dns(struct rn_jw *w, const struct rn_netmap_dns *d)
{
	RN_JW_LIT(w, "\"dns\":{\"resolvers\":[");
	for (size_t i = 0; i < d->n_resolvers; i++) {
		if (i)
			RN_JW_LIT(w, ",");
		rn_jw_ip(w, d->resolvers[i].family, d->resolvers[i].addr);
	}
	RN_JW_LIT(w, "],\"records\":[");
	for (size_t i = 0; i < d->n_records; i++) {
		const struct rn_netmap_dns_record *r = &d->records[i];

		if (i)
			RN_JW_LIT(w, ",");
		RN_JW_LIT(w, "{\"name\":");
		rn_jw_str(w, r->name);
		if (r->type == RN_NETMAP_RR_A)
			RN_JW_LIT(w, ",\"type\":\"A\",\"value\":");
		else
			RN_JW_LIT(w, ",\"type\":\"AAAA\",\"value\":");
		rn_jw_ip(w, r->value.family, r->value.addr);
		RN_JW_LIT(w, "}");
	}
	RN_JW_LIT(w, "],\"search_domain\":");
	rn_jw_str(w, d->search_domain);
	RN_JW_LIT(w, "}");
}

static void rn_enc_opt_endpoint(struct rn_jw *w, const union rn_netmap_endpoint *ep)
{
	char text[RN_NETMAP_ENDPOINT_STRLEN] = "";

	if (ep->sa.sa_family != AF_UNSPEC)
		rn_netmap_endpoint_format(ep, text, sizeof(text));
	rn_jw_str(w, text);
}

static void rn_enc_relays(struct rn_jw *w, const struct rn_netmap *m)
{
	static const uint8_t zero[RN_NETMAP_KEY_LEN];

	RN_JW_LIT(w, ",\"relays\":[");
	for (size_t i = 0; i < m->n_relays; i++) {
		const struct rn_netmap_relay *r = &m->relays[i];

		if (i)
			RN_JW_LIT(w, ",");
		RN_JW_LIT(w, "{\"name\":");
		rn_jw_str(w, r->name);
		RN_JW_LIT(w, ",\"udp\":");
		rn_enc_opt_endpoint(w, &r->udp);
		RN_JW_LIT(w, ",\"tls\":");
		rn_enc_opt_endpoint(w, &r->tls);
		RN_JW_LIT(w, ",\"spki\":");
		if (memcmp(r->spki, zero, sizeof(zero)))
			rn_enc_key(w, r->spki);
		else
			RN_JW_LIT(w, "\"\"");
		RN_JW_LIT(w, "}");
	}
	RN_JW_LIT(w, "],\"relay_credential\":{\"expires\":");
	rn_jw_u64(w, m->relay_cred.expires);
	RN_JW_LIT(w, ",\"token\":");
	rn_enc_key(w, m->relay_cred.token);
	RN_JW_LIT(w, "}");
}

static void rn_enc_map_write(struct rn_netmap_encoder *enc, const struct rn_netmap *m)
{
	struct rn_jw *w = &enc->map;

	RN_JW_LIT(w, "{\"version\":");
	rn_jw_u64(w, m->version);
	RN_JW_LIT(w, ",\"issued_at\":");
	rn_jw_u64(w, m->issued_at);
	if (m->cache_valid_s) { /* optional: absent means the default */
		RN_JW_LIT(w, ",\"cache_valid_s\":");
		rn_jw_u64(w, m->cache_valid_s);
	}
	RN_JW_LIT(w, ",\"domain\":");
	rn_jw_str(w, m->domain);
	RN_JW_LIT(w, ",");
	rn_enc_self(w, &m->self);
	RN_JW_LIT(w, ",\"peers\":[");
	for (size_t i = 0; i < m->n_peers; i++) {
		if (i)
			RN_JW_LIT(w, ",");
		rn_enc_peer(enc, &m->peers[i]);
	}
	RN_JW_LIT(w, "],");
	rn_enc_filter(enc, &m->filter);
	RN_JW_LIT(w, ",");
	rn_enc_dns(w, &m->dns);
	if (m->n_stun) { /* optional: absent means none */
		char text[RN_NETMAP_ENDPOINT_STRLEN];

		RN_JW_LIT(w, ",\"stun\":[");
		for (size_t i = 0; i < m->n_stun; i++) {
			if (i)
				RN_JW_LIT(w, ",");
			rn_netmap_endpoint_format(&m->stun[i], text, sizeof(text));
			rn_jw_str(w, text);
		}
		RN_JW_LIT(w, "]");
	}
	if (m->n_relays) /* optional: absent means none */
		rn_enc_relays(w, m);
	RN_JW_LIT(w, "}");
	rn_enc_flush(enc);
}

struct rn_netmap_encoder *rn_netmap_encoder_new(const uint8_t signing_priv[RN_NETMAP_KEY_LEN])
{
	struct rn_netmap_encoder *enc = calloc(1, sizeof(*enc));
	uint8_t pub[RN_NETMAP_KEY_LEN];
	size_t len = sizeof(pub);

	if (!enc)
		return NULL;
	rn_jw_init(&enc->map);
	rn_jw_init(&enc->env);
	enc->key = rn_netmap_sign_key_new(signing_priv);
	if (!enc->key || EVP_PKEY_get_raw_public_key(enc->key, pub, &len) != 1 ||
	    len != sizeof(pub)) {
		rn_netmap_encoder_free(enc);
		return NULL;
	}
	rn_netmap_key_id(pub, enc->key_id);
	return enc;
}

void rn_netmap_encoder_free(struct rn_netmap_encoder *enc)
{
	if (!enc)
		return;
	EVP_PKEY_free(enc->key);
	rn_jw_free(&enc->map);
	rn_jw_free(&enc->env);
	rn_enc_memo_free(&enc->memo);
	free(enc);
}

/* The envelope around the escaped map in enc->env, once the map is signed. */
static int rn_enc_seal(struct rn_netmap_encoder *enc, char **out, size_t *outlen)
{
	uint8_t sig[RN_NETMAP_SIG_LEN];
	char sig_text[RN_NETMAP_B64_SIG_LEN + 1];
	int ret;

	if (enc->map.len > RN_NETMAP_MAX_BYTES)
		return -EMSGSIZE;
	ret = rn_netmap_sign_pkey(enc->key, enc->map.buf, enc->map.len, sig);
	if (ret)
		return ret;
	rn_netmap_b64_encode(sig, sizeof(sig), sig_text);
	RN_JW_LIT(&enc->env, "\",\"sig\":\"");
	rn_jw_raw(&enc->env, sig_text, RN_NETMAP_B64_SIG_LEN);
	RN_JW_LIT(&enc->env, "\"}");
	if (!enc->env.ok)
		return -ENOMEM;
	if (enc->env.len > RN_NETMAP_MAX_BYTES)
		return -EMSGSIZE;
	*out = realloc(enc->env.buf, enc->env.len + 1) ?: enc->env.buf; /* kept in caches */
	*outlen = enc->env.len;
	rn_jw_init(&enc->env); /* the caller owns it now */
	return 0;
}

/* The envelope up to the map's opening quote. */
static void rn_enc_start(struct rn_netmap_encoder *enc, size_t expect)
{
	rn_jw_reset(&enc->map);
	rn_jw_reset(&enc->env);
	enc->map_done = 0;
	if (rn_jw_reserve(&enc->map, expect))
		rn_jw_reserve(&enc->env, expect + expect / 4); /* ~12% of a map is escaped */
	RN_JW_LIT(&enc->env, "{\"format\":\"" RN_NETMAP_FORMAT "\",\"key_id\":\"");
	rn_jw_raw(&enc->env, enc->key_id, RN_NETMAP_KEY_ID_STRLEN - 1);
	RN_JW_LIT(&enc->env, "\",\"map\":\"");
}

int rn_netmap_encoder_run(struct rn_netmap_encoder *enc, const struct rn_netmap *m, char **out,
			  size_t *len, char *err, size_t errlen)
{
	int ret;

	*out = NULL;
	*len = 0;
	ret = rn_netmap_validate(m, err, errlen);
	if (ret)
		return ret;
	rn_enc_start(enc, enc->map.cap > 1 ? enc->map.cap - 1 : 0);
	rn_enc_map_write(enc, m);
	if (!enc->map.ok || !enc->env.ok)
		return -ENOMEM; /* the strings of a valid map are ASCII: this is memory */
	ret = rn_enc_seal(enc, out, len);
	if (ret == -EMSGSIZE)
		rn_netmap_fail(err, errlen,
			       "the encoded map is over %d bytes: nodes would refuse it",
			       RN_NETMAP_MAX_BYTES);
	rn_enc_memo_trim(&enc->memo, m->n_peers);
	return ret;
}

int rn_netmap_encode(const struct rn_netmap *m, const uint8_t signing_priv[RN_NETMAP_KEY_LEN],
		     char **out, size_t *len, char *err, size_t errlen)
{
	struct rn_netmap_encoder *enc = rn_netmap_encoder_new(signing_priv);
	int ret;

	*out = NULL;
	*len = 0;
	if (!enc)
		return -ENOMEM;
	ret = rn_netmap_encoder_run(enc, m, out, len, err, errlen);
	rn_netmap_encoder_free(enc);
	return ret;
}

/* Whether s[0..n) is ASCII, which the envelope writer takes as it is. */
static bool rn_enc_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* The rare map that is not ASCII (only from tools and tests): jansson checks it is UTF-8. */
static int rn_enc_seal_utf8(const char *map, size_t len,
			    const uint8_t signing_priv[RN_NETMAP_KEY_LEN], char **out,
			    size_t *outlen)
{
	uint8_t pub[RN_NETMAP_KEY_LEN], sig[RN_NETMAP_SIG_LEN];
	char key_id[RN_NETMAP_KEY_ID_STRLEN], sig_text[RN_NETMAP_B64_SIG_LEN + 1];
	json_t *env;
	int ret;

	ret = rn_netmap_sign_key_public(signing_priv, pub);
	if (!ret)
		ret = rn_netmap_sign(signing_priv, map, len, sig);
	if (ret)
		return ret;
	rn_netmap_key_id(pub, key_id);
	rn_netmap_b64_encode(sig, sizeof(sig), sig_text);
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

int rn_netmap_seal(const char *map, size_t len, const uint8_t signing_priv[RN_NETMAP_KEY_LEN],
		   char **out, size_t *outlen)
{
	struct rn_netmap_encoder *enc;
	int ret;

	*out = NULL;
	*outlen = 0;
	if (len > RN_NETMAP_MAX_BYTES)
		return -EMSGSIZE;
	if (memchr(map, '\0', len))
		return -EINVAL; /* the node reads JSON strings without NUL bytes */
	enc = rn_netmap_encoder_new(signing_priv);
	if (!enc)
		return -EINVAL;
	if (rn_enc_ascii(map, len)) {
		rn_enc_start(enc, len);
		rn_jw_raw(&enc->map, map, len);
		rn_enc_flush(enc);
		ret = enc->map.ok && enc->env.ok ? rn_enc_seal(enc, out, outlen) : -ENOMEM;
		rn_netmap_encoder_free(enc);
		return ret;
	}
	rn_netmap_encoder_free(enc);
	return rn_enc_seal_utf8(map, len, signing_priv, out, outlen);
}
