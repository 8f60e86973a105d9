/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for Magic DNS's query path: any bytes from any local process reach
 * rn_dns_answer, and an upstream's bytes reach rn_dns_upstream_reply. Neither may crash, and a
 * reply never exceeds the size the transport allows. The pre-encoded answer path must agree
 * with the ldns_pkt path on whatever it takes (verdict, header flags and counts).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/zone_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rn_dns_zone *zone(void)
{
	static struct rn_dns_zone *z;
	static struct rn_netmap_peer peer;
	static struct rn_netmap_dns_record rec;
	struct rn_netmap m = { .version = 3, .n_peers = 1, .peers = &peer };

	if (z)
		return z;
	snprintf(m.domain, sizeof(m.domain), "rustynet");
	snprintf(m.self.name, sizeof(m.self.name), "nas");
	snprintf(m.self.dns_name, sizeof(m.self.dns_name), "nas.rustynet");
	inet_pton(AF_INET, "100.64.0.1", m.self.ipv4);
	inet_pton(AF_INET6, "fd7a:115c:a1e0::6440:1", m.self.ipv6);
	snprintf(peer.name, sizeof(peer.name), "nas-2");
	snprintf(peer.dns_name, sizeof(peer.dns_name), "nas-2.rustynet");
	inet_pton(AF_INET, "100.64.0.2", peer.ipv4);
	inet_pton(AF_INET6, "fd7a:115c:a1e0::6440:2", peer.ipv6);
	snprintf(rec.name, sizeof(rec.name), "printer.rustynet");
	rec.type = RN_NETMAP_RR_A;
	rec.value.family = AF_INET;
	inet_pton(AF_INET, "192.168.1.10", rec.value.addr);
	m.dns.records = &rec;
	m.dns.n_records = 1;
	if (rn_dns_zone_build(&m, &z))
		abort();
	return z;
}

/* The fast path's answer to q against the ldns_pkt path's. */
static void differential(const uint8_t *q, size_t len, bool tcp)
{
	uint8_t buf[RN_DNS_EDNS_SIZE], *out = NULL;
	size_t flen = 0, outlen = 0;
	int f = rn_dns_answer_fast(zone(), q, len, tcp, buf, sizeof(buf), &flen);
	enum rn_dns_verdict v;

	if (f < 0)
		return;
	v = rn_dns_answer_pkt(zone(), q, len, tcp, &out, &outlen);
	if ((int)v != f)
		__builtin_trap();
	/* flags (QR AA TC RD / RA CD rcode) and the four counts; names may compress otherwise */
	if (v == RN_DNS_REPLY && (outlen < 12 || memcmp(buf, out, 12)))
		__builtin_trap();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t q[] = { 0xab, 0xcd, 0x01, 0x00, 0,	  1,   0, 0,   0,   0,
				     0,	   0,	 3,    'w',  'w', 'w', 7, 'e', 'x', 'a',
				     'm',  'p',	 'l',  'e',  0,	  0,   1, 0,   1 };
	uint8_t *out = NULL;
	size_t outlen = 0;
	bool tcp;

	if (!size)
		return 0;
	tcp = data[0] & 1;
	if (rn_dns_answer(zone(), data + 1, size - 1, tcp, &out, &outlen) == RN_DNS_REPLY) {
		if (!out || outlen < 12 || outlen > (tcp ? 65535u : (size_t)RN_DNS_EDNS_SIZE))
			__builtin_trap();
	} else if (out) {
		__builtin_trap();
	}
	free(out);
	out = NULL;
	differential(data + 1, size - 1, tcp);
	if (rn_dns_upstream_reply(q, sizeof(q), data + 1, size - 1, 0x1234, tcp, &out, &outlen)) {
		if (outlen > (tcp ? 65535u : 512u) || rn_dns_get_id(out, outlen) != 0x1234)
			__builtin_trap();
	}
	free(out);
	return 0;
}
