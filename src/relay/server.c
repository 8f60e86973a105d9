/* SPDX-License-Identifier: MIT */
/*
 * The relay server (server.h): setup, the node tables, UDP registration and forwarding, the
 * limits, the timers and the counters. TLS connections are in server_tls.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/log.h"
#include "common/util.h"
#include "relay/server_priv.h"

static const char *const drop_names[RN_RELAY_DROP_COUNT] = {
	[RN_RELAY_DROP_MALFORMED] = "malformed",
	[RN_RELAY_DROP_BAD_CRED] = "bad_cred",
	[RN_RELAY_DROP_EXPIRED] = "expired_cred",
	[RN_RELAY_DROP_BAD_COOKIE] = "bad_cookie",
	[RN_RELAY_DROP_UNREGISTERED] = "unregistered_src",
	[RN_RELAY_DROP_UNKNOWN_DST] = "unknown_dst",
	[RN_RELAY_DROP_RATE_SRC] = "rate_src",
	[RN_RELAY_DROP_RATE_NODE] = "rate_node",
	[RN_RELAY_DROP_QUEUE_FULL] = "queue_full",
	[RN_RELAY_DROP_TABLE_FULL] = "table_full",
	[RN_RELAY_DROP_CONN_LIMIT] = "conn_limit",
	[RN_RELAY_DROP_TLS_FAILED] = "tls_failed",
	[RN_RELAY_DROP_STALLED] = "stalled",
	[RN_RELAY_DROP_SEND_ERROR] = "send_error",
};

const char *rn_relay_drop_name(enum rn_relay_drop reason)
{
	return reason < RN_RELAY_DROP_COUNT ? drop_names[reason] : "?";
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool rn_relay_bucket_take(struct rn_relay_bucket *b, uint64_t rate, uint64_t burst, uint64_t n,
			  uint64_t now_ms)
{
	if (!b->last_ms) {
		b->tokens = (double)burst;
	} else if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * (double)rate / 1000.0;
		if (b->tokens > (double)burst)
			b->tokens = (double)burst;
	}
	b->last_ms = now_ms ? now_ms : 1;
	if (b->tokens < (double)n)
		return false;
	b->tokens -= (double)n;
	return true;
}

/* ------------------------------------------------------------------ addresses */

static int listen_socket(struct rn_relay_server *srv, const char *what, const char *spec, int type,
			 uint16_t *port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;
	struct epoll_event ev = { .events = EPOLLIN };

	if (!rn_relay_addr_parse(spec, &ss, &len))
		return rn_errf(err, errlen, -EINVAL,
			       "--%s \"%s\": expected ADDR:PORT or [ADDR]:PORT with a numeric "
			       "address (0.0.0.0:443, [::]:3478)",
			       what, spec);
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rn_errf(err, errlen, -errno, "%s socket: %s", what, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) {
		/* [::] serves IPv4 too (as mapped addresses); a specific address only itself */
		int v6only = !IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 512) < 0)) {
		int e = errno;

		close(fd);
		return rn_errf(
		    err, errlen, -e, "cannot listen on %s \"%s\": %s%s", what, spec, strerror(e),
		    e == EADDRINUSE ? " (another process has this port)"
		    : e == EACCES   ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
				    : "");
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	ev.data.u64 = type == SOCK_DGRAM ? RN_RELAY_EPOLL_UDP : RN_RELAY_EPOLL_TCP;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return rn_errf(err, errlen, -errno, "epoll: %s", strerror(errno));
	}
	return fd;
}

/* The address as the limiter and the address table see it (IPv4-mapped counts as IPv4). */
static void src_key(const struct sockaddr_storage *ss, uint8_t key[RN_RELAY_SRC_KEY_LEN])
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	memset(key, 0, RN_RELAY_SRC_KEY_LEN);
	key[0] = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET) {
		memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		key[0] = AF_INET;
		memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(key + 1, s6->sin6_addr.s6_addr, 8);
	}
}

/* Address and port, the bytes a cookie and the address table depend on. */
static size_t addr_bytes(const struct sockaddr_storage *ss, uint8_t out[19])
{
	out[0] = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		memcpy(out + 1, &s4->sin_addr, 4);
		memcpy(out + 5, &s4->sin_port, 2);
		return 7;
	}
	memcpy(out + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	memcpy(out + 17, &((const struct sockaddr_in6 *)ss)->sin6_port, 2);
	return 19;
}

static uint32_t hash_bytes(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h ^ (h >> 15);
}

static bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	uint8_t x[19], y[19];
	size_t n = addr_bytes(a, x);

	return n == addr_bytes(b, y) && !memcmp(x, y, n);
}

/* ------------------------------------------------------------------ nodes */

static unsigned key_slot(const uint8_t key[RN_RELAY_KEY_LEN])
{
	/* keys are public keys the control server vouched for: not chosen to collide */
	return (unsigned)(key[0] | key[1] << 8) % RN_RELAY_NODE_BUCKETS;
}

static unsigned addr_slot(const struct rn_relay_server *srv, const struct sockaddr_storage *ss)
{
	uint8_t b[19];

	return hash_bytes(srv->seed, b, addr_bytes(ss, b)) % RN_RELAY_NODE_BUCKETS;
}

struct rn_relay_node *rn_relay_node_get(struct rn_relay_server *srv,
					const uint8_t key[RN_RELAY_KEY_LEN], bool create)
{
	unsigned slot = key_slot(key);
	struct rn_relay_node *n;

	for (n = srv->by_key[slot]; n; n = n->next_key)
		if (!memcmp(n->key, key, RN_RELAY_KEY_LEN))
			return n;
	if (!create)
		return NULL;
	if (srv->stats.nodes >= srv->cfg.max_nodes) {
		srv->stats.drops[RN_RELAY_DROP_TABLE_FULL]++;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	memcpy(n->key, key, RN_RELAY_KEY_LEN);
	n->next_key = srv->by_key[slot];
	srv->by_key[slot] = n;
	srv->stats.nodes++;
	return n;
}

static struct rn_relay_node *node_by_addr(struct rn_relay_server *srv,
					  const struct sockaddr_storage *ss)
{
	struct rn_relay_node *n;

	for (n = srv->by_addr[addr_slot(srv, ss)]; n; n = n->next_addr)
		if (n->udp_expires_ms > srv->now_ms && addr_equal(&n->addr, ss))
			return n;
	return NULL;
}

static void node_udp_forget(struct rn_relay_server *srv, struct rn_relay_node *n)
{
	struct rn_relay_node **pp;

	if (!n->udp_expires_ms)
		return;
	for (pp = &srv->by_addr[addr_slot(srv, &n->addr)]; *pp; pp = &(*pp)->next_addr) {
		if (*pp == n) {
			*pp = n->next_addr;
			break;
		}
	}
	n->next_addr = NULL;
	n->udp_expires_ms = 0;
}

void rn_relay_node_put(struct rn_relay_server *srv, struct rn_relay_node *n)
{
	struct rn_relay_node **pp;

	if (n->udp_expires_ms || n->conn)
		return;
	for (pp = &srv->by_key[key_slot(n->key)]; *pp; pp = &(*pp)->next_key) {
		if (*pp == n) {
			*pp = n->next_key;
			break;
		}
	}
	free(n);
	srv->stats.nodes--;
}

bool rn_relay_cred_check(struct rn_relay_server *srv, const struct rn_relay_cred *cred)
{
	uint64_t now = (uint64_t)time(NULL);

	if (!rn_relay_credential_verify(srv->secret, cred, 0)) {
		srv->stats.drops[RN_RELAY_DROP_BAD_CRED]++;
		return false;
	}
	if (cred->expiry <= now) {
		srv->stats.drops[RN_RELAY_DROP_EXPIRED]++;
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ UDP */

static void cookie_make(const struct rn_relay_server *srv, const struct sockaddr_storage *ss,
			uint64_t bucket, uint8_t out[RN_RELAY_COOKIE_LEN])
{
	uint8_t msg[19 + 8], mac[EVP_MAX_MD_SIZE];
	size_t n = addr_bytes(ss, msg);
	unsigned int len = 0;

	memcpy(msg + n, &bucket, 8);
	if (!HMAC(EVP_sha256(), srv->cookie_key, sizeof(srv->cookie_key), msg, n + 8, mac, &len))
		memset(mac, 0xff, sizeof(mac)); /* matches no cookie a node holds */
	memcpy(out, mac, RN_RELAY_COOKIE_LEN);
}

static bool cookie_ok(const struct rn_relay_server *srv, const struct sockaddr_storage *ss,
		      const uint8_t cookie[RN_RELAY_COOKIE_LEN])
{
	uint64_t bucket = srv->now_ms / 1000 / RN_RELAY_COOKIE_BUCKET_S;
	uint8_t want[RN_RELAY_COOKIE_LEN];

	for (int i = 0; i < 2; i++) {
		cookie_make(srv, ss, bucket - (uint64_t)i, want);
		if (!CRYPTO_memcmp(want, cookie, RN_RELAY_COOKIE_LEN))
			return true;
	}
	return false;
}

static void udp_reply(struct rn_relay_server *srv, const struct sockaddr_storage *ss, socklen_t len,
		      const struct rn_relay_msg *msg)
{
	uint8_t out[RN_RELAY_REGISTER_LEN];
	size_t n = rn_relay_msg_encode(msg, out, sizeof(out));

	if (n && sendto(srv->udp_fd, out, n, MSG_DONTWAIT, (const struct sockaddr *)ss, len) < 0)
		srv->stats.drops[RN_RELAY_DROP_SEND_ERROR]++;
}

struct rn_relay_msg rn_relay_registered(unsigned lifetime_ms)
{
	unsigned refresh = lifetime_ms / 3000;

	return (struct rn_relay_msg){
		.type = RN_RELAY_REGISTERED,
		.refresh_s = refresh < 1		    ? 1
			     : refresh > RN_RELAY_REFRESH_S ? RN_RELAY_REFRESH_S
							    : refresh,
		.lifetime_s = (lifetime_ms + 999) / 1000,
	};
}

static void udp_register(struct rn_relay_server *srv, const struct sockaddr_storage *ss,
			 socklen_t sslen, struct rn_relay_node *from, const struct rn_relay_msg *m)
{
	static const uint8_t zero[RN_RELAY_COOKIE_LEN];
	struct rn_relay_msg reply = { .type = RN_RELAY_COOKIE };
	struct rn_relay_node *n;

	if (!rn_relay_cred_check(srv, &m->cred))
		return;
	/* an address already registered to this key needs no new proof */
	if (!(from && !memcmp(from->key, m->cred.key, RN_RELAY_KEY_LEN)) &&
	    !cookie_ok(srv, ss, m->cookie)) {
		if (memcmp(m->cookie, zero, sizeof(zero)))
			srv->stats.drops[RN_RELAY_DROP_BAD_COOKIE]++;
		cookie_make(srv, ss, srv->now_ms / 1000 / RN_RELAY_COOKIE_BUCKET_S, reply.cookie);
		udp_reply(srv, ss, sslen, &reply); /* 20 bytes for 92: no amplification */
		srv->stats.cookies_sent++;
		return;
	}
	n = rn_relay_node_get(srv, m->cred.key, true);
	if (!n)
		return;
	if (from && from != n) /* the address moved to another node (NAT reuse) */
		node_udp_forget(srv, from);
	if (n->udp_expires_ms && !addr_equal(&n->addr, ss))
		node_udp_forget(srv, n);
	if (!n->udp_expires_ms) {
		unsigned slot;

		memcpy(&n->addr, ss, sizeof(*ss));
		n->addrlen = sslen;
		slot = addr_slot(srv, ss);
		n->next_addr = srv->by_addr[slot];
		srv->by_addr[slot] = n;
		log_debug(MAIN, "relay: node registered over UDP");
	}
	n->udp_expires_ms = srv->now_ms + srv->cfg.udp_lifetime_ms;
	n->cred_expiry = m->cred.expiry;
	n->last_tls = false;
	srv->stats.registrations++;
	reply = rn_relay_registered(srv->cfg.udp_lifetime_ms);
	udp_reply(srv, ss, sslen, &reply);
}

void rn_relay_forward(struct rn_relay_server *srv, struct rn_relay_node *src, uint8_t *buf,
		      size_t len)
{
	struct rn_relay_node *dst;

	if (!rn_relay_bucket_take(&src->pkts, srv->cfg.node_packets_per_s,
				  srv->cfg.node_packets_per_s, 1, srv->now_ms) ||
	    !rn_relay_bucket_take(&src->bytes, srv->cfg.node_bytes_per_s, srv->cfg.node_bytes_per_s,
				  len, srv->now_ms)) {
		srv->stats.drops[RN_RELAY_DROP_RATE_NODE]++;
		return;
	}
	dst = rn_relay_node_get(srv, buf + RN_RELAY_HDR_LEN, false);
	if (dst && dst->udp_expires_ms <= srv->now_ms && !dst->conn)
		dst = NULL;
	if (!dst) {
		srv->stats.drops[RN_RELAY_DROP_UNKNOWN_DST]++;
		return;
	}
	/* SEND (dst) becomes RECV (src) in place: the same length, the sender's registered key */
	rn_relay_data_hdr(buf, RN_RELAY_RECV, src->key);
	if (dst->conn && (dst->last_tls || dst->udp_expires_ms <= srv->now_ms)) {
		int ret = rn_relay_tls_deliver(srv, dst->conn, buf, len);

		if (ret) {
			srv->stats.drops[ret == -ENOBUFS ? RN_RELAY_DROP_QUEUE_FULL
							 : RN_RELAY_DROP_SEND_ERROR]++;
			return;
		}
		srv->stats.fwd_tls_packets++;
	} else {
		if (sendto(srv->udp_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&dst->addr,
			   dst->addrlen) < 0) {
			srv->stats.drops[RN_RELAY_DROP_SEND_ERROR]++;
			return;
		}
		srv->stats.fwd_udp_packets++;
	}
	srv->stats.fwd_packets++;
	srv->stats.fwd_bytes += len - RN_RELAY_DATA_HDR_LEN;
}

unsigned rn_relay_src_slot(const struct rn_relay_server *srv, const struct sockaddr_storage *ss)
{
	uint8_t key[RN_RELAY_SRC_KEY_LEN];

	src_key(ss, key);
	return hash_bytes(srv->seed ^ 0x9e3779b9u, key, sizeof(key)) % RN_RELAY_SRC_SLOTS;
}

static bool src_allow(struct rn_relay_server *srv, const struct sockaddr_storage *ss)
{
	uint8_t key[RN_RELAY_SRC_KEY_LEN];
	struct rn_relay_src_slot *s;

	if (!rn_relay_bucket_take(&srv->unverified, RN_RELAY_UNVERIFIED_PPS,
				  RN_RELAY_UNVERIFIED_PPS, 1, srv->now_ms))
		return false;
	src_key(ss, key);
	/* one slot per hash: a flood of addresses evicts, it does not grow memory */
	s = &srv->src[rn_relay_src_slot(srv, ss)];
	if (memcmp(s->key, key, sizeof(key))) {
		memcpy(s->key, key, sizeof(key));
		memset(&s->b, 0, sizeof(s->b));
	}
	return rn_relay_bucket_take(&s->b, srv->cfg.src_packets_per_s,
				    2 * srv->cfg.src_packets_per_s, 1, srv->now_ms);
}

static void udp_one(struct rn_relay_server *srv, const struct sockaddr_storage *ss, socklen_t sslen,
		    size_t len)
{
	struct rn_relay_node *from = node_by_addr(srv, ss);
	struct rn_relay_msg m;

	srv->stats.udp_rx_packets++;
	srv->stats.udp_rx_bytes += len;
	if (!from && !src_allow(srv, ss)) {
		srv->stats.drops[RN_RELAY_DROP_RATE_SRC]++;
		return;
	}
	if (len > RN_RELAY_MSG_MAX || !rn_relay_msg_decode(srv->buf, len, &m)) {
		srv->stats.drops[RN_RELAY_DROP_MALFORMED]++;
		return;
	}
	if (m.type == RN_RELAY_REGISTER) {
		udp_register(srv, ss, sslen, from, &m);
	} else if (m.type != RN_RELAY_SEND) {
		srv->stats.drops[RN_RELAY_DROP_MALFORMED]++;
	} else if (!from) {
		srv->stats.drops[RN_RELAY_DROP_UNREGISTERED]++;
	} else {
		rn_relay_forward(srv, from, srv->buf, len);
	}
}

void rn_relay_udp_input(struct rn_relay_server *srv, const struct sockaddr_storage *ss,
			socklen_t sslen, const uint8_t *buf, size_t len)
{
	if (len > sizeof(srv->buf))
		len = sizeof(srv->buf);
	memcpy(srv->buf, buf, len);
	srv->now_ms = mono_ms();
	udp_one(srv, ss, sslen, len);
}

static void udp_read(struct rn_relay_server *srv)
{
	/* bounded, so that one busy socket does not starve the TLS connections */
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage ss = { 0 };
		socklen_t sslen = sizeof(ss);
		ssize_t n = recvfrom(srv->udp_fd, srv->buf, sizeof(srv->buf), MSG_DONTWAIT,
				     (struct sockaddr *)&ss, &sslen);

		if (n < 0)
			return;
		if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
			continue;
		udp_one(srv, &ss, sslen, (size_t)n);
	}
}

/* ------------------------------------------------------------------ timers, counters */

int rn_relay_server_stats_json(const struct rn_relay_server *srv, char *buf, size_t len)
{
	const struct rn_relay_stats *s = &srv->stats;
	size_t off;
	int n;

	n = snprintf(buf, len,
		     "{\"udp_rx_packets\":%" PRIu64 ",\"udp_rx_bytes\":%" PRIu64
		     ",\"tls_rx_frames\":%" PRIu64 ",\"tls_rx_bytes\":%" PRIu64
		     ",\"fwd_packets\":%" PRIu64 ",\"fwd_bytes\":%" PRIu64
		     ",\"fwd_udp_packets\":%" PRIu64 ",\"fwd_tls_packets\":%" PRIu64
		     ",\"cookies_sent\":%" PRIu64 ",\"registrations\":%" PRIu64
		     ",\"tls_accepted\":%" PRIu64 ",\"nodes\":%" PRIu64 ",\"tls_conns\":%" PRIu64
		     ",\"drops\":{",
		     s->udp_rx_packets, s->udp_rx_bytes, s->tls_rx_frames, s->tls_rx_bytes,
		     s->fwd_packets, s->fwd_bytes, s->fwd_udp_packets, s->fwd_tls_packets,
		     s->cookies_sent, s->registrations, s->tls_accepted, s->nodes, s->tls_conns);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	off = (size_t)n;
	for (int i = 0; i < RN_RELAY_DROP_COUNT; i++) {
		n = snprintf(buf + off, len - off, "%s\"%s\":%" PRIu64, i ? "," : "", drop_names[i],
			     s->drops[i]);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	n = snprintf(buf + off, len - off, "}}\n");
	if (n < 0 || (size_t)n >= len - off)
		return -ENOSPC;
	return (int)(off + (size_t)n);
}

static void stats_write(struct rn_relay_server *srv)
{
	char json[2048], tmp[4096];
	int n = rn_relay_server_stats_json(srv, json, sizeof(json)), fd;

	if (n < 0 || snprintf(tmp, sizeof(tmp), "%s.tmp", srv->cfg.stats_file) >= (int)sizeof(tmp))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_debug(MAIN, "relay: stats file \"%s\": %s", tmp, strerror(errno));
		return;
	}
	if (rn_write_all(fd, json, (size_t)n) == 0 && close(fd) == 0) {
		if (rename(tmp, srv->cfg.stats_file) < 0)
			log_debug(MAIN, "relay: stats file: %s", strerror(errno));
		return;
	}
	unlink(tmp);
}

static void nodes_expire(struct rn_relay_server *srv)
{
	uint64_t now = (uint64_t)time(NULL);

	for (unsigned i = 0; i < RN_RELAY_NODE_BUCKETS; i++) {
		struct rn_relay_node *n = srv->by_key[i], *next;

		for (; n; n = next) {
			next = n->next_key;
			if (n->udp_expires_ms && n->udp_expires_ms <= srv->now_ms)
				node_udp_forget(srv, n);
			if (n->cred_expiry <= now) {
				node_udp_forget(srv, n);
				if (n->conn) {
					struct rn_relay_conn *c = n->conn;

					n->conn = NULL;
					c->node = NULL; /* so that killing it leaves n to us */
					rn_relay_tls_kill(srv, c);
				}
			}
			rn_relay_node_put(srv, n);
		}
	}
}

static void tick(struct rn_relay_server *srv)
{
	if (srv->now_ms < srv->next_tick_ms)
		return;
	srv->next_tick_ms = srv->now_ms + 1000;
	nodes_expire(srv);
	rn_relay_tls_timers(srv);
	if (srv->cfg.stats_file)
		stats_write(srv);
}

int rn_relay_server_step(struct rn_relay_server *srv, int timeout_ms)
{
	struct epoll_event ev[64];
	int n;

	srv->now_ms = mono_ms();
	if (srv->ready)
		timeout_ms = 0;
	if (srv->next_tick_ms > srv->now_ms &&
	    (timeout_ms < 0 || timeout_ms > (int)(srv->next_tick_ms - srv->now_ms)))
		timeout_ms = (int)(srv->next_tick_ms - srv->now_ms);
	n = epoll_wait(srv->epfd, ev, 64, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	srv->now_ms = mono_ms();
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == RN_RELAY_EPOLL_UDP)
			udp_read(srv);
		else if (ev[i].data.u64 == RN_RELAY_EPOLL_TCP)
			rn_relay_tls_accept(srv);
		else
			rn_relay_tls_event(srv, ev[i].data.ptr, ev[i].events);
	}
	rn_relay_tls_ready(srv);
	rn_relay_tls_reap(srv);
	tick(srv);
	rn_relay_tls_reap(srv);
	return 0;
}

/* ------------------------------------------------------------------ lifetime */

struct rn_relay_server *rn_relay_server_new(const struct rn_relay_server_config *cfg, char *err,
					    size_t errlen)
{
	struct rn_relay_server *srv = calloc(1, sizeof(*srv));
	int fd;

	if (!srv) {
		rn_errf(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	srv->udp_fd = srv->tcp_fd = srv->epfd = -1;
	if (!cfg->secret) {
		rn_errf(err, errlen, -EINVAL, "no relay secret given");
		goto fail;
	}
	srv->cfg = *cfg;
	srv->cfg.secret = NULL;
	if (!srv->cfg.max_nodes)
		srv->cfg.max_nodes = 65536;
	if (!srv->cfg.max_conns)
		srv->cfg.max_conns = 4096;
	if (!srv->cfg.max_handshakes)
		srv->cfg.max_handshakes = 256;
	if (!srv->cfg.node_bytes_per_s)
		srv->cfg.node_bytes_per_s = 25u * 1000 * 1000;
	if (!srv->cfg.node_packets_per_s)
		srv->cfg.node_packets_per_s = 25000;
	if (!srv->cfg.src_packets_per_s)
		srv->cfg.src_packets_per_s = 20;
	if (!srv->cfg.handshake_ms)
		srv->cfg.handshake_ms = RN_RELAY_HANDSHAKE_S * 1000;
	if (!srv->cfg.idle_ms)
		srv->cfg.idle_ms = RN_RELAY_IDLE_S * 1000;
	if (!srv->cfg.udp_lifetime_ms)
		srv->cfg.udp_lifetime_ms = RN_RELAY_UDP_LIFETIME_S * 1000;
	if (!srv->cfg.stall_ms)
		srv->cfg.stall_ms = RN_RELAY_STALL_S * 1000;
	if (!srv->cfg.conn_queue_bytes)
		srv->cfg.conn_queue_bytes = 256 * 1024;
	if (srv->cfg.conn_queue_bytes < 2 * (RN_RELAY_FRAME_HDR_LEN + RN_RELAY_MSG_MAX))
		srv->cfg.conn_queue_bytes = 2 * (RN_RELAY_FRAME_HDR_LEN + RN_RELAY_MSG_MAX);
	memcpy(srv->secret, cfg->secret, RN_RELAY_SECRET_LEN);
	srv->src = calloc(RN_RELAY_SRC_SLOTS, sizeof(*srv->src));
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!srv->src || srv->epfd < 0) {
		rn_errf(err, errlen, -ENOMEM, "out of memory or epoll: %s", strerror(errno));
		goto fail;
	}
	if (RAND_priv_bytes(srv->cookie_key, sizeof(srv->cookie_key)) != 1 ||
	    RAND_bytes((unsigned char *)&srv->seed, sizeof(srv->seed)) != 1) {
		rn_errf(err, errlen, -EIO, "no randomness from libcrypto");
		goto fail;
	}
	if (!cfg->udp_listen && !cfg->tls_listen) {
		rn_errf(err, errlen, -EINVAL, "nothing to serve: give --udp, --tls or both");
		goto fail;
	}
	if (cfg->udp_listen) {
		fd = listen_socket(srv, "udp", cfg->udp_listen, SOCK_DGRAM, &srv->udp_port, err,
				   errlen);
		if (fd < 0)
			goto fail;
		srv->udp_fd = fd;
	}
	if (cfg->tls_listen) {
		if (rn_relay_tls_setup(srv, err, errlen))
			goto fail;
		fd = listen_socket(srv, "tls", cfg->tls_listen, SOCK_STREAM, &srv->tls_port, err,
				   errlen);
		if (fd < 0)
			goto fail;
		srv->tcp_fd = fd;
	}
	srv->now_ms = mono_ms();
	return srv;
fail:
	rn_relay_server_free(srv);
	return NULL;
}

void rn_relay_server_free(struct rn_relay_server *srv)
{
	if (!srv)
		return;
	rn_relay_tls_free_all(srv);
	for (unsigned i = 0; i < RN_RELAY_NODE_BUCKETS; i++) {
		struct rn_relay_node *n = srv->by_key[i], *next;

		for (; n; n = next) {
			next = n->next_key;
			free(n);
		}
	}
	if (srv->udp_fd >= 0)
		close(srv->udp_fd);
	if (srv->tcp_fd >= 0)
		close(srv->tcp_fd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	SSL_CTX_free(srv->ssl_ctx);
	free(srv->src);
	OPENSSL_cleanse(srv, sizeof(*srv));
	free(srv);
}

int rn_relay_server_fd(const struct rn_relay_server *srv)
{
	return srv->epfd;
}

uint16_t rn_relay_server_udp_port(const struct rn_relay_server *srv)
{
	return srv->udp_port;
}

uint16_t rn_relay_server_tls_port(const struct rn_relay_server *srv)
{
	return srv->tls_port;
}

void rn_relay_server_stats(const struct rn_relay_server *srv, struct rn_relay_stats *out)
{
	*out = srv->stats;
}
