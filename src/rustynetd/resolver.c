/* SPDX-License-Identifier: MIT */
/*
 * The Magic DNS server thread and its forwarding workers (see resolver.h). The thread answers
 * zone names inline, in batches of datagrams (recvmmsg/sendmmsg; no allocation for the common
 * query, no blocking call) and hands everything that needs an upstream, and every TCP client,
 * to a worker; a worker holds a reference to the view it started with, so a map applied
 * meanwhile never frees what it reads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "common/log.h"
#include "rustynetd/resolver.h"

#define TICK_MS	    250 /* workers and TCP clients look at the stop flag this often */
#define UDP_BURST   64	/* datagrams read per wake-up before looking at the others */
#define UDP_BATCH   16	/* datagrams per recvmmsg/sendmmsg: fewer system calls under load */
#define TCP_BACKLOG 64
/* TCP client slots: the caps, and as many again for evicted ones whose threads are leaving. */
#define TCP_SLOTS (2 * RN_RESOLVER_MAX_TCP)

/* What one query is answered from: immutable once published, freed by its last user. */
struct view {
	atomic_int refs;
	struct rn_dns_zone *zone; /* owned; NULL: no zone */
	struct rn_netmap_ip ups[RN_RESOLVER_MAX_UPSTREAMS];
	size_t n_ups;
	char
	    tunnel_if[IF_NAMESIZE]; /* protected mode: upstream sockets bound to it; "" otherwise */
};

union sa {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_storage ss;
};

/* One TCP client (under the resolver's mu). Its thread owns fd; the server thread only shuts
 * it down, to evict it, and only while the slot holds it. */
struct tcp_slot {
	int fd; /* -1: free */
	union sa peer;
	bool idle;     /* waiting on the client (for a query, or to take an answer): evictable */
	bool evicted;  /* shut down to make room; no longer counted */
	int64_t since; /* when it went idle, ms (CLOCK_MONOTONIC) */
};

struct rn_resolver {
	int udp[2], tcp[2]; /* IPv4, IPv6 */
	int wake[2];	    /* a pipe: stop wakes the thread */
	pthread_t thread;
	pthread_mutex_t mu; /* view and workers */
	pthread_cond_t idle;
	struct view *view; /* a reference of its own */
	int workers;	   /* threads of every kind: stop waits for 0 */
	int forwarding;	   /* of which forward UDP queries: at most RN_RESOLVER_MAX_WORKERS */
	struct tcp_slot tcp_slots[TCP_SLOTS];
	atomic_bool stopping;
	_Atomic uint64_t queries, zone, forwarded, servfail, dropped, busy, tcp_evicted;
	/* The thread's batch: queries received, answers to send (UDP answers fit EDNS size). */
	struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
	struct iovec in_iov[UDP_BATCH], out_iov[UDP_BATCH];
	union sa peer[UDP_BATCH];
	uint8_t ans[UDP_BATCH][RN_DNS_EDNS_SIZE];
	uint8_t q[UDP_BATCH][RN_DNS_TCP_MAX]; /* any datagram whole, as one recvfrom took it */
};

struct job {
	struct rn_resolver *r;
	int fd;	    /* a TCP client (owned), or -1 */
	int slot;   /* its index in tcp_slots */
	int udp_fd; /* the socket a UDP answer goes out on */
	union sa peer;
	socklen_t peerlen;
	size_t len;
	uint8_t q[]; /* a UDP query */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct view *view_get(struct rn_resolver *r)
{
	struct view *v;

	pthread_mutex_lock(&r->mu);
	v = r->view;
	atomic_fetch_add(&v->refs, 1);
	pthread_mutex_unlock(&r->mu);
	return v;
}

static void view_put(struct view *v)
{
	if (v && atomic_fetch_sub(&v->refs, 1) == 1) {
		rn_dns_zone_free(v->zone);
		free(v);
	}
}

/* ---- talking to upstreams ---- */

/* Waits for fd to be ready for events before deadline; false on timeout, stop or error. */
static bool wait_fd(struct rn_resolver *r, int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0 || atomic_load(&r->stopping))
			return false;
		n = poll(&p, 1, (int)(left < TICK_MS ? left : TICK_MS));
		if (n > 0)
			return !(p.revents & (POLLERR | POLLNVAL)) || (p.revents & events);
		if (n < 0 && errno != EINTR)
			return false;
	}
}

/* Reads or writes exactly len bytes of a non-blocking stream before deadline. */
static bool io_full(struct rn_resolver *r, int fd, void *buf, size_t len, bool out,
		    int64_t deadline)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR) ||
			   !wait_fd(r, fd, out ? POLLOUT : POLLIN, deadline)) {
			return false;
		}
	}
	return true;
}

static socklen_t upstream_addr(const struct rn_netmap_ip *ip, union sa *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (ip->family == AF_INET) {
		sa->sin.sin_family = AF_INET;
		sa->sin.sin_port = htons(RN_RESOLVER_PORT);
		memcpy(&sa->sin.sin_addr, ip->addr, 4);
		return sizeof(sa->sin);
	}
	sa->sin6.sin6_family = AF_INET6;
	sa->sin6.sin6_port = htons(RN_RESOLVER_PORT);
	memcpy(&sa->sin6.sin6_addr, ip->addr, 16);
	return sizeof(sa->sin6);
}

/*
 * A socket for one upstream. Never the tunnel-bypass mark (SO_MARK): in protected mode the
 * query follows the default route into the tunnel, and the socket is bound to the tunnel
 * interface besides, so that no route (the local network's, one someone adds) takes it
 * outside; if the binding fails the upstream is not asked at all.
 */
static int upstream_socket(const struct view *v, int family, bool tcp)
{
	int fd = socket(family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd >= 0 && v->tunnel_if[0] &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, v->tunnel_if,
		       (socklen_t)strlen(v->tunnel_if)) < 0) {
		log_debug(MAIN, "dns: cannot bind an upstream socket to %s: %s: not asking",
			  v->tunnel_if, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One upstream: the query (under its own random ID) over UDP, or TCP; 1 with the client's
 * reply in *out, 0 when it did not answer, -EAGAIN when it answered truncated over UDP.
 */
static int ask(struct rn_resolver *r, const struct view *v, const struct rn_netmap_ip *up,
	       const uint8_t *fq, size_t len, uint16_t cid, bool tcp, bool client_tcp,
	       int64_t deadline, uint8_t **out, size_t *outlen)
{
	uint8_t *rep = NULL, hdr[2];
	size_t rlen;
	union sa sa;
	socklen_t salen = upstream_addr(up, &sa);
	int fd, res = 0;

	fd = upstream_socket(v, sa.sa.sa_family, tcp);
	if (fd < 0)
		return 0;
	rep = malloc(RN_DNS_TCP_MAX);
	if (!rep)
		goto out;
	if (connect(fd, &sa.sa, salen) && errno != EINPROGRESS)
		goto out;
	if (tcp) {
		int soerr = 0;
		socklen_t l = sizeof(soerr);

		hdr[0] = (uint8_t)(len >> 8), hdr[1] = (uint8_t)len;
		if (!wait_fd(r, fd, POLLOUT, deadline) ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l) || soerr ||
		    !io_full(r, fd, hdr, 2, true, deadline) ||
		    !io_full(r, fd, (void *)fq, len, true, deadline) ||
		    !io_full(r, fd, hdr, 2, false, deadline))
			goto out;
		rlen = (size_t)hdr[0] << 8 | hdr[1];
		if (io_full(r, fd, rep, rlen, false, deadline) &&
		    rn_dns_upstream_reply(fq, len, rep, rlen, cid, client_tcp, out, outlen))
			res = 1;
		goto out;
	}
	if (send(fd, fq, len, 0) != (ssize_t)len)
		goto out;
	while (wait_fd(r, fd, POLLIN, deadline)) {
		ssize_t n = recv(fd, rep, RN_DNS_TCP_MAX, 0);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break; /* ICMP unreachable: no one there */
		if (n <= 0)
			continue;
		/* Anything that does not answer our question is spoofed or stale: keep waiting. */
		if (!rn_dns_upstream_reply(fq, len, rep, (size_t)n, cid, client_tcp, out, outlen))
			continue;
		if (rn_dns_truncated(rep, (size_t)n)) {
			free(*out);
			*out = NULL;
			res = -EAGAIN;
		} else {
			res = 1;
		}
		break;
	}
out:
	free(rep);
	close(fd);
	return res;
}

/*
 * Asks the view's upstreams in order within RN_RESOLVER_TIMEOUT_MS, each getting an even share
 * of what is left; UDP first unless the client used TCP, TCP again after a truncated answer.
 * 0 with *out set, or -ETIMEDOUT: the caller answers SERVFAIL, never anything else.
 */
static int forward(struct rn_resolver *r, const struct view *v, const uint8_t *q, size_t len,
		   bool client_tcp, uint8_t **out, size_t *outlen)
{
	int64_t deadline = now_ms() + RN_RESOLVER_TIMEOUT_MS;
	uint16_t cid = rn_dns_get_id(q, len), uid;
	uint8_t *fq = malloc(len);
	int res = 0;

	if (!fq)
		return -ENOMEM;
	memcpy(fq, q, len);
	for (size_t i = 0; i < v->n_ups && res != 1; i++) {
		int64_t left = deadline - now_ms(), end;

		if (left <= 0)
			break;
		end = now_ms() + left / (int64_t)(v->n_ups - i);
		/*
		 * A fresh random ID per upstream: a spoofer must guess it and the port. Without
		 * the kernel's CSPRNG there is no safe ID: SERVFAIL rather than a guessable one.
		 */
		if (getrandom(&uid, sizeof(uid), 0) != sizeof(uid))
			break;
		rn_dns_set_id(fq, len, uid);
		res = ask(r, v, &v->ups[i], fq, len, cid, client_tcp, client_tcp, end, out, outlen);
		if (res == -EAGAIN)
			res =
			    ask(r, v, &v->ups[i], fq, len, cid, true, client_tcp, end, out, outlen);
	}
	free(fq);
	return res == 1 ? 0 : -ETIMEDOUT;
}

/* The answer to q over the transport: the zone's, an upstream's, or SERVFAIL. */
static int resolve(struct rn_resolver *r, const uint8_t *q, size_t len, bool tcp, uint8_t **out,
		   size_t *outlen)
{
	struct view *v = view_get(r);
	enum rn_dns_verdict verdict;
	int e = 0;

	verdict = rn_dns_answer(v->zone, q, len, tcp, out, outlen);
	if (verdict == RN_DNS_REPLY) {
		atomic_fetch_add(&r->zone, 1);
	} else if (verdict == RN_DNS_DROP) {
		atomic_fetch_add(&r->dropped, 1);
		e = -EINVAL;
	} else {
		atomic_fetch_add(&r->forwarded, 1);
		if (forward(r, v, q, len, tcp, out, outlen)) {
			atomic_fetch_add(&r->servfail, 1);
			e = rn_dns_error_reply(q, len, LDNS_RCODE_SERVFAIL, out, outlen);
		}
	}
	view_put(v);
	return e;
}

/* ---- workers ---- */

static void worker_done(struct rn_resolver *r, bool forwarding)
{
	pthread_mutex_lock(&r->mu);
	if (forwarding)
		r->forwarding--;
	if (--r->workers == 0)
		pthread_cond_broadcast(&r->idle);
	pthread_mutex_unlock(&r->mu);
}

static void tcp_set_idle(struct rn_resolver *r, int slot, bool idle)
{
	pthread_mutex_lock(&r->mu);
	r->tcp_slots[slot].idle = idle;
	r->tcp_slots[slot].since = now_ms();
	pthread_mutex_unlock(&r->mu);
}

static void tcp_release(struct rn_resolver *r, int slot)
{
	pthread_mutex_lock(&r->mu);
	r->tcp_slots[slot].fd = -1;
	pthread_mutex_unlock(&r->mu);
}

/*
 * One TCP client: queries one after another until it goes quiet or the resolver stops. While
 * it waits on the client (for a query, or to take an answer) it is idle, so evictable; only
 * while a query is resolved is it not.
 */
static void serve_tcp(struct rn_resolver *r, int fd, int slot)
{
	uint8_t hdr[2], *q = malloc(RN_DNS_TCP_MAX), *out;
	int64_t wait = RN_RESOLVER_TCP_FIRST_MS;
	size_t len, outlen;

	while (q) {
		int64_t deadline = now_ms() + wait;

		if (!io_full(r, fd, hdr, 2, false, deadline))
			break;
		len = (size_t)hdr[0] << 8 | hdr[1];
		if (!io_full(r, fd, q, len, false, now_ms() + RN_RESOLVER_TIMEOUT_MS))
			break;
		tcp_set_idle(r, slot, false);
		atomic_fetch_add(&r->queries, 1);
		out = NULL;
		if (resolve(r, q, len, true, &out, &outlen))
			break; /* a query we drop: the stream is not worth keeping */
		tcp_set_idle(r, slot, true);
		deadline = now_ms() + RN_RESOLVER_TCP_IDLE_MS;
		hdr[0] = (uint8_t)(outlen >> 8), hdr[1] = (uint8_t)outlen;
		if (!io_full(r, fd, hdr, 2, true, deadline) ||
		    !io_full(r, fd, out, outlen, true, deadline)) {
			free(out);
			break;
		}
		free(out);
		wait = RN_RESOLVER_TCP_IDLE_MS;
	}
	free(q);
}

static void *worker(void *arg)
{
	struct job *j = arg;
	struct rn_resolver *r = j->r;
	uint8_t *out = NULL;
	bool forwarding;
	size_t outlen;

	if (j->fd >= 0) {
		serve_tcp(r, j->fd, j->slot);
		tcp_release(r, j->slot); /* before the close: the fd number may be reused */
		close(j->fd);
	} else if (!resolve(r, j->q, j->len, false, &out, &outlen)) {
		sendto(j->udp_fd, out, outlen, MSG_DONTWAIT, &j->peer.sa, j->peerlen);
	}
	forwarding = j->fd < 0;
	free(out);
	free(j);
	worker_done(r, forwarding); /* last: stop may free r once the count reaches 0 */
	return NULL;
}

/*
 * Starts a worker for j (taken). False when too many forward or none can start. A TCP client
 * has been admitted to its slot already (tcp_admit), which bounds those threads.
 */
static bool spawn(struct rn_resolver *r, struct job *j)
{
	bool forwarding = j->fd < 0;
	pthread_attr_t attr;
	pthread_t t;
	bool ok;

	pthread_mutex_lock(&r->mu);
	ok = !forwarding || r->forwarding < RN_RESOLVER_MAX_WORKERS;
	if (ok) {
		r->workers++;
		r->forwarding += forwarding;
	}
	pthread_mutex_unlock(&r->mu);
	if (!ok) {
		atomic_fetch_add(&r->busy, 1);
		return false;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	ok = pthread_create(&t, &attr, worker, j) == 0;
	pthread_attr_destroy(&attr);
	if (!ok)
		worker_done(r, forwarding);
	return ok;
}

/* ---- the server thread ---- */

/*
 * A query that is not the zone's: to a worker, or SERVFAIL now (no upstream, too busy) rather
 * than let the client wait. True when ans[i] holds an answer to send.
 */
static bool udp_forward(struct rn_resolver *r, const struct view *v, int fd, int i, size_t len,
			size_t *outlen)
{
	const uint8_t *q = r->q[i];
	struct job *j = v->n_ups ? malloc(sizeof(*j) + len) : NULL;
	uint8_t *out = NULL;
	bool ok = false;

	if (j) {
		*j = (struct job){ .r = r,
				   .fd = -1,
				   .udp_fd = fd,
				   .peer = r->peer[i],
				   .peerlen = r->in[i].msg_hdr.msg_namelen,
				   .len = len };
		memcpy(j->q, q, len);
		if (spawn(r, j))
			return false;
		free(j);
	}
	atomic_fetch_add(&r->servfail, 1);
	if (!rn_dns_error_reply(q, len, LDNS_RCODE_SERVFAIL, &out, outlen)) {
		if (*outlen <= sizeof(r->ans[i])) {
			memcpy(r->ans[i], out, *outlen);
			ok = true;
		} else {
			sendto(fd, out, *outlen, MSG_DONTWAIT, &r->peer[i].sa,
			       r->in[i].msg_hdr.msg_namelen);
		}
	}
	free(out);
	return ok;
}

/* Answers n received datagrams into r->out; returns how many answers there are to send. */
static unsigned udp_answer(struct rn_resolver *r, int fd, unsigned n)
{
	struct view *v = view_get(r);
	unsigned k = 0, zone = 0, dropped = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t len = r->in[i].msg_len, outlen = 0;
		bool send = false;

		switch (rn_dns_answer_buf(v->zone, r->q[i], len, false, r->ans[i],
					  sizeof(r->ans[i]), &outlen)) {
		case RN_DNS_REPLY:
			zone++;
			send = true;
			break;
		case RN_DNS_DROP:
			dropped++;
			break;
		case RN_DNS_FORWARD:
			send = udp_forward(r, v, fd, (int)i, len, &outlen);
			break;
		}
		if (!send)
			continue;
		r->out_iov[k] = (struct iovec){ .iov_base = r->ans[i], .iov_len = outlen };
		r->out[k].msg_hdr = (struct msghdr){ .msg_name = &r->peer[i],
						     .msg_namelen = r->in[i].msg_hdr.msg_namelen,
						     .msg_iov = &r->out_iov[k],
						     .msg_iovlen = 1 };
		k++;
	}
	atomic_fetch_add(&r->queries, n);
	atomic_fetch_add(&r->zone, zone);
	atomic_fetch_add(&r->dropped, dropped);
	view_put(v);
	return k;
}

static void udp_ready(struct rn_resolver *r, int fd)
{
	for (int got = 0; got < UDP_BURST;) {
		unsigned k, sent = 0;
		int n;

		for (int i = 0; i < UDP_BATCH; i++) {
			r->in_iov[i] =
			    (struct iovec){ .iov_base = r->q[i], .iov_len = sizeof(r->q[i]) };
			r->in[i].msg_hdr = (struct msghdr){ .msg_name = &r->peer[i],
							    .msg_namelen = sizeof(r->peer[i]),
							    .msg_iov = &r->in_iov[i],
							    .msg_iovlen = 1 };
		}
		n = recvmmsg(fd, r->in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		k = udp_answer(r, fd, (unsigned)n);
		while (sent <
		       k) { /* answers are best effort, as with sendto: skip one that fails */
			int m = sendmmsg(fd, r->out + sent, k - sent, MSG_DONTWAIT);

			if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				break;
			sent += m > 0 ? (unsigned)m : 1;
		}
		got += n;
		if (n < UDP_BATCH)
			return;
	}
}

static bool same_addr(const union sa *a, const union sa *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	return !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, sizeof(a->sin6.sin6_addr));
}

/* The longest-idle counted client (of peer's address when peer is not NULL); -1 if none. */
static int tcp_idlest(const struct rn_resolver *r, const union sa *peer)
{
	int best = -1;

	for (int i = 0; i < TCP_SLOTS; i++) {
		const struct tcp_slot *s = &r->tcp_slots[i];

		if (s->fd < 0 || s->evicted || !s->idle || (peer && !same_addr(&s->peer, peer)))
			continue;
		if (best < 0 || s->since < r->tcp_slots[best].since)
			best = i;
	}
	return best;
}

/*
 * Gives a new TCP client a slot, closing the longest-idle client when a cap is reached (its
 * thread sees the shutdown and leaves). The slot's index, or -1: refused (every client at the
 * cap is busy with a query, or the slots are full of leaving ones).
 */
static int tcp_admit(struct rn_resolver *r, int fd, const union sa *peer)
{
	int total = 0, same = 0, free_slot = -1, victim = -1;

	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < TCP_SLOTS; i++) {
		const struct tcp_slot *s = &r->tcp_slots[i];

		if (s->fd < 0) {
			if (free_slot < 0)
				free_slot = i;
		} else if (!s->evicted) {
			total++;
			same += same_addr(&s->peer, peer);
		}
	}
	if (same >= RN_RESOLVER_MAX_TCP_PER_ADDR)
		victim = tcp_idlest(r, peer);
	else if (total >= RN_RESOLVER_MAX_TCP)
		victim = tcp_idlest(r, NULL);
	if (free_slot >= 0 &&
	    (victim >= 0 || (same < RN_RESOLVER_MAX_TCP_PER_ADDR && total < RN_RESOLVER_MAX_TCP))) {
		if (victim >= 0) {
			shutdown(r->tcp_slots[victim].fd, SHUT_RDWR);
			r->tcp_slots[victim].evicted = true;
			atomic_fetch_add(&r->tcp_evicted, 1);
		}
		r->tcp_slots[free_slot] =
		    (struct tcp_slot){ .fd = fd, .peer = *peer, .idle = true, .since = now_ms() };
	} else {
		free_slot = -1;
	}
	pthread_mutex_unlock(&r->mu);
	return free_slot;
}

static void tcp_ready(struct rn_resolver *r, int lfd)
{
	union sa peer = { 0 };
	socklen_t len = sizeof(peer);
	int fd = accept4(lfd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct job *j;
	int slot;

	if (fd < 0)
		return;
	slot = tcp_admit(r, fd, &peer);
	if (slot < 0) {
		atomic_fetch_add(&r->busy, 1);
		close(fd); /* every client busy: they retry */
		return;
	}
	j = malloc(sizeof(*j));
	if (j) {
		*j = (struct job){ .r = r, .fd = fd, .slot = slot, .udp_fd = -1 };
		if (spawn(r, j))
			return;
		free(j);
	}
	tcp_release(r, slot);
	close(fd);
}

static void *server(void *arg)
{
	struct rn_resolver *r = arg;

	while (!atomic_load(&r->stopping)) {
		struct pollfd p[5] = {
			{ .fd = r->wake[0], .events = POLLIN },
			{ .fd = r->udp[0], .events = POLLIN },
			{ .fd = r->udp[1], .events = POLLIN },
			{ .fd = r->tcp[0], .events = POLLIN },
			{ .fd = r->tcp[1], .events = POLLIN },
		};

		if (poll(p, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error(MAIN, "dns: poll failed: %s: Magic DNS stops answering",
				  strerror(errno));
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (p[1 + i].revents & POLLIN)
				udp_ready(r, r->udp[i]);
			if (p[3 + i].revents & POLLIN)
				tcp_ready(r, r->tcp[i]);
		}
	}
	return NULL;
}

/* ---- start and stop ---- */

static int bind_one(int family, int type, const void *addr, char *err, size_t errlen)
{
	union sa sa = { 0 };
	socklen_t len;
	int fd, one = 1;
	char text[INET6_ADDRSTRLEN];

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (family == AF_INET) {
		sa.sin.sin_family = AF_INET;
		sa.sin.sin_port = htons(RN_RESOLVER_PORT);
		memcpy(&sa.sin.sin_addr, addr, 4);
		len = sizeof(sa.sin);
	} else {
		sa.sin6.sin6_family = AF_INET6;
		sa.sin6.sin6_port = htons(RN_RESOLVER_PORT);
		memcpy(&sa.sin6.sin6_addr, addr, 16);
		len = sizeof(sa.sin6);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	/* The address may still be tentative on the interface (IPv6 DAD): bind anyway. */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &sa.sa, len) || (type == SOCK_STREAM && listen(fd, TCP_BACKLOG)))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "cannot listen on %s port %d/%s: %s (another DNS server there?)",
		 inet_ntop(family, addr, text, sizeof(text)) ?: "?", RN_RESOLVER_PORT,
		 type == SOCK_STREAM ? "tcp" : "udp", strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static void close_fds(struct rn_resolver *r)
{
	int *fds[] = { &r->udp[0], &r->udp[1], &r->tcp[0], &r->tcp[1], &r->wake[0], &r->wake[1] };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

int rn_resolver_start(const struct in_addr *v4, const struct in6_addr *v6, struct rn_resolver **out,
		      char *err, size_t errlen)
{
	struct rn_resolver *r = calloc(1, sizeof(*r));
	int e;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->udp[0] = r->udp[1] = r->tcp[0] = r->tcp[1] = r->wake[0] = r->wake[1] = -1;
	for (int i = 0; i < TCP_SLOTS; i++)
		r->tcp_slots[i].fd = -1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->idle, NULL);
	r->view = calloc(1, sizeof(*r->view));
	if (!r->view)
		goto nomem;
	atomic_init(&r->view->refs, 1);
	if ((r->udp[0] = bind_one(AF_INET, SOCK_DGRAM, v4, err, errlen)) < 0 ||
	    (r->udp[1] = bind_one(AF_INET6, SOCK_DGRAM, v6, err, errlen)) < 0 ||
	    (r->tcp[0] = bind_one(AF_INET, SOCK_STREAM, v4, err, errlen)) < 0 ||
	    (r->tcp[1] = bind_one(AF_INET6, SOCK_STREAM, v6, err, errlen)) < 0) {
		e = -EADDRNOTAVAIL;
		goto fail;
	}
	if (pipe2(r->wake, O_CLOEXEC | O_NONBLOCK))
		goto nomem;
	e = -pthread_create(&r->thread, NULL, server, r);
	if (e) {
		snprintf(err, errlen, "cannot start the DNS thread: %s", strerror(-e));
		goto fail;
	}
	*out = r;
	return 0;
nomem:
	e = -ENOMEM;
	snprintf(err, errlen, "out of memory");
fail:
	close_fds(r);
	view_put(r->view);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->mu);
	free(r);
	return e;
}

void rn_resolver_stop(struct rn_resolver *r)
{
	if (!r)
		return;
	atomic_store(&r->stopping, true);
	if (write(r->wake[1], "x", 1) < 0)
		log_debug(MAIN, "dns: cannot wake the thread: %s", strerror(errno));
	pthread_join(r->thread, NULL);
	pthread_mutex_lock(&r->mu);
	while (r->workers)
		pthread_cond_wait(&r->idle, &r->mu);
	pthread_mutex_unlock(&r->mu);
	close_fds(r);
	view_put(r->view);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

void rn_resolver_set(struct rn_resolver *r, struct rn_dns_zone *zone,
		     const struct rn_netmap_ip *ups, size_t n_ups, const char *tunnel_if)
{
	struct view *v = calloc(1, sizeof(*v)), *old;

	if (!v) {
		log_error(MAIN, "dns: out of memory: Magic DNS keeps the previous names");
		rn_dns_zone_free(zone);
		return;
	}
	atomic_init(&v->refs, 1);
	v->zone = zone;
	v->n_ups = n_ups < RN_RESOLVER_MAX_UPSTREAMS ? n_ups : RN_RESOLVER_MAX_UPSTREAMS;
	memcpy(v->ups, ups, v->n_ups * sizeof(*ups));
	if (tunnel_if)
		snprintf(v->tunnel_if, sizeof(v->tunnel_if), "%s", tunnel_if);
	pthread_mutex_lock(&r->mu);
	old = r->view;
	r->view = v;
	pthread_mutex_unlock(&r->mu);
	view_put(old);
}

void rn_resolver_stats(struct rn_resolver *r, struct rn_resolver_stats *out)
{
	*out = (struct rn_resolver_stats){
		.queries = atomic_load(&r->queries),
		.zone = atomic_load(&r->zone),
		.forwarded = atomic_load(&r->forwarded),
		.servfail = atomic_load(&r->servfail),
		.dropped = atomic_load(&r->dropped),
		.busy = atomic_load(&r->busy),
		.tcp_evicted = atomic_load(&r->tcp_evicted),
	};
}
