/* SPDX-License-Identifier: MIT */
/*
 * Endpoint discovery with a fake clock and a fake network: requests, retransmissions and
 * giving up, answers matched by transaction id and source (wrong ones, junk and answers from
 * elsewhere ignored), a changed mapping noticed, "hard" NAT, UDP blocked, and rounds; between
 * rounds the checks: their cadence, a rebinding seen and re-reported at once, a silent check
 * starting a round, which server and family a check asks, no flapping on a hard NAT, and kicks
 * spaced a second apart.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "path/discovery.h"

#define MS UINT64_C(1000000)
#define S  (1000 * MS)

/* What the fake network saw: every request, with its destination. */
struct net {
	int n;
	struct sockaddr_storage to[64];
	uint8_t txid[64][RN_STUN_TXID_LEN];
};

static int fake_send(void *ctx, const struct sockaddr_storage *to, const uint8_t *buf, size_t len)
{
	struct net *net = ctx;
	struct rn_stun_msg m;

	assert_int_equal(rn_stun_parse(buf, len, &m), 0);
	assert_int_equal(m.cls, RN_STUN_REQUEST);
	assert_true(net->n < 64);
	net->to[net->n] = *to;
	memcpy(net->txid[net->n], m.txid, RN_STUN_TXID_LEN);
	net->n++;
	return 0;
}

static struct sockaddr_storage addr(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
	}
	return ss;
}

/* The server's answer to the request number i: mapped to ip:port. */
static size_t answer(const struct net *net, int i, const char *ip, uint16_t port, uint8_t *out)
{
	struct sockaddr_storage m = addr(ip, port);

	return rn_stun_build_success(net->txid[i], (struct sockaddr *)&m, out, RN_STUN_MAX_MSG);
}

static void mapped_is(const struct rn_disco *d, int f, const char *want)
{
	char s[64];

	rn_stun_addr_str(&d->fam[f].mapped, s, sizeof(s));
	assert_string_equal(s, want);
}

static void test_request_answer_and_rounds(void **state)
{
	struct sockaddr_storage srv = addr("198.51.100.3", 3478);
	uint8_t buf[RN_STUN_MAX_MSG];
	struct net net = { 0 };
	struct rn_disco d;
	uint64_t next;
	size_t len;

	(void)state;
	rn_disco_init(&d, fake_send, &net);
	assert_int_equal(rn_disco_tick(&d, 1 * S), UINT64_MAX); /* no servers: nothing */
	rn_disco_set_servers(&d, &srv, 1, 1 * S);
	next = rn_disco_tick(&d, 1 * S);
	assert_int_equal(net.n, 1);
	assert_true(rn_disco_addr_equal(&net.to[0], &srv));
	assert_int_equal(next, 1 * S + 500 * MS);

	len = answer(&net, 0, "203.0.113.7", 40000, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv, 1 * S + 30 * MS));
	mapped_is(&d, 0, "203.0.113.7:40000");
	assert_int_equal(d.servers[0].rtt_ns, 30 * MS);
	assert_true(rn_disco_take_changed(&d));
	assert_false(rn_disco_take_changed(&d));
	/* The same answer again: no request waits for it any more. */
	assert_false(rn_disco_input(&d, buf, len, &srv, 1 * S + 40 * MS));

	next = rn_disco_tick(&d, 1 * S + 40 * MS);
	assert_int_equal(d.udp, RN_DISCO_UDP_OK);
	assert_true(rn_disco_take_changed(&d)); /* UDP: from unknown to ok */
	assert_int_equal(next, 21 * S);		/* the next round, 20 s after this one began */
	assert_int_equal(net.n, 1);
	rn_disco_tick(&d, 21 * S);
	assert_int_equal(net.n, 2);
	assert_memory_not_equal(net.txid[0], net.txid[1], RN_STUN_TXID_LEN); /* fresh each round */

	/* The same mapping: nothing to report. A new one (rebinding): reported. */
	len = answer(&net, 1, "203.0.113.7", 40000, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv, 21 * S + 10 * MS));
	assert_false(rn_disco_take_changed(&d));
	rn_disco_kick(&d);
	rn_disco_tick(&d, 22 * S);
	assert_int_equal(net.n, 3);
	len = answer(&net, 2, "203.0.113.7", 20011, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv, 22 * S + 10 * MS));
	assert_true(rn_disco_take_changed(&d));
	mapped_is(&d, 0, "203.0.113.7:20011");
	assert_int_equal(d.fam[0].changes, 2);
}

static void test_ignores_wrong_txid_source_and_junk(void **state)
{
	struct sockaddr_storage srv = addr("198.51.100.3", 3478);
	struct sockaddr_storage other_port = addr("198.51.100.3", 3479);
	struct sockaddr_storage other_ip = addr("198.51.100.4", 3478);
	uint8_t buf[RN_STUN_MAX_MSG], junk[64];
	uint8_t wrong[RN_STUN_TXID_LEN];
	struct sockaddr_storage m = addr("192.0.2.66", 1);
	struct net net = { 0 };
	struct rn_disco d;
	size_t len;

	(void)state;
	rn_disco_init(&d, fake_send, &net);
	rn_disco_set_servers(&d, &srv, 1, 0);
	rn_disco_tick(&d, 1 * S);
	assert_int_equal(net.n, 1);

	memcpy(wrong, net.txid[0], sizeof(wrong));
	wrong[0] ^= 1;
	len = rn_stun_build_success(wrong, (struct sockaddr *)&m, buf, sizeof(buf));
	assert_false(rn_disco_input(&d, buf, len, &srv, 1 * S));
	len = answer(&net, 0, "192.0.2.66", 1, buf);
	assert_false(rn_disco_input(&d, buf, len, &other_port, 1 * S));
	assert_false(rn_disco_input(&d, buf, len, &other_ip, 1 * S));
	assert_false(rn_disco_input(&d, buf, len - 1, &srv, 1 * S)); /* truncated */
	memset(junk, 0xa5, sizeof(junk));
	assert_false(rn_disco_input(&d, junk, sizeof(junk), &srv, 1 * S));
	/* A request (what a reflector would send) with the right txid is not an answer. */
	assert_int_equal(rn_stun_build_request(net.txid[0], buf, sizeof(buf)), RN_STUN_REQUEST_LEN);
	assert_false(rn_disco_input(&d, buf, RN_STUN_REQUEST_LEN, &srv, 1 * S));
	assert_int_equal(d.fam[0].mapped.ss_family, AF_UNSPEC);
	assert_false(rn_disco_take_changed(&d));

	/* The subject is alive: the genuine answer counts. */
	len = answer(&net, 0, "192.0.2.66", 1, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv, 1 * S));
	mapped_is(&d, 0, "192.0.2.66:1");
}

static void test_retransmits_then_gives_up(void **state)
{
	struct sockaddr_storage srv = addr("198.51.100.3", 3478);
	uint8_t buf[RN_STUN_MAX_MSG];
	struct net net = { 0 };
	struct rn_disco d;
	uint64_t t = 100 * S, next;
	size_t len;

	(void)state;
	rn_disco_init(&d, fake_send, &net);
	rn_disco_set_servers(&d, &srv, 1, t);
	/* First a known mapping, so that losing it shows. */
	rn_disco_tick(&d, t);
	len = answer(&net, 0, "203.0.113.7", 40000, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv, t));
	rn_disco_tick(&d, t);
	(void)rn_disco_take_changed(&d);

	t += 20 * S;
	net.n = 0;
	next = rn_disco_tick(&d, t);
	assert_int_equal(net.n, 1);
	assert_int_equal(next, t + 500 * MS);
	next = rn_disco_tick(&d, t + 499 * MS);
	assert_int_equal(net.n, 1);
	next = rn_disco_tick(&d, t + 500 * MS);
	assert_int_equal(net.n, 2);
	assert_int_equal(next, t + 1500 * MS);
	next = rn_disco_tick(&d, next);
	assert_int_equal(net.n, 3);
	assert_int_equal(next, t + 3500 * MS);
	next = rn_disco_tick(&d, next);
	assert_int_equal(net.n, 4);
	assert_int_equal(next, t + 5500 * MS);
	/* Retransmissions repeat the transaction: an answer to any of them counts. */
	assert_memory_equal(net.txid[0], net.txid[3], RN_STUN_TXID_LEN);
	assert_false(rn_disco_take_changed(&d));
	next = rn_disco_tick(&d, next);
	assert_int_equal(net.n, 4);
	assert_int_equal(d.udp, RN_DISCO_UDP_BLOCKED);
	assert_int_equal(d.fam[0].mapped.ss_family, AF_UNSPEC);
	assert_true(rn_disco_take_changed(&d));
	assert_int_equal(next, t + 20 * S);
	/* A late answer to the given-up round is ignored. */
	len = answer(&net, 0, "203.0.113.7", 40000, buf);
	assert_false(rn_disco_input(&d, buf, len, &srv, t + 6 * S));
}

static void test_hard_nat_and_families(void **state)
{
	struct sockaddr_storage srv[3] = { addr("198.51.100.3", 3478), addr("198.51.100.4", 3478),
					   addr("2001:db8::3", 3478) };
	uint8_t buf[RN_STUN_MAX_MSG];
	struct net net = { 0 };
	struct rn_disco d;
	size_t len;

	(void)state;
	rn_disco_init(&d, fake_send, &net);
	rn_disco_set_servers(&d, srv, 3, 0);
	rn_disco_tick(&d, 1 * S);
	assert_int_equal(net.n, 3);
	len = answer(&net, 0, "203.0.113.7", 40000, buf);
	assert_true(rn_disco_input(&d, buf, len, &net.to[0], 1 * S));
	len = answer(&net, 2, "2001:db8::99", 41641, buf);
	assert_true(rn_disco_input(&d, buf, len, &net.to[2], 1 * S));
	assert_false(d.fam[0].hard);
	/* The second IPv4 server sees another port: the mapping varies by destination. */
	len = answer(&net, 1, "203.0.113.7", 40001, buf);
	assert_true(rn_disco_input(&d, buf, len, &net.to[1], 1 * S));
	assert_true(d.fam[0].hard);
	assert_false(d.fam[1].hard);
	mapped_is(&d, 0, "203.0.113.7:40000");
	mapped_is(&d, 1, "[2001:db8::99]:41641");
	rn_disco_tick(&d, 1 * S);
	assert_true(d.fam[0].hard);

	/* Next round both agree: no longer hard. */
	net.n = 0;
	rn_disco_tick(&d, 21 * S);
	assert_int_equal(net.n, 3);
	(void)rn_disco_take_changed(&d);
	for (int i = 0; i < 2; i++) {
		len = answer(&net, i, "203.0.113.7", 40000, buf);
		assert_true(rn_disco_input(&d, buf, len, &net.to[i], 21 * S));
	}
	len = answer(&net, 2, "2001:db8::99", 41641, buf);
	assert_true(rn_disco_input(&d, buf, len, &net.to[2], 21 * S));
	rn_disco_tick(&d, 21 * S);
	assert_false(d.fam[0].hard);
	assert_true(rn_disco_take_changed(&d));
}

static void test_server_list_changes(void **state)
{
	struct sockaddr_storage a = addr("198.51.100.3", 3478), b = addr("198.51.100.4", 3478);
	struct net net = { 0 };
	struct rn_disco d;
	uint8_t buf[RN_STUN_MAX_MSG];
	size_t len;

	(void)state;
	rn_disco_init(&d, fake_send, &net);
	rn_disco_set_servers(&d, &a, 1, 0);
	rn_disco_tick(&d, 1 * S);
	len = answer(&net, 0, "203.0.113.7", 40000, buf);
	assert_true(rn_disco_input(&d, buf, len, &a, 1 * S));
	rn_disco_tick(&d, 1 * S);
	assert_int_equal(net.n, 1);
	rn_disco_set_servers(&d, &a, 1, 2 * S); /* the same list: no new round */
	rn_disco_tick(&d, 2 * S);
	assert_int_equal(net.n, 1);
	rn_disco_set_servers(&d, &b, 1, 3 * S); /* another: a round at once */
	rn_disco_tick(&d, 3 * S);
	assert_int_equal(net.n, 2);
	assert_true(rn_disco_addr_equal(&net.to[1], &b));
	(void)rn_disco_take_changed(&d);
	rn_disco_set_servers(&d, NULL, 0, 4 * S); /* none: the mappings are forgotten */
	assert_int_equal(d.fam[0].mapped.ss_family, AF_UNSPEC);
	assert_true(rn_disco_take_changed(&d));
	assert_int_equal(rn_disco_tick(&d, 5 * S), UINT64_MAX);
}

/* One server answered a round with 203.0.113.7:40000; checks on for IPv4. Returns the round's start. */
static uint64_t settled(struct rn_disco *d, struct net *net, const struct sockaddr_storage *srv,
			size_t n, uint64_t t)
{
	uint8_t buf[RN_STUN_MAX_MSG];
	size_t len;

	net->n = 0;
	rn_disco_init(d, fake_send, net);
	rn_disco_set_servers(d, srv, n, t);
	rn_disco_tick(d, t);
	assert_int_equal(net->n, (int)n);
	for (size_t i = 0; i < n; i++) {
		len = answer(net, (int)i, "203.0.113.7", 40000, buf);
		assert_true(rn_disco_input(d, buf, len, &srv[i], t + 10 * MS));
	}
	rn_disco_tick(d, t + 10 * MS);
	assert_false(d->in_round);
	(void)rn_disco_take_changed(d);
	rn_disco_set_check(d, 0, true);
	net->n = 0;
	return t;
}

static void test_check_sees_rebinding(void **state)
{
	struct sockaddr_storage srv = addr("198.51.100.3", 3478);
	uint8_t buf[RN_STUN_MAX_MSG];
	struct net net = { 0 };
	struct rn_disco d;
	uint64_t t = settled(&d, &net, &srv, 1, 10 * S), next;
	size_t len;

	(void)state;
	next = rn_disco_tick(&d, t + 1 * S);
	assert_int_equal(net.n, 0);
	assert_int_equal(next, t + RN_DISCO_CHECK_S * S); /* the first check, 4 s after the round */
	next = rn_disco_tick(&d, next);
	assert_int_equal(net.n, 1); /* one request to one server */
	assert_true(rn_disco_addr_equal(&net.to[0], &srv));
	assert_int_equal(d.checks, 1);
	assert_int_equal(next, t + 4 * S + 500 * MS); /* its retransmission */

	/* The same mapping: nothing changes, no round; the next check 4 s after this one. */
	len = answer(&net, 0, "203.0.113.7", 40000, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv, t + 4 * S + 20 * MS));
	assert_false(rn_disco_take_changed(&d));
	next = rn_disco_tick(&d, t + 4 * S + 20 * MS);
	assert_int_equal(net.n, 1);
	assert_false(d.in_round);
	assert_int_equal(next, t + 8 * S);

	/* The NAT rebinds: the next check sees it, reports it and starts a round at once. */
	next = rn_disco_tick(&d, t + 8 * S);
	assert_int_equal(net.n, 2);
	assert_memory_not_equal(net.txid[0], net.txid[1], RN_STUN_TXID_LEN);
	len = answer(&net, 1, "203.0.113.7", 20011, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv, t + 8 * S + 20 * MS));
	mapped_is(&d, 0, "203.0.113.7:20011");
	assert_true(rn_disco_take_changed(&d));
	assert_int_equal(d.remaps, 1);
	assert_int_equal(d.fam[0].changes, 2);
	next = rn_disco_tick(&d, t + 8 * S + 20 * MS);
	assert_true(d.in_round);
	assert_int_equal(d.why, RN_DISCO_WHY_REMAP);
	assert_int_equal(net.n, 3);
	/* The round agrees: nothing more to report. */
	len = answer(&net, 2, "203.0.113.7", 20011, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv, t + 8 * S + 30 * MS));
	next = rn_disco_tick(&d, t + 8 * S + 30 * MS);
	assert_false(d.in_round);
	assert_false(rn_disco_take_changed(&d));
	assert_int_equal(next, t + 12 * S + 20 * MS); /* checks resume 4 s after that round */
	/* A late answer to the check (same txid) is not counted twice. */
	assert_false(rn_disco_input(&d, buf, len, &srv, t + 9 * S));
}

static void test_check_cadence_and_off(void **state)
{
	struct sockaddr_storage srv = addr("198.51.100.3", 3478);
	uint8_t buf[RN_STUN_MAX_MSG];
	struct net net = { 0 };
	struct rn_disco d;
	uint64_t t = settled(&d, &net, &srv, 1, 10 * S), now;
	int checks = 0;

	(void)state;
	/* Answered checks at 4, 8, 12, 16 s; the round at 20 s; never more than one at a time. */
	for (now = t + 100 * MS; now < t + 20 * S; now += 100 * MS) {
		int before = net.n;

		rn_disco_tick(&d, now);
		if (net.n > before) {
			size_t len = answer(&net, net.n - 1, "203.0.113.7", 40000, buf);

			assert_int_equal(net.n, before + 1);
			assert_true(rn_disco_input(&d, buf, len, &srv, now));
			checks++;
		}
	}
	assert_int_equal(checks, 4);
	assert_false(d.in_round);
	rn_disco_tick(&d, t + 20 * S);
	assert_true(d.in_round);
	assert_int_equal(d.why, RN_DISCO_WHY_TIMER);

	/* Not behind NAT (the owner turns checks off): only the rounds, every 20 s. */
	t = settled(&d, &net, &srv, 1, 100 * S);
	rn_disco_set_check(&d, 0, false);
	for (now = t + 100 * MS; now < t + 20 * S; now += 100 * MS)
		assert_true(rn_disco_tick(&d, now) >= t + 20 * S);
	assert_int_equal(net.n, 0);
	assert_int_equal(d.checks, 0);
}

static void test_check_unanswered_starts_round(void **state)
{
	struct sockaddr_storage srv[2] = { addr("198.51.100.3", 3478), addr("198.51.100.4", 3478) };
	struct net net = { 0 };
	struct rn_disco d;
	uint64_t t = settled(&d, &net, srv, 2, 10 * S), next;

	(void)state;
	next = rn_disco_tick(&d, t + 4 * S);
	assert_int_equal(net.n, 1);
	assert_true(rn_disco_addr_equal(&net.to[0], &srv[0])); /* the first server that answered */
	next = rn_disco_tick(&d, next);
	assert_int_equal(net.n, 2); /* retransmitted once, same transaction */
	assert_memory_equal(net.txid[0], net.txid[1], RN_STUN_TXID_LEN);
	assert_int_equal(next, t + 4 * S + 500 * MS + RN_DISCO_CHECK_WAIT_MS * MS);
	next = rn_disco_tick(&d, next - 1);
	assert_int_equal(net.n, 2);
	assert_false(d.in_round);
	/* No answer: the network may have changed under us; a full round asks every server. */
	rn_disco_tick(&d, t + 4 * S + 1500 * MS);
	assert_true(d.in_round);
	assert_int_equal(d.why, RN_DISCO_WHY_SILENT);
	assert_int_equal(net.n, 4);
	assert_int_equal(d.silent, 1);
	assert_false(rn_disco_take_changed(&d)); /* a silent check alone changes nothing */
}

static void test_check_server_and_family(void **state)
{
	struct sockaddr_storage srv[3] = { addr("198.51.100.3", 3478), addr("198.51.100.4", 3478),
					   addr("2001:db8::3", 3478) };
	uint8_t buf[RN_STUN_MAX_MSG], wrong[RN_STUN_TXID_LEN];
	struct sockaddr_storage m = addr("192.0.2.66", 1);
	struct net net = { 0 };
	struct rn_disco d;
	uint64_t t = 10 * S;
	size_t len;

	(void)state;
	rn_disco_init(&d, fake_send, &net);
	rn_disco_set_servers(&d, srv, 3, t);
	rn_disco_tick(&d, t);
	/* The first server is silent; the second and the IPv6 one answer. */
	len = answer(&net, 1, "203.0.113.7", 40000, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv[1], t));
	len = answer(&net, 2, "2001:db8::99", 41641, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv[2], t));
	for (uint64_t now = t; d.in_round; now += 100 * MS)
		rn_disco_tick(&d, now);
	(void)rn_disco_take_changed(&d);
	rn_disco_set_check(&d, 0, true); /* IPv4 behind NAT; IPv6 not */
	net.n = 0;
	rn_disco_tick(&d, t + 6 * S);
	assert_int_equal(net.n, 1);
	assert_true(rn_disco_addr_equal(&net.to[0], &srv[1]));

	/* Only the right txid from the right server answers a check. */
	memcpy(wrong, net.txid[0], sizeof(wrong));
	wrong[11] ^= 0x80;
	len = rn_stun_build_success(wrong, (struct sockaddr *)&m, buf, sizeof(buf));
	assert_false(rn_disco_input(&d, buf, len, &srv[1], t + 6 * S));
	len = answer(&net, 0, "192.0.2.66", 1, buf);
	assert_false(rn_disco_input(&d, buf, len, &srv[0], t + 6 * S));
	assert_false(rn_disco_input(&d, buf, len, &srv[2], t + 6 * S));
	assert_false(rn_disco_take_changed(&d));
	mapped_is(&d, 0, "203.0.113.7:40000");
	assert_int_equal(d.remaps, 0);
	/* The subject is alive. */
	assert_true(rn_disco_input(&d, buf, len, &srv[1], t + 6 * S));
	mapped_is(&d, 0, "192.0.2.66:1");

	/* Both families on: one request each per check. */
	t = 100 * S;
	rn_disco_init(&d, fake_send, &net);
	rn_disco_set_servers(&d, srv, 3, t);
	rn_disco_tick(&d, t);
	for (int i = 0; i < 3; i++) {
		len = answer(&net, net.n - 3 + i, i < 2 ? "203.0.113.7" : "2001:db8::99",
			     i < 2 ? 40000 : 41641, buf);
		assert_true(rn_disco_input(&d, buf, len, &srv[i], t));
	}
	rn_disco_tick(&d, t);
	rn_disco_set_check(&d, 0, true);
	rn_disco_set_check(&d, 1, true);
	net.n = 0;
	rn_disco_tick(&d, t + 4 * S);
	assert_int_equal(net.n, 2);
	assert_true(rn_disco_addr_equal(&net.to[0], &srv[0]));
	assert_true(rn_disco_addr_equal(&net.to[1], &srv[2]));
}

static void test_check_hard_nat_no_flap(void **state)
{
	struct sockaddr_storage srv[2] = { addr("198.51.100.3", 3478), addr("198.51.100.4", 3478) };
	uint8_t buf[RN_STUN_MAX_MSG];
	struct net net = { 0 };
	struct rn_disco d;
	uint64_t t = 10 * S;
	size_t len;

	(void)state;
	rn_disco_init(&d, fake_send, &net);
	rn_disco_set_servers(&d, srv, 2, t);
	rn_disco_tick(&d, t);
	/* A hard NAT: the second server answers first, each sees its own port. */
	len = answer(&net, 1, "203.0.113.7", 40001, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv[1], t));
	len = answer(&net, 0, "203.0.113.7", 40000, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv[0], t));
	rn_disco_tick(&d, t);
	assert_true(d.fam[0].hard);
	mapped_is(&d, 0, "203.0.113.7:40001");
	(void)rn_disco_take_changed(&d);
	rn_disco_set_check(&d, 0, true);
	/* The check asks the first server, which sees what it saw before: no change, no round. */
	net.n = 0;
	rn_disco_tick(&d, t + 4 * S);
	assert_int_equal(net.n, 1);
	len = answer(&net, 0, "203.0.113.7", 40000, buf);
	assert_true(rn_disco_input(&d, buf, len, &srv[0], t + 4 * S));
	rn_disco_tick(&d, t + 4 * S);
	assert_false(d.in_round);
	assert_false(rn_disco_take_changed(&d));
	assert_int_equal(d.remaps, 0);
}

static void test_kicks_spaced(void **state)
{
	struct sockaddr_storage srv = addr("198.51.100.3", 3478);
	struct net net = { 0 };
	struct rn_disco d;
	uint64_t t = settled(&d, &net, &srv, 1, 10 * S), next;

	(void)state;
	/* A check is out when the network changes: it is dropped and a round starts at once. */
	rn_disco_tick(&d, t + 4 * S);
	assert_int_equal(net.n, 1);
	rn_disco_kick(&d);
	rn_disco_tick(&d, t + 4 * S + 10 * MS);
	assert_true(d.in_round);
	assert_int_equal(d.why, RN_DISCO_WHY_KICK);
	assert_int_equal(net.n, 2);
	/* A burst of kicks (an address, then a route) restarts it at most once a second. */
	rn_disco_kick(&d);
	next = rn_disco_tick(&d, t + 4 * S + 20 * MS);
	assert_int_equal(net.n, 2);
	assert_int_equal(next, t + 5 * S + 10 * MS);
	rn_disco_kick(&d);
	rn_disco_tick(&d, t + 5 * S + 10 * MS);
	assert_int_equal(net.n, 3);
	assert_true(d.in_round);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_answer_and_rounds),
		cmocka_unit_test(test_ignores_wrong_txid_source_and_junk),
		cmocka_unit_test(test_retransmits_then_gives_up),
		cmocka_unit_test(test_hard_nat_and_families),
		cmocka_unit_test(test_server_list_changes),
		cmocka_unit_test(test_check_sees_rebinding),
		cmocka_unit_test(test_check_cadence_and_off),
		cmocka_unit_test(test_check_unanswered_starts_round),
		cmocka_unit_test(test_check_server_and_family),
		cmocka_unit_test(test_check_hard_nat_no_flap),
		cmocka_unit_test(test_kicks_spaced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
