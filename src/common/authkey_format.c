/* SPDX-License-Identifier: MIT */
/* The rnk1 auth key text (see authkey_format.h): formatting for the server, parsing for nodes. */
#include <string.h>
#include <stdio.h>

#include "common/authkey_format.h"

static const char rn_b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int rn_b64_value(char c)
{
	const char *p = c ? strchr(rn_b64url, c) : NULL;

	return p ? (int)(p - rn_b64url) : -1;
}

void rn_authkey_b64_encode(const uint8_t in[32], char out[RN_AUTHKEY_B64_LEN + 1])
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < 32; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = rn_b64url[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = rn_b64url[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

bool rn_authkey_b64_decode(const char *in, size_t len, uint8_t out[32])
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (len != RN_AUTHKEY_B64_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		int v = rn_b64_value(in[i]);

		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* 43 characters carry 258 bits: the 2 left over must be zero, or two texts mean one key. */
	return o == 32 && (acc & ((1u << bits) - 1)) == 0;
}

static bool rn_authkey_secret_ok(const char *s, size_t len)
{
	uint8_t raw[32];

	return len == RN_AUTHKEY_SECRET_LEN && strncmp(s, "rnk_", 4) == 0 &&
	       rn_authkey_b64_decode(s + 4, len - 4, raw);
}

bool rn_authkey_format(const struct rn_authkey *key, char out[RN_AUTHKEY_STRSIZE])
{
	char pin[RN_AUTHKEY_B64_LEN + 1], pub[RN_AUTHKEY_B64_LEN + 1];

	out[0] = '\0';
	if (!rn_authkey_secret_ok(key->secret, strnlen(key->secret, sizeof(key->secret))))
		return false;
	rn_authkey_b64_encode(key->tls_pin, pin);
	rn_authkey_b64_encode(key->netmap_pub, pub);
	snprintf(out, RN_AUTHKEY_STRSIZE, "rnk1.%s.%s.%s", key->secret, pin, pub);
	return true;
}

static bool rn_authkey_fail(struct rn_authkey *out, char *err, size_t errlen, const char *what)
{
	memset(out, 0, sizeof(*out));
	snprintf(err, errlen,
		 "not a rustynet auth key: %s; copy the whole key that "
		 "`rustynet-control authkey create` printed (rnk1.<secret>.<pin>.<key>)",
		 what);
	return false;
}

bool rn_authkey_parse(const char *s, struct rn_authkey *out, char *err, size_t errlen)
{
	const char *part[4], *end;
	size_t len[4];

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	for (int i = 0; i < 4; i++) {
		const char *dot = memchr(s, '.', (size_t)(end - s));

		if (i < 3 && !dot)
			return rn_authkey_fail(out, err, errlen, "it has fewer than 4 parts");
		if (i == 3 && dot)
			return rn_authkey_fail(out, err, errlen, "it has more than 4 parts");
		part[i] = s;
		len[i] = (size_t)((dot ? dot : end) - s);
		s = dot ? dot + 1 : end;
	}
	if (len[0] != 4 || memcmp(part[0], "rnk1", 4) != 0)
		return rn_authkey_fail(
		    out, err, errlen,
		    "it does not start with \"rnk1.\" (a key of another version?)");
	if (!rn_authkey_secret_ok(part[1], len[1]))
		return rn_authkey_fail(out, err, errlen, "the secret (part 2) is malformed");
	if (!rn_authkey_b64_decode(part[2], len[2], out->tls_pin))
		return rn_authkey_fail(out, err, errlen, "the TLS pin (part 3) is malformed");
	if (!rn_authkey_b64_decode(part[3], len[3], out->netmap_pub))
		return rn_authkey_fail(out, err, errlen, "the netmap key (part 4) is malformed");
	memcpy(out->secret, part[1], len[1]);
	out->secret[len[1]] = '\0';
	return true;
}
