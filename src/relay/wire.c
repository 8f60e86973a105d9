/* SPDX-License-Identifier: MIT */
/* The relay messages (relay.h) to and from bytes: type and length checked before anything else. */
#include <endian.h>
#include <string.h>

#include "relay/relay.h"

static bool hdr_ok(const uint8_t *buf)
{
	return buf[1] == 0 && buf[2] == 0 && buf[3] == 0;
}

static void cred_decode(const uint8_t *p, struct rn_relay_cred *cred)
{
	uint64_t be;

	memcpy(cred->key, p, RN_RELAY_KEY_LEN);
	memcpy(&be, p + RN_RELAY_KEY_LEN, sizeof(be));
	cred->expiry = be64toh(be);
	memcpy(cred->token, p + RN_RELAY_KEY_LEN + 8, RN_RELAY_TOKEN_LEN);
}

static void cred_encode(const struct rn_relay_cred *cred, uint8_t *p)
{
	uint64_t be = htobe64(cred->expiry);

	memcpy(p, cred->key, RN_RELAY_KEY_LEN);
	memcpy(p + RN_RELAY_KEY_LEN, &be, sizeof(be));
	memcpy(p + RN_RELAY_KEY_LEN + 8, cred->token, RN_RELAY_TOKEN_LEN);
}

bool rn_relay_msg_decode(const uint8_t *buf, size_t len, struct rn_relay_msg *msg)
{
	uint32_t be;

	if (len < RN_RELAY_HDR_LEN || !hdr_ok(buf))
		return false;
	memset(msg, 0, sizeof(*msg));
	msg->type = buf[0];
	switch (buf[0]) {
	case RN_RELAY_REGISTER:
		if (len != RN_RELAY_REGISTER_LEN)
			return false;
		cred_decode(buf + RN_RELAY_HDR_LEN, &msg->cred);
		memcpy(msg->cookie, buf + RN_RELAY_HDR_LEN + RN_RELAY_CRED_LEN,
		       RN_RELAY_COOKIE_LEN);
		return true;
	case RN_RELAY_COOKIE:
		if (len != RN_RELAY_COOKIE_MSG_LEN)
			return false;
		memcpy(msg->cookie, buf + RN_RELAY_HDR_LEN, RN_RELAY_COOKIE_LEN);
		return true;
	case RN_RELAY_REGISTERED:
		if (len != RN_RELAY_REGISTERED_LEN)
			return false;
		memcpy(&be, buf + 4, 4);
		msg->refresh_s = be32toh(be);
		memcpy(&be, buf + 8, 4);
		msg->lifetime_s = be32toh(be);
		return true;
	case RN_RELAY_SEND:
	case RN_RELAY_RECV:
		if (len <= RN_RELAY_DATA_HDR_LEN || len > RN_RELAY_MSG_MAX)
			return false;
		memcpy(msg->key, buf + RN_RELAY_HDR_LEN, RN_RELAY_KEY_LEN);
		msg->payload = buf + RN_RELAY_DATA_HDR_LEN;
		msg->payload_len = len - RN_RELAY_DATA_HDR_LEN;
		return true;
	default:
		return false;
	}
}

long rn_relay_frame_len(const uint8_t *buf, size_t len)
{
	size_t body;

	if (len < RN_RELAY_FRAME_HDR_LEN)
		return 0;
	body = (size_t)buf[0] << 8 | buf[1];
	if (!body || body > RN_RELAY_MSG_MAX)
		return -1;
	return len >= RN_RELAY_FRAME_HDR_LEN + body ? (long)(RN_RELAY_FRAME_HDR_LEN + body) : 0;
}

void rn_relay_data_hdr(uint8_t out[RN_RELAY_DATA_HDR_LEN], enum rn_relay_type type,
		       const uint8_t key[RN_RELAY_KEY_LEN])
{
	memset(out, 0, RN_RELAY_HDR_LEN);
	out[0] = (uint8_t)type;
	memcpy(out + RN_RELAY_HDR_LEN, key, RN_RELAY_KEY_LEN);
}

size_t rn_relay_msg_encode(const struct rn_relay_msg *msg, uint8_t *out, size_t outlen)
{
	size_t need;
	uint32_t be;

	switch (msg->type) {
	case RN_RELAY_REGISTER:
		need = RN_RELAY_REGISTER_LEN;
		break;
	case RN_RELAY_COOKIE:
		need = RN_RELAY_COOKIE_MSG_LEN;
		break;
	case RN_RELAY_REGISTERED:
		need = RN_RELAY_REGISTERED_LEN;
		break;
	case RN_RELAY_SEND:
	case RN_RELAY_RECV:
		if (!msg->payload_len || msg->payload_len > RN_RELAY_PAYLOAD_MAX)
			return 0;
		need = RN_RELAY_DATA_HDR_LEN + msg->payload_len;
		break;
	default:
		return 0;
	}
	if (need > outlen)
		return 0;
	memset(out, 0, RN_RELAY_HDR_LEN);
	out[0] = (uint8_t)msg->type;
	switch (msg->type) {
	case RN_RELAY_REGISTER:
		cred_encode(&msg->cred, out + RN_RELAY_HDR_LEN);
		memcpy(out + RN_RELAY_HDR_LEN + RN_RELAY_CRED_LEN, msg->cookie,
		       RN_RELAY_COOKIE_LEN);
		break;
	case RN_RELAY_COOKIE:
		memcpy(out + RN_RELAY_HDR_LEN, msg->cookie, RN_RELAY_COOKIE_LEN);
		break;
	case RN_RELAY_REGISTERED:
		be = htobe32(msg->refresh_s);
		memcpy(out + 4, &be, 4);
		be = htobe32(msg->lifetime_s);
		memcpy(out + 8, &be, 4);
		break;
	default:
		memcpy(out + RN_RELAY_HDR_LEN, msg->key, RN_RELAY_KEY_LEN);
		memmove(out + RN_RELAY_DATA_HDR_LEN, msg->payload, msg->payload_len);
		break;
	}
	return need;
}
