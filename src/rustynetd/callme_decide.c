/* SPDX-License-Identifier: MIT */
/*
 * When to ask a peer to call us (callme.h): we send more than keepalives and nothing comes back
 * for RN_CALLME_UNANSWERED_MS, or the data plane starts retrying initiations. One call per
 * attempt to talk (until the peer goes quiet), at most one per RN_CALLME_PEER_MS.
 */
#include "rustynetd/callme.h"

bool rn_callme_decide(struct rn_callme_peer *p, uint64_t tx, uint64_t rx, unsigned attempts,
		      uint64_t now_ms)
{
	uint64_t dtx = tx >= p->tx ? tx - p->tx : 0;
	bool rxg = rx > p->rx, want = false, call = false;

	if (!p->seen) {
		p->seen = true;
		dtx = 0;
		rxg = false;
	} else if (rxg) {
		p->start_ms = 0; /* answered */
	} else if (dtx > RN_CALLME_KEEPALIVE_B && !p->start_ms) {
		p->start_ms = now_ms ? now_ms : 1; /* we talk, nothing comes back yet */
	}
	if (!rxg && dtx <= RN_CALLME_KEEPALIVE_B)
		p->called = false; /* quiet: a next attempt may call again */
	if (p->seen && attempts > p->attempts && !p->attempts)
		want = true; /* the data plane's initiations go unanswered */
	if (p->start_ms && now_ms - p->start_ms >= RN_CALLME_UNANSWERED_MS && !p->called)
		want = true;
	if (want && (!p->last_call_ms || now_ms - p->last_call_ms >= RN_CALLME_PEER_MS)) {
		call = true;
		p->called = true;
		p->last_call_ms = now_ms ? now_ms : 1;
		p->start_ms = 0;
	}
	p->tx = tx;
	p->rx = rx;
	p->attempts = attempts;
	return call;
}
