/* SPDX-License-Identifier: MIT */
/* STUN Binding, RFC 8489: see stun.h. CRC-32 for FINGERPRINT is zlib's. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "path/stun.h"

enum {
	ATTR_MAPPED_ADDRESS = 0x0001,
	ATTR_ERROR_CODE = 0x0009,
	ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	ATTR_FINGERPRINT = 0x8028,
	FINGERPRINT_XOR = 0x5354554e, /* "STUN" */
	FAMILY_IPV4 = 0x01,
	FAMILY_IPV6 = 0x02,
	FINGERPRINT_ATTR_LEN = 8,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The message type packs class bits C1 (bit 8) and C0 (bit 4) between the method's bits. */
static uint16_t msg_type(uint16_t method, enum rn_stun_class cls)
{
	return (uint16_t)((method & 0x000f) | (method & 0x0070) << 1 | (method & 0x0f80) << 2 |
			  (cls & 1) << 4 | (cls & 2) << 7);
}

static void split_type(uint16_t t, uint16_t *method, enum rn_stun_class *cls)
{
	*method = (uint16_t)((t & 0x000f) | (t & 0x00e0) >> 1 | (t & 0x3e00) >> 2);
	*cls = (enum rn_stun_class)((t >> 4 & 1) | (t >> 7 & 2));
}

bool rn_stun_is_message(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	return len >= RN_STUN_HEADER_LEN && len <= RN_STUN_MAX_MSG && !(p[0] & 0xc0) &&
	       (size_t)get16(p + 2) + RN_STUN_HEADER_LEN == len && !(get16(p + 2) & 3) &&
	       get32(p + 4) == RN_STUN_MAGIC;
}

/* FINGERPRINT over p[0..n), the header's length already counting the attribute. */
static uint32_t fingerprint(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(0L, p, (uInt)n) ^ FINGERPRINT_XOR;
}

/* An address attribute's value into out; xor: XOR-MAPPED-ADDRESS with the header's key. */
static int parse_addr(const uint8_t *v, size_t n, bool xor, const uint8_t *hdr,
		      struct sockaddr_storage *out)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
	uint16_t port;
	size_t i;

	if (n < 4)
		return -EINVAL;
	port = get16(v + 2);
	if (xor)
		port ^= (uint16_t)(RN_STUN_MAGIC >> 16);
	if (!port)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (v[1] == FAMILY_IPV4 && n == 8) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, v + 4, 4);
		if (xor)
			for (i = 0; i < 4; i++)
				((uint8_t *)&s4->sin_addr)[i] ^= hdr[4 + i];
		return 0;
	}
	if (v[1] == FAMILY_IPV6 && n == 20) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, v + 4, 16);
		if (xor) /* the cookie and the transaction id: header bytes 4..19 */
			for (i = 0; i < 16; i++)
				s6->sin6_addr.s6_addr[i] ^= hdr[4 + i];
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

int rn_stun_parse(const void *buf, size_t len, struct rn_stun_msg *out)
{
	const uint8_t *p = buf;
	struct sockaddr_storage plain = { .ss_family = AF_UNSPEC };
	bool have_xor = false;
	size_t off = RN_STUN_HEADER_LEN;

	memset(out, 0, sizeof(*out));
	out->mapped.ss_family = AF_UNSPEC;
	if (!rn_stun_is_message(buf, len))
		return -EINVAL;
	split_type(get16(p), &out->method, &out->cls);
	memcpy(out->txid, p + 8, RN_STUN_TXID_LEN);
	while (off < len) {
		uint16_t type, alen;
		size_t padded;

		if (len - off < 4)
			return -EINVAL;
		type = get16(p + off);
		alen = get16(p + off + 2);
		padded = ((size_t)alen + 3) & ~(size_t)3;
		if (padded > len - off - 4)
			return -EINVAL;
		if (out->fingerprint) /* FINGERPRINT must be the last attribute */
			return -EINVAL;
		switch (type) {
		case ATTR_XOR_MAPPED_ADDRESS:
			if (!have_xor) {
				if (parse_addr(p + off + 4, alen, true, p, &out->mapped))
					return -EINVAL;
				have_xor = true;
			}
			break;
		case ATTR_MAPPED_ADDRESS:
			if (plain.ss_family == AF_UNSPEC &&
			    parse_addr(p + off + 4, alen, false, p, &plain))
				return -EINVAL;
			break;
		case ATTR_ERROR_CODE:
			if (alen < 4)
				return -EINVAL;
			out->error_code = (uint16_t)((p[off + 6] & 7) * 100 + p[off + 7]);
			break;
		case ATTR_FINGERPRINT:
			if (alen != 4 || get32(p + off + 4) != fingerprint(p, off))
				return -EINVAL;
			out->fingerprint = true;
			break;
		default: /* not needed for a Binding: skipped */
			break;
		}
		off += 4 + padded;
	}
	if (!have_xor && plain.ss_family != AF_UNSPEC)
		out->mapped = plain;
	return 0;
}

bool rn_stun_txid_new(uint8_t txid[RN_STUN_TXID_LEN])
{
	return RAND_bytes(txid, RN_STUN_TXID_LEN) == 1;
}

static void put_header(uint8_t *out, uint16_t type, size_t body, const uint8_t *txid)
{
	put16(out, type);
	put16(out + 2, (uint16_t)body);
	put32(out + 4, RN_STUN_MAGIC);
	memcpy(out + 8, txid, RN_STUN_TXID_LEN);
}

/* Appends FINGERPRINT at out[off]; the header's length must already count it. */
static size_t put_fingerprint(uint8_t *out, size_t off)
{
	put16(out + off, ATTR_FINGERPRINT);
	put16(out + off + 2, 4);
	put32(out + off + 4, fingerprint(out, off));
	return off + FINGERPRINT_ATTR_LEN;
}

size_t rn_stun_build_request(const uint8_t txid[RN_STUN_TXID_LEN], uint8_t *out, size_t cap)
{
	if (cap < RN_STUN_REQUEST_LEN)
		return 0;
	put_header(out, msg_type(RN_STUN_METHOD_BINDING, RN_STUN_REQUEST), FINGERPRINT_ATTR_LEN,
		   txid);
	return put_fingerprint(out, RN_STUN_HEADER_LEN);
}

size_t rn_stun_build_success(const uint8_t txid[RN_STUN_TXID_LEN], const struct sockaddr *mapped,
			     uint8_t *out, size_t cap)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)mapped;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)mapped;
	size_t alen, i, need;
	uint8_t *v;

	if (mapped->sa_family == AF_INET)
		alen = 8;
	else if (mapped->sa_family == AF_INET6)
		alen = 20;
	else
		return 0;
	need = RN_STUN_HEADER_LEN + 4 + alen + FINGERPRINT_ATTR_LEN;
	if (cap < need)
		return 0;
	put_header(out, msg_type(RN_STUN_METHOD_BINDING, RN_STUN_SUCCESS),
		   need - RN_STUN_HEADER_LEN, txid);
	v = out + RN_STUN_HEADER_LEN;
	put16(v, ATTR_XOR_MAPPED_ADDRESS);
	put16(v + 2, (uint16_t)alen);
	v += 4;
	v[0] = 0;
	if (mapped->sa_family == AF_INET) {
		v[1] = FAMILY_IPV4;
		put16(v + 2, (uint16_t)(ntohs(s4->sin_port) ^ (RN_STUN_MAGIC >> 16)));
		memcpy(v + 4, &s4->sin_addr, 4);
		for (i = 0; i < 4; i++)
			v[4 + i] ^= out[4 + i];
	} else {
		v[1] = FAMILY_IPV6;
		put16(v + 2, (uint16_t)(ntohs(s6->sin6_port) ^ (RN_STUN_MAGIC >> 16)));
		memcpy(v + 4, &s6->sin6_addr, 16);
		for (i = 0; i < 16; i++)
			v[4 + i] ^= out[4 + i];
	}
	return put_fingerprint(out, RN_STUN_HEADER_LEN + 4 + alen);
}

size_t rn_stun_respond(const void *req, size_t len, const struct sockaddr *from, uint8_t *out,
		       size_t cap)
{
	struct rn_stun_msg m;

	if (rn_stun_parse(req, len, &m) || m.method != RN_STUN_METHOD_BINDING ||
	    m.cls != RN_STUN_REQUEST)
		return 0;
	return rn_stun_build_success(m.txid, from, out, cap);
}

void rn_stun_addr_str(const struct sockaddr_storage *a, char *out, size_t cap)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;
	char ip[INET6_ADDRSTRLEN] = "?";

	if (a->ss_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (a->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		snprintf(out, cap, "none");
	}
}
