/* SPDX-License-Identifier: MIT */
/*
 * The kill switch (killswitch.h): its ruleset text, installing and removing it through the
 * system layer, keeping it across restarts, and what status says about it.
 */
#include "rustynetd/killswitch.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "rustynetd/daemon.h"
#include "system/nft.h"
#include "system/system.h"

/*
 * What may leave by an interface other than the tunnel, after the chain's own accepts: never
 * DNS (dropped before the local network's private addresses are accepted: no DNS to the LAN's
 * resolver), then the user's allow sets and the local network's private and link-local
 * destinations. By destination, not by route, so a rogue route (DHCP option 121, a
 * public-looking LAN) cannot widen them.
 */
#define KS_LOCAL                                                                                   \
	"\tip daddr @allow4 accept\n"                                                              \
	"\tip6 daddr @allow6 accept\n"                                                             \
	"\tip daddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, "                 \
	"224.0.0.0/24, 255.255.255.255 } accept\n"                                                 \
	"\tip6 daddr { fe80::/10, fc00::/7, ff02::/16 } accept\n"                                  \
	"\tcounter drop\n"
#define KS_NO_DNS "\tmeta l4proto { tcp, udp } th dport { 53, 853 } counter drop\n"

int rn_killswitch_ruleset(const char *ifname, uint32_t mark, uint32_t mask, char *buf, size_t len)
{
	int n;

	if (!rn_nft_ifname_ok(ifname) || !mark || (mark & ~mask))
		return -EINVAL;
	/*
	 * output: the host's own packets; after the tunnel and the marked sockets, the link's own
	 * needs (ND, DHCP) and KS_LOCAL.
	 * forward: packets the host routes for others (containers, VMs, a LAN behind it): into
	 * the tunnel, and out of it (replies, a subnet router's LAN), are fine; elsewhere
	 * KS_LOCAL. postrouting: what is forwarded into the tunnel takes this node's mesh
	 * address (the exit admits only that source), as the host's own traffic would.
	 */
	n = snprintf(buf, len,
		     "set allow4 {\n"
		     "\ttype ipv4_addr\n"
		     "\tflags interval\n"
		     "}\n"
		     "set allow6 {\n"
		     "\ttype ipv6_addr\n"
		     "\tflags interval\n"
		     "}\n"
		     "chain output {\n"
		     "\ttype filter hook output priority filter; policy accept;\n"
		     "\toifname \"lo\" accept\n"
		     "\tmeta mark and 0x%x == 0x%x accept\n"
		     "\toifname \"%s\" accept\n" KS_NO_DNS
		     "\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } "
		     "accept\n"
		     "\tudp sport 68 udp dport 67 accept\n"
		     "\tudp sport 546 udp dport 547 accept\n" KS_LOCAL "}\n"
		     "chain forward {\n"
		     "\ttype filter hook forward priority filter; policy accept;\n"
		     "\toifname \"%s\" accept\n"
		     "\tiifname \"%s\" accept\n" KS_NO_DNS KS_LOCAL "}\n"
		     "chain postrouting {\n"
		     "\ttype nat hook postrouting priority srcnat; policy accept;\n"
		     "\toifname \"%s\" fib saddr type != local masquerade\n"
		     "}",
		     mask, mark, ifname, ifname, ifname, ifname);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

static void set_error(struct rn_killswitch *k, const char *what, int err)
{
	snprintf(k->error, sizeof(k->error), "%s: %s", what, strerror(-err));
	log_error(MAIN, "kill switch: %s", k->error);
}

static void install(struct rn_daemon *d)
{
	struct rn_killswitch *k = &d->killswitch;
	char ruleset[RN_KILLSWITCH_RULESET_MAX];
	bool kept = rn_system_count(d->sys, RN_KILLSWITCH_GROUP) > 0;
	int r;

	r = rn_killswitch_ruleset(d->ifname, RN_EXIT_FWMARK, RN_EXIT_FWMASK, ruleset,
				  sizeof(ruleset));
	if (r < 0) {
		set_error(k, "cannot build the ruleset", r);
		return;
	}
	/* Replacing the table is one transaction: re-asserting it opens no gap. */
	r = rn_system_nft_table_set(d->sys, RN_KILLSWITCH_GROUP, RN_KILLSWITCH_FAMILY,
				    RN_KILLSWITCH_TABLE, ruleset);
	if (r) {
		set_error(k, "cannot install nft table inet " RN_KILLSWITCH_TABLE, r);
		return;
	}
	k->error[0] = '\0';
	if (!k->active)
		log_info(MAIN,
			 "kill switch: %s: only the tunnel, loopback and rustynetd's own "
			 "packets leave",
			 kept ? "kept from the previous run and re-asserted" : "on");
	k->active = true;
}

static void uninstall(struct rn_daemon *d)
{
	struct rn_killswitch *k = &d->killswitch;
	int r;

	if (!rn_system_count(d->sys, RN_KILLSWITCH_GROUP) && !k->active)
		return;
	r = rn_system_undo_group(d->sys, RN_KILLSWITCH_GROUP);
	if (r) {
		/* Still in the journal: the next sync, `down` or start tries again. */
		set_error(k, "cannot remove nft table inet " RN_KILLSWITCH_TABLE, r);
		return;
	}
	k->active = false;
	k->error[0] = '\0';
	log_info(MAIN, "kill switch: off (no exit node selected)");
}

void rn_killswitch_sync(struct rn_daemon *d)
{
	if (!d->sys)
		return;
	if (d->exit.prefs.node_id)
		install(d);
	else
		uninstall(d);
}

int rn_killswitch_undo_others(struct rn_daemon *d)
{
	return rn_system_undo_all_but(d->sys, RN_KILLSWITCH_GROUP);
}

int rn_killswitch_shutdown(struct rn_daemon *d)
{
	if (d->stop || !d->exit.prefs.node_id || !rn_system_count(d->sys, RN_KILLSWITCH_GROUP))
		return rn_system_undo_all(d->sys);
	log_info(MAIN, "kill switch: kept while an exit node is selected: internet traffic stays "
		       "blocked until rustynetd runs again (`rustynet down` or `rustynet exit-node "
		       "off` remove it)");
	return rn_system_undo_all_but(d->sys, RN_KILLSWITCH_GROUP);
}

json_t *rn_killswitch_status(const struct rn_daemon *d, const json_t *exit_node)
{
	const struct rn_killswitch *k = &d->killswitch;
	const char *problem = json_string_value(json_object_get(exit_node, "problem"));
	bool reachable = json_is_true(json_object_get(exit_node, "reachable"));
	char reason[512] = "";
	bool blocking = false;

	if (k->error[0]) {
		snprintf(reason, sizeof(reason), "%s", k->error);
	} else if (!k->active) {
		snprintf(reason, sizeof(reason), "no exit node selected");
	} else if (!json_is_object(exit_node)) {
		blocking = true;
		snprintf(reason, sizeof(reason),
			 "no exit node: everything outside the tunnel is "
			 "dropped until `rustynet down`");
	} else if (!reachable) {
		blocking = true;
		snprintf(reason, sizeof(reason), "%s",
			 problem && problem[0]
			     ? problem
			     : "the exit node has not answered yet: traffic outside the tunnel is "
			       "dropped");
	}
	return json_pack("{s:b, s:b, s:s}", "active", k->active, "blocking", blocking, "reason",
			 reason);
}
