/* SPDX-License-Identifier: MIT */
/*
 * "Call me now" (POST /v1/call, docs/control-protocol.md): a node that cannot reach an idle peer
 * behind a NAT asks the server to have that peer send to it at once, so that both sides send at
 * about the same time and both NATs open. This is the bookkeeping: calls waiting for their
 * callee's long-poll, and the rate limits (per caller, per caller-callee pair). The policy check
 * (the callee is in the caller's map) is the server's, before it comes here. Fixed-size tables,
 * so a flood costs no memory: the oldest entry gives way. Pure, on a monotonic clock in ms; not
 * thread-safe (the server's lock covers it).
 */
#ifndef RN_CTL_CALLQ_H
#define RN_CTL_CALLQ_H

#include <stddef.h>
#include <stdint.h>

enum {
	RN_CALLQ_PAIR_MS = 5000,     /* at most one call per caller-callee pair per this long */
	RN_CALLQ_BURST = 10,	     /* a caller's calls at once ... */
	RN_CALLQ_REFILL_MS = 1000,   /* ... and one more per this long */
	RN_CALLQ_TTL_MS = 10000,     /* a call not taken by then is dropped: it is stale */
	RN_CALLQ_WAITING_MAX = 1024, /* calls waiting, all callees */
	RN_CALLQ_PAIRS_MAX = 4096,   /* pairs remembered for their limit */
	RN_CALLQ_CALLERS_MAX = 1024, /* callers remembered for their bucket */
	RN_CALLQ_TAKE_MAX = 16,	     /* calls one poll answer carries */
};

struct rn_callq;

struct rn_callq *rn_callq_new(void);
void rn_callq_free(struct rn_callq *q);
/*
 * Node from asks node to to call it. 0: queued (or already waiting); -EAGAIN: over the caller's
 * or the pair's limit, nothing queued; -EINVAL: a node calling itself.
 */
int rn_callq_ask(struct rn_callq *q, uint64_t from, uint64_t to, uint64_t now_ms);
/* Withdraws a waiting call from -> to (one the server refused after all). */
void rn_callq_cancel(struct rn_callq *q, uint64_t from, uint64_t to);
/* Whether a fresh call waits for to. */
int rn_callq_waiting(const struct rn_callq *q, uint64_t to, uint64_t now_ms);
/* Takes (removes) up to max fresh calls for to, oldest first, their callers into from[]. */
size_t rn_callq_take(struct rn_callq *q, uint64_t to, uint64_t now_ms, uint64_t *from, size_t max);
/* Forgets everything about node id (logged out, removed). */
void rn_callq_forget(struct rn_callq *q, uint64_t id);

#endif
