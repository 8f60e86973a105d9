/* SPDX-License-Identifier: MIT */
/* Endpoint discovery's rounds, checks, retransmissions and verdicts (discovery.h). */
#include "path/discovery.h"

#include <netinet/in.h>
#include <string.h>

#define NS_PER_MS  UINT64_C(1000000)
#define NS_PER_S   UINT64_C(1000000000)
#define MAX_RTO_MS 2000

int rn_disco_family_index(int af)
{
	return af == AF_INET ? 0 : af == AF_INET6 ? 1 : -1;
}

bool rn_disco_addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
	return false;
}

void rn_disco_init(struct rn_disco *d, rn_disco_send_fn send, void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->send = send;
	d->ctx = ctx;
	for (int f = 0; f < RN_DISCO_FAMILIES; f++)
		d->fam[f].check.server = -1;
}

const char *rn_disco_why_name(enum rn_disco_why why)
{
	switch (why) {
	case RN_DISCO_WHY_TIMER:
		return "timer";
	case RN_DISCO_WHY_SERVERS:
		return "servers";
	case RN_DISCO_WHY_KICK:
		return "network change";
	case RN_DISCO_WHY_REMAP:
		return "remap";
	case RN_DISCO_WHY_SILENT:
		return "silent check";
	case RN_DISCO_WHY_NONE:
		break;
	}
	return "none";
}

static void drop_checks(struct rn_disco *d)
{
	for (int f = 0; f < RN_DISCO_FAMILIES; f++)
		d->fam[f].check.server = -1;
}

void rn_disco_set_check(struct rn_disco *d, int f, bool on)
{
	if (f < 0 || f >= RN_DISCO_FAMILIES)
		return;
	d->fam[f].check.on = on;
	if (!on)
		d->fam[f].check.server = -1;
}

/* A round as soon as kicked rounds may start: at once, unless one began under a gap ago. */
static void round_soon(struct rn_disco *d, enum rn_disco_why why, uint64_t now)
{
	uint64_t earliest = d->started ? d->round_start_ns + RN_DISCO_MIN_GAP_MS * NS_PER_MS : 0;

	d->next_round_ns = earliest > now ? earliest : now;
	d->next_why = why;
}

static void forget_results(struct rn_disco *d)
{
	for (int f = 0; f < RN_DISCO_FAMILIES; f++) {
		if (d->fam[f].mapped.ss_family != AF_UNSPEC || d->fam[f].hard)
			d->changed = true;
		d->fam[f].mapped.ss_family = AF_UNSPEC;
		d->fam[f].hard = false;
	}
	if (d->udp != RN_DISCO_UDP_UNKNOWN)
		d->changed = true;
	d->udp = RN_DISCO_UDP_UNKNOWN;
}

void rn_disco_set_servers(struct rn_disco *d, const struct sockaddr_storage *v, size_t n,
			  uint64_t now_ns)
{
	struct rn_disco_server next[RN_DISCO_MAX_SERVERS];
	size_t m = 0;
	bool same;

	(void)now_ns;
	memset(next, 0, sizeof(next));
	for (size_t i = 0; i < n && m < RN_DISCO_MAX_SERVERS; i++) {
		if (rn_disco_family_index(v[i].ss_family) < 0)
			continue;
		next[m].addr = v[i];
		next[m].mapped.ss_family = AF_UNSPEC;
		m++;
	}
	same = m == d->n_servers;
	for (size_t i = 0; same && i < m; i++)
		same = rn_disco_addr_equal(&next[i].addr, &d->servers[i].addr);
	if (same)
		return;
	memcpy(d->servers, next, sizeof(next));
	d->n_servers = m;
	d->in_round = false;
	d->next_round_ns = 0;
	d->next_why = RN_DISCO_WHY_SERVERS;
	drop_checks(d); /* they name servers by index */
	if (!m)
		forget_results(d);
}

void rn_disco_kick(struct rn_disco *d)
{
	/* The round in flight asked from addresses that may be gone: start over. */
	for (size_t i = 0; i < d->n_servers; i++)
		d->servers[i].outstanding = false;
	drop_checks(d);
	d->in_round = false;
	/* now_ns 0: round_soon's floor is the gap alone; the tick's clock does the rest */
	round_soon(d, RN_DISCO_WHY_KICK, 0);
}

static uint64_t rto_ns(unsigned int sent)
{
	uint64_t ms = (uint64_t)RN_DISCO_FIRST_RTO_MS << (sent ? sent - 1 : 0);

	return (ms > MAX_RTO_MS ? MAX_RTO_MS : ms) * NS_PER_MS;
}

static void send_request(struct rn_disco *d, struct rn_disco_server *s, uint64_t now)
{
	uint8_t buf[RN_STUN_REQUEST_LEN];
	size_t len = rn_stun_build_request(s->txid, buf, sizeof(buf));

	if (len)
		(void)d->send(d->ctx, &s->addr, buf, len);
	s->sent++;
	s->sent_ns = now;
	s->due_ns = now + rto_ns(s->sent);
}

static void start_round(struct rn_disco *d, uint64_t now)
{
	d->in_round = true;
	d->started = true;
	d->round_start_ns = now;
	d->why = d->next_why != RN_DISCO_WHY_NONE ? d->next_why : RN_DISCO_WHY_TIMER;
	d->next_why = RN_DISCO_WHY_NONE;
	drop_checks(d); /* the round asks every server anyway */
	for (int f = 0; f < RN_DISCO_FAMILIES; f++)
		d->fam[f].round_seen = false;
	for (size_t i = 0; i < d->n_servers; i++) {
		struct rn_disco_server *s = &d->servers[i];

		s->answered_this_round = false;
		s->sent = 0;
		s->outstanding = rn_stun_txid_new(s->txid);
		if (s->outstanding)
			send_request(d, s, now);
	}
}

/* Whether servers of family f answered this round with different mappings. */
static bool family_hard(const struct rn_disco *d, int f)
{
	const struct sockaddr_storage *first = NULL;

	for (size_t i = 0; i < d->n_servers; i++) {
		const struct rn_disco_server *s = &d->servers[i];

		if (!s->answered_this_round || rn_disco_family_index(s->mapped.ss_family) != f)
			continue;
		if (!first)
			first = &s->mapped;
		else if (!rn_disco_addr_equal(first, &s->mapped))
			return true;
	}
	return false;
}

static void end_round(struct rn_disco *d, uint64_t now)
{
	bool asked[RN_DISCO_FAMILIES] = { false }, any = false;
	enum rn_disco_udp udp;

	for (size_t i = 0; i < d->n_servers; i++) {
		asked[rn_disco_family_index(d->servers[i].addr.ss_family)] = true;
		any |= d->servers[i].answered_this_round;
	}
	for (int f = 0; f < RN_DISCO_FAMILIES; f++) {
		struct rn_disco_family *fam = &d->fam[f];
		bool hard = family_hard(d, f);

		/* Asked and no answer: whatever we knew may be gone with the network. */
		if (asked[f] && !fam->round_seen && fam->mapped.ss_family != AF_UNSPEC) {
			fam->mapped.ss_family = AF_UNSPEC;
			fam->changes++;
			d->changed = true;
		}
		if (hard != fam->hard)
			d->changed = true;
		fam->hard = hard;
	}
	udp = any ? RN_DISCO_UDP_OK : RN_DISCO_UDP_BLOCKED;
	if (udp != d->udp)
		d->changed = true;
	d->udp = udp;
	d->in_round = false;
	d->rounds++;
	d->next_round_ns = d->round_start_ns + RN_DISCO_ROUND_S * NS_PER_S;
	if (d->next_round_ns < now)
		d->next_round_ns = now;
	d->next_check_ns = d->round_start_ns + RN_DISCO_CHECK_S * NS_PER_S;
	if (d->next_check_ns < now)
		d->next_check_ns = now;
}

/* The server a check of family f asks: the first of f that answered the last round; -1: none. */
static int check_server(const struct rn_disco *d, int f)
{
	for (size_t i = 0; i < d->n_servers; i++) {
		const struct rn_disco_server *s = &d->servers[i];

		if (s->answered_this_round && rn_disco_family_index(s->addr.ss_family) == f &&
		    s->mapped.ss_family != AF_UNSPEC)
			return (int)i;
	}
	return -1;
}

static void send_check(struct rn_disco *d, struct rn_disco_check *c, uint64_t now)
{
	uint8_t buf[RN_STUN_REQUEST_LEN];
	size_t len = rn_stun_build_request(c->txid, buf, sizeof(buf));

	if (len)
		(void)d->send(d->ctx, &d->servers[c->server].addr, buf, len);
	d->checks++;
	c->sent++;
	c->sent_ns = now;
	c->due_ns = now + (c->sent < RN_DISCO_CHECK_TRIES ? RN_DISCO_FIRST_RTO_MS
							  : RN_DISCO_CHECK_WAIT_MS) *
			      NS_PER_MS;
}

/* Whether a check would go out when due: a family on, with a server to ask. */
static bool checks_wanted(const struct rn_disco *d)
{
	for (int f = 0; f < RN_DISCO_FAMILIES; f++)
		if (d->fam[f].check.on && check_server(d, f) >= 0)
			return true;
	return false;
}

/* Between rounds: retransmits or gives up checks out, starts due ones; when to come back. */
static uint64_t checks_tick(struct rn_disco *d, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	bool out = false;

	for (int f = 0; f < RN_DISCO_FAMILIES; f++) {
		struct rn_disco_check *c = &d->fam[f].check;

		if (c->server < 0)
			continue;
		if (now >= c->due_ns && c->sent >= RN_DISCO_CHECK_TRIES) {
			c->server = -1;
			d->silent++;
			drop_checks(d);
			round_soon(d, RN_DISCO_WHY_SILENT, now);
			return d->next_round_ns;
		}
		if (now >= c->due_ns)
			send_check(d, c, now);
		out = true;
		if (c->due_ns < next)
			next = c->due_ns;
	}
	if (out || d->next_check_ns >= d->next_round_ns)
		return next; /* one check at a time; none when the round comes first */
	if (now < d->next_check_ns)
		return checks_wanted(d) ? d->next_check_ns : UINT64_MAX;
	for (int f = 0; f < RN_DISCO_FAMILIES; f++) {
		struct rn_disco_check *c = &d->fam[f].check;

		if (!c->on || (c->server = check_server(d, f)) < 0)
			continue;
		if (!rn_stun_txid_new(c->txid)) {
			c->server = -1;
			continue;
		}
		c->sent = 0;
		send_check(d, c, now);
		if (c->due_ns < next)
			next = c->due_ns;
	}
	d->next_check_ns = now + RN_DISCO_CHECK_S * NS_PER_S;
	return next;
}

uint64_t rn_disco_tick(struct rn_disco *d, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;
	bool waiting = false;

	if (!d->n_servers)
		return UINT64_MAX;
	if (!d->in_round) {
		next = checks_tick(d, now_ns);
		if (now_ns < d->next_round_ns)
			return next < d->next_round_ns ? next : d->next_round_ns;
		start_round(d, now_ns);
		next = UINT64_MAX;
	}
	for (size_t i = 0; i < d->n_servers; i++) {
		struct rn_disco_server *s = &d->servers[i];

		if (!s->outstanding)
			continue;
		if (now_ns >= s->due_ns) {
			if (s->sent >= RN_DISCO_TRIES) {
				s->outstanding = false;
				continue;
			}
			send_request(d, s, now_ns);
		}
		waiting = true;
		if (s->due_ns < next)
			next = s->due_ns;
	}
	if (waiting)
		return next;
	end_round(d, now_ns);
	next = checks_wanted(d) ? d->next_check_ns : UINT64_MAX; /* checks_tick starts them */
	return next < d->next_round_ns ? next : d->next_round_ns;
}

static struct rn_disco_server *match(struct rn_disco *d, const struct rn_stun_msg *m,
				     const struct sockaddr_storage *from)
{
	for (size_t i = 0; i < d->n_servers; i++) {
		struct rn_disco_server *s = &d->servers[i];

		/* txids are random: a plain compare leaks nothing worth a constant-time one */
		if (s->outstanding && rn_disco_addr_equal(&s->addr, from) &&
		    !memcmp(s->txid, m->txid, RN_STUN_TXID_LEN))
			return s;
	}
	return NULL;
}

/* The check that m answers, from `from`; NULL if none. */
static struct rn_disco_check *match_check(struct rn_disco *d, const struct rn_stun_msg *m,
					  const struct sockaddr_storage *from)
{
	for (int f = 0; f < RN_DISCO_FAMILIES; f++) {
		struct rn_disco_check *c = &d->fam[f].check;

		if (c->server >= 0 && rn_disco_addr_equal(&d->servers[c->server].addr, from) &&
		    !memcmp(c->txid, m->txid, RN_STUN_TXID_LEN))
			return c;
	}
	return NULL;
}

/* A check's answer: a mapping other than its server's last is the family's now, and a round. */
static void check_answered(struct rn_disco *d, struct rn_disco_check *c,
			   const struct sockaddr_storage *mapped, int f, uint64_t now)
{
	struct rn_disco_server *s = &d->servers[c->server];
	struct rn_disco_family *fam = &d->fam[f];

	c->server = -1;
	s->rtt_ns = now - c->sent_ns;
	s->answered_ns = now;
	if (rn_disco_addr_equal(&s->mapped, mapped))
		return;
	s->mapped = *mapped;
	if (!rn_disco_addr_equal(&fam->mapped, mapped)) {
		fam->mapped = *mapped;
		fam->changes++;
		d->changed = true;
	}
	d->remaps++;
	round_soon(d, RN_DISCO_WHY_REMAP, now);
}

bool rn_disco_input(struct rn_disco *d, const void *buf, size_t len,
		    const struct sockaddr_storage *from, uint64_t now_ns)
{
	struct rn_disco_check *c;
	struct rn_disco_server *s;
	struct rn_disco_family *fam;
	struct rn_stun_msg m;
	int f;

	if (!rn_stun_is_message(buf, len) || rn_stun_parse(buf, len, &m))
		return false;
	if (m.method != RN_STUN_METHOD_BINDING || m.cls != RN_STUN_SUCCESS)
		return false;
	f = rn_disco_family_index(m.mapped.ss_family);
	if (f < 0)
		return false;
	c = match_check(d, &m, from);
	if (c) {
		check_answered(d, c, &m.mapped, f, now_ns);
		return true;
	}
	s = match(d, &m, from);
	if (!s)
		return false;
	s->outstanding = false;
	s->answered_this_round = true;
	s->mapped = m.mapped;
	s->rtt_ns = now_ns - s->sent_ns;
	s->answered_ns = now_ns;
	fam = &d->fam[f];
	if (!fam->round_seen) {
		fam->round_seen = true;
		if (!rn_disco_addr_equal(&fam->mapped, &m.mapped)) {
			fam->mapped = m.mapped;
			fam->changes++;
			d->changed = true;
		}
	} else if (!fam->hard && family_hard(d, f)) {
		fam->hard = true;
		d->changed = true;
	}
	return true;
}

bool rn_disco_take_changed(struct rn_disco *d)
{
	bool c = d->changed;

	d->changed = false;
	return c;
}
