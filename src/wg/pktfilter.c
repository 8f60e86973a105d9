/* SPDX-License-Identifier: MIT */
/*
 * The packet filter's data-plane half: reading a packet's 5-tuple without ever reading past
 * it, the flow table of connections this node opened, and the verdict that combines them with
 * the compiled rules. See pktfilter.h for the contract and the locking.
 *
 * Fragments. Only a packet's first fragment carries its ports, so a later fragment is handed
 * to the rules with protocol RN_PKT_PROTO_NONE: an any-protocol, every-port rule admits it and
 * nothing else does, not even the flow table (admitting those would need per-datagram state on
 * the receive path; a reply that big is rare inside a 1420-byte tunnel MTU, and dropping it is
 * the safe side).
 *
 * ICMP errors. An error (unreachable, packet too big, time exceeded, parameter problem), a
 * redirect or a source quench quotes a packet, and the kernel acts on the connection that
 * packet belongs to. Crypto-key routing sent every packet to the quoted destination to one
 * peer, the one whose allowed IPs hold it, so only that peer can have seen it: a message
 * quoting it from any other peer is a forgery (a fake "packet too big" or "unreachable" to
 * degrade or kill this node's connection with someone else), and is dropped whatever the
 * rules say, as is one whose quote cannot be read. An error from the right peer passes when
 * it is about a live flow this node opened, else by the rules like any packet.
 */
#include "wg/pktfilter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "wg/allowedips.h"

enum {
	IPV6_HOPOPTS = 0,
	IPV6_ROUTING = 43,
	IPV6_FRAGMENT = 44,
	IPV6_AH = 51,
	IPV6_DSTOPTS = 60,
	IPV6_MAX_EXT = 8, /* extension headers walked before giving up on the transport header */

	ICMP_ECHOREPLY = 0,
	ICMP_UNREACH = 3, /* includes "fragmentation needed": IPv4's packet too big */
	ICMP_SOURCEQUENCH = 4,
	ICMP_REDIRECT = 5,
	ICMP_ECHO = 8,
	ICMP_TIMXCEED = 11,
	ICMP_PARAMPROB = 12,
	ICMP6_UNREACH = 1,
	ICMP6_PACKET_TOO_BIG = 2,
	ICMP6_TIMXCEED = 3,
	ICMP6_PARAMPROB = 4,
	ICMP6_ECHO = 128,
	ICMP6_ECHOREPLY = 129,
	ICMP_HDR_LEN = 8, /* type, code, checksum, then the echo id or unused word */
	QUOTE_L4_MIN = 8, /* of the quoted transport header: what every router quotes, what the
			     kernel needs to act on an error */
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool is_icmp(const struct rn_pkt_tuple *t)
{
	return t->proto == (t->family == AF_INET ? RN_IPPROTO_ICMP : RN_IPPROTO_ICMPV6);
}

static bool is_echo(const struct rn_pkt_tuple *t, bool reply)
{
	if (t->family == AF_INET)
		return t->icmp_type == (reply ? ICMP_ECHOREPLY : ICMP_ECHO);
	return t->icmp_type == (reply ? ICMP6_ECHOREPLY : ICMP6_ECHO);
}

/* The errors a flow this node opened may receive. */
static bool is_icmp_error(const struct rn_pkt_tuple *t)
{
	if (t->family == AF_INET)
		return t->icmp_type == ICMP_UNREACH || t->icmp_type == ICMP_TIMXCEED ||
		       t->icmp_type == ICMP_PARAMPROB;
	return t->icmp_type == ICMP6_UNREACH || t->icmp_type == ICMP6_PACKET_TOO_BIG ||
	       t->icmp_type == ICMP6_TIMXCEED || t->icmp_type == ICMP6_PARAMPROB;
}

/* Every ICMP message that quotes a packet for the kernel to act on (t->has_l4 is true). */
static bool icmp_quotes(const struct rn_pkt_tuple *t)
{
	if (!is_icmp(t))
		return false;
	if (is_icmp_error(t))
		return true;
	return t->family == AF_INET &&
	       (t->icmp_type == ICMP_SOURCEQUENCH || t->icmp_type == ICMP_REDIRECT);
}

/*
 * The transport header at t->l4. A quoted header (inside an ICMP error) is only promised its
 * first 8 bytes, so there the ports are enough.
 */
static void parse_l4(struct rn_pkt_tuple *t, bool quoted)
{
	const uint8_t *h = t->l4;

	if (t->proto == RN_IPPROTO_TCP || t->proto == RN_IPPROTO_UDP) {
		size_t need = quoted ? 4 : t->proto == RN_IPPROTO_TCP ? 20 : 8;

		if (t->l4_len < need)
			return;
		t->sport = be16(h);
		t->dport = be16(h + 2);
		t->has_l4 = t->has_ports = true;
		return;
	}
	if (is_icmp(t)) {
		if (t->l4_len < ICMP_HDR_LEN)
			return;
		t->icmp_type = h[0];
		t->icmp_code = h[1];
		t->has_l4 = true;
		if (is_echo(t, false) || is_echo(t, true)) {
			t->sport = t->dport = be16(h + 4);
			t->has_ports = true;
		}
		return;
	}
	t->has_l4 = true; /* another protocol: nothing of it is read */
}

static bool parse_v4(const uint8_t *pkt, size_t len, struct rn_pkt_tuple *t, bool quoted)
{
	size_t ihl = (size_t)(pkt[0] & 15) * 4, tot = be16(pkt + 2);

	if (ihl < 20 || ihl > len || tot < ihl)
		return false;
	if (!quoted && tot > len)
		return false;
	if (tot < len)
		len = tot;
	t->family = AF_INET;
	t->proto = pkt[9];
	memcpy(t->src, pkt + 12, 4);
	memcpy(t->dst, pkt + 16, 4);
	if (be16(pkt + 6) & 0x1fff)
		return true; /* a later fragment: no transport header */
	t->l4 = pkt + ihl;
	t->l4_len = len - ihl;
	parse_l4(t, quoted);
	return true;
}

static bool parse_v6(const uint8_t *pkt, size_t len, struct rn_pkt_tuple *t, bool quoted)
{
	size_t tot = 40 + (size_t)be16(pkt + 4), off = 40;
	uint8_t nh = pkt[6];

	if (!quoted && tot > len)
		return false;
	if (tot < len)
		len = tot;
	t->family = AF_INET6;
	memcpy(t->src, pkt + 8, 16);
	memcpy(t->dst, pkt + 24, 16);
	for (int i = 0; i <= IPV6_MAX_EXT; i++) {
		const uint8_t *h = pkt + off;
		size_t hlen;

		t->proto = nh;
		if (nh != IPV6_HOPOPTS && nh != IPV6_ROUTING && nh != IPV6_DSTOPTS &&
		    nh != IPV6_FRAGMENT && nh != IPV6_AH)
			break;
		if (i == IPV6_MAX_EXT)
			return true; /* too deep to look for the transport header */
		if (len - off < 8)
			return false;
		if (nh == IPV6_FRAGMENT) {
			if (be16(h + 2) & 0xfff8) {
				t->proto = h[0];
				return true; /* a later fragment */
			}
			hlen = 8;
		} else if (nh == IPV6_AH) {
			hlen = ((size_t)h[1] + 2) * 4;
		} else {
			hlen = ((size_t)h[1] + 1) * 8;
		}
		if (hlen > len - off)
			return false;
		nh = h[0];
		off += hlen;
	}
	t->l4 = pkt + off;
	t->l4_len = len - off;
	parse_l4(t, quoted);
	return true;
}

static bool parse_ip(const uint8_t *pkt, size_t len, struct rn_pkt_tuple *t, bool quoted)
{
	memset(t, 0, sizeof(*t));
	if (len >= 20 && (pkt[0] >> 4) == 4)
		return parse_v4(pkt, len, t, quoted);
	if (len >= 40 && (pkt[0] >> 4) == 6)
		return parse_v6(pkt, len, t, quoted);
	return false;
}

bool rn_pkt_parse(const uint8_t *pkt, size_t len, struct rn_pkt_tuple *t)
{
	return parse_ip(pkt, len, t, false);
}

/* ---- the flow table ---- */

enum { KEY_WORDS = 5, LAST = 5 };

struct flow_key {
	uint64_t w[KEY_WORDS];
};

/* The key of a flow as this node sent it; reversed for what the other end sends back. */
static void make_key(const struct rn_pkt_tuple *t, bool reversed, struct flow_key *k)
{
	const uint8_t *src = reversed ? t->dst : t->src, *dst = reversed ? t->src : t->dst;
	uint16_t sport = reversed ? t->dport : t->sport, dport = reversed ? t->sport : t->dport;

	memcpy(&k->w[0], src, 16);
	memcpy(&k->w[2], dst, 16);
	/* The top bit keeps a live key nonzero; the protocol byte picks the timeout. */
	k->w[4] = 1ULL << 63 | (uint64_t)t->family << 40 | (uint64_t)t->proto << 32 |
		  (uint64_t)sport << 16 | dport;
}

static uint64_t flow_timeout(uint64_t meta)
{
	switch ((uint8_t)(meta >> 32)) {
	case RN_IPPROTO_TCP:
		return RN_FLOW_TCP_NS;
	case RN_IPPROTO_UDP:
		return RN_FLOW_UDP_NS;
	default:
		return RN_FLOW_ICMP_NS;
	}
}

/* Live when now - last < the timeout; a reader's now may trail the writer's a little. */
static bool flow_live(uint64_t meta, uint64_t last, uint64_t now)
{
	return last && (int64_t)(now - last) < (int64_t)flow_timeout(meta);
}

static struct rn_flow_bucket *bucket_of(const struct rn_flowtable *ft, const struct flow_key *k)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, (const unsigned char *)k->w, sizeof(k->w), ft->key);
	return &ft->buckets[h & ft->mask];
}

int rn_flowtable_init(struct rn_flowtable *ft, unsigned int n_buckets)
{
	uint32_t n = 1;

	while (n < n_buckets && n < (1u << 24))
		n <<= 1;
	memset(ft, 0, sizeof(*ft));
	if (sodium_init() < 0)
		return -ENOMEM;
	ft->buckets = calloc(n, sizeof(*ft->buckets));
	if (!ft->buckets)
		return -ENOMEM;
	ft->mask = n - 1;
	randombytes_buf(ft->key, sizeof(ft->key));
	pthread_mutex_init(&ft->write_lock, NULL);
	return 0;
}

void rn_flowtable_free(struct rn_flowtable *ft)
{
	if (!ft->buckets)
		return;
	free(ft->buckets);
	ft->buckets = NULL;
	pthread_mutex_destroy(&ft->write_lock);
}

/* Picks the way to write k into: its own, else an empty or dead one, else the oldest. */
static struct rn_flow_entry *way_for(struct rn_flow_bucket *b, const struct flow_key *k,
				     uint64_t now, bool *same)
{
	struct rn_flow_entry *victim = &b->e[0];
	uint64_t oldest = UINT64_MAX;

	for (int i = 0; i < RN_FLOW_WAYS; i++) {
		struct rn_flow_entry *e = &b->e[i];
		uint64_t meta = atomic_load_explicit(&e->w[4], memory_order_relaxed);
		uint64_t last = atomic_load_explicit(&e->w[LAST], memory_order_relaxed);
		int j = 0;

		while (j < KEY_WORDS &&
		       atomic_load_explicit(&e->w[j], memory_order_relaxed) == k->w[j])
			j++;
		if (j == KEY_WORDS && last) {
			*same = true;
			return e;
		}
		if (!flow_live(meta, last, now))
			last = 0; /* dead: as good as empty */
		if (last < oldest) {
			oldest = last;
			victim = e;
		}
	}
	*same = false;
	return victim;
}

void rn_flowtable_record(struct rn_flowtable *ft, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct rn_pkt_tuple t;
	struct rn_flow_bucket *b;
	struct rn_flow_entry *e;
	struct flow_key k;
	uint32_t seq;
	bool same;

	if (!rn_pkt_parse(pkt, len, &t) || !t.has_ports)
		return;
	if (is_icmp(&t) && !is_echo(&t, false))
		return; /* only an echo request asks for an answer */
	make_key(&t, false, &k);
	b = bucket_of(ft, &k);
	e = way_for(b, &k, now, &same);
	if (same && atomic_load_explicit(&e->w[LAST], memory_order_relaxed) == now)
		return;
	/* Seqlock write: odd count, release fence, the words, then even again with release. */
	seq = atomic_load_explicit(&b->seq, memory_order_relaxed);
	atomic_store_explicit(&b->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (int j = 0; !same && j < KEY_WORDS; j++)
		atomic_store_explicit(&e->w[j], k.w[j], memory_order_relaxed);
	atomic_store_explicit(&e->w[LAST], now, memory_order_relaxed);
	atomic_store_explicit(&b->seq, seq + 2, memory_order_release);
}

static bool lookup(const struct rn_flowtable *ft, const struct flow_key *k, uint64_t now)
{
	struct rn_flow_bucket *b = bucket_of(ft, k);
	uint32_t seq;
	bool found;

	do {
		while ((seq = atomic_load_explicit(&b->seq, memory_order_acquire)) & 1)
			; /* the writer is a few stores from done */
		found = false;
		for (int i = 0; i < RN_FLOW_WAYS && !found; i++) {
			struct rn_flow_entry *e = &b->e[i];
			int j = 0;

			while (j < KEY_WORDS &&
			       atomic_load_explicit(&e->w[j], memory_order_relaxed) == k->w[j])
				j++;
			found =
			    j == KEY_WORDS &&
			    flow_live(k->w[4],
				      atomic_load_explicit(&e->w[LAST], memory_order_relaxed), now);
		}
		atomic_thread_fence(memory_order_acquire);
	} while (atomic_load_explicit(&b->seq, memory_order_relaxed) != seq);
	return found;
}

/*
 * Reads the packet that ICMP message t quotes into q, and says whether peer is where that
 * packet went: the peer whose allowed IPs hold its destination (see the top of the file).
 * A quote must hold its IP header and the first 8 bytes after it; one of a later fragment
 * has no transport header to show and is refused like one cut short.
 */
static bool quote_from_path(const struct rn_pkt_tuple *t, const struct rn_allowedips *routes,
			    const void *peer, struct rn_pkt_tuple *q)
{
	if (!routes || !peer)
		return false;
	if (!parse_ip(t->l4 + ICMP_HDR_LEN, t->l4_len - ICMP_HDR_LEN, q, true))
		return false;
	if (q->family != t->family || !q->has_l4 || q->l4_len < QUOTE_L4_MIN)
		return false;
	return rn_allowedips_lookup(routes, q->family, q->dst) == peer;
}

/*
 * An ICMP error about a packet this node sent: the quoted header is that packet, so it is
 * looked up as sent, the error must be addressed to its sender, and come from its path.
 */
static bool admits_error(const struct rn_flowtable *ft, const struct rn_allowedips *routes,
			 const void *peer, const struct rn_pkt_tuple *t, uint64_t now)
{
	struct rn_pkt_tuple q;
	struct flow_key k;

	if (!quote_from_path(t, routes, peer, &q))
		return false;
	if (!q.has_ports || memcmp(q.src, t->dst, 16))
		return false;
	if (is_icmp(&q) && !is_echo(&q, false))
		return false;
	make_key(&q, false, &k);
	return lookup(ft, &k, now);
}

bool rn_flowtable_admits(const struct rn_flowtable *ft, const struct rn_allowedips *routes,
			 const void *peer, const struct rn_pkt_tuple *t, uint64_t now)
{
	struct flow_key k;

	if (!ft || !ft->buckets || !t->has_l4)
		return false;
	if (is_icmp(t)) {
		if (is_icmp_error(t))
			return admits_error(ft, routes, peer, t, now);
		if (!is_echo(t, true))
			return false;
	} else if (!t->has_ports) {
		return false;
	}
	make_key(t, true, &k);
	return lookup(ft, &k, now);
}

bool rn_pktfilter_allows(const struct rn_filter *f, const struct rn_flowtable *ft,
			 const struct rn_allowedips *routes, const void *peer, const uint8_t *pkt,
			 size_t len, uint64_t now)
{
	struct rn_pkt_tuple t, quoted;
	enum rn_filter_context ctx;

	if (!f)
		return true;
	if (!rn_pkt_parse(pkt, len, &t))
		return false;
	if (t.has_l4 && t.proto == RN_PKT_PROTO_NONE)
		return false; /* IANA "Reserved": would pass as a later fragment */
	if (t.has_l4 && icmp_quotes(&t) && !quote_from_path(&t, routes, peer, &quoted))
		return false;
	ctx = rn_filter_context_of(f, t.family, t.dst);
	if (ctx != RN_FILTER_NONE &&
	    rn_filter_allows(f, ctx, t.family, t.src, t.dst, t.has_l4 ? t.proto : RN_PKT_PROTO_NONE,
			     t.dport))
		return true;
	/* A reply belongs to this node whatever its destination's context. */
	return rn_flowtable_admits(ft, routes, peer, &t, now);
}
