/* SPDX-License-Identifier: MIT */
/*
 * The LAN-probe guard: table inet rustynet-guard, journal group "guard", installed while the
 * node is logged in (it has mesh addresses). Linux is a weak-host system: an address on the
 * tunnel or on lo is answered on every interface, so a host on the local network that sends
 * packets for the node's mesh addresses or its Magic DNS addresses to the node's MAC gets
 * answers (CVE-2019-14899: it learns the mesh address and open ports, and can probe and inject
 * into tunnelled connections). Its input chain drops packets for exactly those addresses that
 * arrive by an interface other than the tunnel and lo; forwarded traffic is not touched. A
 * second table of the same name in family arp drops ARP requests for the IPv4 ones.
 *
 * Exact addresses, not the mesh ranges: a node behind carrier-grade NAT may itself hold an
 * underlay address in 100.64.0.0/10. Re-set (one transaction) when the addresses change,
 * removed at logout and at exit like the other groups.
 */
#ifndef RN_DAEMON_GUARD_H
#define RN_DAEMON_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "system/ipaddr.h"

#define RN_GUARD_GROUP	     "guard"
#define RN_GUARD_FAMILY	     "inet"
#define RN_GUARD_ARP_FAMILY  "arp"
#define RN_GUARD_TABLE	     "rustynet-guard"
#define RN_GUARD_MAX_ADDRS   8
#define RN_GUARD_RULESET_MAX 1024

struct rn_guard {
	bool active;				/* the table is installed and journaled */
	char ruleset[RN_GUARD_RULESET_MAX];	/* as installed: re-set only when it changes */
	char arp_ruleset[RN_GUARD_RULESET_MAX]; /* table arp rustynet-guard, "" if none */
};

/*
 * The body of table inet rustynet-guard for tunnel ifname protecting addrs[0..n) (IPv4 and
 * IPv6 mixed, AF_UNSPEC entries skipped). Returns the length written, -ENOSPC, or -EINVAL (an
 * interface name nft could misread, or no address at all).
 */
int rn_guard_ruleset(const char *ifname, const struct rn_ip *addrs, size_t n, char *buf,
		     size_t len);

/*
 * The body of table arp rustynet-guard: ARP requests for the IPv4 addresses of addrs[0..n)
 * dropped (with arp_ignore 0, Linux answers ARP for any local address on any interface, which
 * tells a LAN host scanning 100.64.0.0/10 the mesh address). -EINVAL: no IPv4 address.
 */
int rn_guard_arp_ruleset(const struct rn_ip *addrs, size_t n, char *buf, size_t len);

struct rn_daemon;

/* Installs or re-sets the table for addrs[0..n); n 0 removes it. Failures are logged. */
void rn_guard_sync(struct rn_daemon *d, const struct rn_ip *addrs, size_t n);

#endif
