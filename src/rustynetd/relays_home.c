/* SPDX-License-Identifier: MIT */
/* Choosing the home relay, pure: see relays.h ("Home relay"). */
#include "rustynetd/relays.h"

/* Whether a round trip of a_us beats b_us by enough to move peers for it. */
static bool clearly_better(uint32_t a_us, uint32_t b_us)
{
	return a_us && b_us &&
	       (uint64_t)a_us * 100 <= (uint64_t)b_us * (100 - RN_RELAYS_HOME_PCT) &&
	       b_us - a_us >= RN_RELAYS_HOME_MIN_US;
}

size_t rn_daemon_relays_pick_home(const struct rn_relays_view *v, size_t n, size_t cur)
{
	size_t best = n;

	/* the lowest measured round trip among the usable; unmeasured, the first usable */
	for (size_t i = 0; i < n; i++)
		if (v[i].usable && (best == n || (v[i].rtt_us && (!v[best].rtt_us ||
								  v[i].rtt_us < v[best].rtt_us))))
			best = i;
	if (best == n)
		return 0;
	/* the home stays while usable, unless another is clearly better (or it is unmeasured
	 * and another is not) */
	if (cur < n && v[cur].usable && (v[cur].rtt_us || !v[best].rtt_us) &&
	    !clearly_better(v[best].rtt_us, v[cur].rtt_us))
		return cur;
	return best;
}
