/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the policy parser and validator: good policies read into the right model, and
 * each kind of bad one is refused with the exact message, line and column.
 */
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

#include "policy/policy.h"

#define ACL(x) "{\"acls\": [" x "]}"

struct bad_case {
	const char *text;
	unsigned line, col;
	const char *message;
};

static const struct bad_case parse_cases[] = {
	/* JSON and HuJSON */
	{ "", 1, 1, "bad JSON: '[' or '{' expected near end of file" },
	{ "{\"acls\": [}", 1, 11, "bad JSON: unexpected token near '}'" },
	{ "{\n  \"acls\": [,]\n}", 2, 12, "bad JSON: unexpected token near ','" },
	{ "{\"groups\": {}, \"groups\": {}}", 1, 23,
	  "bad JSON: duplicate object key near '\"groups\"'" },
	{ "// fine\n{} /* not closed", 2, 4, "unterminated /* comment: close it with */" },
	{ "[]", 1, 1, "a policy is a JSON object, not a list" },
	/* keys */
	{ "{\"acl\": []}", 1, 2,
	  "unknown key \"acl\" at the top level; expected groups, tagOwners, hosts, ipsets, "
	  "postures, acls, "
	  "grants, autoApprovers, tests, ssh, sshTests, nodeAttrs, randomizeClientPort, derpMap, "
	  "OneCGNATRoute or disableIPv4" },
	{ "{\"disableIPv4\": 1}", 1, 17, "disableIPv4 must be true or false" },
	{ "{\"disableIPv4\": true}", 1, 17,
	  "disableIPv4 true is not supported: every Rustynet node has an IPv4 mesh address "
	  "(100.64.0.0/10) beside its IPv6 one; remove it or set it to false" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"], \"ports\": []}"), 1,
	  62, "acls[0] has both \"dst\" and \"ports\" (its old name); keep \"dst\"" },
	{ ACL("{\"action\": \"accept\", \"users\": [\"*\"], \"src\": [\"*\"], \"dst\": [\"*:*\"]}"),
	  1, 48, "acls[0] has both \"src\" and \"users\" (its old name); keep \"src\"" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"], \"port\": []}"), 1,
	  62,
	  "unknown key \"port\" in acls[0]; expected action, src, dst, proto or via (or the old users "
	  "and ports)" },
	{ "{\"autoApprovers\": {\"exitNodes\": []}}", 1, 20,
	  "unknown key \"exitNodes\" in autoApprovers; expected routes or exitNode" },
	/* types */
	{ "{\"acls\": {}}", 1, 10, "acls must be a list, not an object" },
	{ "{\"groups\": {\"group:a\": \"alice\"}}", 1, 24,
	  "groups[\"group:a\"] must be a list, not a string" },
	{ ACL("{\"action\": \"accept\", \"src\": [7], \"dst\": [\"*:*\"]}"), 1, 40,
	  "acls[0].src[0] must be a string, not a number" },
	{ ACL("17"), 1, 11, "acls[0] must be an object, not a number" },
	/* actions, required keys */
	{ ACL("{\"action\": \"deny\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}"), 1, 22,
	  "unsupported action \"deny\" in acls[0].action: entries only grant (\"accept\"); "
	  "everything not granted is denied" },
	{ ACL("{\"src\": [\"*\"], \"dst\": [\"*:*\"]}"), 1, 11,
	  "acls[0] has no \"action\"; add \"action\": \"accept\"" },
	{ ACL("{\"action\": \"accept\", \"dst\": [\"*:*\"]}"), 1, 11,
	  "acls[0] has no \"src\": say who this entry grants" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"]}"), 1, 11,
	  "acls[0] has no \"dst\": say what this entry grants" },
	{ ACL("{\"action\": \"accept\", \"src\": [], \"dst\": [\"*:*\"]}"), 1, 39,
	  "acls[0].src is empty; list at least one name" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": []}"), 1, 53,
	  "acls[0].dst is empty; list at least one TARGET:PORTS" },
	/* protocols */
	{ ACL("{\"action\": \"accept\", \"proto\": \"tcpp\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}"),
	  1, 41,
	  "unknown proto \"tcpp\" in acls[0].proto; use a protocol name (tcp, udp, icmp, ipv6-icmp, "
	  "sctp, gre, esp, ah, igmp...) or an IANA number 1-255, or leave it out for any" },
	{ ACL("{\"action\": \"accept\", \"proto\": \"*\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}"),
	  1, 41,
	  "unknown proto \"*\" in acls[0].proto; use a protocol name (tcp, udp, icmp, ipv6-icmp, "
	  "sctp, gre, esp, ah, igmp...) or an IANA number 1-255, or leave it out for any" },
	{ ACL("{\"action\": \"accept\", \"proto\": \"0\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}"),
	  1, 41,
	  "unknown proto \"0\" in acls[0].proto; use a protocol name (tcp, udp, icmp, ipv6-icmp, "
	  "sctp, gre, esp, ah, igmp...) or an IANA number 1-255, or leave it out for any" },
	{ ACL("{\"action\": \"accept\", \"proto\": \"06\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}"),
	  1, 41,
	  "unknown proto \"06\" in acls[0].proto; use a protocol name (tcp, udp, icmp, ipv6-icmp, "
	  "sctp, gre, esp, ah, igmp...) or an IANA number 1-255, or leave it out for any" },
	{ ACL("{\"action\": \"accept\", \"proto\": \"256\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}"),
	  1, 41,
	  "unknown proto \"256\" in acls[0].proto; use a protocol name (tcp, udp, icmp, ipv6-icmp, "
	  "sctp, gre, esp, ah, igmp...) or an IANA number 1-255, or leave it out for any" },
	{ ACL("{\"action\": \"accept\", \"proto\": \"icmp\", \"src\": [\"*\"], \"dst\": [\"*:22\"]}"),
	  1, 71, "acls[0].dst[0]: only tcp, udp and sctp have ports; write \"*:*\"" },
	{ ACL("{\"action\": \"accept\", \"proto\": \"47\", \"src\": [\"*\"], \"dst\": [\"*:22\"]}"),
	  1, 69, "acls[0].dst[0]: only tcp, udp and sctp have ports; write \"*:*\"" },
	/* ports */
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:0\"]}"), 1, 54,
	  "bad port \"0\" in acls[0].dst[0] \"*:0\": ports are 1-65535, a range A-B, a comma list of "
	  "those, or *" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:65536\"]}"), 1, 54,
	  "bad port \"65536\" in acls[0].dst[0] \"*:65536\": ports are 1-65535, a range A-B, a comma "
	  "list of those, or *" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:22,443-80\"]}"), 1, 54,
	  "bad port range \"443-80\" in acls[0].dst[0] \"*:22,443-80\": the first port is above the "
	  "last" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:22,\"]}"), 1, 54,
	  "bad port \"\" in acls[0].dst[0] \"*:22,\": ports are 1-65535, a range A-B, a comma list of "
	  "those, or *" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:http\"]}"), 1, 54,
	  "bad port \"http\" in acls[0].dst[0] \"*:http\": ports are 1-65535, a range A-B, a comma "
	  "list of those, or *" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*\"]}"), 1, 54,
	  "\"*\" in acls[0].dst[0] has no ports; write TARGET:PORTS, for example \"*:*\"" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"fd00::1\"]}"), 1, 54,
	  "\"fd00::1\" in acls[0].dst[0] has no ports; write TARGET:PORTS, for example "
	  "\"[fd00::1]:*\"" },
	/* CIDRs */
	{ ACL("{\"action\": \"accept\", \"src\": [\"10.0.0.0/33\"], \"dst\": [\"*:*\"]}"), 1, 40,
	  "bad CIDR \"10.0.0.0/33\" in acls[0].src: write an IPv4 or IPv6 address, optionally "
	  "/LENGTH" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"10.0.0.1/8:*\"]}"), 1, 54,
	  "bad CIDR \"10.0.0.1/8\" in acls[0].dst[0]: host bits are set; did you mean 10.0.0.0/8?" },
	{ "{\"hosts\": {\"nas\": \"192.168.1.300\"}}", 1, 19,
	  "bad CIDR \"192.168.1.300\" in hosts[\"nas\"]: write an IPv4 or IPv6 address, optionally "
	  "/LENGTH" },
	/* ipsets */
	{ "{\"ipsets\": {\"ipset:a\": [\"add ipset:b\"], \"ipset:b\": [\"remove 10.0.0.0/8\", "
	  "\"add ipset:a\"]}}",
	  1, 74,
	  "\"ipset:a\" in ipsets[\"ipset:b\"][1] refers back to a set being defined: ipsets cannot "
	  "refer to each other in a circle" },
	{ "{\"ipsets\": {\"ipset:a\": [\"10.0.0.0/8\", \"remove 10.1.0.0/16\"]}}", 1, 25,
	  "bad operation \"10.0.0.0/8\" in ipsets[\"ipset:a\"][0]: write \"add TARGET\" or \"remove "
	  "TARGET\" (a bare TARGET only in a set with no remove)" },
	{ "{\"ipsets\": {\"ipset:a\": [\"add tag:server\"]}}", 1, 25,
	  "\"tag:server\" in ipsets[\"ipset:a\"][0]: ipsets hold addresses, CIDRs, hosts and other "
	  "ipsets (not users, groups, tags or autogroups)" },
	{ "{\"ipsets\": {\"ipset:a\": [\"add autogroup:internet\"]}}", 1, 25,
	  "autogroup:internet in ipsets[\"ipset:a\"][0]: an ipset holding it (to narrow exit node "
	  "use) is not supported here yet; grant autogroup:internet in acls or grants instead" },
	{ "{\"ipsets\": {\"ipset:a\": [\"add ipset:nope\"]}}", 1, 25,
	  "unknown ipset \"ipset:nope\" in ipsets[\"ipset:a\"][0]: define it in ipsets" },
	{ "{\"ipsets\": {\"lan\": [\"10.0.0.0/8\"]}}", 1, 13,
	  "bad name \"lan\" in ipsets: names there are ipset:NAME" },
	{ "{\"ipsets\": {\"ipset:a\": []}}", 1, 24,
	  "ipsets[\"ipset:a\"] is empty; list at least one operation (\"add 10.0.0.0/8\")" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"ipset:x\"], \"dst\": [\"*:*\"]}"), 1, 40,
	  "unknown ipset \"ipset:x\" in acls[0].src: define it in ipsets" },
	{ "{\"ipsets\": {\"ipset:a\": [\"10.0.0.0/8\"]}, \"tagOwners\": {\"tag:x\": "
	  "[\"ipset:a\"]}}",
	  1, 65, "\"ipset:a\" in tagOwners[\"tag:x\"]: owners are users, groups and tags" },
	{ "{\"hosts\": {\"10.0.0.1\": \"10.0.0.1\"}}", 1, 12,
	  "bad host name \"10.0.0.1\" in hosts: use a name (no spaces, none of : / , [ ] * \" \\, not "
	  "an address)" },
	{ "{\"autoApprovers\": {\"routes\": {\"::/0\": [], \"0::/0\": []}}}", 1, 43,
	  "\"0::/0\" in autoApprovers.routes is the same route as ::/0" },
	{ "{\"autoApprovers\": {\"routes\": {\"fd00::/8\": [], \"fd00:0::/8\": []}}}", 1, 47,
	  "\"fd00:0::/8\" in autoApprovers.routes is the same route as fd00::/8" },
	/* unknown names the text alone can tell */
	{ "{\"groups\": {\"group:eng\": [\"alice\"]},\n \"acls\": [\n  {\"action\": \"accept\",\n"
	  "   \"src\": [\"group:eng2\"], \"dst\": [\"*:*\"]}]}",
	  4, 12, "unknown group \"group:eng2\" in acls[0].src; define it in \"groups\"" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"tag:web:443\"]}"), 1, 54,
	  "unknown tag \"tag:web\" in acls[0].dst[0]; define it in \"tagOwners\"" },
	{ "{\"groups\": {\"eng\": []}}", 1, 13,
	  "bad name \"eng\" in groups: names there are group:NAME" },
	{ "{\"tagOwners\": {\"tag:\": []}}", 1, 16,
	  "bad name \"tag:\" in tagOwners: names there are tag:NAME" },
	{ "{\"groups\": {\"group:a\": [\"group:b\"], \"group:b\": []}}", 1, 25,
	  "\"group:b\" in groups[\"group:a\"]: groups hold users, not groups" },
	{ "{\"tagOwners\": {\"tag:a\": [\"*\"]}}", 1, 26,
	  "\"*\" in tagOwners[\"tag:a\"]: owners are users, groups and tags" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"autogroup:internet\"], \"dst\": [\"*:*\"]}"), 1,
	  40, "\"autogroup:internet\" in acls[0].src: it is only a destination" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:bogus:*\"]}"), 1,
	  54,
	  "unsupported \"autogroup:bogus\" in acls[0].dst[0]: autogroups here are internet, member, "
	  "tagged, self (destinations), danger-all and shared (sources), admin and owner" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:shared:*\"]}"), 1,
	  54, "\"autogroup:shared\" in acls[0].dst[0]: it is only a source" },
	{ "{\"tagOwners\": {\"tag:a\": [\"autogroup:member\"]}}", 1, 26,
	  "unsupported \"autogroup:member\" in tagOwners[\"tag:a\"]: autogroups here are internet, "
	  "member, tagged, self (destinations), danger-all and shared (sources), admin and owner" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"autogroup:self\"], \"dst\": [\"*:*\"]}"), 1, 40,
	  "\"autogroup:self\" in acls[0].src: it is only a destination" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:danger-all:*\"]}"),
	  1, 54, "\"autogroup:danger-all\" in acls[0].dst[0]: it is only a source" },
	{ "{\"tagOwners\": {\"tag:a\": []}, \"acls\": [{\"action\": \"accept\", \"src\": "
	  "[\"tag:a\"], \"dst\": [\"autogroup:self:*\"]}]}",
	  1, 68,
	  "\"tag:a\" in acls[0].src cannot reach autogroup:self: its sources are users, groups and "
	  "autogroup:member" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"autogroup:member\"], \"dst\": "
	      "[\"autogroup:member:*\"], \"via\": [\"x\"]}"),
	  1, 69,
	  "\"autogroup:member\" in acls[0].dst[0] is a mesh target, but this entry has via, which "
	  "only routed destinations (CIDRs, hosts, autogroup:internet) take; move it to an entry "
	  "without via" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"al ice\"], \"dst\": [\"*:*\"]}"), 1, 40,
	  "bad name \"al ice\" in acls[0].src: names hold no spaces and none of : / , [ ] * \" \\" },
	/* via */
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"], \"via\": [\"exit1\"]}"),
	  1, 54,
	  "\"*\" in acls[0].dst[0] is a mesh target, but this entry has via, which only routed "
	  "destinations (CIDRs, hosts, autogroup:internet) take; move it to an entry without via" },
	{ "{\"groups\": {\"group:x\": []}, \"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], "
	  "\"dst\": [\"autogroup:internet:*\"], \"via\": [\"group:x\"]}]}",
	  1, 114, "\"group:x\" in acls[0].via: via takes node names and tags, not groups" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:internet:*\"], "
	      "\"via\": []}"),
	  1, 86, "acls[0].via is empty; list at least one name" },
	/* grants */
	{ "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"]}]}", 1, 13,
	  "grants[0] has neither \"ip\" nor \"app\": add \"ip\": [\"*\"] or the ports it grants" },
	{ "{\"grants\": [{\"dst\": [\"*\"], \"ip\": [\"*\"]}]}", 1, 13,
	  "grants[0] has no \"src\": say who this grant is for" },
	{ "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"icmp:22\"]}]}", 1, 49,
	  "bad grants[0].ip[0] \"icmp:22\": only tcp, udp and sctp have ports; write icmp:*" },
	{ "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"tcpp:22\"]}]}", 1, 49,
	  "bad grants[0].ip[0] \"tcpp:22\": write \"*\", PORTS or PROTO:PORTS, PROTO a protocol name "
	  "or IANA number (\"tcp:443\", \"udp:53\", \"icmp:*\")" },
	{ "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"0\"]}]}", 1, 49,
	  "bad port \"0\" in grants[0].ip[0] \"0\": ports are 1-65535, a range A-B, a comma list of "
	  "those, or *" },
	{ "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"tag:x:22\"], \"ip\": [\"*\"]}]}", 1, 36,
	  "bad tag name \"tag:x:22\" in grants[0].dst[0]" },
	{ "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"], \"users\": []}]}", 1,
	  55, "unknown key \"users\" in grants[0]; expected src, dst, ip, via, app or srcPosture" },
	{ "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"], \"via\": [\"e\"]}]}",
	  1, 36,
	  "\"*\" in grants[0].dst[0] is a mesh target, but this entry has via, which only routed "
	  "destinations (CIDRs, hosts, autogroup:internet) take; move it to an entry without via" },
	{ "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"app\": {\"webui\": []}}]}", 1, 50,
	  "bad capability \"webui\" in grants[0].app: capabilities are named DOMAIN/PATH, e.g. "
	  "\"example.com/cap/name\"" },
	{ "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"app\": {\"a.io/c\": [1]}}]}", 1, 60,
	  "grants[0].app[\"a.io/c\"] must be a list of objects" },
	{ "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"], \"srcPosture\": "
	  "[\"latest\"]}]}",
	  1, 70, "bad grants[0].srcPosture[0] \"latest\": postures are named posture:NAME" },
	{ "{\"sshTests\": [{\"src\": \"alice\", \"accept\": [\"autogroup:admin\"]}]}", 1, 43,
	  "bad sshTests[0].accept[0] \"autogroup:admin\": write a login name, \"root\", "
	  "\"autogroup:nonroot\" or \"localpart:*@DOMAIN\"" },
	{ "{\"sshTests\": [{\"dst\": [\"autogroup:self\"]}]}", 1, 15,
	  "sshTests[0] has no \"src\"" },
	{ "{\"OneCGNATRoute\": \"always\"}", 1, 19,
	  "bad OneCGNATRoute \"always\": use \"\", \"mac-always\" or \"mac-never\"" },
	{ "{\"derpMap\": []}", 1, 13, "derpMap must be an object, not a list" },
	{ "{\"postures\": {\"posture:a\": [\"node:os == 'linux'\"]}, \"grants\": [{\"src\": [\"*\"], "
	  "\"dst\": [\"*\"], \"ip\": [\"*\"], \"via\": [\"e\"], \"srcPosture\": [\"posture:a\"]}]}",
	  1, 87,
	  "\"*\" in grants[0].dst[0] is a mesh target, but this entry has via, which only routed "
	  "destinations (CIDRs, hosts, autogroup:internet) take; move it to an entry without via" },
	/* postures */
	{ "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"], \"srcPosture\": "
	  "[\"posture:y\"]}]}",
	  1, 70,
	  "unknown posture \"posture:y\" in grants[0].srcPosture[0]; define it in \"postures\"" },
	{ "{\"postures\": {\"latest\": []}}", 1, 15,
	  "bad name \"latest\" in postures: names there are posture:NAME" },
	{ "{\"postures\": {\"posture:a\": [\"\"]}}", 1, 28,
	  "postures[\"posture:a\"] must be a list of conditions (strings such as \"node:os == "
	  "'linux'\")" },
	{ "{\"defaultSrcPosture\": [\"posture:a\"]}", 1, 2,
	  "defaultSrcPosture limits every grant by device posture, which Rustynet cannot check (every "
	  "grant would grant nothing); remove it" },
	/* tests */
	{ "{\"tests\": [{\"src\": \"alice\", \"accept\": [\"10.0.0.0/8:22\"]}]}", 1, 40,
	  "tests[0].accept[0] \"10.0.0.0/8\" is a range; a test names one address" },
	{ "{\"tests\": [{\"src\": \"alice\", \"accept\": [\"bob:22-23\"]}]}", 1, 40,
	  "tests[0].accept[0] \"bob:22-23\": a test checks one port" },
	{ "{\"tests\": [{\"src\": \"alice\", \"deny\": [\"autogroup:internet:443\"]}]}", 1, 38,
	  "tests[0].deny[0] \"autogroup:internet\" cannot be tested; name a user, group, tag, node, "
	  "host or address" },
	{ "{\"tests\": [{\"src\": \"alice\", \"proto\": \"icmp\", \"accept\": [\"bob:22\"]}]}", 1,
	  57, "tests[0].accept[0] \"bob:22\": this protocol has no ports; write TARGET:*" },
	{ "{\"tests\": [{\"src\": \"alice\"}]}", 1, 12,
	  "tests[0] tests nothing: add \"accept\" or \"deny\"" },
	{ "{\"tests\": [{\"accept\": [\"bob:22\"]}]}", 1, 12,
	  "tests[0] has no \"src\": say whose access it tests" },
	/* ssh, nodeAttrs, randomizeClientPort: read to Tailscale's rules */
	{ "{\"tagOwners\": {\"tag:x\": []}, \"ssh\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"tag:x\"], \"users\": [\"root\"]}]}",
	  1, 67,
	  "\"*\" in ssh[0].src: ssh sources are users, groups, tags, autogroup:member and autogroup:tagged" },
	{ "{\"tagOwners\": {\"tag:x\": []}, \"ssh\": [{\"action\": \"accept\", \"src\": [\"tag:x\"], \"dst\": [\"alice\"], \"users\": [\"root\"]}]}",
	  1, 85,
	  "\"alice\" in ssh[0].dst: tagged sources may not ssh to users' nodes; use tags or autogroup:tagged as destinations" },
	{ "{\"ssh\": [{\"action\": \"accept\", \"src\": [\"bob\"], \"dst\": [\"alice\"], \"users\": [\"root\"]}]}",
	  1, 55,
	  "\"alice\" in ssh[0].dst: a user's nodes are reached over ssh only by that same user alone; use autogroup:self" },
	{ "{\"ssh\": [{\"action\": \"deny\", \"src\": [\"bob\"], \"dst\": [\"bob\"], \"users\": [\"root\"]}]}",
	  1, 21, "unknown action \"deny\" in ssh[0].action; use \"accept\" or \"check\"" },
	{ "{\"ssh\": [{\"action\": \"accept\", \"src\": [\"bob\"], \"dst\": [\"bob\"], \"users\": [\"root\"], \"checkPeriod\": \"12h\"}]}",
	  1, 97, "ssh[0].checkPeriod: only an action \"check\" rule has one" },
	{ "{\"ssh\": [{\"action\": \"check\", \"src\": [\"bob\"], \"dst\": [\"bob\"], \"users\": [\"autogroup:admin\"]}]}",
	  1, 72,
	  "bad ssh[0].users[0] \"autogroup:admin\": write a login name, \"root\", \"autogroup:nonroot\" or \"localpart:*@DOMAIN\"" },
	{ "{\"ssh\": [{\"action\": \"check\", \"src\": [\"bob\"], \"dst\": [\"bob\"]}]}", 1, 10,
	  "ssh[0] needs \"action\", \"src\", \"dst\" and \"users\"" },
	{ "{\"nodeAttrs\": [{\"target\": [\"autogroup:danger-all\"], \"attr\": [\"funnel\"]}]}", 1,
	  28,
	  "\"autogroup:danger-all\" in nodeAttrs[0]: node attributes go to nodes: users, groups, tags, hosts, addresses, *, autogroup:member or autogroup:tagged" },
	{ "{\"nodeAttrs\": [{\"target\": [\"*\"], \"ipPool\": [\"10.0.0.0/8\"]}]}", 1, 45,
	  "bad nodeAttrs[0].ipPool[0] \"10.0.0.0/8\": an IP pool is a prefix inside 100.64.0.0/10" },
	{ "{\"nodeAttrs\": [{\"target\": [\"*\"]}]}", 1, 16,
	  "nodeAttrs[0] needs \"target\" and one of \"attr\", \"app\" or \"ipPool\"" },
	{ "{\"randomizeClientPort\": \"yes\"}", 1, 25,
	  "randomizeClientPort must be true or false" },
	/* a long, hostile token is quoted safely and cut short */
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"], "
	      "\"\\u0001xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\": 1}"),
	  1, 62,
	  "unknown key \"\\x01xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" in acls[0]; expected "
	  "action, src, dst, proto or via (or the old users and ports)" },
};

static void test_parse_bad(void **state)
{
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct bad_case *c = &parse_cases[i];
		struct rn_policy_error err;
		struct rn_policy *pol = (struct rn_policy *)1;
		char want[RN_POLICY_TEXT_LEN];
		int ret = rn_policy_parse(c->text, strlen(c->text), "policy.json", &pol, &err);

		if (ret != -EINVAL || pol)
			fail_msg("case %zu: accepted (%d): %s", i, ret, c->text);
		snprintf(want, sizeof(want), "policy.json:%u:%u: %s", c->line, c->col, c->message);
		if (err.line != c->line || err.column != c->col ||
		    strcmp(err.message, c->message) || strcmp(err.text, want)) {
			print_error("case %zu:\n got  %s\n want %s\n", i, err.text, want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* A set the removes would split into more than 4,096 prefixes is refused, not built. */
static void test_ipset_bounded(void **state)
{
	char text[8192];
	struct rn_policy_error err;
	struct rn_policy *pol = NULL;
	int n = snprintf(text, sizeof(text), "{\"ipsets\": {\"ipset:big\": [\"add ::/0\"");

	(void)state;
	/* Each /128 taken from a large range costs up to 127 prefixes: 40 far apart pass the bound. */
	for (int i = 1; i <= 40; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, ", \"remove %x::1\"", i << 10);
	snprintf(text + n, sizeof(text) - (size_t)n, "]}}");
	assert_int_equal(rn_policy_parse(text, strlen(text), "p", &pol, &err), -EINVAL);
	assert_null(pol);
	assert_non_null(strstr(err.message, "ipset:big grows past 4096 prefixes"));
	/* 20 of them stay within it, and the set holds none of the removed addresses. */
	n = snprintf(text, sizeof(text), "{\"ipsets\": {\"ipset:big\": [\"add ::/0\"");
	for (int i = 1; i <= 20; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, ", \"remove %x::1\"", i << 10);
	snprintf(text + n, sizeof(text) - (size_t)n, "]}}");
	assert_int_equal(rn_policy_parse(text, strlen(text), "p", &pol, &err), 0);
	assert_int_equal(pol->n_ipsets, 1);
	assert_true(pol->ipsets[0].n > 20 * 100);
	for (size_t k = 0; k < pol->ipsets[0].n; k++) {
		struct rn_filter_prefix gone;

		assert_int_equal(rn_filter_prefix_parse("400::1", &gone), 0);
		assert_false(rn_filter_prefix_has(&pol->ipsets[0].v[k], AF_INET6, gone.addr));
	}
	rn_policy_free(pol);
}

/* disableIPv4 false is what every network here is: accepted, with no note. */
static void test_disable_ipv4_false(void **state)
{
	static const char text[] = "{\"disableIPv4\": false}";
	struct rn_policy_error err;
	struct rn_policy *pol = NULL;

	(void)state;
	assert_int_equal(rn_policy_parse(text, strlen(text), "p", &pol, &err), 0);
	assert_int_equal(pol->n_notes, 0);
	rn_policy_free(pol);
}

static const char good[] =
    "// A policy with one of everything.\n"
    "{\n"
    "\t\"groups\": {\"group:eng\": [\"alice\", \"bob\"], \"group:empty\": [],},\n"
    "\t\"tagOwners\": {\"tag:server\": [\"group:eng\"], \"tag:exit\": [\"tag:server\", "
    "\"carol\"]},\n"
    "\t\"hosts\": {\"nas\": \"192.168.1.10\", \"office-lan\": \"192.168.1.0/24\"},\n"
    "\t\"acls\": [\n"
    "\t\t/* mesh */\n"
    "\t\t{\"action\": \"accept\", \"src\": [\"group:eng\", \"10.9.0.0/16\"], \"proto\": \"tcp\",\n"
    "\t\t \"dst\": [\"tag:server:22,80,8000-8100\", \"[fd00::1]:443\", \"fd00::/64:53\"]},\n"
    "\t\t{\"action\": \"accept\", \"src\": [\"carol\"], \"dst\": [\"nas:*\", "
    "\"autogroup:internet:*\"],\n"
    "\t\t \"via\": [\"exit1\", \"tag:exit\"]},\n"
    "\t],\n"
    "\t\"autoApprovers\": {\"routes\": {\"192.168.0.0/16\": [\"tag:server\"]}, \"exitNode\": "
    "[\"carol\"]},\n"
    "}\n";

static void test_parse_good(void **state)
{
	struct rn_policy_error err;
	struct rn_policy *pol;
	const struct rn_policy_acl *a;
	char text[RN_FILTER_PREFIX_STRLEN];

	(void)state;
	if (rn_policy_parse(good, sizeof(good) - 1, "good.json", &pol, &err))
		fail_msg("%s", err.text);
	assert_int_equal(pol->n_groups, 2);
	assert_string_equal(pol->groups[0].name, "group:eng");
	assert_int_equal(pol->groups[0].n_items, 2);
	assert_string_equal(pol->groups[0].items[1].name, "bob");
	assert_int_equal(pol->groups[1].n_items, 0);
	assert_int_equal(pol->n_tag_owners, 2);
	assert_int_equal(pol->tag_owners[1].items[0].kind, RN_POLICY_TARGET_TAG);
	assert_int_equal(pol->tag_owners[1].items[0].index, 0);
	assert_int_equal(pol->n_hosts, 2);
	assert_string_equal(rn_filter_prefix_format(&pol->hosts[1].prefix, text, sizeof(text)),
			    "192.168.1.0/24");
	assert_int_equal(pol->n_acls, 2);
	a = &pol->acls[0];
	assert_int_equal(a->proto, RN_FILTER_PROTO_TCP);
	assert_int_equal(a->n_src, 2);
	assert_int_equal(a->src[0].kind, RN_POLICY_TARGET_GROUP);
	assert_int_equal(a->src[1].kind, RN_POLICY_TARGET_CIDR);
	assert_int_equal(a->n_dst, 3);
	assert_int_equal(a->dst[0].target.kind, RN_POLICY_TARGET_TAG);
	assert_int_equal(a->dst[0].n_ports, 3);
	assert_int_equal(a->dst[0].ports[2].first, 8000);
	assert_int_equal(a->dst[0].ports[2].last, 8100);
	assert_string_equal(rn_filter_prefix_format(&a->dst[1].target.prefix, text, sizeof(text)),
			    "fd00::1/128");
	assert_int_equal(a->dst[1].ports[0].first, 443);
	assert_string_equal(rn_filter_prefix_format(&a->dst[2].target.prefix, text, sizeof(text)),
			    "fd00::/64");
	assert_int_equal(a->dst[2].ports[0].last, 53);
	a = &pol->acls[1];
	assert_int_equal(a->proto, RN_FILTER_PROTO_ANY);
	assert_int_equal(a->src[0].kind, RN_POLICY_TARGET_NAME);
	assert_int_equal(a->dst[0].target.kind, RN_POLICY_TARGET_HOST);
	assert_int_equal(a->dst[0].ports[0].first, 0);
	assert_int_equal(a->dst[0].ports[0].last, 65535);
	assert_int_equal(a->dst[1].target.kind, RN_POLICY_TARGET_INTERNET);
	assert_int_equal(a->n_via, 2);
	assert_int_equal(a->via[0].kind, RN_POLICY_TARGET_NAME);
	assert_int_equal(a->via[1].kind, RN_POLICY_TARGET_TAG);
	assert_int_equal(pol->n_route_approvers, 1);
	assert_int_equal(pol->exit_approvers.n_items, 1);
	rn_policy_free(pol);
}

/* Every protocol Tailscale accepts in "proto", by name (any case) and by IANA number. */
static void test_protocols(void **state)
{
	static const struct {
		const char *proto;
		uint8_t number;
		bool enforced;
	} cases[] = {
		{ "tcp", 6, true },   { "TCP", 6, true },	 { "6", 6, true },
		{ "udp", 17, true },  { "17", 17, true },	 { "icmp", 1, true },
		{ "1", 1, true },     { "ipv6-icmp", 58, true }, { "58", 58, true },
		{ "igmp", 2, false }, { "ipv4", 4, false },	 { "ip-in-ip", 4, false },
		{ "egp", 8, false },  { "igp", 9, false },	 { "gre", 47, false },
		{ "esp", 50, false }, { "ah", 51, false },	 { "sctp", 132, false },
		{ "fc", 133, false }, { "255", 255, false },	 { "99", 99, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		struct rn_policy_error err;
		struct rn_policy *pol;

		snprintf(
		    text, sizeof(text),
		    "{\"acls\": [{\"action\": \"accept\", \"proto\": \"%s\", \"src\": [\"*\"], "
		    "\"dst\": [\"*:*\"]}]}",
		    cases[i].proto);
		if (rn_policy_parse(text, strlen(text), "p.json", &pol, &err))
			fail_msg("%s: %s", cases[i].proto, err.text);
		assert_int_equal(pol->acls[0].ipproto, cases[i].number);
		/* One not enforced here is accepted, and policy check says it grants nothing. */
		assert_int_equal(pol->n_notes, cases[i].enforced ? 0 : 1);
		if (!cases[i].enforced)
			assert_non_null(strstr(pol->notes[0], "p.json:1:41: note: acls[0].proto"));
		rn_policy_free(pol);
	}
}

/* What a grant asks for that is not enforced here is accepted, noted, and grants nothing. */
static void test_grant_notes(void **state)
{
	static const char text[] =
	    "{\"grants\": [\n"
	    " {\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"tcp:22\"],\n"
	    "  \"app\": {\"tailscale.com/cap/relay\": [], \"example.com/cap/web\": [{\"p\": 1}]}},\n"
	    " {\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"], \"srcPosture\": "
	    "[\"posture:x\"]},\n"
	    " {\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"esp:*\", \"udp:500\"]},\n"
	    "],\n"
	    " \"postures\": {\"posture:x\": [\"node:os == 'linux'\"]}}";
	struct rn_policy_world empty = { 0 };
	struct rn_policy_error err;
	struct rn_policy *pol;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	if (rn_policy_parse(text, strlen(text), "g.json", &pol, &err))
		fail_msg("%s", err.text);
	/* tcp:22 from the first, esp and udp:500 from the third; the posture one makes none */
	assert_int_equal(pol->n_acls, 3);
	assert_string_equal(pol->acls[2].section, "grants");
	assert_int_equal(pol->acls[2].index, 2);
	assert_int_equal(pol->n_notes, 5);
	rn_policy_free(pol);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	assert_int_equal(rn_policy_check_notes(text, strlen(text), "g.json", &empty, &err, f), 0);
	fclose(f);
	assert_string_equal(
	    out,
	    "g.json:7:15: note: postures[\"posture:x\"] is not checked here: Rustynet keeps no "
	    "device posture; a grant limited by it grants nothing\n"
	    "g.json:3:11: note: grants[0].app[\"tailscale.com/cap/relay\"] is not enforced here: "
	    "Rustynet has no application capabilities, so it grants nothing\n"
	    "g.json:3:42: note: grants[0].app[\"example.com/cap/web\"] is not enforced here: "
	    "Rustynet has no application capabilities, so it grants nothing\n"
	    "g.json:4:58: note: grants[1].srcPosture is not enforced here (Rustynet keeps no "
	    "device posture), so this grant grants nothing\n"
	    "g.json:5:2: note: grants[2]: protocol 50 is not enforced here (the filter tells "
	    "apart TCP, UDP and ICMP only): it grants nothing\n");
	free(out);
}

/* What Tailscale's default policy carries besides access rules: accepted, noted, inert. */
static void test_ssh_node_attrs_notes(void **state)
{
	static const char text[] =
	    "{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}],\n"
	    " \"ssh\": [{\"action\": \"check\", \"src\": [\"autogroup:member\"], \"dst\": "
	    "[\"autogroup:self\"], \"users\": [\"autogroup:nonroot\", \"root\"], \"checkPeriod\": "
	    "\"12h\"},\n"
	    "  {\"action\": \"accept\", \"src\": [\"autogroup:tagged\"], \"dst\": [\"autogroup:tagged\"], "
	    "\"users\": [\"localpart:*@example.com\"], \"acceptEnv\": [\"GIT_*\"]}],\n"
	    " \"nodeAttrs\": [{\"target\": [\"*\"], \"attr\": [\"funnel\"]}, {\"target\": "
	    "[\"autogroup:member\"], \"ipPool\": [\"100.80.0.0/16\"]}],\n"
	    " \"sshTests\": [{\"src\": \"alice\", \"dst\": [\"autogroup:self\"], \"accept\": "
	    "[\"alice\"], \"deny\": [\"root\"]}],\n"
	    " \"derpMap\": {\"OmitDefaultRegions\": true},\n"
	    " \"OneCGNATRoute\": \"mac-always\",\n"
	    " \"randomizeClientPort\": true}";
	struct rn_policy_error err;
	struct rn_policy *pol;

	(void)state;
	if (rn_policy_parse(text, strlen(text), "d.json", &pol, &err))
		fail_msg("%s", err.text);
	assert_int_equal(pol->n_acls, 1); /* only the acl grants anything */
	assert_int_equal(pol->n_notes, 8);
	assert_string_equal(pol->notes[0],
			    "d.json:2:10: note: ssh[0] is not enforced here: Rustynet has no SSH "
			    "server, so it grants nothing (port 22 is reached through acls and "
			    "grants only)");
	assert_non_null(strstr(pol->notes[2], "d.json:4:16: note: nodeAttrs[0] is not enforced"));
	assert_non_null(strstr(pol->notes[5], "d.json:8:25: note: randomizeClientPort has no"));
	assert_non_null(strstr(pol->notes[4], "d.json:5:15: note: sshTests[0] is not run here"));
	assert_non_null(strstr(pol->notes[6], "d.json:6:13: note: derpMap has no effect"));
	assert_non_null(strstr(pol->notes[7], "d.json:7:19: note: OneCGNATRoute has no effect"));
	rn_policy_free(pol);
}

static void test_default_text(void **state)
{
	const char *t = rn_policy_default_text();
	struct rn_policy_world empty = { 0 };
	struct rn_policy_error err;
	struct rn_policy *pol;

	(void)state;
	if (rn_policy_parse(t, strlen(t), "default", &pol, &err))
		fail_msg("%s", err.text);
	assert_int_equal(pol->n_acls, 1);
	assert_int_equal(pol->acls[0].src[0].kind, RN_POLICY_TARGET_ANY);
	assert_int_equal(pol->acls[0].dst[0].target.kind, RN_POLICY_TARGET_ANY);
	assert_int_equal(rn_policy_validate(pol, &empty, &err), 0);
	rn_policy_free(pol);
	assert_int_equal(rn_policy_check(t, strlen(t), NULL, &empty, &err), 0);
}

/* A small world for validation: users alice, bob, carol; nodes laptop (alice), exit1 (bob). */
static const char *const users[] = { "alice", "bob", "carol" };
static struct rn_policy_node nodes[] = {
	{ .id = 1,
	  .name = "laptop",
	  .user = "alice",
	  .ip4 = { 100, 64, 0, 1 },
	  .ip6 = { 0xfd, 0x7a, [15] = 1 } },
	{ .id = 2,
	  .name = "exit1",
	  .user = "bob",
	  .ip4 = { 100, 64, 0, 2 },
	  .ip6 = { 0xfd, 0x7a, [15] = 2 },
	  .advertises_exit = true,
	  .exit_approved = true },
};
static const struct rn_policy_world world = { users, 3, nodes, 2 };

static const struct bad_case validate_cases[] = {
	{ "{\"groups\": {\"group:eng\": [\"alice\", \"dave\"]}}", 1, 36,
	  "unknown user \"dave\" in groups[\"group:eng\"]; add the user or fix the name" },
	{ "{\"tagOwners\": {\"tag:a\": [\"laptop\"]}}", 1, 26,
	  "unknown user \"laptop\" in tagOwners[\"tag:a\"]; add the user or fix the name" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"alice\", \"eve\"], \"dst\": [\"*:*\"]}"), 1, 49,
	  "unknown user or node \"eve\" in acls[0].src; fix the name or remove it" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"],\n \"dst\": [\"laptop:22\", \"server:22\"]}"),
	  2, 23, "unknown user or node \"server\" in acls[0].dst[1]; fix the name or remove it" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:internet:*\"], "
	      "\"via\": [\"exit2\"]}"),
	  1, 87, "unknown node \"exit2\" in acls[0].via; fix the name or remove it" },
	{ ACL("{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:internet:*\"], "
	      "\"via\": [\"bob\"]}"),
	  1, 87, "\"bob\" in acls[0].via is a user; via takes node names and tags" },
	{ "{\"autoApprovers\": {\"exitNode\": [\"exit1\"]}}", 1, 33,
	  "unknown user \"exit1\" in autoApprovers.exitNode; add the user or fix the name" },
	{ "{\"autoApprovers\": {\"routes\": {\"10.0.0.0/8\": [\"zed\"]}}}", 1, 46,
	  "unknown user \"zed\" in autoApprovers.routes[\"10.0.0.0/8\"]; add the user or fix the name" },
};

static void test_validate_bad(void **state)
{
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(validate_cases) / sizeof(validate_cases[0]); i++) {
		const struct bad_case *c = &validate_cases[i];
		struct rn_policy_error err;
		struct rn_policy *pol;
		char want[RN_POLICY_TEXT_LEN];

		if (rn_policy_parse(c->text, strlen(c->text), "p.json", &pol, &err))
			fail_msg("case %zu does not parse: %s", i, err.text);
		if (rn_policy_validate(pol, &world, &err) != -EINVAL)
			fail_msg("case %zu: validated: %s", i, c->text);
		snprintf(want, sizeof(want), "p.json:%u:%u: %s", c->line, c->col, c->message);
		if (err.line != c->line || err.column != c->col || strcmp(err.text, want)) {
			print_error("case %zu:\n got  %s\n want %s\n", i, err.text, want);
			bad++;
		}
		rn_policy_free(pol);
		assert_int_equal(rn_policy_check(c->text, strlen(c->text), "p.json", &world, &err),
				 -EINVAL);
		assert_string_equal(err.text, want);
	}
	assert_int_equal(bad, 0);
}

static void test_validate_good(void **state)
{
	struct rn_policy_error err;
	const char *t = ACL("{\"action\": \"accept\", \"src\": [\"alice\", \"exit1\"], "
			    "\"dst\": [\"laptop:22\", \"bob:*\", \"autogroup:internet:443\"]}");

	(void)state;
	if (rn_policy_check(t, strlen(t), "p.json", &world, &err))
		fail_msg("%s", err.text);
}

static void test_validate_world(void **state)
{
	static const char *const dup_users[] = { "alice", "alice" };
	struct rn_policy_node bad[2];
	struct rn_policy_world w = world;
	struct rn_policy_error err;
	struct rn_policy *pol;

	(void)state;
	assert_int_equal(rn_policy_parse("{}", 2, "p.json", &pol, &err), 0);
	w.users = dup_users;
	w.n_users = 2;
	assert_int_equal(rn_policy_validate(pol, &w, &err), -EINVAL);
	assert_string_equal(err.text, "p.json: world: user \"alice\" appears twice");
	assert_int_equal(err.line, 0);

	w = world;
	w.nodes = bad;
	memcpy(bad, nodes, sizeof(bad));
	bad[1].id = 1;
	assert_int_equal(rn_policy_validate(pol, &w, &err), -EINVAL);
	assert_string_equal(err.message, "world: node 1 \"exit1\" has the id of another node");
	memcpy(bad, nodes, sizeof(bad));
	bad[1].user = "zed";
	assert_int_equal(rn_policy_validate(pol, &w, &err), -EINVAL);
	assert_string_equal(err.message,
			    "world: node 2 \"exit1\" has an owner that is not among the users");
	memcpy(bad, nodes, sizeof(bad));
	bad[0].ip4[1] = 128;
	assert_int_equal(rn_policy_validate(pol, &w, &err), -EINVAL);
	assert_string_equal(err.message,
			    "world: node 1 \"laptop\" has an IPv4 address outside 100.64.0.0/10");
	memcpy(bad, nodes, sizeof(bad));
	bad[1].name = "laptop";
	assert_int_equal(rn_policy_validate(pol, &w, &err), -EINVAL);
	assert_string_equal(err.message, "world: node 2 \"laptop\" has the name of another node");
	rn_policy_free(pol);
}

/* Without a filename the errors say "policy"; a NULL err is allowed. */
static void test_error_plumbing(void **state)
{
	struct rn_policy_error err;
	struct rn_policy *pol;

	(void)state;
	assert_int_equal(rn_policy_parse("{", 1, NULL, &pol, &err), -EINVAL);
	assert_null(pol);
	assert_string_equal(err.text,
			    "policy:1:1: bad JSON: string or '}' expected near end of file");
	assert_int_equal(rn_policy_parse("{\"x\": 1}", 8, NULL, &pol, NULL), -EINVAL);
	assert_int_equal(rn_policy_parse("{\n \"acls\": [4\0]}", 16, NULL, &pol, &err), -EINVAL);
	assert_string_equal(err.text,
			    "policy:2:12: NUL byte in the policy: a policy is UTF-8 text");
	/* Not NUL-terminated: only len bytes are read. */
	assert_int_equal(rn_policy_parse("{}garbage", 2, NULL, &pol, &err), 0);
	rn_policy_free(pol);
	rn_policy_free(NULL);
}

/* autogroup:admin names the world's admins; with none kept, check says it names nobody. */
static void test_admin_note(void **state)
{
	static const char text[] = "{\"tagOwners\": {\"tag:a\": [\"autogroup:admin\"]}}";
	static const char *const admins[] = { "carol" }, *const bad[] = { "dave" };
	struct rn_policy_world w = world;
	struct rn_policy_error err;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(rn_policy_check_notes(text, strlen(text), "a.json", &world, &err, f), 0);
	fclose(f);
	assert_string_equal(out, "a.json: note: autogroup:admin and autogroup:owner name the users "
				 "with the admin role, and no user has it, so they name nobody "
				 "(`rustynet-control users role USER admin` gives it)\n");
	free(out);
	w.admins = admins;
	w.n_admins = 1;
	assert_int_equal(rn_policy_check(text, strlen(text), "a.json", &w, &err), 0);
	w.admins = bad;
	assert_int_equal(rn_policy_check(text, strlen(text), "a.json", &w, &err), -EINVAL);
	assert_string_equal(err.message, "world: admin 0 is not among the users");
}

/* autogroup:shared is a source that names nobody here (nodes are never shared); check says so. */
static void test_shared_note(void **state)
{
	static const char text[] = "{\"acls\": [{\"action\": \"accept\", \"src\": "
				   "[\"autogroup:shared\"], \"dst\": [\"*:22\"]}]}";
	struct rn_policy_error err;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(rn_policy_check_notes(text, strlen(text), "a.json", &world, &err, f), 0);
	fclose(f);
	assert_string_equal(out,
			    "a.json: note: autogroup:shared names the users of other networks a "
			    "node is shared with; nodes are not shared here, so it names "
			    "nobody\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_bad),      cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_ipset_bounded),  cmocka_unit_test(test_disable_ipv4_false),
		cmocka_unit_test(test_protocols),      cmocka_unit_test(test_shared_note),
		cmocka_unit_test(test_grant_notes),    cmocka_unit_test(test_ssh_node_attrs_notes),
		cmocka_unit_test(test_admin_note),     cmocka_unit_test(test_default_text),
		cmocka_unit_test(test_validate_bad),   cmocka_unit_test(test_validate_good),
		cmocka_unit_test(test_validate_world), cmocka_unit_test(test_error_plumbing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
