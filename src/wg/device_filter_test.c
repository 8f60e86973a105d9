/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the device's verdict on a decrypted inbound packet when no packet filter is
 * installed: rustynetd's devices (RN_WG_DEVICE_DENY_UNFILTERED) drop everything until their
 * first filter is in place, rustynet-wg's let everything in as WireGuard does; once a filter is
 * installed it alone decides, whatever the flag.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "wg/device_priv.h"

/* An ICMP echo request from 100.64.0.3 to 100.64.0.1: 20 bytes of IPv4 and 8 of ICMP. */
static size_t echo4(uint8_t *p)
{
	memset(p, 0, 28);
	p[0] = 0x45;
	p[3] = 28;
	p[8] = 64;
	p[9] = 1;
	inet_pton(AF_INET, "100.64.0.3", p + 12);
	inet_pton(AF_INET, "100.64.0.1", p + 16);
	p[20] = 8; /* echo request */
	return 28;
}

static struct rn_wg_device *dev_new(bool deny)
{
	struct rn_wg_device *dev = calloc(1, sizeof(*dev));

	assert_non_null(dev);
	dev->deny_unfiltered = deny;
	assert_int_equal(rn_flowtable_init(&dev->flows, 16), 0);
	return dev;
}

static void dev_free(struct rn_wg_device *dev)
{
	rn_flowtable_free(&dev->flows);
	if (dev->filter) {
		rn_filter_free(dev->filter);
		free(dev->filter);
	}
	free(dev);
}

/* A filter for 100.64.0.1 admitting everything from 100.64.0.0/10 in the mesh context. */
static struct rn_filter *open_filter(void)
{
	struct rn_filter *f = calloc(1, sizeof(*f));
	struct rn_filter_rule *r;

	assert_non_null(f);
	assert_int_equal(rn_filter_prefix_parse("100.64.0.1/32", &f->self[0]), 0);
	f->n_self = 1;
	f->rules = r = calloc(1, sizeof(*r));
	r->context = RN_FILTER_MESH;
	r->proto = RN_FILTER_PROTO_ANY;
	r->src = calloc(1, sizeof(*r->src));
	r->dst = calloc(1, sizeof(*r->dst));
	r->ports = calloc(1, sizeof(*r->ports));
	assert_true(r->src && r->dst && r->ports);
	assert_int_equal(rn_filter_prefix_parse("100.64.0.0/10", r->src), 0);
	assert_int_equal(rn_filter_prefix_parse("100.64.0.1/32", r->dst), 0);
	r->ports->last = 65535;
	r->n_src = r->n_dst = r->n_ports = 1;
	f->n_rules = 1;
	return f;
}

static void no_filter_deny_flag_drops(void **state)
{
	struct rn_wg_device *dev = dev_new(true);
	uint8_t pkt[28];
	size_t len = echo4(pkt);

	(void)state;
	assert_false(rn_device_admits(dev, NULL, pkt, len, 1));
	dev_free(dev);
}

static void no_filter_plain_wireguard_passes(void **state)
{
	struct rn_wg_device *dev = dev_new(false);
	uint8_t pkt[28];
	size_t len = echo4(pkt);

	(void)state;
	assert_true(rn_device_admits(dev, NULL, pkt, len, 1));
	dev_free(dev);
}

static void installed_filter_decides(void **state)
{
	uint8_t pkt[28];
	size_t len = echo4(pkt);

	(void)state;
	for (int deny = 0; deny < 2; deny++) {
		struct rn_wg_device *dev = dev_new(deny);

		dev->filter = open_filter();
		assert_true(rn_device_admits(dev, NULL, pkt, len, 1));
		/* The same packet to an address the filter does not name: dropped either way. */
		inet_pton(AF_INET, "100.64.0.2", pkt + 16);
		assert_false(rn_device_admits(dev, NULL, pkt, len, 1));
		inet_pton(AF_INET, "100.64.0.1", pkt + 16);
		/* A filter with no rules denies all, as a deny-all filter must. */
		rn_filter_free(dev->filter);
		assert_false(rn_device_admits(dev, NULL, pkt, len, 1));
		dev_free(dev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_filter_deny_flag_drops),
		cmocka_unit_test(no_filter_plain_wireguard_passes),
		cmocka_unit_test(installed_filter_decides),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
