/* SPDX-License-Identifier: MIT */
/* The control server's STUN responder (see stunsrv.h). */
#include "rustynet-control/stunsrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "netmap/netmap_priv.h"
#include "path/stun.h"
#include "rustynet-control/ratelimit.h"

struct rn_stunsrv {
	int fds[RN_STUNSRV_MAX_LISTEN]; /* owned: the bound sockets */
	size_t n_fds;
	int stop_fd;	  /* owned eventfd: written once to stop the thread */
	atomic_bool stop; /* and this set first: the thread also looks every second */
	pthread_t thread;
	bool running;
	struct rn_ratelimit *rl; /* owned: answers per source */
	uint64_t second;	 /* the responder thread's: the second win_n counts in */
	uint32_t win_n;		 /* answers in that second */
	_Atomic uint64_t answered, dropped, oversized, limited;
};

/* ---- ADDR ---- */

int rn_stunsrv_parse_listen(const char *s, union rn_netmap_endpoint *out, char *err, size_t errlen)
{
	char buf[RN_NETMAP_ENDPOINT_STRLEN];
	const uint8_t *a;
	uint8_t probe[16];
	int ret;

	memset(out, 0, sizeof(*out));
	if (!s[0] || strlen(s) >= sizeof(buf) - 8) {
		snprintf(err, errlen, "\"%.64s\" is not IP, IP:PORT, [IPv6] or [IPv6]:PORT", s);
		return -EINVAL;
	}
	if (strchr(s, ':') && s[0] != '[' && inet_pton(AF_INET6, s, probe) == 1) {
		snprintf(err, errlen,
			 "\"%s\": put an IPv6 address in brackets, \"[%s]\" or \"[%s]:%d\" (a "
			 "colon would be read as the port's)",
			 s, s, s, RN_STUN_PORT);
		return -EINVAL;
	}
	/* without a port: the default one */
	if ((s[0] == '[' && s[strlen(s) - 1] == ']') || (s[0] != '[' && !strchr(s, ':')))
		snprintf(buf, sizeof(buf), "%s:%d", s, RN_STUN_PORT);
	else
		snprintf(buf, sizeof(buf), "%s", s);
	ret = rn_netmap_endpoint_parse(buf, out);
	if (ret == -ERANGE) {
		snprintf(err, errlen, "\"%s\": the port must be 1-65535", s);
		return -EINVAL;
	}
	if (ret) {
		snprintf(err, errlen,
			 "\"%s\" is not IP, IP:PORT, [IPv6] or [IPv6]:PORT (an address, not a "
			 "name; port %d when none is given)",
			 s, RN_STUN_PORT);
		return -EINVAL;
	}
	a = out->sa.sa_family == AF_INET ? (const uint8_t *)&out->sin.sin_addr
					 : out->sin6.sin6_addr.s6_addr;
	if ((out->sa.sa_family == AF_INET && a[0] >= 224) ||
	    (out->sa.sa_family == AF_INET6 && a[0] == 0xff)) {
		snprintf(err, errlen,
			 "\"%s\" is a multicast or broadcast address: give one of this host's "
			 "addresses, or 0.0.0.0 / [::] for all",
			 s);
		return -EINVAL;
	}
	return 0;
}

bool rn_stunsrv_wildcard(const union rn_netmap_endpoint *ep)
{
	if (ep->sa.sa_family == AF_INET)
		return ep->sin.sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&ep->sin6.sin6_addr);
}

/* An address a node elsewhere can send to: not loopback, not link-local. */
static bool rn_stunsrv_reachable(int family, const uint8_t *a)
{
	struct in6_addr a6;

	if (family == AF_INET)
		return a[0] != 127 && !(a[0] == 169 && a[1] == 254) && a[0] && a[0] < 224;
	memcpy(&a6, a, sizeof(a6)); /* a may be unaligned (struct rn_netmap_ip) */
	return !IN6_IS_ADDR_LOOPBACK(&a6) && !IN6_IS_ADDR_LINKLOCAL(&a6) &&
	       !IN6_IS_ADDR_UNSPECIFIED(&a6) && !IN6_IS_ADDR_MULTICAST(&a6) &&
	       !IN6_IS_ADDR_V4MAPPED(&a6);
}

static void rn_stunsrv_set_ip(union rn_netmap_endpoint *ep, const uint8_t *a)
{
	if (ep->sa.sa_family == AF_INET)
		memcpy(&ep->sin.sin_addr, a, 4);
	else
		memcpy(&ep->sin6.sin6_addr, a, 16);
}

bool rn_stunsrv_advertised(const union rn_netmap_endpoint *listen,
			   const union rn_netmap_endpoint *https, const struct rn_netmap_ip *hosts,
			   size_t n_hosts, union rn_netmap_endpoint *out)
{
	int family = listen->sa.sa_family;

	*out = *listen;
	if (!rn_stunsrv_wildcard(listen))
		return true;
	for (size_t i = 0; i < n_hosts; i++) {
		if (hosts[i].family == family && rn_stunsrv_reachable(family, hosts[i].addr)) {
			rn_stunsrv_set_ip(out, hosts[i].addr);
			return true;
		}
	}
	if (https && https->sa.sa_family == family && !rn_stunsrv_wildcard(https)) {
		const uint8_t *a = family == AF_INET ? (const uint8_t *)&https->sin.sin_addr
						     : https->sin6.sin6_addr.s6_addr;

		if (rn_stunsrv_reachable(family, a)) {
			rn_stunsrv_set_ip(out, a);
			return true;
		}
	}
	return false;
}

/* ---- answering ---- */

size_t rn_stunsrv_handle(struct rn_stunsrv *s, const void *pkt, size_t len,
			 const struct sockaddr *from, uint64_t now_ms, uint8_t *out, size_t cap)
{
	size_t n;

	if (len > RN_STUN_MAX_MSG) {
		atomic_fetch_add(&s->oversized, 1);
		return 0;
	}
	n = rn_stun_respond(pkt, len, from, out, cap);
	if (!n) {
		atomic_fetch_add(&s->dropped, 1);
		return 0;
	}
	if (now_ms / 1000 != s->second) {
		s->second = now_ms / 1000;
		s->win_n = 0;
	}
	if (s->win_n >= RN_STUNSRV_GLOBAL_PER_S || !rn_ratelimit_allow(s->rl, from, now_ms, NULL)) {
		atomic_fetch_add(&s->limited, 1);
		return 0;
	}
	rn_ratelimit_fail(s->rl, from, now_ms); /* one answer spent */
	s->win_n++;
	atomic_fetch_add(&s->answered, 1);
	return n;
}

void rn_stunsrv_stats(const struct rn_stunsrv *s, struct rn_stunsrv_stats *out)
{
	out->answered = atomic_load(&s->answered);
	out->dropped = atomic_load(&s->dropped);
	out->oversized = atomic_load(&s->oversized);
	out->limited = atomic_load(&s->limited);
}

static uint64_t rn_stunsrv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void rn_stunsrv_log(const struct rn_stunsrv *s, const char *when)
{
	struct rn_stunsrv_stats st;

	rn_stunsrv_stats(s, &st);
	log_debug(MAIN,
		  "stun responder%s: %llu answered, %llu dropped (not a Binding request), %llu "
		  "oversized, %llu over the rate limit",
		  when, (unsigned long long)st.answered, (unsigned long long)st.dropped,
		  (unsigned long long)st.oversized, (unsigned long long)st.limited);
}

/* Every datagram waiting on fd, answered or dropped. */
static void rn_stunsrv_drain(struct rn_stunsrv *s, int fd)
{
	uint8_t pkt[RN_STUN_MAX_MSG + 1], out[RN_STUN_MAX_MSG];
	struct sockaddr_storage from;

	for (int i = 0; i < 64; i++) {
		socklen_t flen = sizeof(from);
		ssize_t r;
		size_t n;

		from.ss_family = AF_UNSPEC; /* what a datagram without an address leaves */
		r = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&from, &flen);

		if (r < 0)
			return; /* EAGAIN, or an ICMP error of an earlier answer: nothing to do */
		if (from.ss_family != AF_INET && from.ss_family != AF_INET6)
			continue;
		n = rn_stunsrv_handle(s, pkt, (size_t)r, (struct sockaddr *)&from,
				      rn_stunsrv_now_ms(), out, sizeof(out));
		if (n)
			(void)sendto(fd, out, n, MSG_DONTWAIT, (struct sockaddr *)&from, flen);
	}
}

static void *rn_stunsrv_run(void *arg)
{
	struct rn_stunsrv *s = arg;
	struct pollfd p[RN_STUNSRV_MAX_LISTEN + 1];
	uint64_t logged = rn_stunsrv_now_ms(), last = 0;

	for (size_t i = 0; i < s->n_fds; i++)
		p[i] = (struct pollfd){ .fd = s->fds[i], .events = POLLIN };
	p[s->n_fds] = (struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
	for (;;) {
		uint64_t now;

		if (poll(p, s->n_fds + 1, 1000) < 0 && errno != EINTR)
			break;
		if (p[s->n_fds].revents || atomic_load(&s->stop))
			break;
		for (size_t i = 0; i < s->n_fds; i++)
			if (p[i].revents)
				rn_stunsrv_drain(s, s->fds[i]);
		now = rn_stunsrv_now_ms();
		if (now - logged >= RN_STUNSRV_LOG_S * 1000) {
			uint64_t total = atomic_load(&s->answered) + atomic_load(&s->dropped) +
					 atomic_load(&s->oversized) + atomic_load(&s->limited);

			if (total != last)
				rn_stunsrv_log(s, "");
			last = total;
			logged = now;
		}
	}
	return NULL;
}

/* ---- setup ---- */

struct rn_stunsrv *rn_stunsrv_new(void)
{
	struct rn_stunsrv *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->rl = rn_ratelimit_new_with(RN_STUNSRV_BURST, RN_STUNSRV_REFILL_MS);
	if (s->stop_fd < 0 || !s->rl) {
		rn_stunsrv_free(s);
		return NULL;
	}
	return s;
}

void rn_stunsrv_free(struct rn_stunsrv *s)
{
	if (!s)
		return;
	if (s->running) {
		atomic_store(&s->stop, true);
		if (eventfd_write(s->stop_fd, 1) < 0) /* only slower: the flag ends it within 1 s */
			log_debug(MAIN, "stun responder: waking its thread: %s", strerror(errno));
		pthread_join(s->thread, NULL);
		rn_stunsrv_log(s, " stopped");
	}
	for (size_t i = 0; i < s->n_fds; i++)
		close(s->fds[i]);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	rn_ratelimit_free(s->rl);
	free(s);
}

int rn_stunsrv_listen(struct rn_stunsrv *s, const union rn_netmap_endpoint *ep, char *err,
		      size_t errlen)
{
	char text[RN_NETMAP_ENDPOINT_STRLEN];
	int fd, one = 1, ret;

	rn_netmap_endpoint_format(ep, text, sizeof(text));
	if (s->n_fds == RN_STUNSRV_MAX_LISTEN) {
		snprintf(err, errlen, "at most %d STUN listen addresses", RN_STUNSRV_MAX_LISTEN);
		return -E2BIG;
	}
	fd = socket(ep->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "a UDP socket for %s: %s", text, strerror(errno));
		return ret;
	}
	if (ep->sa.sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, &ep->sa, ep->sa.sa_family == AF_INET ? sizeof(ep->sin) : sizeof(ep->sin6)) < 0)
		goto fail;
	s->fds[s->n_fds++] = fd;
	return 0;
fail:
	ret = -errno;
	if (ret == -EADDRINUSE)
		snprintf(err, errlen,
			 "UDP %s is in use: another STUN server (coturn's turnserver?) or "
			 "another rustynet-control serve has it; stop it or pick another port",
			 text);
	else if (ret == -EADDRNOTAVAIL)
		snprintf(err, errlen,
			 "%s: the address is not one of this host's (give one that is, or "
			 "0.0.0.0 / [::] for all)",
			 text);
	else if (ret == -EACCES)
		snprintf(err, errlen, "%s: a port below 1024 needs root or CAP_NET_BIND_SERVICE",
			 text);
	else
		snprintf(err, errlen, "binding UDP %s: %s", text, strerror(-ret));
	close(fd);
	return ret;
}

int rn_stunsrv_start(struct rn_stunsrv *s)
{
	int ret = pthread_create(&s->thread, NULL, rn_stunsrv_run, s);

	if (ret)
		return -ret;
	s->running = true;
	return 0;
}
