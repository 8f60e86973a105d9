/* SPDX-License-Identifier: MIT */
/* Calls waiting for their callee and the limits on making them: see callq.h. */
#include <errno.h>
#include <stdlib.h>

#include "rustynet-control/callq.h"

struct rn_callq_wait {
	uint64_t from, to; /* to == 0: a free slot */
	uint64_t at_ms;
};

struct rn_callq_pair {
	uint64_t from, to;
	uint64_t at_ms;
};

struct rn_callq_bucket {
	uint64_t id; /* 0: a free slot */
	uint64_t at_ms;
	unsigned tokens;
};

struct rn_callq {
	struct rn_callq_wait wait[RN_CALLQ_WAITING_MAX];
	struct rn_callq_pair pairs[RN_CALLQ_PAIRS_MAX];
	struct rn_callq_bucket callers[RN_CALLQ_CALLERS_MAX];
};

struct rn_callq *rn_callq_new(void)
{
	return calloc(1, sizeof(struct rn_callq));
}

void rn_callq_free(struct rn_callq *q)
{
	free(q);
}

static int fresh(const struct rn_callq_wait *w, uint64_t now_ms)
{
	return w->to && now_ms - w->at_ms < RN_CALLQ_TTL_MS;
}

/* The caller's bucket, refilled to now; a new one (or the stalest's slot) when unknown. */
static struct rn_callq_bucket *bucket(struct rn_callq *q, uint64_t id, uint64_t now_ms)
{
	struct rn_callq_bucket *b = NULL, *old = &q->callers[0];
	uint64_t add;

	for (size_t i = 0; i < RN_CALLQ_CALLERS_MAX && !b; i++) {
		struct rn_callq_bucket *c = &q->callers[i];

		if (c->id == id)
			b = c;
		else if (old->id && (!c->id || c->at_ms < old->at_ms))
			old = c; /* a free slot, else the stalest */
	}
	if (!b) {
		b = old;
		b->id = id;
		b->at_ms = now_ms;
		b->tokens = RN_CALLQ_BURST;
		return b;
	}
	add = (now_ms - b->at_ms) / RN_CALLQ_REFILL_MS;
	if (add) {
		b->tokens = add >= RN_CALLQ_BURST || b->tokens + add > RN_CALLQ_BURST
				? RN_CALLQ_BURST
				: b->tokens + (unsigned)add;
		b->at_ms += add * RN_CALLQ_REFILL_MS;
	}
	return b;
}

/* Whether the pair may call now; if so, it is recorded as having called. */
static int pair_allow(struct rn_callq *q, uint64_t from, uint64_t to, uint64_t now_ms)
{
	struct rn_callq_pair *p = NULL, *old = &q->pairs[0];

	for (size_t i = 0; i < RN_CALLQ_PAIRS_MAX && !p; i++) {
		if (q->pairs[i].from == from && q->pairs[i].to == to)
			p = &q->pairs[i];
		else if (q->pairs[i].at_ms < old->at_ms)
			old = &q->pairs[i];
	}
	if (p && now_ms - p->at_ms < RN_CALLQ_PAIR_MS)
		return 0;
	if (!p)
		p = old;
	p->from = from;
	p->to = to;
	p->at_ms = now_ms;
	return 1;
}

int rn_callq_ask(struct rn_callq *q, uint64_t from, uint64_t to, uint64_t now_ms)
{
	struct rn_callq_bucket *b;
	struct rn_callq_wait *slot = NULL;

	if (!from || !to || from == to)
		return -EINVAL;
	b = bucket(q, from, now_ms);
	if (!b->tokens)
		return -EAGAIN;
	b->tokens--; /* a refused call spends a token too: a flood stays slow */
	if (!pair_allow(q, from, to, now_ms))
		return -EAGAIN;
	for (size_t i = 0; i < RN_CALLQ_WAITING_MAX; i++) {
		struct rn_callq_wait *w = &q->wait[i];

		if (fresh(w, now_ms) && w->from == from && w->to == to) {
			w->at_ms = now_ms;
			return 0;
		}
		/* a free or stale slot, else the oldest call gives way */
		if (!slot || (fresh(slot, now_ms) && (!fresh(w, now_ms) || w->at_ms < slot->at_ms)))
			slot = w;
	}
	slot->from = from;
	slot->to = to;
	slot->at_ms = now_ms;
	return 0;
}

void rn_callq_cancel(struct rn_callq *q, uint64_t from, uint64_t to)
{
	for (size_t i = 0; i < RN_CALLQ_WAITING_MAX; i++)
		if (q->wait[i].from == from && q->wait[i].to == to)
			q->wait[i].to = 0;
}

int rn_callq_waiting(const struct rn_callq *q, uint64_t to, uint64_t now_ms)
{
	for (size_t i = 0; i < RN_CALLQ_WAITING_MAX; i++)
		if (q->wait[i].to == to && fresh(&q->wait[i], now_ms))
			return 1;
	return 0;
}

size_t rn_callq_take(struct rn_callq *q, uint64_t to, uint64_t now_ms, uint64_t *from, size_t max)
{
	size_t n = 0;

	while (n < max) {
		struct rn_callq_wait *first = NULL;

		for (size_t i = 0; i < RN_CALLQ_WAITING_MAX; i++) {
			struct rn_callq_wait *w = &q->wait[i];

			if (w->to == to && !fresh(w, now_ms))
				w->to = 0;
			else if (w->to == to && (!first || w->at_ms < first->at_ms))
				first = w;
		}
		if (!first)
			break;
		from[n++] = first->from;
		first->to = 0;
	}
	return n;
}

void rn_callq_forget(struct rn_callq *q, uint64_t id)
{
	for (size_t i = 0; i < RN_CALLQ_WAITING_MAX; i++)
		if (q->wait[i].to == id || q->wait[i].from == id)
			q->wait[i].to = 0;
	for (size_t i = 0; i < RN_CALLQ_PAIRS_MAX; i++)
		if (q->pairs[i].from == id || q->pairs[i].to == id)
			q->pairs[i].from = q->pairs[i].to = q->pairs[i].at_ms = 0;
	for (size_t i = 0; i < RN_CALLQ_CALLERS_MAX; i++)
		if (q->callers[i].id == id)
			q->callers[i].id = q->callers[i].at_ms = 0;
}
