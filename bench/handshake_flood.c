/* SPDX-License-Identifier: MIT */
/*
 * handshake-flood: many WireGuard peers initiating handshakes with one device at once, for
 * bench/handshakes.sh. Every message is made with the data plane's own noise and cookie code;
 * nothing here does crypto of its own.
 *
 *   handshake-flood keys N KEYFILE
 *       N fresh private keys into KEYFILE (raw, 32 bytes each); their public keys on stdout,
 *       base64, one a line (for the device's config).
 *   handshake-flood pool KEYFILE DEVPUB K POOLFILE
 *       K initiations per peer to the device whose public key (base64) is DEVPUB, made ahead so
 *       that the generator spends its CPU time on the device's answers, not on X25519 (the two
 *       share the machine's cores). Their timestamps rise by SPACING_MS per initiation: a
 *       device only requires each to be later than the last it took. Reusable against any
 *       fresh device with that key.
 *   handshake-flood run KEYFILE POOLFILE DEST PORT SRCNET ADDRS SOCKS WARMUP SECONDS VERIFY
 *       Sends the pool's initiations to DEST:PORT (IPv4). Peer p's k-th initiation leaves from
 *       SRCNET + 1 + p + (k % ADDRS) * N (the addresses must be local: a `local` route), on
 *       one of SOCKS sockets (ports 40000...). Each peer has one initiation in flight and sends
 *       its next one SPACING_MS after the previous (the whitepaper's 50 initiations per second
 *       per peer, with a margin): a response or a timeout (TIMEOUT_MS) ends the wait; a cookie
 *       reply is consumed and the same initiation sent again with its mac2, as a real peer does.
 *       Counts over SECONDS after WARMUP; then checks up to VERIFY of the responses with the
 *       initiator's side of the handshake (0: all).
 *
 * run prints `name value` lines: responses, hs_per_s, sent, cookies, timeouts, exhausted
 * (peers that ran out of pool), gen_cpu_pct, verified, verify_failed. Exit status 1 on a
 * response that does not verify or on a setup error.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wg/clock.h"
#include "wg/cookie.h"
#include "wg/crypto.h"
#include "wg/messages.h"
#include "wg/noise.h"

enum {
	SPACING_MS = 25,   /* > 20 ms: the per-peer flood guard, and the timestamps' grain */
	TIMEOUT_MS = 1000, /* unanswered this long: given up (1,000 queued at 1,000 a second) */
	PORT_BASE = 40000,
	MAX_SOCKS = 64,
	BATCH = 64,	   /* datagrams per sendmmsg / recvmmsg */
	MAX_PEERS = 65535, /* the sender index holds the peer in its low 16 bits */
	MAX_K = 65535,
};

struct pool_entry {
	struct rn_message_handshake_initiation msg; /* macs still zero */
	struct rn_noise_handshake hs;		    /* the initiator's state, to check the answer */
};

struct pool_header {
	char magic[8];
	uint32_t n, k;
	uint8_t devpub[32];
};

static const char POOL_MAGIC[8] = "rnhspl1";

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "handshake-flood: %s\n", what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max)
		die("bad number");
	return v;
}

static void key_from_b64(const char *b64, uint8_t out[32])
{
	uint8_t buf[48];

	if (strlen(b64) != 44 || EVP_DecodeBlock(buf, (const unsigned char *)b64, 44) != 33)
		die("bad base64 key");
	memcpy(out, buf, 32);
}

static uint8_t *load_keys(const char *path, unsigned int *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *keys;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) <= 0 || len % 32 ||
	    len / 32 > MAX_PEERS || fseek(f, 0, SEEK_SET))
		die("cannot read the key file");
	keys = malloc((size_t)len);
	if (!keys || fread(keys, 1, (size_t)len, f) != (size_t)len)
		die("cannot read the key file");
	fclose(f);
	*n = (unsigned int)(len / 32);
	return keys;
}

static void identity(struct rn_noise_identity *id, const uint8_t priv[32])
{
	if (!rn_noise_identity_set(id, priv))
		die("unusable private key");
}

static int cmd_keys(unsigned int n, const char *path)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		die("cannot write the key file");
	for (unsigned int i = 0; i < n; i++) {
		struct rn_noise_identity id;
		uint8_t priv[32];
		char b64[64];

		rn_x25519_generate(priv);
		identity(&id, priv);
		if (fwrite(priv, 1, 32, f) != 32)
			die("cannot write the key file");
		EVP_EncodeBlock((unsigned char *)b64, id.static_public, 32);
		printf("%s\n", b64);
	}
	return fclose(f) ? 1 : 0;
}

/* TAI64N of t plus ms milliseconds. */
static void tai64n_add(uint8_t out[12], const uint8_t t[12], uint64_t ms)
{
	uint64_t secs;
	uint32_t nsec;

	memcpy(&secs, t, 8);
	memcpy(&nsec, t + 8, 4);
	secs = be64toh(secs);
	nsec = be32toh(nsec);
	secs += ms / 1000;
	nsec += (uint32_t)(ms % 1000) * 1000000u;
	if (nsec >= 1000000000u) {
		secs++;
		nsec -= 1000000000u;
	}
	secs = htobe64(secs);
	nsec = htobe32(nsec);
	memcpy(out, &secs, 8);
	memcpy(out + 8, &nsec, 4);
}

static int cmd_pool(const char *keyfile, const char *devpub_b64, unsigned int k, const char *out)
{
	struct pool_header h = { .k = k };
	unsigned int n;
	uint8_t *keys = load_keys(keyfile, &n);
	uint8_t base[12];
	FILE *f = fopen(out, "wb");

	if (!f)
		die("cannot write the pool file");
	memcpy(h.magic, POOL_MAGIC, sizeof(h.magic));
	h.n = n;
	key_from_b64(devpub_b64, h.devpub);
	if (fwrite(&h, sizeof(h), 1, f) != 1)
		die("cannot write the pool file");
	rn_noise_tai64n_now(base);
	for (unsigned int p = 0; p < n; p++) {
		struct rn_noise_identity id;
		struct pool_entry e;

		identity(&id, keys + 32 * p);
		rn_noise_handshake_init(&e.hs, &id, h.devpub, NULL);
		for (unsigned int i = 0; i < k; i++) {
			uint8_t eph[32], ts[12];

			rn_x25519_generate(eph);
			tai64n_add(ts, base, (uint64_t)i * SPACING_MS);
			if (!rn_noise_create_initiation_with(&e.hs, &id, i << 16 | p, eph, ts,
							     &e.msg))
				die("making an initiation failed");
			if (fwrite(&e, sizeof(e), 1, f) != 1)
				die("cannot write the pool file");
		}
	}
	free(keys);
	return fclose(f) ? 1 : 0;
}

struct peer_state {
	unsigned int k;	  /* the initiation in flight or next */
	bool waiting;	  /* k is in flight */
	uint64_t sent_ns; /* its latest send */
	uint64_t next_ns; /* the earliest send of the next one */
};

struct run {
	unsigned int n, k, addrs, socks;
	struct pool_entry *pool;
	struct rn_noise_identity *ids;
	struct peer_state *peers;
	struct rn_cookie *cookies; /* one per source address: a cookie is bound to it */
	struct rn_message_handshake_response *resp;
	uint8_t *answered; /* per pool entry */
	int fd[MAX_SOCKS];
	struct sockaddr_in dest;
	uint32_t srcnet; /* host order */
	uint64_t start_ns, end_ns;
	unsigned long responses, sent, cookies_got, timeouts, exhausted;
	/* a pending sendmmsg per socket */
	struct mmsghdr out[MAX_SOCKS][BATCH];
	struct iovec iov[MAX_SOCKS][BATCH];
	struct rn_message_handshake_initiation buf[MAX_SOCKS][BATCH];
	char cmsg[MAX_SOCKS][BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];
	unsigned int n_out[MAX_SOCKS];
};

static unsigned int addr_of(const struct run *r, unsigned int p, unsigned int k)
{
	return p + (k % r->addrs) * r->n;
}

static void flush(struct run *r, unsigned int s)
{
	unsigned int done = 0;

	while (done < r->n_out[s]) {
		int got = sendmmsg(r->fd[s], r->out[s] + done, r->n_out[s] - done, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			/* a full socket buffer drops, as the network would */
			break;
		}
		done += (unsigned int)got;
	}
	r->n_out[s] = 0;
}

static void send_one(struct run *r, unsigned int p, uint64_t now)
{
	struct peer_state *ps = &r->peers[p];
	unsigned int a = addr_of(r, p, ps->k), s, j;
	struct rn_message_handshake_initiation *m;
	struct in_pktinfo *pi;
	struct cmsghdr *c;

	if (!r->socks) /* checked in cmd_run; the analyzer loses track across the calls */
		die("no sockets");
	s = a % r->socks;

	if (r->n_out[s] == BATCH)
		flush(r, s);
	j = r->n_out[s]++;
	m = &r->buf[s][j];
	*m = r->pool[(size_t)p * r->k + ps->k].msg;
	rn_cookie_add_macs(&r->cookies[a], m, sizeof(*m), rn_now_ns());
	r->iov[s][j] = (struct iovec){ .iov_base = m, .iov_len = sizeof(*m) };
	memset(r->cmsg[s][j], 0, sizeof(r->cmsg[s][j]));
	r->out[s][j].msg_hdr = (struct msghdr){
		.msg_name = &r->dest,
		.msg_namelen = sizeof(r->dest),
		.msg_iov = &r->iov[s][j],
		.msg_iovlen = 1,
		.msg_control = r->cmsg[s][j],
		.msg_controllen = sizeof(r->cmsg[s][j]),
	};
	c = CMSG_FIRSTHDR(&r->out[s][j].msg_hdr);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(*pi));
	pi = (struct in_pktinfo *)CMSG_DATA(c);
	pi->ipi_spec_dst.s_addr = htonl(r->srcnet + 1 + a);
	ps->waiting = true;
	ps->sent_ns = now;
	if (now >= r->start_ns && now < r->end_ns)
		r->sent++;
}

/* The pool entry a message's receiver index names, or NULL. */
static struct pool_entry *entry_of(struct run *r, uint32_t index_le, unsigned int *p,
				   unsigned int *k)
{
	uint32_t idx = le32toh(index_le);

	*p = idx & 0xffff;
	*k = idx >> 16;
	return *p < r->n && *k < r->k ? &r->pool[(size_t)*p * r->k + *k] : NULL;
}

static void handle(struct run *r, const uint8_t *data, size_t len, uint64_t now)
{
	unsigned int p, k;
	uint32_t type;

	if (len < 8)
		return;
	memcpy(&type, data, 4);
	type = le32toh(type);
	if (type == RN_MESSAGE_HANDSHAKE_RESPONSE && len == RN_MESSAGE_RESPONSE_LEN) {
		const struct rn_message_handshake_response *m = (const void *)data;
		size_t e;

		if (!entry_of(r, m->receiver_index, &p, &k))
			return;
		e = (size_t)p * r->k + k;
		if (r->answered[e])
			return;
		r->answered[e] = 1;
		r->resp[e] = *m;
		if (now >= r->start_ns && now < r->end_ns)
			r->responses++;
		if (r->peers[p].waiting && r->peers[p].k == k) {
			r->peers[p].waiting = false;
			r->peers[p].k++;
			r->peers[p].next_ns = r->peers[p].sent_ns + SPACING_MS * 1000000ull;
		}
	} else if (type == RN_MESSAGE_HANDSHAKE_COOKIE && len == RN_MESSAGE_COOKIE_LEN) {
		const struct rn_message_handshake_cookie *m = (const void *)data;

		if (!entry_of(r, m->receiver_index, &p, &k) || !r->peers[p].waiting ||
		    r->peers[p].k != k)
			return;
		if (!rn_cookie_reply_consume(&r->cookies[addr_of(r, p, k)], m, rn_now_ns()))
			return;
		if (now >= r->start_ns && now < r->end_ns)
			r->cookies_got++;
		/* the device refused it before taking it: the same one again, with mac2 */
		r->peers[p].waiting = false;
		r->peers[p].next_ns = now;
	}
}

static void receive_all(struct run *r, uint64_t now)
{
	static uint8_t bufs[BATCH][256];
	struct mmsghdr in[BATCH];
	struct iovec iov[BATCH];

	for (unsigned int s = 0; s < r->socks; s++) {
		int got;

		do {
			for (unsigned int i = 0; i < BATCH; i++) {
				iov[i] = (struct iovec){ .iov_base = bufs[i],
							 .iov_len = sizeof(bufs[i]) };
				in[i].msg_hdr =
				    (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
			}
			got = recvmmsg(r->fd[s], in, BATCH, MSG_DONTWAIT, NULL);
			for (int i = 0; i < got; i++)
				handle(r, bufs[i], in[i].msg_len, now);
		} while (got == BATCH);
	}
}

static void setup_sockets(struct run *r)
{
	for (unsigned int s = 0; s < r->socks; s++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT_BASE + s) };
		int one = 1, size = 4 << 20;

		r->fd[s] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (r->fd[s] < 0 || setsockopt(r->fd[s], SOL_IP, IP_FREEBIND, &one, sizeof(one)) ||
		    bind(r->fd[s], (struct sockaddr *)&a, sizeof(a)))
			die("socket setup failed");
		/* best effort: root may go past rmem_max */
		if (setsockopt(r->fd[s], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
			setsockopt(r->fd[s], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		if (setsockopt(r->fd[s], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
			setsockopt(r->fd[s], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
}

static void *load_pool(const char *path, struct pool_header *h)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	void *pool;

	if (!f || fread(h, sizeof(*h), 1, f) != 1 || memcmp(h->magic, POOL_MAGIC, 8) || !h->n ||
	    h->n > MAX_PEERS || !h->k || h->k > MAX_K)
		die("not a pool file");
	n = (size_t)h->n * h->k;
	pool = calloc(n, sizeof(struct pool_entry));
	if (!pool || fread(pool, sizeof(struct pool_entry), n, f) != n)
		die("short pool file");
	fclose(f);
	return pool;
}

static double cpu_s(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
	       (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

/* Checks the stored responses with each initiator's state; returns the failures. */
static unsigned long verify(struct run *r, unsigned long max, unsigned long *checked)
{
	unsigned long failed = 0;
	size_t total = (size_t)r->n * r->k;

	*checked = 0;
	/* spread over peers: entry k of every peer, then k + 1 */
	for (size_t i = 0; i < total && (!max || *checked < max); i++) {
		size_t e = (i % r->n) * r->k + i / r->n;
		struct rn_noise_handshake hs;

		if (!r->answered[e])
			continue;
		hs = r->pool[e].hs;
		if (!rn_noise_consume_response(&hs, &r->ids[e / r->k], &r->resp[e]))
			failed++;
		(*checked)++;
	}
	return failed;
}

static int cmd_run(char **argv)
{
	static struct run r;
	struct pool_header h;
	unsigned int n;
	uint8_t *keys = load_keys(argv[0], &n);
	struct in_addr net;
	unsigned long warmup_ms, seconds, vmax, checked, failed;
	double cpu0 = 0, cpu1 = 0;
	bool started = false;

	r.pool = load_pool(argv[1], &h);
	if (h.n != n)
		die("the pool is for another key file");
	r.n = n;
	r.k = h.k;
	r.dest.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[2], &r.dest.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[4], &net) != 1)
		die("bad address");
	r.dest.sin_port = htons((uint16_t)num(argv[3], 65535));
	r.srcnet = ntohl(net.s_addr);
	r.addrs = (unsigned int)num(argv[5], 64);
	r.socks = (unsigned int)num(argv[6], MAX_SOCKS);
	warmup_ms = num(argv[7], 600000);
	seconds = num(argv[8], 3600);
	vmax = num(argv[9], ~0ul);
	if (!r.addrs || !r.socks || !seconds)
		die("ADDRS, SOCKS and SECONDS are at least 1");
	r.ids = calloc(n, sizeof(*r.ids));
	r.peers = calloc(n, sizeof(*r.peers));
	r.cookies = calloc((size_t)n * r.addrs, sizeof(*r.cookies));
	r.resp = calloc((size_t)n * r.k, sizeof(*r.resp));
	r.answered = calloc((size_t)n * r.k, 1);
	if (!r.ids || !r.peers || !r.cookies || !r.resp || !r.answered)
		die("out of memory");
	for (unsigned int p = 0; p < n; p++)
		identity(&r.ids[p], keys + 32 * p);
	for (size_t a = 0; a < (size_t)n * r.addrs; a++)
		rn_cookie_init(&r.cookies[a], h.devpub);
	rn_wipe(keys, (size_t)n * 32);
	free(keys);
	setup_sockets(&r);

	r.start_ns = now_ns() + warmup_ms * 1000000ull;
	r.end_ns = r.start_ns + seconds * 1000000000ull;
	for (;;) {
		uint64_t now = now_ns();
		struct pollfd pfd[MAX_SOCKS];

		if (!started && now >= r.start_ns) {
			cpu0 = cpu_s();
			started = true;
		}
		if (now >= r.end_ns)
			break;
		for (unsigned int p = 0; p < n; p++) {
			struct peer_state *ps = &r.peers[p];

			if (ps->waiting && now - ps->sent_ns >= TIMEOUT_MS * 1000000ull) {
				if (now >= r.start_ns)
					r.timeouts++;
				ps->waiting = false;
				ps->k++;
				ps->next_ns = ps->sent_ns + SPACING_MS * 1000000ull;
			}
			if (ps->waiting || now < ps->next_ns || ps->k >= r.k)
				continue;
			send_one(&r, p, now);
		}
		for (unsigned int s = 0; s < r.socks; s++) {
			flush(&r, s);
			pfd[s] = (struct pollfd){ .fd = r.fd[s], .events = POLLIN };
		}
		if (poll(pfd, r.socks, 1) > 0)
			receive_all(&r, now_ns());
	}
	cpu1 = cpu_s();
	for (unsigned int p = 0; p < n; p++)
		r.exhausted += r.peers[p].k >= r.k;
	printf("responses %lu\n", r.responses);
	printf("hs_per_s %.0f\n", (double)r.responses / (double)seconds);
	printf("sent %lu\n", r.sent);
	printf("cookies %lu\n", r.cookies_got);
	printf("timeouts %lu\n", r.timeouts);
	printf("exhausted %lu\n", r.exhausted);
	printf("gen_cpu_pct %.0f\n", 100 * (cpu1 - cpu0) / (double)seconds);
	fflush(stdout);
	failed = verify(&r, vmax, &checked);
	printf("verified %lu\n", checked - failed);
	printf("verify_failed %lu\n", failed);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (rn_crypto_init())
		die("crypto init failed");
	if (argc == 4 && !strcmp(argv[1], "keys"))
		return cmd_keys((unsigned int)num(argv[2], MAX_PEERS), argv[3]);
	if (argc == 6 && !strcmp(argv[1], "pool"))
		return cmd_pool(argv[2], argv[3], (unsigned int)num(argv[4], MAX_K), argv[5]);
	if (argc == 12 && !strcmp(argv[1], "run"))
		return cmd_run(argv + 2);
	fprintf(stderr, "usage: handshake-flood keys N KEYFILE\n"
			"       handshake-flood pool KEYFILE DEVPUB K POOLFILE\n"
			"       handshake-flood run KEYFILE POOLFILE DEST PORT SRCNET ADDRS SOCKS "
			"WARMUP SECONDS VERIFY\n");
	return 2;
}
