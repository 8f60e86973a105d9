/* SPDX-License-Identifier: MIT */
/*
 * Per-node coalescing of node-reported changes (see coalesce.h). The table holds only the nodes
 * that published within the last interval or have a change held, so a linear array is enough:
 * its size is the number of nodes that changed something in the last second.
 */
#include "rustynet-control/coalesce.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct rn_coalesce_entry {
	int64_t id;
	uint64_t published_ms; /* when its last change was published */
	bool held;	       /* a change waits for published_ms + interval */
	bool has_offer;
	struct rn_coalesce_offer offer; /* owned, when has_offer */
};

struct rn_coalesce {
	struct rn_coalesce_entry *v; /* owned */
	unsigned n, cap;
};

struct rn_coalesce *rn_coalesce_new(void)
{
	return calloc(1, sizeof(struct rn_coalesce));
}

void rn_coalesce_offer_clear(struct rn_coalesce_offer *o)
{
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): the memset below NULLs both; a second clear frees NULL */
	free(o->routes);
	free(o->base_routes);
	memset(o, 0, sizeof(*o));
}

void rn_coalesce_free(struct rn_coalesce *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->n; i++)
		rn_coalesce_offer_clear(&c->v[i].offer);
	free(c->v);
	free(c);
}

static struct rn_coalesce_entry *rn_coalesce_find(const struct rn_coalesce *c, int64_t id)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->v[i].id == id)
			return &c->v[i];
	return NULL;
}

/* Removes entry i (its offer freed), keeping no order. */
static void rn_coalesce_drop(struct rn_coalesce *c, unsigned i)
{
	rn_coalesce_offer_clear(&c->v[i].offer);
	c->v[i] = c->v[--c->n];
}

/* Whether e's interval is over at now_ms (a clock read before e's was taken: not over). */
static bool rn_coalesce_over(const struct rn_coalesce_entry *e, uint64_t now_ms)
{
	return now_ms >= e->published_ms && now_ms - e->published_ms >= RN_COALESCE_INTERVAL_MS;
}

static bool rn_coalesce_idle(const struct rn_coalesce_entry *e, uint64_t now_ms)
{
	return !e->held && rn_coalesce_over(e, now_ms);
}

bool rn_coalesce_note(struct rn_coalesce *c, int64_t id, uint64_t now_ms)
{
	struct rn_coalesce_entry *e = rn_coalesce_find(c, id), *grown;

	if (e && rn_coalesce_idle(e, now_ms)) {
		e->published_ms = now_ms;
		return true;
	}
	if (e) {
		e->held = true;
		return false;
	}
	if (c->n == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 16;

		grown = realloc(c->v, cap * sizeof(*grown));
		if (!grown)
			return false; /* published with the next change of anyone */
		c->v = grown;
		c->cap = cap;
	}
	c->v[c->n++] = (struct rn_coalesce_entry){ .id = id, .published_ms = now_ms };
	return true;
}

const struct rn_coalesce_offer *rn_coalesce_held_offer(const struct rn_coalesce *c, int64_t id)
{
	const struct rn_coalesce_entry *e = rn_coalesce_find(c, id);

	return e && e->has_offer ? &e->offer : NULL;
}

int rn_coalesce_hold_offer(struct rn_coalesce *c, int64_t id, const char *routes, bool exit,
			   const char *base_routes, bool base_exit)
{
	struct rn_coalesce_entry *e = rn_coalesce_find(c, id);
	char *copy;

	if (!e || !e->held)
		return -ENOENT;
	copy = strdup(routes);
	if (!copy)
		return -ENOMEM;
	if (!e->has_offer) {
		e->offer.base_routes = strdup(base_routes);
		if (!e->offer.base_routes) {
			free(copy);
			return -ENOMEM;
		}
		e->offer.base_exit = base_exit;
		e->has_offer = true;
	}
	free(e->offer.routes);
	e->offer.routes = copy;
	e->offer.exit = exit;
	return 0;
}

bool rn_coalesce_pop_due(struct rn_coalesce *c, uint64_t now_ms, struct rn_coalesce_due *out)
{
	for (unsigned i = 0; i < c->n;) {
		struct rn_coalesce_entry *e = &c->v[i];

		if (rn_coalesce_idle(e, now_ms)) {
			rn_coalesce_drop(c, i);
			continue;
		}
		if (e->held && rn_coalesce_over(e, now_ms)) {
			memset(out, 0, sizeof(*out));
			out->id = e->id;
			out->has_offer = e->has_offer;
			out->offer = e->offer; /* handed over */
			memset(&e->offer, 0, sizeof(e->offer));
			e->has_offer = false;
			e->held = false;
			e->published_ms = now_ms;
			return true;
		}
		i++;
	}
	return false;
}

void rn_coalesce_forget(struct rn_coalesce *c, int64_t id)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->v[i].id == id) {
			rn_coalesce_drop(c, i);
			return;
		}
}

unsigned rn_coalesce_count(const struct rn_coalesce *c)
{
	return c->n;
}
