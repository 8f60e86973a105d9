/* SPDX-License-Identifier: MIT */
/* The host's own addresses for the packet filter (localaddrs.h): select, watch, hand over. */
#include "rustynetd/localaddrs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "rustynetd/daemon.h"
#include "system/addrwatch.h"
#include "wg/device.h"

static bool is_loopback(const struct rn_ip *ip)
{
	static const uint8_t v6_lo[16] = { [15] = 1 };

	if (ip->family == AF_INET)
		return ip->bytes[0] == 127;
	return !memcmp(ip->bytes, v6_lo, 16);
}

static int prefix_cmp(const void *pa, const void *pb)
{
	const struct rn_filter_prefix *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
}

/* The network and broadcast addresses of an IPv4 prefix of /30 or shorter: both local. */
static size_t v4_broadcasts(const struct rn_prefix *p, struct rn_filter_prefix *out)
{
	uint8_t net[4], bcast[4];

	if (p->addr.family != AF_INET || p->len > 30)
		return 0;
	for (unsigned i = 0; i < 4; i++) {
		unsigned bits = p->len > i * 8 ? p->len - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		net[i] = p->addr.bytes[i] & mask;
		bcast[i] = (uint8_t)(net[i] | (uint8_t)~mask);
	}
	rn_filter_prefix_make(&out[0], AF_INET, net, 32);
	rn_filter_prefix_make(&out[1], AF_INET, bcast, 32);
	return 2;
}

size_t rn_localaddrs_select(const struct rn_nl_addr *a, size_t n, struct rn_filter_prefix *out)
{
	size_t k = 0, u = 0;

	for (size_t i = 0; i < n; i++) {
		const struct rn_ip *ip = &a[i].prefix.addr;

		if ((ip->family != AF_INET && ip->family != AF_INET6) || is_loopback(ip) ||
		    a[i].protocol == RN_RTPROT)
			continue;
		rn_filter_prefix_make(&out[k++], ip->family, ip->bytes,
				      ip->family == AF_INET ? 32 : 128);
		k += v4_broadcasts(&a[i].prefix, &out[k]);
	}
	if (!k)
		return 0;
	qsort(out, k, sizeof(*out), prefix_cmp);
	for (size_t i = 1; i < k; i++)
		if (prefix_cmp(&out[u], &out[i]))
			out[++u] = out[i];
	return u + 1;
}

static bool same(const struct rn_localaddrs *l, const struct rn_filter_prefix *v, size_t n)
{
	return n == l->n && (!n || !memcmp(v, l->v, n * sizeof(*v)));
}

/* Dumps the addresses and gives the data plane the new set when it changed; true if it did. */
static bool reread(struct rn_daemon *d)
{
	struct rn_localaddrs *l = &d->local;
	struct rn_filter_prefix *v = NULL;
	struct rn_nl_addr *a = NULL;
	struct rn_nl *nl = NULL;
	size_t n = 0, k = 0;
	bool changed = false;
	int r;

	r = rn_nl_open(&nl);
	if (!r)
		r = rn_nl_addr_list(nl, NULL, &a, &n);
	if (!r && n && !(v = calloc(2 * n, sizeof(*v))))
		r = -ENOMEM;
	if (r) {
		log_error(MAIN,
			  "cannot read this host's addresses: %s: the packet filter may treat "
			  "a new one as internet until they can be read",
			  strerror(-r));
		goto out;
	}
	k = v ? rn_localaddrs_select(a, n, v) : 0;
	if (same(l, v, k))
		goto out;
	r = rn_wg_device_set_local_addrs(d->dev, v, k);
	if (r) {
		log_error(MAIN, "cannot give the packet filter this host's addresses: %s",
			  strerror(-r));
		goto out;
	}
	log_info(MAIN, "packet filter: %zu addresses of this host are reached only as the node", k);
	free(l->v);
	l->v = v;
	l->n = k;
	v = NULL;
	changed = true;
out:
	free(v);
	free(a);
	rn_nl_close(nl);
	return changed;
}

void rn_localaddrs_start(struct rn_daemon *d)
{
	int fd = rn_addrwatch_open();

	d->local.fd = fd < 0 ? -1 : fd;
	if (fd < 0)
		log_error(MAIN,
			  "cannot watch this host's addresses: %s: the packet filter knows "
			  "only those present now",
			  strerror(-fd));
	(void)reread(d);
}

int rn_localaddrs_fd(const struct rn_daemon *d)
{
	return d->local.fd;
}

bool rn_localaddrs_ready(struct rn_daemon *d)
{
	return rn_addrwatch_drain(d->local.fd) && reread(d);
}

void rn_localaddrs_stop(struct rn_daemon *d)
{
	if (d->local.fd >= 0)
		close(d->local.fd);
	d->local.fd = -1;
	free(d->local.v);
	d->local.v = NULL;
	d->local.n = 0;
}
