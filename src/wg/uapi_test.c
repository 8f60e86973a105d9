/* SPDX-License-Identifier: MIT */
/*
 * UAPI tests: the parser against requests captured from the real wg(8) (wireguard-tools
 * v1.0.20210914, talking to a listener on /var/run/wireguard/testxyz.sock), the formatter
 * against wireguard-go's reply layout, round trips, every kind of bad input, and the socket
 * server driven through a temporary directory with stub ops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "wg/uapi.h"
#include "wg/uapi_server.h"

#define PRIV  "a00562cc60c4b15f3c65acb332757ac7bd17590dd4f2d1f8b1abccc9cf8bb460"
#define PEER1 "cc1f2feb268b9de8af4ecee8f6f3aa4d13e4ca332e0968f73a34a433c3344d49"
#define PSK   "b113ad9b7463143a8eecf508c4bbecf155df8b98ed9433da180601459a2f6908"
#define PEER2 "8033391c525aaf9fd7cfd609461443ffad3b657de0a2b5497b8bf3a90af07e7a"
#define ZERO  "0000000000000000000000000000000000000000000000000000000000000000"

/*
 * wg set testxyz private-key ./priv listen-port 51820 fwmark 0x1234 peer PEER1
 *	preshared-key ./psk endpoint 192.0.2.1:51820 persistent-keepalive 25
 *	allowed-ips 10.0.0.0/24,fd00::/64 peer PEER2 remove
 */
static const char wg_set_full[] = "set=1\n"
				  "private_key=" PRIV "\n"
				  "listen_port=51820\n"
				  "fwmark=4660\n"
				  "public_key=" PEER1 "\n"
				  "preshared_key=" PSK "\n"
				  "endpoint=192.0.2.1:51820\n"
				  "persistent_keepalive_interval=25\n"
				  "replace_allowed_ips=true\n"
				  "allowed_ip=10.0.0.0/24\n"
				  "allowed_ip=fd00::/64\n"
				  "public_key=" PEER2 "\n"
				  "remove=true\n"
				  "\n";

/* wg set testxyz peer PEER1 endpoint '[fe80::1%lo]:51820' */
static const char wg_set_scoped[] = "set=1\n"
				    "public_key=" PEER1 "\n"
				    "endpoint=[fe80::1%lo]:51820\n"
				    "\n";

/* wg set testxyz peer PEER1 allowed-ips '' preshared-key /dev/null */
static const char wg_set_clear[] = "set=1\n"
				   "public_key=" PEER1 "\n"
				   "preshared_key=" ZERO "\n"
				   "replace_allowed_ips=true\n"
				   "\n";

/*
 * wg setconf testxyz conf1, with ListenPort = 0, FwMark = off, PEER1 at [2001:db8::1]:443
 * with AllowedIPs = 0.0.0.0/0, ::/0 and PersistentKeepalive = off, and PEER2 at
 * [fe80::1%lo]:51820 with AllowedIPs = 192.168.7.1/32.
 */
static const char wg_setconf[] = "set=1\n"
				 "private_key=" PRIV "\n"
				 "listen_port=0\n"
				 "fwmark=0\n"
				 "replace_peers=true\n"
				 "public_key=" PEER1 "\n"
				 "endpoint=[2001:db8::1]:443\n"
				 "persistent_keepalive_interval=0\n"
				 "replace_allowed_ips=true\n"
				 "allowed_ip=0.0.0.0/0\n"
				 "allowed_ip=::/0\n"
				 "public_key=" PEER2 "\n"
				 "endpoint=[fe80::1%lo]:51820\n"
				 "replace_allowed_ips=true\n"
				 "allowed_ip=192.168.7.1/32\n"
				 "\n";

/* wg set testxyz listen-port 0 fwmark off private-key /dev/null */
static const char wg_set_unset[] = "set=1\n"
				   "private_key=" ZERO "\n"
				   "listen_port=0\n"
				   "fwmark=0\n"
				   "\n";

/* What wg show, showconf and dump send, every one of them. */
static const char wg_get[] = "get=1\n\n";

/*
 * A get body in wireguard-go's layout for the configuration of wg_set_full plus PEER2 with no
 * key, state or allowed IPs. Served to the real wg, "wg showconf" printed it back as set.
 */
static const char go_get_body[] = "private_key=" PRIV "\n"
				  "listen_port=51820\n"
				  "fwmark=4660\n"
				  "public_key=" PEER1 "\n"
				  "preshared_key=" PSK "\n"
				  "protocol_version=1\n"
				  "endpoint=192.0.2.1:51820\n"
				  "last_handshake_time_sec=1700000000\n"
				  "last_handshake_time_nsec=123456789\n"
				  "tx_bytes=1024\n"
				  "rx_bytes=2048\n"
				  "persistent_keepalive_interval=25\n"
				  "allowed_ip=10.0.0.0/24\n"
				  "allowed_ip=fd00::/64\n"
				  "public_key=" PEER2 "\n"
				  "preshared_key=" ZERO "\n"
				  "protocol_version=1\n"
				  "endpoint=[fe80::1%lo]:51820\n"
				  "last_handshake_time_sec=0\n"
				  "last_handshake_time_nsec=0\n"
				  "tx_bytes=0\n"
				  "rx_bytes=0\n"
				  "persistent_keepalive_interval=0\n";

static void hex_key(uint8_t key[RN_WG_KEY_LEN], const char *hex)
{
	size_t n = 0;

	assert_int_equal(sodium_hex2bin(key, RN_WG_KEY_LEN, hex, strlen(hex), NULL, &n, NULL), 0);
	assert_int_equal(n, RN_WG_KEY_LEN);
}

static void assert_key(const uint8_t key[RN_WG_KEY_LEN], const char *hex)
{
	uint8_t want[RN_WG_KEY_LEN];

	hex_key(want, hex);
	assert_memory_equal(key, want, RN_WG_KEY_LEN);
}

static bool config_is_zero(const struct rn_wg_config *c)
{
	static const struct rn_wg_config zero;

	/* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison): every byte, padding too, is zero */
	return !memcmp(c, &zero, sizeof(zero));
}

/* Parses a captured request as the server would: the body between "set=1\n" and "\n". */
static int parse_request(const char *req, struct rn_wg_config *c)
{
	char err[RN_UAPI_ERR_LEN];
	size_t len = strlen(req);
	int ret;

	assert_true(len >= 7 && !memcmp(req, "set=1\n", 6) && req[len - 1] == '\n');
	ret = rn_uapi_parse_set(req + 6, len - 7, c, err, sizeof(err));
	if (ret)
		print_message("parse: %s\n", err);
	return ret;
}

static void assert_ip4(const struct rn_wg_allowed_ip *ip, const char *addr, unsigned int cidr)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, addr, &a), 1);
	assert_int_equal(ip->family, AF_INET);
	assert_int_equal(ip->cidr, cidr);
	assert_memory_equal(&ip->ip4, &a, sizeof(a));
}

static void assert_ip6(const struct rn_wg_allowed_ip *ip, const char *addr, unsigned int cidr)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, addr, &a), 1);
	assert_int_equal(ip->family, AF_INET6);
	assert_int_equal(ip->cidr, cidr);
	assert_memory_equal(&ip->ip6, &a, sizeof(a));
}

static void assert_endpoint6(const union rn_wg_endpoint *ep, const char *addr, uint16_t port,
			     uint32_t scope)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, addr, &a), 1);
	assert_int_equal(ep->sa.sa_family, AF_INET6);
	assert_memory_equal(&ep->sin6.sin6_addr, &a, sizeof(a));
	assert_int_equal(ntohs(ep->sin6.sin6_port), port);
	assert_int_equal(ep->sin6.sin6_scope_id, scope);
}

/* ---- parsing what wg sends ---- */

static void test_parse_wg_set(void **state)
{
	struct rn_wg_config c = { 0 };
	const struct rn_wg_peer_config *p;

	(void)state;
	assert_int_equal(parse_request(wg_set_full, &c), 0);
	assert_int_equal(c.flags, RN_WG_DEV_HAS_PRIVATE_KEY | RN_WG_DEV_HAS_LISTEN_PORT |
				      RN_WG_DEV_HAS_FWMARK);
	assert_key(c.private_key, PRIV);
	assert_int_equal(c.listen_port, 51820);
	assert_int_equal(c.fwmark, 0x1234);
	assert_int_equal(c.n_peers, 2);

	p = &c.peers[0];
	assert_key(p->public_key, PEER1);
	assert_key(p->preshared_key, PSK);
	assert_int_equal(p->flags, RN_WG_PEER_HAS_PRESHARED_KEY | RN_WG_PEER_HAS_ENDPOINT |
				       RN_WG_PEER_HAS_KEEPALIVE | RN_WG_PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET);
	assert_int_equal(ntohl(p->endpoint.sin.sin_addr.s_addr), 0xc0000201);
	assert_int_equal(ntohs(p->endpoint.sin.sin_port), 51820);
	assert_int_equal(p->persistent_keepalive, 25);
	assert_int_equal(p->n_allowed_ips, 2);
	assert_ip4(&p->allowed_ips[0], "10.0.0.0", 24);
	assert_ip6(&p->allowed_ips[1], "fd00::", 64);

	p = &c.peers[1];
	assert_key(p->public_key, PEER2);
	assert_int_equal(p->flags, RN_WG_PEER_REMOVE);
	rn_wg_config_free(&c);
	assert_true(config_is_zero(&c));
}

static void test_parse_wg_setconf(void **state)
{
	struct rn_wg_config c = { 0 };
	const struct rn_wg_peer_config *p;

	(void)state;
	assert_int_equal(parse_request(wg_setconf, &c), 0);
	assert_int_equal(c.flags, RN_WG_DEV_HAS_PRIVATE_KEY | RN_WG_DEV_HAS_LISTEN_PORT |
				      RN_WG_DEV_HAS_FWMARK | RN_WG_DEV_REPLACE_PEERS);
	assert_int_equal(c.listen_port, 0);
	assert_int_equal(c.fwmark, 0);
	assert_int_equal(c.n_peers, 2);

	p = &c.peers[0];
	assert_int_equal(p->flags, RN_WG_PEER_HAS_ENDPOINT | RN_WG_PEER_HAS_KEEPALIVE |
				       RN_WG_PEER_REPLACE_ALLOWEDIPS);
	assert_endpoint6(&p->endpoint, "2001:db8::1", 443, 0);
	assert_int_equal(p->persistent_keepalive, 0);
	assert_int_equal(p->n_allowed_ips, 2);
	assert_ip4(&p->allowed_ips[0], "0.0.0.0", 0);
	assert_ip6(&p->allowed_ips[1], "::", 0);

	p = &c.peers[1];
	assert_endpoint6(&p->endpoint, "fe80::1", 51820, if_nametoindex("lo"));
	assert_int_equal(p->n_allowed_ips, 1);
	assert_ip4(&p->allowed_ips[0], "192.168.7.1", 32);
	rn_wg_config_free(&c);
}

static void test_parse_wg_small_sets(void **state)
{
	struct rn_wg_config c = { 0 };

	(void)state;
	assert_int_equal(parse_request(wg_set_scoped, &c), 0);
	assert_int_equal(c.flags, 0);
	assert_int_equal(c.n_peers, 1);
	assert_endpoint6(&c.peers[0].endpoint, "fe80::1", 51820, if_nametoindex("lo"));
	rn_wg_config_free(&c);

	/* An all-zero preshared key is still "set": it removes the key. */
	assert_int_equal(parse_request(wg_set_clear, &c), 0);
	assert_int_equal(c.peers[0].flags,
			 RN_WG_PEER_HAS_PRESHARED_KEY | RN_WG_PEER_REPLACE_ALLOWEDIPS);
	assert_key(c.peers[0].preshared_key, ZERO);
	assert_int_equal(c.peers[0].n_allowed_ips, 0);
	rn_wg_config_free(&c);

	assert_int_equal(parse_request(wg_set_unset, &c), 0);
	assert_int_equal(c.flags, RN_WG_DEV_HAS_PRIVATE_KEY | RN_WG_DEV_HAS_LISTEN_PORT |
				      RN_WG_DEV_HAS_FWMARK);
	assert_key(c.private_key, ZERO);
	assert_int_equal(c.n_peers, 0);
	rn_wg_config_free(&c);
}

static void test_parse_edges(void **state)
{
	static const char upper[] =
	    "public_key=CC1F2FEB268B9DE8AF4ECEE8F6F3AA4D13E4CA332E0968F73A34"
	    "A433C3344D49";
	static const char positional[] = "public_key=" PEER1 "\n"
					 "allowed_ip=10.9.9.9/32\n"
					 "replace_allowed_ips=true\n"
					 "allowed_ip=10.1.2.3/8\n"
					 "allowed_ip=fd00::1:2:3/100\n"
					 "allowed_ip=2001:db8::ffff/0\n"
					 "update_only=true\n"
					 "protocol_version=1\n"
					 "public_key=" PEER1 "\n";
	struct rn_wg_config c = { 0 };
	char err[RN_UAPI_ERR_LEN];
	const struct rn_wg_peer_config *p;

	(void)state;
	assert_int_equal(rn_uapi_parse_set("", 0, &c, err, sizeof(err)), 0);
	assert_true(config_is_zero(&c));

	/* Uppercase hex, and no '\n' after the last line. */
	assert_int_equal(rn_uapi_parse_set(upper, strlen(upper), &c, err, sizeof(err)), 0);
	assert_key(c.peers[0].public_key, PEER1);
	rn_wg_config_free(&c);

	/* Earlier allowed IPs go with replace_allowed_ips; host bits go; keys may repeat. */
	assert_int_equal(rn_uapi_parse_set(positional, strlen(positional), &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.n_peers, 2);
	p = &c.peers[0];
	assert_int_equal(p->flags, RN_WG_PEER_REPLACE_ALLOWEDIPS | RN_WG_PEER_UPDATE_ONLY);
	assert_int_equal(p->n_allowed_ips, 3);
	assert_ip4(&p->allowed_ips[0], "10.0.0.0", 8);
	assert_ip6(&p->allowed_ips[1], "fd00::1:0:0", 100);
	assert_ip6(&p->allowed_ips[2], "::", 0);
	assert_int_equal(c.peers[1].flags, 0);
	assert_key(c.peers[1].public_key, PEER1);
	rn_wg_config_free(&c);
}

static void test_parse_endpoints(void **state)
{
	static const struct {
		const char *in;
		int family;
		const char *addr;
		uint16_t port;
		uint32_t scope;
	} good[] = {
		{ "1.2.3.4:0", AF_INET, "1.2.3.4", 0, 0 },
		{ "255.255.255.255:65535", AF_INET, "255.255.255.255", 65535, 0 },
		{ "1.2.3.4:051820", AF_INET, "1.2.3.4", 51820, 0 }, /* Go's ParseUint allows it */
		{ "[::1]:1", AF_INET6, "::1", 1, 0 },
		{ "[::ffff:1.2.3.4]:2", AF_INET6, "::ffff:1.2.3.4", 2, 0 },
		{ "[FE80::A]:3", AF_INET6, "fe80::a", 3, 0 },
		{ "[fe80::1%7]:4", AF_INET6, "fe80::1", 4, 7 },
	};
	char req[256], err[RN_UAPI_ERR_LEN];
	struct rn_wg_config c = { 0 };
	union rn_wg_endpoint *ep;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int n =
		    snprintf(req, sizeof(req), "public_key=%s\nendpoint=%s\n", PEER1, good[i].in);

		assert_int_equal(rn_uapi_parse_set(req, (size_t)n, &c, err, sizeof(err)), 0);
		ep = &c.peers[0].endpoint;
		assert_int_equal(ep->sa.sa_family, good[i].family);
		if (good[i].family == AF_INET6) {
			assert_endpoint6(ep, good[i].addr, good[i].port, good[i].scope);
		} else {
			struct in_addr a;

			assert_int_equal(inet_pton(AF_INET, good[i].addr, &a), 1);
			assert_int_equal(ep->sin.sin_addr.s_addr, a.s_addr);
			assert_int_equal(ntohs(ep->sin.sin_port), good[i].port);
		}
		rn_wg_config_free(&c);
	}
}

/* ---- bad input ---- */

#define PEER "public_key=" PEER1 "\n"

static const struct {
	const char *in;
	int ret;
} bad_inputs[] = {
	/* keys */
	{ "private_key=abc", -EINVAL },
	{ "private_key=" PRIV "0", -EINVAL },
	{ "private_key=a00562cc60c4b15f3c65acb332757ac7bd17590dd4f2d1f8b1abccc9cf8bb46", -EINVAL },
	{ "private_key=g00562cc60c4b15f3c65acb332757ac7bd17590dd4f2d1f8b1abccc9cf8bb460", -EINVAL },
	{ "private_key= 00562cc60c4b15f3c65acb332757ac7bd17590dd4f2d1f8b1abccc9cf8bb460", -EINVAL },
	{ "private_key=", -EINVAL },
	{ "public_key=cc1f", -EINVAL },
	{ PEER "preshared_key=" PEER1 "ff", -EINVAL },
	{ PEER "preshared_key=", -EINVAL },
	/* numbers */
	{ "listen_port=65536", -EINVAL },
	{ "listen_port=-1", -EINVAL },
	{ "listen_port=+1", -EINVAL },
	{ "listen_port=", -EINVAL },
	{ "listen_port=1 ", -EINVAL },
	{ "listen_port= 1", -EINVAL },
	{ "listen_port=0x10", -EINVAL },
	{ "listen_port=99999999999999999999999999", -EINVAL },
	{ "fwmark=4294967296", -EINVAL },
	{ "fwmark=18446744073709551616", -EINVAL },
	{ "fwmark=0x1234", -EINVAL },
	{ PEER "persistent_keepalive_interval=65536", -EINVAL },
	{ PEER "persistent_keepalive_interval=off", -EINVAL },
	/* booleans and versions */
	{ "replace_peers=false", -EINVAL },
	{ "replace_peers=TRUE", -EINVAL },
	{ PEER "remove=1", -EINVAL },
	{ PEER "update_only=yes", -EINVAL },
	{ PEER "replace_allowed_ips=", -EINVAL },
	{ PEER "protocol_version=2", -EINVAL },
	{ PEER "protocol_version=01", -EINVAL },
	/* endpoints */
	{ PEER "endpoint=1.2.3.4", -EINVAL },
	{ PEER "endpoint=1.2.3.4:", -EINVAL },
	{ PEER "endpoint=1.2.3.4:65536", -EINVAL },
	{ PEER "endpoint=1.2.3:80", -EINVAL },
	{ PEER "endpoint=01.2.3.4:80", -EINVAL },
	{ PEER "endpoint=::1:80", -EINVAL },
	{ PEER "endpoint=[::1]", -EINVAL },
	{ PEER "endpoint=[::1]:", -EINVAL },
	{ PEER "endpoint=[::1]80", -EINVAL },
	{ PEER "endpoint=[::1:80", -EINVAL },
	{ PEER "endpoint=[1.2.3.4]:80", -EINVAL },
	{ PEER "endpoint=[fe80::1%]:80", -EINVAL },
	{ PEER "endpoint=[fe80::1%nosuchif0]:80", -EINVAL },
	{ PEER "endpoint=1.2.3.4%lo:80", -EINVAL },
	{ PEER "endpoint=vpn.example.com:51820", -EINVAL },
	{ PEER "endpoint=", -EINVAL },
	/* allowed IPs */
	{ PEER "allowed_ip=10.0.0.0", -EINVAL },
	{ PEER "allowed_ip=10.0.0.0/", -EINVAL },
	{ PEER "allowed_ip=10.0.0.0/33", -EINVAL },
	{ PEER "allowed_ip=10.0.0.0/08", -EINVAL },
	{ PEER "allowed_ip=10.0.0.0/-1", -EINVAL },
	{ PEER "allowed_ip=10.0.0.0/ 8", -EINVAL },
	{ PEER "allowed_ip=10.0.0.256/8", -EINVAL },
	{ PEER "allowed_ip=10.0.0/8", -EINVAL },
	{ PEER "allowed_ip=::/129", -EINVAL },
	{ PEER "allowed_ip=fe80::%lo/64", -EINVAL },
	{ PEER "allowed_ip=/0", -EINVAL },
	/* keys wg never sends in a set, or that do not exist */
	{ "bogus=1", -EINVAL },
	{ "=1", -EINVAL },
	{ "Private_key=" PRIV, -EINVAL },
	{ PEER "tx_bytes=0", -EINVAL },
	{ PEER "last_handshake_time_sec=0", -EINVAL },
	{ "errno=0", -EINVAL },
	/* order and framing */
	{ "endpoint=1.2.3.4:1", -EPROTO },
	{ "allowed_ip=10.0.0.0/8", -EPROTO },
	{ "remove=true", -EPROTO },
	{ "protocol_version=1", -EPROTO },
	{ PEER "private_key=" PRIV, -EPROTO },
	{ PEER "listen_port=1", -EPROTO },
	{ PEER "replace_peers=true", -EPROTO },
	{ "listen_port", -EPROTO },
	{ "set=1\nlisten_port=1", -EINVAL },
	{ "listen_port=1\n\nfwmark=1", -EPROTO },
	{ "\n", -EPROTO },
	/* a bad line after allocations: everything must be freed */
	{ PEER "allowed_ip=10.0.0.0/8\nallowed_ip=10.1.0.0/16\nallowed_ip=10.2.0.0/16\n"
	       "allowed_ip=10.3.0.0/16\nallowed_ip=10.4.0.0/16\n" PEER "allowed_ip=1/1",
	  -EINVAL },
};

static void test_parse_bad(void **state)
{
	char err[RN_UAPI_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
		struct rn_wg_config c = { 0 };
		const char *in = bad_inputs[i].in;
		int ret = rn_uapi_parse_set(in, strlen(in), &c, err, sizeof(err));

		if (ret != bad_inputs[i].ret)
			fail_msg("\"%s\": got %d, want %d (%s)", in, ret, bad_inputs[i].ret, err);
		assert_true(config_is_zero(&c));
		assert_true(strlen(err) > 0);
	}
}

static void test_parse_bad_bytes(void **state)
{
	static const char nul[] = "listen_port=1\0";
	static const char nul_key[] = "listen\0port=1";
	char err[RN_UAPI_ERR_LEN], big[512];
	struct rn_wg_config c = { 0 };

	(void)state;
	assert_int_equal(rn_uapi_parse_set(nul, sizeof(nul) - 1, &c, err, sizeof(err)), -EINVAL);
	assert_true(config_is_zero(&c));
	assert_int_equal(rn_uapi_parse_set(nul_key, sizeof(nul_key) - 1, &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "listen\\x00port"));

	snprintf(big, sizeof(big), "%sendpoint=1.2.3.4:%0300d", PEER, 1);
	assert_int_equal(rn_uapi_parse_set(big, strlen(big), &c, err, sizeof(err)), -EINVAL);
	assert_true(config_is_zero(&c));
	assert_non_null(strstr(err, "...")); /* quoted, but cut short */

	/* Messages are optional. */
	assert_int_equal(rn_uapi_parse_set("bogus=1", 7, &c, NULL, 0), -EINVAL);
}

static void test_parse_messages(void **state)
{
	static const char bad_port[] = PEER "endpoint=1.2.3.4:70000\n";
	static const char bad_psk[] = PEER "preshared_key=" PSK "00\n";
	char err[RN_UAPI_ERR_LEN];
	struct rn_wg_config c = { 0 };

	(void)state;
	assert_int_equal(rn_uapi_parse_set(bad_port, strlen(bad_port), &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "\"1.2.3.4:70000\""));

	/* A secret is described, never quoted, not even in part. */
	assert_int_equal(rn_uapi_parse_set(bad_psk, strlen(bad_psk), &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "preshared_key"));
	assert_non_null(strstr(err, "66 characters"));
	assert_null(strstr(err, "b113ad"));
}

/* ---- formatting ---- */

static void fill_go_config(struct rn_wg_config *c)
{
	struct rn_wg_allowed_ip ip = { .family = AF_INET, .cidr = 24 };
	struct rn_wg_peer_config *p;

	*c = (struct rn_wg_config){ .listen_port = 51820, .fwmark = 4660 };
	hex_key(c->private_key, PRIV);
	p = rn_wg_config_add_peer(c);
	assert_non_null(p);
	hex_key(p->public_key, PEER1);
	hex_key(p->preshared_key, PSK);
	p->endpoint.sin.sin_family = AF_INET;
	p->endpoint.sin.sin_port = htons(51820);
	p->endpoint.sin.sin_addr.s_addr = htonl(0xc0000201);
	p->last_handshake = (struct timespec){ 1700000000, 123456789 };
	p->tx_bytes = 1024;
	p->rx_bytes = 2048;
	p->persistent_keepalive = 25;
	inet_pton(AF_INET, "10.0.0.0", &ip.ip4);
	assert_int_equal(rn_wg_peer_config_add_allowed_ip(p, &ip), 0);
	ip = (struct rn_wg_allowed_ip){ .family = AF_INET6, .cidr = 64 };
	inet_pton(AF_INET6, "fd00::", &ip.ip6);
	assert_int_equal(rn_wg_peer_config_add_allowed_ip(p, &ip), 0);

	p = rn_wg_config_add_peer(c);
	assert_non_null(p);
	hex_key(p->public_key, PEER2);
	p->endpoint.sin6.sin6_family = AF_INET6;
	p->endpoint.sin6.sin6_port = htons(51820);
	p->endpoint.sin6.sin6_scope_id = if_nametoindex("lo");
	inet_pton(AF_INET6, "fe80::1", &p->endpoint.sin6.sin6_addr);
}

static void test_format_like_wireguard_go(void **state)
{
	struct rn_wg_config c;
	char *out;
	size_t len;

	(void)state;
	fill_go_config(&c);
	assert_int_equal(rn_uapi_format_get(&c, &out, &len), 0);
	assert_int_equal(len, strlen(out));
	assert_string_equal(out, go_get_body);
	rn_uapi_free_response(out, len);

	/* An all-zero private key, port 0 and fwmark 0 are left out; so is a missing endpoint. */
	memset(c.private_key, 0, sizeof(c.private_key));
	c.listen_port = 0;
	c.fwmark = 0;
	c.peers[1].endpoint.sa.sa_family = AF_UNSPEC;
	assert_int_equal(rn_uapi_format_get(&c, &out, &len), 0);
	assert_int_equal(strncmp(out, "public_key=" PEER1 "\n", 76), 0);
	assert_null(strstr(out, "[fe80"));
	rn_uapi_free_response(out, len);
	rn_wg_config_free(&c);

	assert_int_equal(rn_uapi_format_get(&c, &out, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	rn_uapi_free_response(out, len);
}

/* IPv6 the way Go's netip spells it, which is what wireguard-go prints. */
static void test_format_ipv6_spelling(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "::", "::" },
		{ "::1", "::1" },
		{ "1::", "1::" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" }, /* one zero group stays */
		{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },	    /* the longest run goes */
		{ "1:0:0:2:0:0:3:4", "1::2:0:0:3:4" },		    /* the first of equal runs */
		{ "::ffff:1.2.3.4", "::ffff:1.2.3.4" },
		{ "::1.2.3.4", "::102:304" }, /* glibc would print ::1.2.3.4 */
		{ "ABCD:EF01:2345:6789:ABCD:EF01:2345:6789",
		  "abcd:ef01:2345:6789:abcd:ef01:2345:6789" },
	};
	struct rn_wg_config c = { 0 };
	struct rn_wg_peer_config *p = rn_wg_config_add_peer(&c);
	char want[128], *out;
	size_t len;

	(void)state;
	assert_non_null(p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rn_wg_allowed_ip ip = { .family = AF_INET6, .cidr = 128 };

		assert_int_equal(inet_pton(AF_INET6, cases[i].in, &ip.ip6), 1);
		p->n_allowed_ips = 0;
		assert_int_equal(rn_wg_peer_config_add_allowed_ip(p, &ip), 0);
		p->endpoint.sin6 = (struct sockaddr_in6){ .sin6_family = AF_INET6,
							  .sin6_addr = ip.ip6,
							  .sin6_port = htons(9) };
		assert_int_equal(rn_uapi_format_get(&c, &out, &len), 0);
		snprintf(want, sizeof(want), "\nallowed_ip=%s/128\n", cases[i].out);
		if (!strstr(out, want))
			fail_msg("%s: want %s in\n%s", cases[i].in, want, out);
		snprintf(want, sizeof(want), "\nendpoint=[%s]:9\n", cases[i].out);
		assert_non_null(strstr(out, want));
		rn_uapi_free_response(out, len);
	}
	rn_wg_config_free(&c);
}

/* Drops the lines of a get reply that only describe state, leaving what a set carries. */
static size_t strip_state(char *body, size_t len)
{
	static const char *const state_keys[] = {
		"last_handshake_time_sec=", "last_handshake_time_nsec=", "tx_bytes=", "rx_bytes="
	};
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(body + i, '\n', len - i);
		size_t n = (size_t)(nl - (body + i)) + 1;
		bool keep = true;

		for (size_t k = 0; k < 4; k++)
			keep &= strncmp(body + i, state_keys[k], strlen(state_keys[k])) != 0;
		if (keep) {
			memmove(body + o, body + i, n);
			o += n;
		}
		i += n;
	}
	return o;
}

static void assert_same_settings(const struct rn_wg_config *a, const struct rn_wg_config *b)
{
	assert_memory_equal(a->private_key, b->private_key, RN_WG_KEY_LEN);
	assert_int_equal(a->listen_port, b->listen_port);
	assert_int_equal(a->fwmark, b->fwmark);
	assert_int_equal(a->n_peers, b->n_peers);
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct rn_wg_peer_config *p = &a->peers[i], *q = &b->peers[i];

		assert_memory_equal(p->public_key, q->public_key, RN_WG_KEY_LEN);
		assert_memory_equal(p->preshared_key, q->preshared_key, RN_WG_KEY_LEN);
		assert_memory_equal(&p->endpoint, &q->endpoint, sizeof(p->endpoint));
		assert_int_equal(p->persistent_keepalive, q->persistent_keepalive);
		assert_int_equal(p->n_allowed_ips, q->n_allowed_ips);
		if (p->n_allowed_ips)
			assert_memory_equal(p->allowed_ips, q->allowed_ips,
					    p->n_allowed_ips * sizeof(*p->allowed_ips));
	}
}

static void test_round_trip(void **state)
{
	static const char *const requests[] = { wg_set_full, wg_setconf, wg_set_scoped };
	struct rn_wg_config a = { 0 }, b = { 0 };
	char err[RN_UAPI_ERR_LEN], *out;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		assert_int_equal(parse_request(requests[i], &a), 0);
		assert_int_equal(rn_uapi_format_get(&a, &out, &len), 0);
		len = strip_state(out, len);
		if (rn_uapi_parse_set(out, len, &b, err, sizeof(err)))
			fail_msg("%s in\n%.*s", err, (int)len, out);
		assert_same_settings(&a, &b);
		rn_uapi_free_response(out, len);
		rn_wg_config_free(&a);
		rn_wg_config_free(&b);
	}

	/* And the other way: what wireguard-go replies parses to what it describes. */
	fill_go_config(&a);
	out = strdup(go_get_body);
	assert_non_null(out);
	len = strip_state(out, strlen(out));
	assert_int_equal(rn_uapi_parse_set(out, len, &b, err, sizeof(err)), 0);
	assert_same_settings(&a, &b);
	free(out);
	rn_wg_config_free(&a);
	rn_wg_config_free(&b);
}

/* ---- the server ---- */

struct stub {
	int get_calls, set_calls;
	int get_ret, set_ret;
	uint16_t port;	/* the one setting the stub device keeps */
	size_t n_peers; /* of the last set */
};

static int stub_get(void *ctx, struct rn_wg_config *out)
{
	struct stub *st = ctx;

	st->get_calls++;
	if (st->get_ret)
		return st->get_ret;
	out->listen_port = st->port;
	return 0;
}

static int stub_set(void *ctx, const struct rn_wg_config *cfg)
{
	struct stub *st = ctx;

	st->set_calls++;
	st->n_peers = cfg->n_peers;
	if (st->set_ret)
		return st->set_ret;
	if (cfg->flags & RN_WG_DEV_HAS_LISTEN_PORT)
		st->port = cfg->listen_port;
	return 0;
}

static const struct rn_uapi_ops stub_ops = { .get = stub_get, .set = stub_set };

struct server_fixture {
	char dir[64];
	struct stub stub;
	struct rn_uapi_server srv;
};

static int server_setup(void **state)
{
	struct server_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/rn-uapi-test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	/* A subdirectory, so open must create it. */
	strcat(f->dir, "/run");
	if (rn_uapi_server_open(&f->srv, "wgtest0", f->dir, &stub_ops, &f->stub))
		return -1;
	*state = f;
	return 0;
}

static int server_teardown(void **state)
{
	struct server_fixture *f = *state;

	rn_uapi_server_close(&f->srv);
	rmdir(f->dir);
	*strrchr(f->dir, '/') = '\0';
	rmdir(f->dir);
	free(f);
	return 0;
}

static int client_connect(const struct server_fixture *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->srv.path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Everything the server sent until it closed the connection. */
static char *client_read_all(int fd)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap + 1);
	ssize_t n;

	assert_non_null(buf);
	while ((n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

/* Sends the requests, half-closes, lets the server serve the connection, returns the reply. */
static char *exchange(struct server_fixture *f, const char *req, size_t len)
{
	int fd = client_connect(f);
	char *reply;

	assert_int_equal(write(fd, req, len), (ssize_t)len);
	shutdown(fd, SHUT_WR);
	rn_uapi_server_handle(&f->srv);
	reply = client_read_all(fd);
	close(fd);
	return reply;
}

static void test_server_get_set(void **state)
{
	struct server_fixture *f = *state;
	char req[1024], *reply;
	int n;

	f->stub.port = 1234;
	/* Several requests on one connection, as any client may send them. */
	n = snprintf(req, sizeof(req), "%s%s%s", wg_get, wg_set_full, wg_get);
	reply = exchange(f, req, (size_t)n);
	assert_string_equal(reply, "listen_port=1234\nerrno=0\n\n"
				   "errno=0\n\n"
				   "listen_port=51820\nerrno=0\n\n");
	free(reply);
	assert_int_equal(f->stub.get_calls, 2);
	assert_int_equal(f->stub.set_calls, 1);

	/* A set that only ends with the stream, as wireguard-go also takes it. */
	reply = exchange(f, "set=1\nlisten_port=7\n", 20);
	assert_string_equal(reply, "errno=0\n\n");
	free(reply);
	assert_int_equal(f->stub.port, 7);

	/* An empty set is valid and changes nothing. */
	reply = exchange(f, "set=1\n\n", 7);
	assert_string_equal(reply, "errno=0\n\n");
	free(reply);
	assert_int_equal(f->stub.set_calls, 3);
}

static void test_server_errors(void **state)
{
	static const char bad_then_get[] = "set=1\nlisten_port=70000\n\nget=1\n\n";
	struct server_fixture *f = *state;
	char *reply;

	/* A bad value is refused before the device sees it; the connection stays usable. */
	reply = exchange(f, bad_then_get, sizeof(bad_then_get) - 1);
	assert_string_equal(reply, "errno=22\n\nerrno=0\n\n");
	free(reply);
	assert_int_equal(f->stub.set_calls, 0);

	reply = exchange(f, "set=1\nlisten_port=1\nlisten_port\n\n", 33);
	assert_string_equal(reply, "errno=71\n\n");
	free(reply);
	assert_int_equal(f->stub.set_calls, 0);

	/* The device's own errors are passed on. */
	f->stub.set_ret = -EADDRINUSE;
	reply = exchange(f, "set=1\nlisten_port=1\n\n", 21);
	assert_string_equal(reply, "errno=98\n\n");
	free(reply);
	f->stub.get_ret = -EIO;
	reply = exchange(f, wg_get, strlen(wg_get));
	assert_string_equal(reply, "errno=5\n\n");
	free(reply);
	f->stub.get_ret = 0;
}

static void test_server_malformed(void **state)
{
	struct server_fixture *f = *state;
	char *reply;

	/* Unframeable requests are answered, then the connection is closed: nothing after. */
	reply = exchange(f, "hello\nget=1\n\n", 13);
	assert_string_equal(reply, "errno=22\n\n");
	free(reply);
	reply = exchange(f, "get=1\nx\nget=1\n\n", 15);
	assert_string_equal(reply, "errno=22\n\n");
	free(reply);
	reply = exchange(f, "GET=1\n\n", 7);
	assert_string_equal(reply, "errno=22\n\n");
	free(reply);
	/* Cut off mid-line: half a line applied could be worse than none. */
	reply = exchange(f, "set=1\nlisten_port=12", 20);
	assert_string_equal(reply, "errno=71\n\n");
	free(reply);
	reply = exchange(f, "get=1\n", 6);
	assert_string_equal(reply, "errno=71\n\n");
	free(reply);
	assert_int_equal(f->stub.set_calls, 0);
	assert_int_equal(f->stub.get_calls, 0);

	/* wg's liveness probe: connect, close, nothing sent. */
	reply = exchange(f, "", 0);
	assert_string_equal(reply, "");
	free(reply);
}

struct flood {
	int fd;
	size_t sent;
};

static void *flood_writer(void *arg)
{
	static const char line[] = "allowed_ip=10.0.0.0/8\n";
	static char chunk[64 * (sizeof(line) - 1) * 64]; /* whole lines, 64 KiB-ish a send */
	struct flood *fl = arg;
	ssize_t n = write(fl->fd, "set=1\npublic_key=" PEER1 "\n", 82);

	for (size_t i = 0; i + sizeof(line) - 1 <= sizeof(chunk); i += sizeof(line) - 1)
		memcpy(chunk + i, line, sizeof(line) - 1);
	while (n > 0 && fl->sent < 3 * RN_UAPI_MAX_REQUEST_BYTES) {
		fl->sent += (size_t)n;
		n = send(fl->fd, chunk, sizeof(chunk), MSG_NOSIGNAL);
	}
	shutdown(fl->fd, SHUT_WR);
	return NULL;
}

static void test_server_oversized(void **state)
{
	struct server_fixture *f = *state;
	struct flood fl = { .fd = client_connect(f) };
	pthread_t t;
	char *reply;

	/* The cap, not the clock: thousands of small writes can take over a second on a loaded
	 * machine (sanitizers, parallel tests), and the timeout's reply is another test's. */
	f->srv.timeout_ms = 20000;
	assert_int_equal(pthread_create(&t, NULL, flood_writer, &fl), 0);
	rn_uapi_server_handle(&f->srv);
	reply = client_read_all(fl.fd);
	pthread_join(t, NULL);
	close(fl.fd);
	assert_string_equal(reply, "errno=90\n\n"); /* EMSGSIZE */
	free(reply);
	/* The server stopped reading at the cap; the writer did not get to send it all. */
	assert_true(fl.sent < 3 * RN_UAPI_MAX_REQUEST_BYTES);
	assert_true(fl.sent >= RN_UAPI_MAX_REQUEST_BYTES);
	assert_int_equal(f->stub.set_calls, 0);
}

/* What `wg setconf` sends for 10,000 peers, as one request: about 2.6 MB. */
struct big_set {
	int fd;
	char *text;
	size_t len;
};

static void *big_writer(void *arg)
{
	struct big_set *b = arg;
	size_t off = 0;

	while (off < b->len) {
		ssize_t n = send(b->fd, b->text + off, b->len - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(b->fd, SHUT_WR); /* one request: the server answers it and sees the end */
	return NULL;
}

/* wireguard-go takes a setconf of 10,000 peers in one request; so does the server (was EMSGSIZE). */
static void test_server_ten_thousand_peers(void **state)
{
	struct server_fixture *f = *state;
	struct big_set b = { .fd = client_connect(f), .text = malloc(4u << 20) };
	pthread_t t;
	char *reply;

	assert_non_null(b.text);
	b.len = (size_t)sprintf(b.text, "set=1\nreplace_peers=true\n");
	for (unsigned i = 0; i < 10000; i++)
		b.len +=
		    (size_t)sprintf(b.text + b.len,
				    "public_key=%064x\nreplace_allowed_ips=true\n"
				    "endpoint=192.0.2.%u:%u\nallowed_ip=10.%u.%u.0/24\n"
				    "allowed_ip=fd00::%x/128\npersistent_keepalive_interval=25\n",
				    i + 1, i % 250 + 1, 1024 + i, i / 250, i % 250, i + 1);
	b.len += (size_t)sprintf(b.text + b.len, "\n");
	assert_true(b.len > 2u << 20);
	f->srv.timeout_ms = 20000;
	assert_int_equal(pthread_create(&t, NULL, big_writer, &b), 0);
	rn_uapi_server_handle(&f->srv);
	reply = client_read_all(b.fd);
	pthread_join(t, NULL);
	close(b.fd);
	free(b.text);
	assert_string_equal(reply, "errno=0\n\n");
	free(reply);
	assert_int_equal(f->stub.set_calls, 1);
	assert_int_equal(f->stub.n_peers, 10000);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_server_timeout(void **state)
{
	struct server_fixture *f = *state;
	int fd = client_connect(f);
	int64_t t0;
	char *reply;

	/* A client that starts a request and stalls, keeping its end open. */
	f->srv.timeout_ms = 100;
	assert_int_equal(write(fd, "get=1\n", 6), 6);
	t0 = mono_ms();
	rn_uapi_server_handle(&f->srv);
	assert_true(mono_ms() - t0 < 1000);
	reply = client_read_all(fd);
	assert_string_equal(reply, "");
	free(reply);
	close(fd);
	assert_int_equal(f->stub.get_calls, 0);

	/* Nothing waiting: handle returns at once. */
	t0 = mono_ms();
	rn_uapi_server_handle(&f->srv);
	assert_true(mono_ms() - t0 < 50);
}

static void test_server_socket_file(void **state)
{
	struct server_fixture *f = *state;
	struct rn_uapi_server other;
	struct stat st;
	int fd;

	assert_int_equal(stat(f->srv.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(rn_uapi_server_fd(&f->srv) >= 0);

	/* A live server keeps its socket. */
	assert_int_equal(rn_uapi_server_open(&other, "wgtest0", f->dir, &stub_ops, NULL),
			 -EADDRINUSE);
	assert_int_equal(rn_uapi_server_fd(&other), -1);
	rn_uapi_server_close(&other);
	assert_int_equal(stat(f->srv.path, &st), 0);

	/* A stale one, left by a process that died, is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/stale.sock", f->dir);
		assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		close(fd);
	}
	assert_int_equal(rn_uapi_server_open(&other, "stale", f->dir, &stub_ops, NULL), 0);
	rn_uapi_server_close(&other);
	assert_int_not_equal(stat(other.path, &st), 0); /* close removes it */
	rn_uapi_server_close(&other);			/* twice is fine */

	/* Anything that is not a socket is left alone. */
	{
		char path[128];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/file.sock", f->dir);
		fp = fopen(path, "w");
		assert_non_null(fp);
		fclose(fp);
		assert_int_equal(rn_uapi_server_open(&other, "file", f->dir, &stub_ops, NULL),
				 -EEXIST);
		assert_int_equal(stat(path, &st), 0);
		unlink(path);
	}

	assert_int_equal(rn_uapi_server_open(&other, "../evil", f->dir, &stub_ops, NULL), -EINVAL);
	assert_int_equal(rn_uapi_server_open(&other, "", f->dir, &stub_ops, NULL), -EINVAL);
	assert_int_equal(rn_uapi_server_open(&other, "sixteen-chars-xx", f->dir, &stub_ops, NULL),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_wg_set),
		cmocka_unit_test(test_parse_wg_setconf),
		cmocka_unit_test(test_parse_wg_small_sets),
		cmocka_unit_test(test_parse_edges),
		cmocka_unit_test(test_parse_endpoints),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_bad_bytes),
		cmocka_unit_test(test_parse_messages),
		cmocka_unit_test(test_format_like_wireguard_go),
		cmocka_unit_test(test_format_ipv6_spelling),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test_setup_teardown(test_server_get_set, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_server_errors, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_server_malformed, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_server_oversized, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_server_ten_thousand_peers, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_server_timeout, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_server_socket_file, server_setup,
						server_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
