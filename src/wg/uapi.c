/* SPDX-License-Identifier: MIT */
/*
 * The UAPI text protocol: "set=1" bodies in, "get=1" bodies out. wg(8) checks nothing but the
 * errno line, so every rule here follows wireguard-go, the reference userspace implementation,
 * down to the order of the lines in a reply and the spelling of IPv6 addresses.
 */
#include "wg/uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define must_check __attribute__((warn_unused_result))

/* No valid value is longer: a key is 64, "[" IPv6 "%" scope "]:" port at most ~75. */
#define UAPI_MAX_VALUE 128
/* Quoted input in messages is cut here, so a hostile line cannot flood the log. */
#define UAPI_QUOTE_MAX 64

/* Where a key may appear: before the first public_key, after it, or anywhere (public_key). */
enum uapi_section { SEC_DEVICE, SEC_PEER, SEC_NEW_PEER };

struct uapi_parser {
	struct rn_wg_config *cfg;
	struct rn_wg_peer_config *peer; /* the peer being configured; NULL in the device section */
	size_t peers_cap;		/* slots in cfg->peers, one per public_key line */
	size_t ips_cap;			/* slots in peer->allowed_ips */
	size_t lineno;
	const char *why; /* set by a failing value parser: what the value should have been */
	char *err;
	size_t errlen;
};

struct uapi_key {
	const char *name;
	enum uapi_section section;
	bool secret; /* never quote the value */
	int (*parse)(struct uapi_parser *p, const char *v);
};

/* Copies s[0..n) into dst as printable ASCII, escaping the rest, and cut at UAPI_QUOTE_MAX. */
static const char *quote(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 8 < dstlen; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i == UAPI_QUOTE_MAX) {
			o += (size_t)snprintf(dst + o, dstlen - o, "...");
			break;
		}
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			dst[o++] = (char)ch;
		else
			o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", ch);
	}
	dst[o] = '\0';
	return dst;
}

static int __attribute__((format(printf, 3, 4)))
fail(struct uapi_parser *p, int ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->errlen)
		return ret;
	n = p->lineno ? snprintf(p->err, p->errlen, "line %zu: ", p->lineno) : 0;
	if (n < 0 || (size_t)n >= p->errlen)
		return ret;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return ret;
}

static must_check bool parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v)
		return false;
	for (; *v; v++) {
		unsigned int d = (unsigned int)(*v - '0');

		if (d > 9 || n > (max - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*out = n;
	return true;
}

/* wg sends lowercase; wireguard-go takes either case. sodium_hex2bin runs in constant time. */
static must_check bool parse_key(const char *v, uint8_t key[RN_WG_KEY_LEN])
{
	size_t n = 0;

	if (strlen(v) != RN_UAPI_KEY_HEX_LEN)
		return false;
	if (sodium_hex2bin(key, RN_WG_KEY_LEN, v, RN_UAPI_KEY_HEX_LEN, NULL, &n, NULL) ||
	    n != RN_WG_KEY_LEN) {
		OPENSSL_cleanse(key, RN_WG_KEY_LEN);
		return false;
	}
	return true;
}

static must_check bool parse_true(struct uapi_parser *p, const char *v)
{
	/* wireguard-go takes exactly "true"; there is no way to say "false". */
	if (strcmp(v, "true")) {
		p->why = "the only value allowed is \"true\"";
		return false;
	}
	return true;
}

static int dev_private_key(struct uapi_parser *p, const char *v)
{
	if (!parse_key(v, p->cfg->private_key)) {
		p->why = "expected 64 hex digits (all zero removes the key)";
		return -EINVAL;
	}
	p->cfg->flags |= RN_WG_DEV_HAS_PRIVATE_KEY;
	return 0;
}

static int dev_listen_port(struct uapi_parser *p, const char *v)
{
	uint64_t n;

	if (!parse_uint(v, UINT16_MAX, &n)) {
		p->why = "expected a port number 0-65535";
		return -EINVAL;
	}
	p->cfg->listen_port = (uint16_t)n;
	p->cfg->flags |= RN_WG_DEV_HAS_LISTEN_PORT;
	return 0;
}

static int dev_fwmark(struct uapi_parser *p, const char *v)
{
	uint64_t n;

	if (!parse_uint(v, UINT32_MAX, &n)) {
		p->why = "expected a decimal number 0-4294967295 (0 is off)";
		return -EINVAL;
	}
	p->cfg->fwmark = (uint32_t)n;
	p->cfg->flags |= RN_WG_DEV_HAS_FWMARK;
	return 0;
}

static int dev_replace_peers(struct uapi_parser *p, const char *v)
{
	if (!parse_true(p, v))
		return -EINVAL;
	p->cfg->flags |= RN_WG_DEV_REPLACE_PEERS;
	return 0;
}

static int peer_public_key(struct uapi_parser *p, const char *v)
{
	struct rn_wg_config *c = p->cfg;
	struct rn_wg_peer_config *peer;

	if (c->n_peers == p->peers_cap)
		return -EPROTO; /* cannot happen: the slots were counted from the same lines */
	peer = &c->peers[c->n_peers];
	if (!parse_key(v, peer->public_key)) {
		p->why = "expected 64 hex digits";
		return -EINVAL;
	}
	c->n_peers++;
	p->peer = peer;
	p->ips_cap = 0;
	return 0;
}

static int peer_remove(struct uapi_parser *p, const char *v)
{
	if (!parse_true(p, v))
		return -EINVAL;
	p->peer->flags |= RN_WG_PEER_REMOVE;
	return 0;
}

static int peer_update_only(struct uapi_parser *p, const char *v)
{
	if (!parse_true(p, v))
		return -EINVAL;
	p->peer->flags |= RN_WG_PEER_UPDATE_ONLY;
	return 0;
}

static int peer_preshared_key(struct uapi_parser *p, const char *v)
{
	if (!parse_key(v, p->peer->preshared_key)) {
		p->why = "expected 64 hex digits (all zero removes the key)";
		return -EINVAL;
	}
	p->peer->flags |= RN_WG_PEER_HAS_PRESHARED_KEY;
	return 0;
}

/*
 * An IPv6 scope: wg sends the interface name its getnameinfo() printed. wireguard-go keeps the
 * name and resolves it when sending, trying it as a name first and then as a number; we need the
 * index now, in the same order.
 */
static must_check bool parse_scope(const char *zone, uint32_t *scope_id)
{
	uint64_t n;

	if (!*zone)
		return false;
	*scope_id = if_nametoindex(zone);
	if (*scope_id)
		return true;
	if (!parse_uint(zone, UINT32_MAX, &n))
		return false;
	*scope_id = (uint32_t)n;
	return true;
}

/* "a.b.c.d:port" or "[v6%scope]:port", as netip.ParseAddrPort takes them: no names, no v6 bare. */
static int peer_endpoint(struct uapi_parser *p, const char *v)
{
	union rn_wg_endpoint ep = { 0 };
	char host[UAPI_MAX_VALUE];
	const char *end, *port;
	char *zone;
	uint64_t n;

	p->why = "expected IPv4:port or [IPv6]:port with a numeric address";
	if (v[0] == '[') {
		end = strchr(v, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		port = end + 2;
		memcpy(host, v + 1, (size_t)(end - v - 1));
		host[end - v - 1] = '\0';
		zone = strchr(host, '%');
		if (zone)
			*zone++ = '\0';
		if (inet_pton(AF_INET6, host, &ep.sin6.sin6_addr) != 1)
			return -EINVAL;
		if (zone && !parse_scope(zone, &ep.sin6.sin6_scope_id)) {
			p->why = "the IPv6 scope is neither an interface nor a number";
			return -EINVAL;
		}
		ep.sin6.sin6_family = AF_INET6;
	} else {
		end = strrchr(v, ':');
		if (!end)
			return -EINVAL;
		port = end + 1;
		memcpy(host, v, (size_t)(end - v));
		host[end - v] = '\0';
		if (inet_pton(AF_INET, host, &ep.sin.sin_addr) != 1)
			return -EINVAL;
		ep.sin.sin_family = AF_INET;
	}
	if (!parse_uint(port, UINT16_MAX, &n)) {
		p->why = "expected a port number 0-65535 after the address";
		return -EINVAL;
	}
	/* sin_port and sin6_port share their offset. */
	if (ep.sa.sa_family == AF_INET)
		ep.sin.sin_port = htons((uint16_t)n);
	else
		ep.sin6.sin6_port = htons((uint16_t)n);
	p->peer->endpoint = ep;
	p->peer->flags |= RN_WG_PEER_HAS_ENDPOINT;
	return 0;
}

static int peer_keepalive(struct uapi_parser *p, const char *v)
{
	uint64_t n;

	if (!parse_uint(v, UINT16_MAX, &n)) {
		p->why = "expected seconds 0-65535 (0 is off)";
		return -EINVAL;
	}
	p->peer->persistent_keepalive = (uint16_t)n;
	p->peer->flags |= RN_WG_PEER_HAS_KEEPALIVE;
	return 0;
}

static int peer_replace_allowed_ips(struct uapi_parser *p, const char *v)
{
	if (!parse_true(p, v))
		return -EINVAL;
	/* wireguard-go acts on lines in order: what this peer added so far is removed too. */
	p->peer->n_allowed_ips = 0;
	p->peer->flags |= RN_WG_PEER_REPLACE_ALLOWEDIPS;
	return 0;
}

static void mask_prefix(uint8_t *addr, size_t len, unsigned int cidr)
{
	for (size_t i = 0; i<len; i++, cidr = cidr> 8 ? cidr - 8 : 0)
		addr[i] &= cidr >= 8 ? 0xff : (uint8_t)(0xff00 >> cidr);
}

/* "addr/bits" as netip.ParsePrefix takes it: no scope, bits in decimal without leading zeros. */
static must_check bool parse_prefix(const char *v, struct rn_wg_allowed_ip *ip)
{
	char addr[UAPI_MAX_VALUE];
	const char *slash = strrchr(v, '/');
	uint64_t bits;

	if (!slash || (slash[1] == '0' && slash[2]) || !parse_uint(slash + 1, 128, &bits))
		return false;
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	*ip = (struct rn_wg_allowed_ip){ 0 };
	if (strchr(addr, ':')) {
		if (bits > 128 || inet_pton(AF_INET6, addr, &ip->ip6) != 1)
			return false;
		ip->family = AF_INET6;
		mask_prefix(ip->ip6.s6_addr, sizeof(ip->ip6.s6_addr), (unsigned int)bits);
	} else {
		if (bits > 32 || inet_pton(AF_INET, addr, &ip->ip4) != 1)
			return false;
		ip->family = AF_INET;
		mask_prefix((uint8_t *)&ip->ip4.s_addr, sizeof(ip->ip4.s_addr), (unsigned int)bits);
	}
	ip->cidr = (uint8_t)bits;
	return true;
}

static int peer_allowed_ip(struct uapi_parser *p, const char *v)
{
	struct rn_wg_peer_config *peer = p->peer;
	struct rn_wg_allowed_ip ip, *ips;

	if (!parse_prefix(v, &ip)) {
		p->why = "expected IPv4/0-32 or IPv6/0-128";
		return -EINVAL;
	}
	/* Doubling, not rn_wg_peer_config_add_allowed_ip(): one realloc per line is quadratic. */
	if (peer->n_allowed_ips == p->ips_cap) {
		size_t cap = p->ips_cap ? 2 * p->ips_cap : 4;

		ips = reallocarray(peer->allowed_ips, cap, sizeof(*ips));
		if (!ips)
			return -ENOMEM;
		peer->allowed_ips = ips;
		p->ips_cap = cap;
	}
	peer->allowed_ips[peer->n_allowed_ips++] = ip;
	return 0;
}

static int peer_protocol_version(struct uapi_parser *p, const char *v)
{
	if (strcmp(v, "1")) {
		p->why = "the only protocol version is 1";
		return -EINVAL;
	}
	return 0;
}

static const struct uapi_key uapi_keys[] = {
	{ "private_key", SEC_DEVICE, true, dev_private_key },
	{ "listen_port", SEC_DEVICE, false, dev_listen_port },
	{ "fwmark", SEC_DEVICE, false, dev_fwmark },
	{ "replace_peers", SEC_DEVICE, false, dev_replace_peers },
	{ "public_key", SEC_NEW_PEER, false, peer_public_key },
	{ "remove", SEC_PEER, false, peer_remove },
	{ "update_only", SEC_PEER, false, peer_update_only },
	{ "preshared_key", SEC_PEER, true, peer_preshared_key },
	{ "endpoint", SEC_PEER, false, peer_endpoint },
	{ "persistent_keepalive_interval", SEC_PEER, false, peer_keepalive },
	{ "replace_allowed_ips", SEC_PEER, false, peer_replace_allowed_ips },
	{ "allowed_ip", SEC_PEER, false, peer_allowed_ip },
	{ "protocol_version", SEC_PEER, false, peer_protocol_version },
};

static const struct uapi_key *find_key(const char *k, size_t klen)
{
	for (size_t i = 0; i < sizeof(uapi_keys) / sizeof(uapi_keys[0]); i++)
		if (strlen(uapi_keys[i].name) == klen && !memcmp(uapi_keys[i].name, k, klen))
			return &uapi_keys[i];
	return NULL;
}

/* Checks where the key may appear and hands a NUL-terminated copy of the value to its parser. */
static int parse_value(struct uapi_parser *p, const struct uapi_key *key, const char *v,
		       size_t vlen)
{
	char val[UAPI_MAX_VALUE + 1], q[4 * UAPI_QUOTE_MAX + 8];
	int ret;

	if (key->section == SEC_DEVICE && p->peer)
		return fail(p, -EPROTO, "device key %s after the first public_key", key->name);
	if (key->section == SEC_PEER && !p->peer)
		return fail(p, -EPROTO, "peer key %s before any public_key", key->name);
	if (vlen > UAPI_MAX_VALUE || memchr(v, '\0', vlen)) {
		if (key->secret)
			return fail(p, -EINVAL, "invalid %s (%zu bytes, value not shown)",
				    key->name, vlen);
		return fail(p, -EINVAL, "invalid %s \"%s\": too long or holds a NUL byte",
			    key->name, quote(q, sizeof(q), v, vlen));
	}
	memcpy(val, v, vlen);
	val[vlen] = '\0';
	p->why = NULL;
	ret = key->parse(p, val);
	OPENSSL_cleanse(val, sizeof(val));
	if (ret == -ENOMEM)
		return fail(p, ret, "out of memory");
	if (ret && key->secret)
		return fail(p, ret, "invalid %s (%zu characters, value not shown): %s", key->name,
			    vlen, p->why ? p->why : "rejected");
	if (ret)
		return fail(p, ret, "invalid %s \"%s\": %s", key->name,
			    quote(q, sizeof(q), v, vlen), p->why ? p->why : "rejected");
	return 0;
}

static int parse_line(struct uapi_parser *p, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	const struct uapi_key *key;
	char q[4 * UAPI_QUOTE_MAX + 8];

	if (!len)
		return fail(p, -EPROTO, "empty line inside the request");
	if (!eq)
		return fail(p, -EPROTO, "expected key=value, got \"%s\"",
			    quote(q, sizeof(q), line, len));
	key = find_key(line, (size_t)(eq - line));
	if (!key)
		return fail(p, -EINVAL, "unknown key \"%s\"",
			    quote(q, sizeof(q), line, (size_t)(eq - line)));
	return parse_value(p, key, eq + 1, len - (size_t)(eq - line) - 1);
}

/* Lines that open a peer, so the peer array is sized once and never moves (it holds keys). */
static size_t count_peers(const char *buf, size_t len)
{
	static const char tag[] = "public_key=";
	size_t n = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - buf) : len;

		if (end - i >= sizeof(tag) - 1 && !memcmp(buf + i, tag, sizeof(tag) - 1))
			n++;
		i = end + 1;
	}
	return n;
}

int rn_uapi_parse_set(const char *buf, size_t len, struct rn_wg_config *out, char *err,
		      size_t errlen)
{
	struct uapi_parser p = { .cfg = out, .err = err, .errlen = errlen };
	size_t i = 0;
	int ret = 0;

	if (errlen)
		err[0] = '\0';
	p.peers_cap = count_peers(buf, len);
	if (p.peers_cap) {
		out->peers = calloc(p.peers_cap, sizeof(*out->peers));
		if (!out->peers)
			return fail(&p, -ENOMEM, "out of memory for %zu peers", p.peers_cap);
	}
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - buf) : len;

		p.lineno++;
		ret = parse_line(&p, buf + i, end - i);
		if (ret)
			break;
		i = end + 1;
	}
	if (ret)
		rn_wg_config_free(out);
	return ret;
}

/* ---- get ---- */

/* Upper bounds of what one device, peer or allowed IP can print, so *out is sized once. */
#define UAPI_DEVICE_MAX	    160
#define UAPI_PEER_MAX	    512
#define UAPI_ALLOWED_IP_MAX 72

struct uapi_out {
	char *buf;
	size_t len, cap; /* cap counts the terminating NUL */
	bool overflow;	 /* a bound above is wrong: fail rather than send half a reply */
};

static void __attribute__((format(printf, 2, 3))) emit(struct uapi_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->overflow = true;
		return;
	}
	o->len += (size_t)n;
}

static void emit_key(struct uapi_out *o, const char *name, const uint8_t key[RN_WG_KEY_LEN])
{
	size_t need = strlen(name) + 1 + RN_UAPI_KEY_HEX_LEN + 2;

	if (o->overflow || o->cap - o->len < need) {
		o->overflow = true;
		return;
	}
	o->len += (size_t)sprintf(o->buf + o->len, "%s=", name);
	sodium_bin2hex(o->buf + o->len, RN_UAPI_KEY_HEX_LEN + 1, key, RN_WG_KEY_LEN);
	o->len += RN_UAPI_KEY_HEX_LEN;
	o->buf[o->len++] = '\n';
	o->buf[o->len] = '\0';
}

/*
 * IPv6 text as Go's netip prints it (RFC 5952): the first longest run of two or more zero
 * groups becomes "::", and only ::ffff:a.b.c.d keeps a dotted tail. glibc's inet_ntop also
 * dots ::a.b.c.d, so it would differ from wireguard-go there.
 */
static void format_ip6(char *dst, size_t len, const struct in6_addr *a)
{
	const uint8_t *b = a->s6_addr;
	int best = -1, best_len = 1;
	size_t o = 0;

	if (IN6_IS_ADDR_V4MAPPED(a)) {
		snprintf(dst, len, "::ffff:%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
		return;
	}
	for (int i = 0, j; i < 8; i = j + 1) {
		for (j = i; j < 8 && !b[2 * j] && !b[2 * j + 1]; j++)
			;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
	}
	dst[0] = '\0';
	for (int i = 0; i < 8 && o < len; i++) {
		if (i == best) {
			o += (size_t)snprintf(dst + o, len - o, "::");
			i += best_len - 1;
			continue;
		}
		o +=
		    (size_t)snprintf(dst + o, len - o, "%s%x", i && i != best + best_len ? ":" : "",
				     (unsigned int)(b[2 * i] << 8 | b[2 * i + 1]));
	}
}

static void format_ip4(char *dst, size_t len, const struct in_addr *a)
{
	const uint8_t *b = (const uint8_t *)&a->s_addr;

	snprintf(dst, len, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

static void emit_endpoint(struct uapi_out *o, const union rn_wg_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN], scope[IF_NAMESIZE + 12] = "";
	uint32_t id;

	if (ep->sa.sa_family == AF_INET) {
		format_ip4(addr, sizeof(addr), &ep->sin.sin_addr);
		emit(o, "endpoint=%s:%u\n", addr, ntohs(ep->sin.sin_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		format_ip6(addr, sizeof(addr), &ep->sin6.sin6_addr);
		id = ep->sin6.sin6_scope_id;
		/* wireguard-go echoes the scope as set; wg sends names, so print the name. */
		if (id && !if_indextoname(id, scope + 1))
			snprintf(scope, sizeof(scope), "%%%u", id);
		else if (id)
			scope[0] = '%';
		emit(o, "endpoint=[%s%s]:%u\n", addr, scope, ntohs(ep->sin6.sin6_port));
	}
}

static void emit_allowed_ip(struct uapi_out *o, const struct rn_wg_allowed_ip *ip)
{
	char addr[INET6_ADDRSTRLEN];

	if (ip->family == AF_INET)
		format_ip4(addr, sizeof(addr), &ip->ip4);
	else if (ip->family == AF_INET6)
		format_ip6(addr, sizeof(addr), &ip->ip6);
	else
		return; /* as wg does: nothing sensible to print */
	emit(o, "allowed_ip=%s/%u\n", addr, ip->cidr);
}

static void emit_peer(struct uapi_out *o, const struct rn_wg_peer_config *p)
{
	emit_key(o, "public_key", p->public_key);
	emit_key(o, "preshared_key", p->preshared_key);
	emit(o, "protocol_version=1\n");
	emit_endpoint(o, &p->endpoint);
	emit(o, "last_handshake_time_sec=%lld\n", (long long)p->last_handshake.tv_sec);
	emit(o, "last_handshake_time_nsec=%ld\n", (long)p->last_handshake.tv_nsec);
	emit(o, "tx_bytes=%llu\n", (unsigned long long)p->tx_bytes);
	emit(o, "rx_bytes=%llu\n", (unsigned long long)p->rx_bytes);
	emit(o, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
	for (size_t i = 0; i < p->n_allowed_ips; i++)
		emit_allowed_ip(o, &p->allowed_ips[i]);
}

static bool key_is_zero(const uint8_t key[RN_WG_KEY_LEN])
{
	return sodium_is_zero(key, RN_WG_KEY_LEN);
}

/* Bytes that c can print, or 0 if that does not fit in a size_t. */
static size_t reply_bound(const struct rn_wg_config *c)
{
	size_t n = UAPI_DEVICE_MAX + 1, part;

	if (__builtin_mul_overflow(c->n_peers, (size_t)UAPI_PEER_MAX, &part) ||
	    __builtin_add_overflow(n, part, &n))
		return 0;
	for (size_t i = 0; i < c->n_peers; i++)
		if (__builtin_mul_overflow(c->peers[i].n_allowed_ips, (size_t)UAPI_ALLOWED_IP_MAX,
					   &part) ||
		    __builtin_add_overflow(n, part, &n))
			return 0;
	return n;
}

int rn_uapi_format_get(const struct rn_wg_config *c, char **out, size_t *outlen)
{
	struct uapi_out o = { 0 };

	*out = NULL;
	*outlen = 0;
	o.cap = reply_bound(c);
	if (!o.cap)
		return -ENOMEM;
	/* Sized once: growing by realloc would leave copies of the private key in freed memory. */
	o.buf = malloc(o.cap);
	if (!o.buf)
		return -ENOMEM;
	o.buf[0] = '\0';
	if (!key_is_zero(c->private_key))
		emit_key(&o, "private_key", c->private_key);
	if (c->listen_port)
		emit(&o, "listen_port=%u\n", c->listen_port);
	if (c->fwmark)
		emit(&o, "fwmark=%u\n", c->fwmark);
	for (size_t i = 0; i < c->n_peers; i++)
		emit_peer(&o, &c->peers[i]);
	if (o.overflow) {
		rn_uapi_free_response(o.buf, o.cap);
		return -ENOMEM;
	}
	*out = o.buf;
	*outlen = o.len;
	return 0;
}

void rn_uapi_free_response(char *buf, size_t len)
{
	if (!buf)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}
