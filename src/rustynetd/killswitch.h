/* SPDX-License-Identifier: MIT */
/*
 * The kill switch of protected mode (an exit node selected): table inet rustynet-killswitch,
 * journal group "killswitch", whose output chain drops every packet that would leave by an
 * interface other than the tunnel and loopback, except
 *   - rustynetd's own fwmarked sockets (WireGuard, the control server): RN_EXIT_FWMARK/MASK;
 *   - IPv6 neighbor discovery and DHCP (v4 and v6), so the physical link keeps working;
 *   - the local network's private and link-local destinations (RFC 1918, 169.254/16,
 *     fe80::/10, fc00::/7, link-local multicast): a public-looking local subnet is never
 *     allowed, which is what stops TunnelCrack's LocalNet leak;
 *   - destinations the user allowed (sets allow4/allow6: empty, a hook for a later command);
 * and DNS (53 and 853, UDP and TCP) never leaves by a physical interface, even to a private
 * address: in protected mode DNS goes to Magic DNS, which forwards through the tunnel.
 * Its forward chain applies the same to what the host routes for others (containers, VMs, a
 * LAN behind it): into or out of the tunnel is fine, otherwise no DNS and only the private
 * and link-local destinations; and its postrouting chain masquerades what is forwarded into
 * the tunnel to this node's mesh address (the exit admits only that source), so such traffic
 * goes through the exit like the host's own, as the user who selected it.
 *
 * It outlives what installed it: the journal group is kept when rustynetd stops on a signal,
 * crashes, or loses its TUN device, and the next start keeps and re-asserts it while exit.json
 * still selects an exit. Only `exit-node off` (and logout, which forgets the choice) and
 * `rustynet down` remove it.
 */
#ifndef RN_DAEMON_KILLSWITCH_H
#define RN_DAEMON_KILLSWITCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RN_KILLSWITCH_GROUP	  "killswitch"
#define RN_KILLSWITCH_FAMILY	  "inet"
#define RN_KILLSWITCH_TABLE	  "rustynet-killswitch"
#define RN_KILLSWITCH_RULESET_MAX 4096
#define RN_KILLSWITCH_ERR_MAX	  256

struct rn_killswitch {
	bool active;			   /* the table is installed and journaled */
	char error[RN_KILLSWITCH_ERR_MAX]; /* the last failure to install or remove, "" if none */
};

/*
 * The body of table inet rustynet-killswitch for tunnel ifname, with rustynetd's own sockets
 * marked mark under mask. Returns the length written, -ENOSPC, or -EINVAL (an interface name
 * nft could misread, or a mark outside its mask).
 */
int rn_killswitch_ruleset(const char *ifname, uint32_t mark, uint32_t mask, char *buf, size_t len);

struct rn_daemon;

/* Installs (or re-asserts) the table when an exit is selected, removes it when none is. */
void rn_killswitch_sync(struct rn_daemon *d);
/*
 * At start, what an earlier run left: undo every group but the kill switch (kept until the
 * exit choice is read and rn_killswitch_sync decides). 0 or the first -errno.
 */
int rn_killswitch_undo_others(struct rn_daemon *d);
/*
 * At exit: undo everything, but keep the kill switch unless the user asked for it to go
 * (`rustynet down`, d->stop) or no exit is selected. 0 or the first -errno.
 */
int rn_killswitch_shutdown(struct rn_daemon *d);
/* Status's "killswitch": {"active", "blocking", "reason"}; exit_node is status's own. */
json_t *rn_killswitch_status(const struct rn_daemon *d, const json_t *exit_node);

#endif
