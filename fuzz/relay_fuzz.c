/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what anyone can send a relay (src/relay): the input is one UDP datagram
 * and also a TLS byte stream. The datagram is decoded (a message that decodes must encode back
 * to the same bytes) and handed to a real server from a node address registered the proper way
 * (credential, cookie), so SENDs reach the forwarding path; the stream is split into frames and
 * each body decoded.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay/relay.h"
#include "relay/server.h"
#include "relay/server_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rn_relay_server *srv;
static int node_fd[2];			  /* two registered nodes' sockets */
static struct sockaddr_storage node_addr; /* the first one's address, the fuzzed source */
static socklen_t node_addrlen;

static void node_register(int i, const uint8_t secret[RN_RELAY_SECRET_LEN])
{
	struct rn_relay_msg m = { .type = RN_RELAY_REGISTER };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	uint8_t buf[RN_RELAY_REGISTER_LEN], key[RN_RELAY_KEY_LEN];
	struct pollfd p;
	size_t n;

	memset(key, 0xa0 + i, sizeof(key));
	if (rn_relay_credential_issue(secret, key, (uint64_t)time(NULL) + 86400, &m.cred))
		abort();
	node_fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(rn_relay_server_udp_port(srv));
	if (node_fd[i] < 0 || connect(node_fd[i], (struct sockaddr *)&sin, sizeof(sin)))
		abort();
	for (int round = 0; round < 2; round++) { /* the cookie, then REGISTERED */
		n = rn_relay_msg_encode(&m, buf, sizeof(buf));
		if (send(node_fd[i], buf, n, 0) != (ssize_t)n)
			abort();
		p = (struct pollfd){ .fd = node_fd[i], .events = POLLIN };
		while (poll(&p, 1, 0) == 0)
			rn_relay_server_step(srv, 10);
		if (recv(node_fd[i], buf, sizeof(buf), 0) < RN_RELAY_REGISTERED_LEN)
			abort();
		if (!round)
			memcpy(m.cookie, buf + RN_RELAY_HDR_LEN, RN_RELAY_COOKIE_LEN);
		else if (buf[0] != RN_RELAY_REGISTERED)
			abort();
	}
}

static void setup(void)
{
	uint8_t secret[RN_RELAY_SECRET_LEN];
	struct rn_relay_server_config cfg = {
		.secret = secret,
		.udp_listen = "127.0.0.1:0",
		.node_packets_per_s = 1000000000,
		.node_bytes_per_s = 1000000000000ull,
	};
	char err[256];

	memset(secret, 0x5a, sizeof(secret));
	srv = rn_relay_server_new(&cfg, err, sizeof(err));
	if (!srv)
		abort();
	node_register(0, secret);
	node_register(1, secret);
	node_addrlen = sizeof(node_addr);
	if (getsockname(node_fd[0], (struct sockaddr *)&node_addr, &node_addrlen))
		abort();
}

static void drain(void)
{
	uint8_t buf[RN_RELAY_MSG_MAX + 1];

	for (int i = 0; i < 2; i++)
		while (recv(node_fd[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[RN_RELAY_MSG_MAX];
	struct rn_relay_msg m;
	size_t off = 0;

	if (!srv)
		setup();
	if (rn_relay_msg_decode(data, size, &m)) {
		size_t n = rn_relay_msg_encode(&m, out, sizeof(out));

		if (n != size || memcmp(out, data, size))
			abort();
	}
	for (;;) {
		long flen = rn_relay_frame_len(data + off, size - off);

		if (flen <= 0)
			break;
		if (rn_relay_msg_decode(data + off + 2, (size_t)flen - 2, &m) &&
		    m.type == RN_RELAY_SEND && !m.payload_len)
			abort();
		off += (size_t)flen;
	}
	rn_relay_udp_input(srv, &node_addr, node_addrlen, data, size);
	drain();
	return 0;
}
