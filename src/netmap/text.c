/* SPDX-License-Identifier: MIT */
/*
 * Text forms used on the netmap wire: base64 and hex for keys and signatures, IP addresses and
 * "ip:port" endpoints. Parsers are strict (one spelling per value) because what they read came
 * from outside and was signed byte for byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "netmap/netmap_priv.h"

const char *const rn_netmap_context_names[4] = {
	[RN_FILTER_MESH] = "mesh",
	[RN_FILTER_SUBNET] = "subnet",
	[RN_FILTER_EXIT] = "exit",
};

const char *const rn_netmap_proto_names[4] = {
	[RN_FILTER_PROTO_ANY] = "any",
	[RN_FILTER_PROTO_TCP] = "tcp",
	[RN_FILTER_PROTO_UDP] = "udp",
	[RN_FILTER_PROTO_ICMP] = "icmp",
};

void rn_netmap_b64_encode(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

bool rn_netmap_b64_decode(const char *in, size_t len, uint8_t *out, size_t n)
{
	size_t want = 4 * ((n + 2) / 3);
	uint8_t buf[RN_NETMAP_SIG_LEN + 3];
	char again[RN_NETMAP_B64_SIG_LEN + 1];
	bool ok;

	if (len != want || n > RN_NETMAP_SIG_LEN || memchr(in, '\0', len))
		return false;
	/* EVP_DecodeBlock skips blanks and counts padding as zero bytes; re-encoding catches both.
	 */
	if (EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len) != (int)(want / 4 * 3))
		return false;
	rn_netmap_b64_encode(buf, n, again);
	ok = !memcmp(again, in, len);
	if (ok)
		memcpy(out, buf, n);
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(again, sizeof(again));
	return ok;
}

void rn_netmap_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

bool rn_netmap_hex_decode(const char *in, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = OPENSSL_hexchar2int((unsigned char)in[2 * i]),
		    lo = OPENSSL_hexchar2int((unsigned char)in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

bool rn_netmap_ip_parse(const char *s, struct rn_netmap_ip *out)
{
	int family = strchr(s, ':') ? AF_INET6 : AF_INET;

	memset(out, 0, sizeof(*out));
	if (inet_pton(family, s, out->addr) != 1)
		return false;
	out->family = (uint8_t)family;
	return true;
}

void rn_netmap_ip_format(const struct rn_netmap_ip *ip, char *buf, size_t len)
{
	if (!inet_ntop(ip->family, ip->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* Digits only, no sign or leading zero, 1-65535. */
static int parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;

	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 5)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -ERANGE;
	*out = (uint16_t)v;
	return 0;
}

int rn_netmap_endpoint_parse(const char *s, union rn_netmap_endpoint *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon, *start = s;
	size_t n;
	uint16_t port;
	int ret;

	memset(out, 0, sizeof(*out));
	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		start = s + 1;
		colon = end + 1;
		n = (size_t)(end - start);
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL; /* a bare IPv6 address would be ambiguous with its port */
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, start, n);
	host[n] = '\0';
	ret = parse_port(colon + 1, &port);
	if (ret)
		return ret;
	if (*s == '[') {
		if (inet_pton(AF_INET6, host, &out->sin6.sin6_addr) != 1)
			return -EINVAL;
		out->sin6.sin6_family = AF_INET6;
		out->sin6.sin6_port = htons(port);
	} else {
		if (inet_pton(AF_INET, host, &out->sin.sin_addr) != 1)
			return -EINVAL;
		out->sin.sin_family = AF_INET;
		out->sin.sin_port = htons(port);
	}
	return 0;
}

void rn_netmap_endpoint_format(const union rn_netmap_endpoint *ep, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ep->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->sin6.sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(ep->sin6.sin6_port));
	} else {
		inet_ntop(AF_INET, &ep->sin.sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(ep->sin.sin_port));
	}
}

const char *rn_netmap_quote(const char *s, size_t len, char buf[RN_NETMAP_QUOTE_LEN])
{
	size_t o = 0;

	buf[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 8 >= RN_NETMAP_QUOTE_LEN) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, RN_NETMAP_QUOTE_LEN - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

int rn_netmap_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}
