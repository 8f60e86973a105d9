/* SPDX-License-Identifier: MIT */
/*
 * Table-driven tests of the policy compiler: each case is a policy, a world and probe packets
 * at a receiving node, each allowed or denied; some also pin the exact rules. The must-deny
 * cases are the ones that would widen a grant: another protocol, another port, another
 * context, another exit, an unapproved route or exit, a tag whose owner may not set it, a user
 * outside the group, a node that was removed. Then the peer, exit, LAN route and
 * autoApprovers queries, from the same kind of table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "policy/compile.h"
#include "policy/policy.h"
#include "policy/test_world.h"

/* ---- the probe table ---- */

enum { MESH = RN_FILTER_MESH, SUBNET = RN_FILTER_SUBNET, EXIT = RN_FILTER_EXIT };
enum { DENY, ALLOW };

struct probe {
	const char *at;	 /* the receiving node, whose filter is compiled */
	const char *src; /* a node name ("name/6" for its IPv6) or an address */
	int ctx;
	const char *dst; /* the same */
	uint8_t proto;
	uint16_t port;
	int want;
};

struct rules {
	const char *at;
	const char *const *want; /* NULL-terminated rule texts */
};

struct filter_case {
	const char *name;
	const char *policy;
	const struct rn_policy_world *world; /* NULL: world */
	const struct probe *probes;	     /* ended by at == NULL */
	struct rules rules;		     /* optional */
};

#define PROBES(...) ((const struct probe[]){ __VA_ARGS__, { 0 } })
#define RULES(at, ...)                                                                             \
	{                                                                                          \
		at, (const char *const[])                                                          \
		{                                                                                  \
			__VA_ARGS__, NULL                                                          \
		}                                                                                  \
	}

static const struct filter_case filter_cases[] = {
	{ "starter policy: mesh only, never the internet or a LAN",
	  NULL /* rn_policy_default_text() */, NULL,
	  PROBES({ "bob-laptop", "alice-laptop", MESH, "bob-laptop", TCP, 22, ALLOW },
		 { "bob-laptop", "alice-laptop/6", MESH, "bob-laptop/6", UDP, 53, ALLOW },
		 { "alice-laptop", "carol-phone", MESH, "alice-laptop", ICMP, 0, ALLOW },
		 { "exit-a", "alice-laptop", EXIT, "8.8.8.8", TCP, 443, DENY },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.10", TCP, 22, DENY },
		 { "router", "alice-laptop", SUBNET, "10.1.0.5", TCP, 22, DENY }),
	  /* "*" is any address a peer may send from, not a list that grows with the network */
	  RULES("bob-laptop", "mesh any 0.0.0.0/0,::/0 -> 100.64.0.2/32,fd7a::2/128") },
	{ "tcp grant admits neither udp nor other ports nor the other direction",
	  POLICY(AP("tcp", "\"group:eng\"", "\"bob-laptop:22\"")), NULL,
	  PROBES({ "bob-laptop", "alice-laptop", MESH, "bob-laptop", TCP, 22, ALLOW },
		 { "bob-laptop", "alice-laptop/6", MESH, "bob-laptop/6", TCP, 22, ALLOW },
		 { "bob-laptop", "alice-laptop", MESH, "bob-laptop", UDP, 22, DENY },
		 { "bob-laptop", "alice-laptop", MESH, "bob-laptop", TCP, 23, DENY },
		 { "bob-laptop", "alice-laptop", MESH, "bob-laptop", ICMP, 0, DENY },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 22, DENY }),
	  RULES("bob-laptop", "mesh tcp 100.64.0.1/32,fd7a::1/128 -> 100.64.0.2/32,fd7a::2/128 "
			      "ports 22") },
	{ "autogroup:shared names nobody: no node is shared here",
	  POLICY(A("\"autogroup:shared\"", "\"*:*\"")), NULL,
	  PROBES({ "bob-laptop", "alice-laptop", MESH, "bob-laptop", TCP, 22, DENY },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", ICMP, 0, DENY }) },
	/* no proto is Tailscale's TCP, UDP and ICMP; its filter matches ICMP on addresses only */
	{ "port 443 grant admits TCP and UDP to 443, ping, and no other protocol",
	  POLICY(A("\"alice\"", "\"tag:server:443\"")), NULL,
	  PROBES({ "server1", "alice-laptop", MESH, "server1", TCP, 443, ALLOW },
		 { "server1", "alice-laptop", MESH, "server1", UDP, 443, ALLOW },
		 { "server1", "alice-laptop", MESH, "server1", TCP, 444, DENY },
		 { "server1", "alice-laptop", MESH, "server1", TCP, 442, DENY },
		 { "server1", "alice-laptop", MESH, "server1", ICMP, 0, ALLOW },
		 { "server1", "alice-laptop/6", MESH, "server1/6", ICMP6, 0, ALLOW },
		 { "server1", "alice-laptop", MESH, "server1", 47 /* GRE */, 0, DENY },
		 { "server1", "alice-laptop", MESH, "server1", 132 /* SCTP */, 443, DENY }) },
	{ "icmp is ICMP over IPv4 only, as in Tailscale; never ICMPv6, nothing else",
	  POLICY(AP("icmp", "\"*\"", "\"alice-laptop:*\"")), NULL,
	  PROBES({ "alice-laptop", "bob-laptop", MESH, "alice-laptop", ICMP, 0, ALLOW },
		 { "alice-laptop", "bob-laptop/6", MESH, "alice-laptop/6", ICMP6, 0, DENY },
		 { "alice-laptop", "bob-laptop/6", MESH, "alice-laptop/6", ICMP, 0, DENY },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 80, DENY }),
	  RULES("alice-laptop", "mesh icmp 0.0.0.0/0 -> 100.64.0.1/32") },
	{ "ipv6-icmp is ICMPv6 over IPv6 only",
	  POLICY(AP("ipv6-icmp", "\"bob\"", "\"alice-laptop:*\"")), NULL,
	  PROBES({ "alice-laptop", "bob-laptop/6", MESH, "alice-laptop/6", ICMP6, 0, ALLOW },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", ICMP, 0, DENY },
		 { "alice-laptop", "bob-laptop/6", MESH, "alice-laptop/6", UDP, 53, DENY }),
	  RULES("alice-laptop", "mesh icmp fd7a::2/128 -> fd7a::1/128") },
	{ "IANA numbers mean their protocols: 6 is tcp, 17 udp, 1 icmp, 58 ipv6-icmp",
	  POLICY(AP("6", "\"bob\"", "\"alice-laptop:22\"") "," AP(
	      "17", "\"bob\"",
	      "\"alice-laptop:53\"") "," AP("1", "\"carol\"",
					    "\"alice-laptop:*\"") "," AP("58", "\"carol\"",
									 "\"bob-laptop:*\"")),
	  NULL,
	  PROBES({ "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 22, ALLOW },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", UDP, 22, DENY },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", UDP, 53, ALLOW },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 53, DENY },
		 { "alice-laptop", "carol-phone", MESH, "alice-laptop", ICMP, 0, ALLOW },
		 { "alice-laptop", "carol-phone/6", MESH, "alice-laptop/6", ICMP6, 0, DENY },
		 { "bob-laptop", "carol-phone/6", MESH, "bob-laptop/6", ICMP6, 0, ALLOW },
		 { "bob-laptop", "carol-phone", MESH, "bob-laptop", ICMP, 0, DENY }) },
	{ "a protocol the filter cannot tell apart (gre, sctp, 99) grants nothing at all",
	  POLICY(AP("gre", "\"*\"", "\"alice-laptop:*\"") "," AP(
	      "sctp", "\"*\"", "\"alice-laptop:443\"") "," AP("99", "\"*\"",
							      "\"autogroup:internet:*\"")),
	  NULL,
	  PROBES({ "alice-laptop", "bob-laptop", MESH, "alice-laptop", 47, 0, DENY },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", 132, 443, DENY },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 443, DENY },
		 { "exit-a", "bob-laptop", EXIT, "8.8.8.8", 99, 0, DENY },
		 { "exit-a", "bob-laptop", EXIT, "8.8.8.8", TCP, 443, DENY }),
	  { "alice-laptop", (const char *const[]){ NULL } } },
	{ "subnet grant never admits the exit context", POLICY(A("\"alice\"", "\"office:*\"")),
	  NULL,
	  PROBES({ "exit-a", "alice-laptop", SUBNET, "192.168.1.10", TCP, 22, ALLOW },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.255", UDP, 9, ALLOW },
		 { "exit-a", "alice-laptop", EXIT, "8.8.8.8", TCP, 22, DENY },
		 { "exit-a", "alice-laptop", EXIT, "192.168.1.10", TCP, 22, DENY },
		 { "exit-a", "alice-laptop", MESH, "exit-a", TCP, 22, DENY },
		 { "exit-a", "alice-laptop", SUBNET, "203.0.113.7", TCP, 22, DENY },
		 { "exit-a", "bob-laptop", SUBNET, "192.168.1.10", TCP, 22, DENY },
		 { "exit-b", "alice-laptop", EXIT, "8.8.8.8", TCP, 22, DENY }),
	  RULES("exit-a", "subnet any 100.64.0.1/32,fd7a::1/128 -> 192.168.1.0/24") },
	{ "exit grant never admits a LAN, the mesh, or an unapproved exit",
	  POLICY(A("\"alice\"", "\"autogroup:internet:*\"")), NULL,
	  PROBES({ "exit-a", "alice-laptop", EXIT, "8.8.8.8", TCP, 443, ALLOW },
		 { "exit-a", "alice-laptop/6", EXIT, "2606:4700::1111", UDP, 53, ALLOW },
		 { "exit-b", "alice-laptop", EXIT, "1.1.1.1", UDP, 53, ALLOW },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.10", TCP, 22, DENY },
		 { "exit-a", "alice-laptop", EXIT, "192.168.1.10", TCP, 22, DENY },
		 { "exit-a", "alice-laptop", EXIT, "203.0.113.7", TCP, 22, DENY },
		 { "exit-a", "alice-laptop", EXIT, "100.64.0.2", TCP, 22, DENY },
		 { "exit-a", "alice-laptop", MESH, "exit-a", TCP, 22, DENY },
		 { "exit-u", "alice-laptop", EXIT, "8.8.8.8", TCP, 443, DENY },
		 { "router", "alice-laptop", EXIT, "8.8.8.8", TCP, 443, DENY },
		 { "exit-a", "bob-laptop", EXIT, "8.8.8.8", TCP, 443, DENY }),
	  RULES("exit-a", "exit any 100.64.0.1/32,fd7a::1/128 -> 0.0.0.0/0,::/0") },
	{ "a shared exit keeps each user's own limits",
	  POLICY(AP("tcp", "\"alice\"",
		    "\"autogroup:internet:443\"") "," A("\"bob\"", "\"autogroup:internet:*\"")),
	  NULL,
	  PROBES({ "exit-a", "alice-laptop", EXIT, "8.8.8.8", TCP, 443, ALLOW },
		 { "exit-a", "alice-laptop", EXIT, "8.8.8.8", UDP, 443, DENY },
		 { "exit-a", "alice-laptop", EXIT, "8.8.8.8", TCP, 80, DENY },
		 { "exit-a", "bob-laptop", EXIT, "8.8.8.8", UDP, 53, ALLOW }) },
	{ "via narrows a grant to the exits it names",
	  POLICY(AV("\"alice\"", "\"autogroup:internet:*\"",
		    "\"exit-b\"") "," AV("\"bob\"", "\"autogroup:internet:*\"", "\"tag:exit\"")),
	  NULL,
	  PROBES({ "exit-b", "alice-laptop", EXIT, "8.8.8.8", TCP, 443, ALLOW },
		 { "exit-a", "alice-laptop", EXIT, "8.8.8.8", TCP, 443, DENY },
		 { "exit-a", "bob-laptop", EXIT, "8.8.8.8", TCP, 443, ALLOW },
		 { "exit-b", "bob-laptop", EXIT, "8.8.8.8", TCP, 443, ALLOW },
		 { "exit-u", "bob-laptop", EXIT, "8.8.8.8", TCP, 443, DENY }) },
	{ "via narrows a LAN grant to the routers it names",
	  POLICY(AV("\"alice\"", "\"office:*\", \"10.0.0.0/8:22\"", "\"router\"")), NULL,
	  PROBES({ "exit-a", "alice-laptop", SUBNET, "192.168.1.10", TCP, 22, DENY },
		 { "router", "alice-laptop", SUBNET, "10.1.2.3", TCP, 22, ALLOW },
		 { "router", "alice-laptop", MESH, "router", TCP, 22, DENY }) },
	/* via grants routed traffic only: a CIDR holding the via node's own mesh address does not
     * open the node itself (mutation policy-via-grants-mesh); the same without via does. */
	{ "via never grants the via node's own addresses",
	  POLICY(AV("\"alice\"", "\"100.64.0.0/10:*\"", "\"router\"")), NULL,
	  PROBES({ "router", "alice-laptop", MESH, "router", TCP, 22, DENY },
		 { "server1", "alice-laptop", MESH, "server1", TCP, 22, DENY }) },
	{ "the same CIDR without via grants the nodes in it",
	  POLICY(A("\"alice\"", "\"100.64.0.0/10:*\"")), NULL,
	  PROBES({ "router", "alice-laptop", MESH, "router", TCP, 22, ALLOW },
		 { "server1", "alice-laptop", MESH, "server1", TCP, 22, ALLOW }) },
	{ "only advertised and approved routes are reached",
	  POLICY(A("\"alice\"", "\"10.0.0.0/8:*\", \"fd00::/16:*\"")), NULL,
	  PROBES({ "router", "alice-laptop", SUBNET, "10.1.0.5", TCP, 22, ALLOW },
		 { "router", "alice-laptop", SUBNET, "10.2.0.5", TCP, 22, DENY }, /* unapproved */
		 { "router", "alice-laptop", SUBNET, "10.3.0.5", TCP, 22, DENY }, /* unadvertised */
		 { "router", "alice-laptop/6", SUBNET, "fd00:1::5", UDP, 53, ALLOW },
		 { "router", "alice-laptop/6", SUBNET, "fd00:2::5", UDP, 53, DENY },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.10", TCP, 22, DENY }),
	  RULES("router", "subnet any 100.64.0.1/32,fd7a::1/128 -> 10.1.0.0/16",
		"subnet any 100.64.0.1/32,fd7a::1/128 -> fd00:1::/64") },
	{ "approval narrower than the advertised route",
	  POLICY(A("\"alice\"", "\"172.16.0.0/12:*\"")), NULL,
	  PROBES({ "router2", "alice-laptop", SUBNET, "172.20.1.9", TCP, 22, ALLOW },
		 { "router2", "alice-laptop", SUBNET, "172.20.3.9", TCP, 22, ALLOW },
		 { "router2", "alice-laptop", SUBNET, "172.20.2.9", TCP, 22, DENY },
		 { "router2", "alice-laptop", SUBNET, "172.21.0.9", TCP, 22, DENY }),
	  RULES("router2", "subnet any 100.64.0.1/32,fd7a::1/128 -> 172.20.1.0/24,172.20.3.0/24") },
	{ "a narrow LAN grant stays narrow", POLICY(AP("tcp", "\"alice\"", "\"nas:445\"")), NULL,
	  PROBES({ "exit-a", "alice-laptop", SUBNET, "192.168.1.10", TCP, 445, ALLOW },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.11", TCP, 445, DENY },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.10", TCP, 139, DENY }),
	  RULES("exit-a", "subnet tcp 100.64.0.1/32,fd7a::1/128 -> 192.168.1.10/32 ports 445") },
	{ "a tag counts only when its owner may set it",
	  POLICY(A("\"*\"", "\"tag:server:22\"") "," A("\"bob\"", "\"carol:80\", \"alice:8080\"")),
	  NULL,
	  PROBES({ "server1", "bob-laptop", MESH, "server1", TCP, 22, ALLOW },
		 { "bobsrv", "bob-laptop", MESH, "bobsrv", TCP, 22, DENY },  /* tag not owned */
		 { "bobsrv", "bob-laptop", MESH, "bobsrv", TCP, 80, ALLOW }, /* so still carol's */
		 { "server1", "bob-laptop", MESH, "server1", TCP, 8080,
		   DENY }, /* tagged: not alice's */
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 8080, ALLOW }) },
	{ "a tagged node is not its owner's as a source either",
	  POLICY(A("\"alice\"", "\"bob-laptop:*\"")), NULL,
	  PROBES({ "bob-laptop", "alice-laptop", MESH, "bob-laptop", TCP, 22, ALLOW },
		 { "bob-laptop", "server1", MESH, "bob-laptop", TCP, 22, DENY }) },
	{ "group membership", POLICY(A("\"group:eng\"", "\"bob-laptop:*\"")), NULL,
	  PROBES({ "bob-laptop", "alice-laptop", MESH, "bob-laptop", TCP, 22, ALLOW },
		 { "bob-laptop", "carol-phone", MESH, "bob-laptop", TCP, 22, DENY },
		 { "bob-laptop", "bobsrv", MESH, "bob-laptop", TCP, 22, DENY }) },
	{ "a removed node is granted nothing and grants nothing",
	  POLICY(A("\"bob-laptop\"", "\"alice-laptop:*\"") "," A("\"alice\"", "\"bob-laptop:*\"")),
	  &world_without_bob,
	  PROBES({ "alice-laptop", "100.64.0.2", MESH, "alice-laptop", TCP, 22, DENY },
		 { "server1", "alice-laptop", MESH, "server1", TCP, 22, DENY }) },
	{ "the same policy before the removal",
	  POLICY(A("\"bob-laptop\"", "\"alice-laptop:*\"") "," A("\"alice\"", "\"bob-laptop:*\"")),
	  NULL,
	  PROBES({ "alice-laptop", "100.64.0.2", MESH, "alice-laptop", TCP, 22, ALLOW },
		 { "bob-laptop", "alice-laptop", MESH, "bob-laptop", TCP, 22, ALLOW }) },
	{ "a CIDR destination reaches the mesh nodes inside it only",
	  POLICY(A("\"*\"", "\"100.64.0.1/32:22\", \"[fd7a::3]:80\"")), NULL,
	  PROBES({ "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 22, ALLOW },
		 { "alice-laptop", "bob-laptop/6", MESH, "alice-laptop/6", TCP, 22, DENY },
		 { "server1", "bob-laptop/6", MESH, "server1/6", TCP, 80, ALLOW },
		 { "server1", "bob-laptop", MESH, "server1", TCP, 80, DENY },
		 { "bob-laptop", "alice-laptop", MESH, "bob-laptop", TCP, 22, DENY }) },
	{ "CIDR and host sources", POLICY(A("\"100.64.0.9/32\", \"nas\"", "\"alice-laptop:*\"")),
	  NULL,
	  PROBES({ "alice-laptop", "carol-phone", MESH, "alice-laptop", TCP, 22, ALLOW },
		 { "alice-laptop", "carol-phone/6", MESH, "alice-laptop/6", TCP, 22, DENY },
		 { "alice-laptop", "192.168.1.10", MESH, "alice-laptop", TCP, 22, ALLOW },
		 { "alice-laptop", "192.168.1.11", MESH, "alice-laptop", TCP, 22, DENY }) },
	{ "a user grant reaches the user's untagged nodes", POLICY(A("\"bob\"", "\"alice:*\"")),
	  NULL,
	  PROBES({ "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 22, ALLOW },
		 { "server1", "bob-laptop", MESH, "server1", TCP, 22, DENY }) },
	{ "nothing is allowed by an empty policy", "{}", NULL,
	  PROBES({ "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 22, DENY },
		 { "exit-a", "bob-laptop", EXIT, "8.8.8.8", TCP, 22, DENY }) },
	/* autogroups, as Tailscale documents them */
	{ "autogroup:member is every untagged node, as a source and as a destination",
	  POLICY(A("\"autogroup:member\"", "\"tag:server:22\"") "," A("\"tag:router\"",
								      "\"autogroup:member:80\"")),
	  NULL,
	  PROBES({ "server1", "alice-laptop", MESH, "server1", TCP, 22, ALLOW },
		 { "server1", "bob-laptop/6", MESH, "server1/6", TCP, 22, ALLOW },
		 { "server1", "exit-a", MESH, "server1", TCP, 22, DENY },
		 { "server1", "alice-laptop", MESH, "server1", TCP, 80, DENY },
		 { "alice-laptop", "router", MESH, "alice-laptop", TCP, 80, ALLOW },
		 /* bobsrv's tag does not count (carol may not set it): it is carol's node */
		 { "bobsrv", "router", MESH, "bobsrv", TCP, 80, ALLOW },
		 { "server1", "router", MESH, "server1", TCP, 80, DENY },
		 { "exit-a", "router", MESH, "exit-a", TCP, 80, DENY }) },
	{ "autogroup:tagged is every node with a counting tag",
	  POLICY(A("\"autogroup:tagged\"",
		   "\"alice-laptop:22\"") "," A("\"bob\"", "\"autogroup:tagged:443\"")),
	  NULL,
	  PROBES({ "alice-laptop", "server1", MESH, "alice-laptop", TCP, 22, ALLOW },
		 { "alice-laptop", "exit-u", MESH, "alice-laptop", TCP, 22, ALLOW },
		 { "alice-laptop", "bobsrv", MESH, "alice-laptop", TCP, 22, DENY },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 22, DENY },
		 { "server1", "bob-laptop", MESH, "server1", TCP, 443, ALLOW },
		 { "router", "bob-laptop", MESH, "router", TCP, 443, ALLOW },
		 { "bobsrv", "bob-laptop", MESH, "bobsrv", TCP, 443, DENY },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 443, DENY }) },
	{ "autogroup:danger-all is any source address, in the mesh and behind routers",
	  POLICY(A("\"autogroup:danger-all\"", "\"alice-laptop:22\", \"10.1.0.0/16:*\"")), NULL,
	  PROBES({ "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 22, ALLOW },
		 { "alice-laptop", "192.168.1.10", MESH, "alice-laptop", TCP, 22, ALLOW },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 23, DENY },
		 { "router", "192.168.1.10", SUBNET, "10.1.2.3", UDP, 53, ALLOW },
		 { "router", "bob-laptop", SUBNET, "10.2.2.3", UDP, 53, DENY },
		 { "exit-a", "bob-laptop", EXIT, "8.8.8.8", TCP, 443, DENY }),
	  RULES("alice-laptop", "mesh any 0.0.0.0/0,::/0 -> 100.64.0.1/32,fd7a::1/128 ports 22") },
	{ "autogroup:self is each user's own untagged nodes, compiled per destination",
	  POLICY(A("\"autogroup:member\"", "\"autogroup:self:*\"")), NULL,
	  PROBES({ "carol-phone", "bobsrv", MESH, "carol-phone", TCP, 22, ALLOW },
		 { "carol-phone", "bobsrv/6", MESH, "carol-phone/6", UDP, 53, ALLOW },
		 { "bobsrv", "carol-phone", MESH, "bobsrv", TCP, 22, ALLOW },
		 { "carol-phone", "alice-laptop", MESH, "carol-phone", TCP, 22, DENY },
		 { "carol-phone", "bob-laptop", MESH, "carol-phone", TCP, 22, DENY },
		 /* alice's tagged server1 is not hers in this sense, either way */
		 { "alice-laptop", "server1", MESH, "alice-laptop", TCP, 22, DENY },
		 { "server1", "alice-laptop", MESH, "server1", TCP, 22, DENY }) },
	{ "autogroup:self narrows its sources: a group reaches only its members' own nodes",
	  "{\"groups\": {\"group:all\": [\"alice\", \"carol\"]}, \"acls\": [" A(
	      "\"group:all\"", "\"autogroup:self:22\"") "]}",
	  NULL,
	  PROBES({ "carol-phone", "bobsrv", MESH, "carol-phone", TCP, 22, ALLOW },
		 { "carol-phone", "bobsrv", MESH, "carol-phone", TCP, 23, DENY },
		 { "carol-phone", "alice-laptop", MESH, "carol-phone", TCP, 22, DENY },
		 { "bob-laptop", "bob-laptop", MESH, "bob-laptop", TCP, 22, DENY }) },
	/* grants: Tailscale's documented examples, compiled to the same model as acls */
	{ "a grant's ip entries: tcp:22 is TCP only, a bare port TCP and UDP to it and ICMP",
	  HEAD " \"grants\": [{\"src\": [\"group:eng\"], \"dst\": [\"tag:server\"], "
	       "\"ip\": [\"tcp:22\", \"443\"]}]}",
	  NULL,
	  PROBES({ "server1", "alice-laptop", MESH, "server1", TCP, 22, ALLOW },
		 { "server1", "alice-laptop", MESH, "server1", UDP, 22, DENY },
		 { "server1", "alice-laptop/6", MESH, "server1/6", TCP, 443, ALLOW },
		 { "server1", "alice-laptop", MESH, "server1", UDP, 443, ALLOW },
		 { "server1", "alice-laptop", MESH, "server1", TCP, 80, DENY },
		 { "server1", "alice-laptop", MESH, "server1", ICMP, 0, ALLOW },
		 { "server1", "alice-laptop", MESH, "server1", 47 /* GRE */, 0, DENY },
		 { "server1", "bob-laptop", MESH, "server1", TCP, 22, DENY }),
	  RULES("server1",
		"mesh tcp 100.64.0.1/32,fd7a::1/128 -> 100.64.0.3/32,fd7a::3/128 ports 22",
		"mesh any 100.64.0.1/32,fd7a::1/128 -> 100.64.0.3/32,fd7a::3/128 ports 443") },
	{ "a grant with via: the internet only through exit-a, the LAN only through exit-a",
	  HEAD " \"grants\": [{\"src\": [\"alice\"], \"dst\": [\"autogroup:internet\", "
	       "\"office\"], \"ip\": [\"*\"], \"via\": [\"exit-a\"]}]}",
	  NULL,
	  PROBES({ "exit-a", "alice-laptop", EXIT, "8.8.8.8", TCP, 443, ALLOW },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.10", UDP, 53, ALLOW },
		 { "exit-b", "alice-laptop", EXIT, "8.8.8.8", TCP, 443, DENY },
		 { "exit-a", "alice-laptop", MESH, "exit-a", TCP, 22, DENY },
		 { "exit-a", "bob-laptop", EXIT, "8.8.8.8", TCP, 443, DENY }) },
	{ "an app-only grant and a posture-limited grant grant nothing",
	  HEAD " \"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"app\": "
	       "{\"example.com/cap/web\": [{\"paths\": [\"/\"]}]}},"
	       " {\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"], \"srcPosture\": "
	       "[\"posture:latest\"]}],"
	       " \"postures\": {\"posture:latest\": [\"node:tsReleaseTrack == 'stable'\"]}}",
	  NULL,
	  PROBES({ "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 443, DENY },
		 { "alice-laptop", "bob-laptop", MESH, "alice-laptop", ICMP, 0, DENY }),
	  { "alice-laptop", (const char *const[]){ NULL } } },
	{ "Tailscale's legacy users and ports mean src and dst",
	  POLICY("{\"action\": \"accept\", \"users\": [\"group:eng\"], \"proto\": \"tcp\", "
		 "\"ports\": [\"bob-laptop:22\"]}"),
	  NULL,
	  PROBES({ "bob-laptop", "alice-laptop", MESH, "bob-laptop", TCP, 22, ALLOW },
		 { "bob-laptop", "alice-laptop", MESH, "bob-laptop", TCP, 23, DENY },
		 { "bob-laptop", "carol-phone", MESH, "bob-laptop", TCP, 22, DENY }) },
	{ "an empty group grants nothing",
	  "{\"groups\": {\"group:none\": []}, \"acls\": [" A("\"group:none\"", "\"*:*\"") "]}",
	  NULL, PROBES({ "alice-laptop", "bob-laptop", MESH, "alice-laptop", TCP, 22, DENY }) },
	/* ipsets (Tailscale's IP sets): add and remove in order, hosts and other sets */
	{ "an ipset of a LAN less one host: every address of it but that one",
	  HEAD " \"ipsets\": {\"ipset:lan\": [\"add office\", \"remove nas\"]},"
	       " \"acls\": [" A("\"alice\"", "\"ipset:lan:*\"") "]}",
	  NULL,
	  PROBES({ "exit-a", "alice-laptop", SUBNET, "192.168.1.20", TCP, 22, ALLOW },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.0", UDP, 53, ALLOW },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.9", TCP, 22, ALLOW },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.10", TCP, 22, DENY },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.10", ICMP, 0, DENY },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.11", TCP, 22, ALLOW },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.255", TCP, 22, ALLOW },
		 { "exit-a", "alice-laptop", SUBNET, "203.0.113.10", TCP, 22, DENY },
		 { "exit-a", "bob-laptop", SUBNET, "192.168.1.20", TCP, 22, DENY }) },
	{ "ipsets as sources, nested, in any order: what the adds and removes leave",
	  HEAD " \"ipsets\": {\"ipset:src\": [\"add ipset:phones\", \"add 100.64.0.0/30\","
	       " \"remove 100.64.0.1\"], \"ipset:phones\": [\"100.64.0.9\"]},"
	       " \"acls\": [" AP("tcp", "\"ipset:src\"", "\"server1:22\"") "]}",
	  NULL,
	  PROBES({ "server1", "carol-phone", MESH, "server1", TCP, 22, ALLOW },
		 { "server1", "bob-laptop", MESH, "server1", TCP, 22, ALLOW },
		 { "server1", "bob-laptop", MESH, "server1", TCP, 23, DENY },
		 { "server1", "alice-laptop", MESH, "server1", TCP, 22, DENY },
		 { "server1", "bob-laptop/6", MESH, "server1/6", TCP, 22, DENY },
		 { "bobsrv", "bob-laptop", MESH, "bobsrv", TCP, 22, DENY }) },
	{ "an ipset of mesh addresses as a destination: those nodes, each family as listed",
	  HEAD " \"ipsets\": {\"ipset:srv\": [\"100.64.0.3\", \"fd7a::4\"]},"
	       " \"acls\": [" A("\"alice\"", "\"ipset:srv:443\"") "]}",
	  NULL,
	  PROBES({ "server1", "alice-laptop", MESH, "server1", TCP, 443, ALLOW },
		 { "server1", "alice-laptop/6", MESH, "server1/6", TCP, 443, DENY },
		 { "bobsrv", "alice-laptop/6", MESH, "bobsrv/6", TCP, 443, ALLOW },
		 { "bobsrv", "alice-laptop", MESH, "bobsrv", TCP, 443, DENY },
		 { "server1", "alice-laptop", MESH, "server1", TCP, 22, DENY }) },
	{ "an ipset under via: its part of the LAN, through exit-a only",
	  HEAD " \"ipsets\": {\"ipset:web\": [\"192.168.1.0/25\"]},"
	       " \"acls\": [" AV("\"alice\"", "\"ipset:web:443\"", "\"exit-a\"") "]}",
	  NULL,
	  PROBES({ "exit-a", "alice-laptop", SUBNET, "192.168.1.100", TCP, 443, ALLOW },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.200", TCP, 443, DENY },
		 { "exit-a", "alice-laptop", SUBNET, "192.168.1.100", TCP, 80, DENY }) },
};

static int addr_of(const struct rn_policy_world *w, const char *spec, uint8_t *addr)
{
	char name[64];
	size_t n = strcspn(spec, "/");
	bool v6 = spec[n] == '/';

	snprintf(name, sizeof(name), "%.*s", (int)n, spec);
	for (size_t i = 0; i < w->n_nodes; i++) {
		if (strcmp(w->nodes[i].name, name))
			continue;
		memcpy(addr, v6 ? w->nodes[i].ip6 : w->nodes[i].ip4, v6 ? 16 : 4);
		return v6 ? AF_INET6 : AF_INET;
	}
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		if (!strcmp(nodes[i].name, name)) { /* a node gone from w keeps its address */
			memcpy(addr, v6 ? nodes[i].ip6 : nodes[i].ip4, v6 ? 16 : 4);
			return v6 ? AF_INET6 : AF_INET;
		}
	}
	if (inet_pton(AF_INET, spec, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, spec, addr) == 1)
		return AF_INET6;
	fail_msg("bad address in the table: %s", spec);
	return -1;
}

static void compile_at(const struct rn_policy *pol, const struct rn_policy_world *w, const char *at,
		       struct rn_filter *f)
{
	const struct rn_policy_node *n = rn_policy_node_by_name(w, at);

	if (!n)
		fail_msg("no node %s in the table's world", at);
	if (rn_policy_compile_filter(pol, w, n->id, f))
		fail_msg("compile at %s failed", at);
}

static void check_probe(const struct filter_case *c, const struct rn_policy *pol,
			const struct rn_policy_world *w, const struct probe *p)
{
	struct rn_filter f = { 0 };
	uint8_t src[16], dst[16];
	int family = addr_of(w, p->src, src);
	bool got;

	if (addr_of(w, p->dst, dst) != family)
		fail_msg("%s: probe %s -> %s mixes families", c->name, p->src, p->dst);
	compile_at(pol, w, p->at, &f);
	got = rn_filter_allows(&f, (enum rn_filter_context)p->ctx, family, src, dst, p->proto,
			       p->port);
	/* What the data plane will classify the packet as must agree with the probe's context. */
	if (got && rn_filter_context_of(&f, family, dst) != (enum rn_filter_context)p->ctx)
		fail_msg("%s: at %s, %s is context %d, not %d", c->name, p->at, p->dst,
			 rn_filter_context_of(&f, family, dst), p->ctx);
	if (got != (p->want == ALLOW))
		fail_msg("%s: at %s, %s -> %s proto %u port %u context %d: got %s, want %s",
			 c->name, p->at, p->src, p->dst, p->proto, p->port, p->ctx,
			 got ? "allow" : "deny", p->want == ALLOW ? "allow" : "deny");
	rn_filter_free(&f);
}

static void check_rules(const struct filter_case *c, const struct rn_policy *pol,
			const struct rn_policy_world *w)
{
	struct rn_filter f = { 0 };
	size_t n = 0;

	compile_at(pol, w, c->rules.at, &f);
	while (c->rules.want[n])
		n++;
	if (f.n_rules != n)
		fail_msg("%s: at %s, %zu rules, want %zu", c->name, c->rules.at, f.n_rules, n);
	for (size_t i = 0; i < n; i++) {
		char got[512];

		rn_filter_rule_format(&f.rules[i], got, sizeof(got));
		if (strcmp(got, c->rules.want[i]))
			fail_msg("%s: rule %zu:\n got  %s\n want %s", c->name, i, got,
				 c->rules.want[i]);
	}
	rn_filter_free(&f);
}

static void test_filters(void **state)
{
	size_t probes = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(filter_cases) / sizeof(filter_cases[0]); i++) {
		const struct filter_case *c = &filter_cases[i];
		const struct rn_policy_world *w = c->world ? c->world : &world;
		struct rn_policy *pol = parse_ok(c->policy ? c->policy : rn_policy_default_text());

		for (const struct probe *p = c->probes; p->at; p++, probes++)
			check_probe(c, pol, w, p);
		if (c->rules.at)
			check_rules(c, pol, w);
		rn_policy_free(pol);
	}
	print_message("%zu cases, %zu probes\n", sizeof(filter_cases) / sizeof(filter_cases[0]),
		      probes);
}

static void test_unknown_node(void **state)
{
	struct rn_policy *pol = parse_ok("{}");
	struct rn_policy_routes routes = { 0 };
	struct rn_filter f = { 0 };
	uint64_t ids[10];
	size_t n;

	(void)state;
	assert_int_equal(rn_policy_compile_filter(pol, &world, 2, &f), 0);
	assert_int_equal(f.n_rules, 0);
	rn_filter_free(&f);
	assert_int_equal(rn_policy_compile_filter(pol, &world_without_bob, 2, &f), -ENOENT);
	assert_int_equal(rn_policy_visible_peers(pol, &world, 99, ids, &n), -ENOENT);
	assert_int_equal(rn_policy_exit_nodes_for(pol, &world, 99, ids, &n), -ENOENT);
	assert_int_equal(rn_policy_lan_routes_for(pol, &world, 99, &routes), -ENOENT);
	rn_policy_free(pol);
}

/* A tag may own a tag: it counts on a node that has the owning tag, in any order. */
static void test_tag_owned_by_tag(void **state)
{
	static const char *const ab[] = { "tag:b", "tag:a" }, *const b_only[] = { "tag:b" };
	static const struct rn_policy_node n[] = {
		{ NODE(1, "both", "alice"), .tags = ab, .n_tags = 2 },
		{ NODE(2, "b-only", "alice"), .tags = b_only, .n_tags = 1 },
		{ NODE(3, "client", "bob") },
	};
	static const struct rn_policy_world w = { users, 4, n, 3 };
	struct rn_policy *pol = parse_ok(
	    "{\"tagOwners\": {\"tag:a\": [\"alice\"], \"tag:b\": [\"tag:a\"]},"
	    " \"acls\": [" A("\"bob\"", "\"tag:b:22\"") "," A("\"bob\"", "\"alice:80\"") "]}");
	struct rn_filter f = { 0 };

	(void)state;
	assert_int_equal(rn_policy_compile_filter(pol, &w, 1, &f), 0);
	assert_true(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[2].ip4, n[0].ip4, TCP, 22));
	assert_false(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[2].ip4, n[0].ip4, TCP, 80));
	rn_filter_free(&f);
	/* tag:b without tag:a does not count, so b-only is still alice's own node. */
	assert_int_equal(rn_policy_compile_filter(pol, &w, 2, &f), 0);
	assert_false(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[2].ip4, n[1].ip4, TCP, 22));
	assert_true(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[2].ip4, n[1].ip4, TCP, 80));
	rn_filter_free(&f);
	rn_policy_free(pol);
}

/*
 * Tailscale's forms: users are e-mail addresses (in groups, tagOwners, sources, destinations
 * as USER:PORTS, split at the last colon), and tags own tags to any depth, in any order.
 */
static void test_email_users_and_tag_chains(void **state)
{
	static const char *const u[] = { "alice@example.com", "bob@example.com" };
	static const char *const cba[] = { "tag:c", "tag:b", "tag:a" }, *const c_only[] = {
		"tag:c"
	};
	static const struct rn_policy_node n[] = {
		{ NODE(1, "srv", "alice@example.com"), .tags = cba, .n_tags = 3 },
		{ NODE(2, "half", "alice@example.com"), .tags = c_only, .n_tags = 1 },
		{ NODE(3, "bob-laptop", "bob@example.com") },
	};
	static const struct rn_policy_world w = { u, 2, n, 3 };
	static const char text[] =
	    "{\"groups\": {\"group:eng\": [\"alice@example.com\"]},"
	    " \"tagOwners\": {\"tag:c\": [\"tag:b\"], \"tag:b\": [\"tag:a\"], \"tag:a\": [\"group:eng\"]},"
	    " \"acls\": [" A("\"bob@example.com\"", "\"tag:c:22\"") "," A(
		"\"bob@example.com\"", "\"alice@example.com:80\"") "]}";
	struct rn_policy_error err;
	struct rn_policy *pol = parse_ok(text);
	struct rn_filter f = { 0 };

	(void)state;
	if (rn_policy_validate(pol, &w, &err))
		fail_msg("%s", err.text);
	assert_int_equal(rn_policy_compile_filter(pol, &w, 1, &f), 0);
	assert_true(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[2].ip4, n[0].ip4, TCP, 22));
	assert_false(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[2].ip4, n[0].ip4, TCP, 80));
	rn_filter_free(&f);
	/* tag:c without the chain under it does not count: half is alice's own node. */
	assert_int_equal(rn_policy_compile_filter(pol, &w, 2, &f), 0);
	assert_false(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[2].ip4, n[1].ip4, TCP, 22));
	assert_true(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[2].ip4, n[1].ip4, TCP, 80));
	rn_filter_free(&f);
	rn_policy_free(pol);
}

/*
 * autogroup:admin and autogroup:owner are the users with the admin role the control server
 * keeps (the world's admins): their untagged nodes, and as tag owners the users themselves.
 */
static void test_autogroup_admin(void **state)
{
	static const char *const admins[] = { "admin", "carol" };
	static const char *const t_adm[] = { "tag:adm" };
	static const struct rn_policy_node n[] = {
		{ NODE(1, "alice-laptop", "alice") },
		{ NODE(2, "carol-phone", "carol") },
		{ NODE(3, "adm-srv", "admin"), .tags = t_adm, .n_tags = 1 },
		{ NODE(4, "alice-srv", "alice"), .tags = t_adm, .n_tags = 1 },
	};
	struct rn_policy_world w = { users, 4, n, 4, admins, 2 };
	struct rn_policy *pol =
	    parse_ok("{\"tagOwners\": {\"tag:adm\": [\"autogroup:admin\"]},"
		     " \"acls\": [" A("\"autogroup:owner\"", "\"tag:adm:22\"") "," A(
			 "\"alice\"", "\"autogroup:admin:80\"") "]}");
	struct rn_policy_error err;
	struct rn_filter f = { 0 };

	(void)state;
	assert_int_equal(rn_policy_validate(pol, &w, &err), 0);
	/* admin may set tag:adm, so adm-srv is tagged; alice may not, so alice-srv is hers. */
	assert_int_equal(rn_policy_compile_filter(pol, &w, 3, &f), 0);
	assert_true(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[1].ip4, n[2].ip4, TCP, 22));
	assert_false(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[0].ip4, n[2].ip4, TCP, 22));
	rn_filter_free(&f);
	assert_int_equal(rn_policy_compile_filter(pol, &w, 4, &f), 0);
	assert_false(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[1].ip4, n[3].ip4, TCP, 22));
	rn_filter_free(&f);
	/* autogroup:admin as a destination: carol's untagged phone, not the tagged adm-srv. */
	assert_int_equal(rn_policy_compile_filter(pol, &w, 2, &f), 0);
	assert_true(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[0].ip4, n[1].ip4, TCP, 80));
	rn_filter_free(&f);
	assert_int_equal(rn_policy_compile_filter(pol, &w, 3, &f), 0);
	assert_false(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[0].ip4, n[2].ip4, TCP, 80));
	rn_filter_free(&f);
	/* With no admins kept, the autogroups name nobody. */
	w.n_admins = 0;
	assert_int_equal(rn_policy_compile_filter(pol, &w, 2, &f), 0);
	assert_false(rn_filter_allows(&f, RN_FILTER_MESH, AF_INET, n[0].ip4, n[1].ip4, TCP, 80));
	rn_filter_free(&f);
	rn_policy_free(pol);
}

/* ---- peers, exits and LAN routes ---- */

struct netmap_case {
	const char *policy; /* NULL: the starter policy */
	const char *client;
	const char *peers; /* space-separated names, in world order */
	const char *exits;
	const char *routes; /* "router=prefix ..." */
};

#define LAN_POLICY                                                                                 \
	POLICY(AP("tcp", "\"group:eng\"", "\"tag:server:22\"") "," AV(                             \
	    "\"alice\"", "\"autogroup:internet:*\"",                                               \
	    "\"exit-a\"") "," A("\"alice\"",                                                       \
				"\"nas:445\", \"192.168.0.0/16:80\", "                             \
				"\"10.0.0.0/8:*\"") "," A("\"10.1.0.0/16\"", "\"carol-phone:*\""))

static const struct netmap_case netmap_cases[] = {
	{ NULL, "alice-laptop",
	  "bob-laptop server1 bobsrv exit-a exit-b exit-u router carol-phone router2", "", "" },
	{ POLICY(A("\"*\"", "\"autogroup:internet:*\"")), "alice-laptop", "exit-a exit-b",
	  "exit-a exit-b", "" },
	/* Everyone may use exit-a, so it must know everyone. */
	{ POLICY(A("\"*\"", "\"autogroup:internet:*\"")), "exit-a",
	  "alice-laptop bob-laptop server1 bobsrv exit-b exit-u router carol-phone router2",
	  "exit-b", "" },
	{ LAN_POLICY, "alice-laptop", "server1 exit-a router", "exit-a",
	  "exit-a=192.168.1.10/32 exit-a=192.168.1.0/24 router=10.1.0.0/16" },
	{ LAN_POLICY, "server1", "alice-laptop", "", "" },
	{ LAN_POLICY, "bob-laptop", "", "", "" },
	{ LAN_POLICY, "exit-a", "alice-laptop", "", "" },
	/* The router forwards its LAN's packets to carol, so each must know the other. */
	{ LAN_POLICY, "router", "alice-laptop carol-phone", "", "" },
	{ LAN_POLICY, "carol-phone", "router", "", "" },
	/* autogroup:self: carol's two nodes see each other, and nobody else. */
	{ POLICY(A("\"autogroup:member\"", "\"autogroup:self:*\"")), "carol-phone", "bobsrv", "",
	  "" },
	{ POLICY(A("\"autogroup:member\"", "\"autogroup:self:*\"")), "alice-laptop", "", "", "" },
	{ POLICY(A("\"autogroup:tagged\"", "\"autogroup:member:22\"")), "exit-u",
	  "alice-laptop bob-laptop bobsrv carol-phone", "", "" },
	/* An entry of a protocol the filter cannot enforce grants nothing: no peer, no exit. */
	{ POLICY(AP("gre", "\"*\"", "\"*:*\", \"autogroup:internet:*\", \"10.0.0.0/8:*\"")),
	  "alice-laptop", "", "", "" },
};

static void ids_text(const uint64_t *ids, size_t n, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "",
			 name_of(ids[i]));
}

static void test_netmaps(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(netmap_cases) / sizeof(netmap_cases[0]); i++) {
		const struct netmap_case *c = &netmap_cases[i];
		struct rn_policy *pol = parse_ok(c->policy ? c->policy : rn_policy_default_text());
		uint64_t id = rn_policy_node_by_name(&world, c->client)->id, ids[10];
		struct rn_policy_routes routes = { 0 };
		char got[512];
		size_t n;

		assert_int_equal(rn_policy_visible_peers(pol, &world, id, ids, &n), 0);
		ids_text(ids, n, got, sizeof(got));
		if (strcmp(got, c->peers))
			fail_msg("case %zu, %s: peers \"%s\", want \"%s\"", i, c->client, got,
				 c->peers);
		assert_int_equal(rn_policy_exit_nodes_for(pol, &world, id, ids, &n), 0);
		ids_text(ids, n, got, sizeof(got));
		if (strcmp(got, c->exits))
			fail_msg("case %zu, %s: exits \"%s\", want \"%s\"", i, c->client, got,
				 c->exits);
		assert_int_equal(rn_policy_lan_routes_for(pol, &world, id, &routes), 0);
		got[0] = '\0';
		for (size_t r = 0; r < routes.n; r++) {
			char p[RN_FILTER_PREFIX_STRLEN];

			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s=%s",
				 r ? " " : "", name_of(routes.v[r].router),
				 rn_filter_prefix_format(&routes.v[r].prefix, p, sizeof(p)));
		}
		if (strcmp(got, c->routes))
			fail_msg("case %zu, %s: routes \"%s\", want \"%s\"", i, c->client, got,
				 c->routes);
		rn_policy_routes_free(&routes);
		rn_policy_free(pol);
	}
}

/* Every exit offered and every route offered is one the router's filter admits. */
static void test_netmap_agrees_with_filters(void **state)
{
	struct rn_policy *pol = parse_ok(LAN_POLICY);

	(void)state;
	for (size_t c = 0; c < world.n_nodes; c++) {
		struct rn_policy_routes routes = { 0 };
		uint64_t ids[10];
		size_t n;

		assert_int_equal(rn_policy_exit_nodes_for(pol, &world, nodes[c].id, ids, &n), 0);
		for (size_t i = 0; i < n; i++) {
			struct rn_filter f = { 0 };

			assert_int_equal(rn_policy_compile_filter(pol, &world, ids[i], &f), 0);
			assert_true(rn_filter_allows(&f, RN_FILTER_EXIT, AF_INET, nodes[c].ip4,
						     (uint8_t[4]){ 8, 8, 8, 8 }, TCP, 443));
			rn_filter_free(&f);
		}
		assert_int_equal(rn_policy_lan_routes_for(pol, &world, nodes[c].id, &routes), 0);
		for (size_t i = 0; i < routes.n; i++) {
			struct rn_filter f = { 0 };
			bool any = false;
			bool v6 = routes.v[i].prefix.family == AF_INET6;

			assert_int_equal(
			    rn_policy_compile_filter(pol, &world, routes.v[i].router, &f), 0);
			for (uint16_t port = 1; port < 1024 && !any; port++)
				any = rn_filter_allows(&f, RN_FILTER_SUBNET,
						       routes.v[i].prefix.family,
						       v6 ? nodes[c].ip6 : nodes[c].ip4,
						       routes.v[i].prefix.addr, TCP, port);
			assert_true(any);
			rn_filter_free(&f);
		}
		rn_policy_routes_free(&routes);
	}
	rn_policy_free(pol);
}

/* ---- autoApprovers ---- */

static const char approvers[] =
    HEAD " \"autoApprovers\": {\"routes\": {\"10.0.0.0/8\": [\"tag:router\"],"
	 " \"192.168.1.0/24\": [\"alice\"], \"fd00::/8\": [\"group:eng\"]},"
	 " \"exitNode\": [\"tag:exit\", \"group:eng\"]}}";

static void test_auto_approve(void **state)
{
	static const struct rn_filter_prefix adv[] = {
		PFX(10, 1, 0, 0, 16),	 PFX(172, 16, 0, 0, 12),	PFX(192, 168, 1, 0, 25),
		PFX(192, 168, 0, 0, 16), { AF_INET6, 64, { 0xfd, 1 } }, PFX(0, 0, 0, 0, 0)
	};
	static const struct {
		struct rn_policy_node node;
		const char *routes; /* one 0/1 per adv[] */
		bool exit;
	} cases[] = {
		{ { NODE(8, "router", "admin"), .tags = t_router, .n_tags = 1 }, "100000", false },
		{ { NODE(8, "router", "admin"), .tags = t_router, .n_tags = 1,
		    .advertises_exit = true },
		  "100000",
		  false },
		{ { NODE(1, "alice-laptop", "alice"), .advertises_exit = true }, "001010", true },
		/* Tagged: alice's approvals no longer apply to it. */
		{ { NODE(3, "server1", "alice"), .tags = t_server, .n_tags = 1,
		    .advertises_exit = true },
		  "000000",
		  false },
		{ { NODE(5, "exit-a", "admin"), .tags = t_exit, .n_tags = 1,
		    .advertises_exit = true },
		  "000000",
		  true },
		{ { NODE(5, "exit-a", "admin"), .tags = t_exit, .n_tags = 1 }, "000000", false },
		{ { NODE(9, "carol-phone", "carol"), .advertises_exit = true }, "000000", false },
		/* A tag carol may not set does not make her node a router. */
		{ { NODE(4, "bobsrv", "carol"), .tags = t_router, .n_tags = 1 }, "000000", false },
	};
	struct rn_policy *pol = parse_ok(approvers);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rn_policy_node node = cases[i].node;
		bool ok[6], exit_ok;
		char got[7] = { 0 };

		node.advertised = adv;
		node.n_advertised = 6;
		assert_int_equal(rn_policy_auto_approve(pol, &node, ok, &exit_ok), 0);
		for (size_t r = 0; r < 6; r++)
			got[r] = ok[r] ? '1' : '0';
		if (strcmp(got, cases[i].routes) || exit_ok != cases[i].exit)
			fail_msg("case %zu (%s): routes %s exit %d, want %s %d", i, node.name, got,
				 exit_ok, cases[i].routes, cases[i].exit);
	}
	rn_policy_free(pol);
}

/*
 * Tailscale also approves exit nodes by listing the default routes under "routes": an exit
 * offer is both 0.0.0.0/0 and ::/0, so the node must match the approvers of both. A default
 * route holds every route of its family, so it approves subnet routes too.
 */
static void test_auto_approve_default_routes(void **state)
{
	static const struct rn_filter_prefix adv[] = { PFX(10, 1, 0, 0, 16),
						       { AF_INET6, 64, { 0xfd, 1 } } };
	static const struct {
		const char *policy;
		struct rn_policy_node node;
		const char *routes;
		bool exit;
	} cases[] = {
		{ HEAD " \"autoApprovers\": {\"routes\": {\"0.0.0.0/0\": [\"tag:exit\"], "
		       "\"::/0\": [\"tag:exit\"]}}}",
		  { NODE(5, "exit-a", "admin"), .tags = t_exit, .n_tags = 1,
		    .advertises_exit = true },
		  "11",
		  true },
		/* Matching only the IPv4 default route's approvers is half an exit node: no. */
		{ HEAD " \"autoApprovers\": {\"routes\": {\"0.0.0.0/0\": [\"tag:exit\"], "
		       "\"::/0\": [\"group:eng\"]}}}",
		  { NODE(5, "exit-a", "admin"), .tags = t_exit, .n_tags = 1,
		    .advertises_exit = true },
		  "10",
		  false },
		{ HEAD " \"autoApprovers\": {\"routes\": {\"0.0.0.0/0\": [\"alice\"]}}}",
		  { NODE(1, "alice-laptop", "alice"), .advertises_exit = true },
		  "10",
		  false },
		/* Not the node's approvers: nothing. */
		{ HEAD " \"autoApprovers\": {\"routes\": {\"0.0.0.0/0\": [\"tag:exit\"], "
		       "\"::/0\": [\"tag:exit\"]}}}",
		  { NODE(1, "alice-laptop", "alice"), .advertises_exit = true },
		  "00",
		  false },
		/* Both spellings together. */
		{ HEAD " \"autoApprovers\": {\"routes\": {\"::/0\": [\"alice\"]}, "
		       "\"exitNode\": [\"alice\"]}}",
		  { NODE(1, "alice-laptop", "alice"), .advertises_exit = true },
		  "01",
		  true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rn_policy *pol = parse_ok(cases[i].policy);
		struct rn_policy_node node = cases[i].node;
		bool ok[2], exit_ok;
		char got[3] = { 0 };

		node.advertised = adv;
		node.n_advertised = 2;
		assert_int_equal(rn_policy_auto_approve(pol, &node, ok, &exit_ok), 0);
		for (size_t r = 0; r < 2; r++)
			got[r] = ok[r] ? '1' : '0';
		if (strcmp(got, cases[i].routes) || exit_ok != cases[i].exit)
			fail_msg("case %zu: routes %s exit %d, want %s %d", i, got, exit_ok,
				 cases[i].routes, cases[i].exit);
		rn_policy_free(pol);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_unknown_node),
		cmocka_unit_test(test_tag_owned_by_tag),
		cmocka_unit_test(test_email_users_and_tag_chains),
		cmocka_unit_test(test_autogroup_admin),
		cmocka_unit_test(test_netmaps),
		cmocka_unit_test(test_netmap_agrees_with_filters),
		cmocka_unit_test(test_auto_approve),
		cmocka_unit_test(test_auto_approve_default_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
