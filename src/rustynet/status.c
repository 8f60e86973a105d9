/* SPDX-License-Identifier: MIT */
/*
 * rustynet status: this node's login state, interface, public key and listen port, its
 * control server connection and netmap, and each peer's name, addresses, key, endpoint,
 * allowed IPs, latest handshake and transfer, and the public endpoints discovery found. --json prints the daemon's answer as is.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "rustynet/cli.h"

static void print_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	unsigned int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else
		snprintf(buf, len, "%.2f %s", v, unit[u]);
}

/* "  path: direct, working, 2 candidates, changed 12 seconds ago" ("relay NAME" when relayed) */
static void print_path(const json_t *path)
{
	json_int_t changed = json_integer_value(json_object_get(path, "changed_at"));
	const char *kind = json_string_value(json_object_get(path, "kind"));
	const char *relay = json_string_value(json_object_get(path, "relay"));

	if (!kind)
		return;
	printf("  path: %s%s%s, %s, %lld candidate%s", kind, relay ? " " : "", relay ? relay : "",
	       json_is_true(json_object_get(path, "working")) ? "working" : "not confirmed",
	       (long long)json_integer_value(json_object_get(path, "candidates")),
	       json_integer_value(json_object_get(path, "candidates")) == 1 ? "" : "s");
	if (changed > 0)
		printf(", changed %lld seconds ago", (long long)(time(NULL) - changed));
	printf("\n");
}

static void print_peer(const json_t *p)
{
	json_int_t hs = json_integer_value(json_object_get(p, "latest_handshake"));
	const json_t *ep = json_object_get(p, "endpoint"), *ips = json_object_get(p, "allowed_ips");
	char rx[32], tx[32];
	const json_t *ip;
	size_t i;

	const char *name = json_string_value(json_object_get(p, "dns_name"));

	printf("\npeer: %s\n", json_string_value(json_object_get(p, "public_key")));
	if (name)
		printf("  name: %s (%s, %s), %s\n", name,
		       json_string_value(json_object_get(p, "ipv4")),
		       json_string_value(json_object_get(p, "ipv6")),
		       json_is_true(json_object_get(p, "online")) ? "online" : "offline");
	printf("  endpoint: %s\n", json_is_string(ep) ? json_string_value(ep) : "(none)");
	print_path(json_object_get(p, "path"));
	printf("  allowed ips:");
	json_array_foreach(ips, i, ip)
		printf("%s %s", i ? "," : "", json_string_value(ip));
	printf("%s\n", json_array_size(ips) ? "" : " (none)");
	if (hs > 0)
		printf("  latest handshake: %lld seconds ago\n", (long long)(time(NULL) - hs));
	else
		printf("  latest handshake: never\n");
	print_bytes((uint64_t)json_integer_value(json_object_get(p, "rx_bytes")), rx, sizeof(rx));
	print_bytes((uint64_t)json_integer_value(json_object_get(p, "tx_bytes")), tx, sizeof(tx));
	printf("  transfer: %s received, %s sent\n", rx, tx);
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void print_login(const json_t *res)
{
	const json_t *server = json_object_get(res, "server"), *self = json_object_get(res, "self");
	const json_t *nm = json_object_get(res, "netmap"),
		     *rej = json_object_get(nm, "last_rejected");

	printf("  state: %s\n", str(res, "state"));
	if (!json_is_true(json_object_get(res, "logged_in"))) {
		printf("  logged in: no%s%s%s\n", str(server, "last_error")[0] ? " (" : "",
		       str(server, "last_error"), str(server, "last_error")[0] ? ")" : "");
		printf("  to join a network: " PROG_NAME " up --server URL --auth-key KEY\n");
	} else {
		printf("  control server: %s, %s%s%s\n", str(server, "url"),
		       json_is_true(json_object_get(server, "connected")) ? "connected"
									  : "not connected",
		       str(server, "last_error")[0] ? ": " : "", str(server, "last_error"));
	}
	if (json_is_object(self))
		printf("  this node: %s (%s, %s), user %s\n", str(self, "dns_name"),
		       str(self, "ipv4"), str(self, "ipv6"), str(self, "user"));
	if (json_integer_value(json_object_get(nm, "version")))
		printf("  netmap: version %lld\n",
		       (long long)json_integer_value(json_object_get(nm, "version")));
	if (json_is_string(json_object_get(nm, "cache_expired")))
		printf("  netmap: none running: %s\n", str(nm, "cache_expired"));
	if (json_is_string(json_object_get(nm, "filter_error")))
		printf("  packet filter: DENY-ALL, every packet from the tunnel is dropped: %s\n",
		       str(nm, "filter_error"));
	if (json_is_string(json_object_get(nm, "apply_error")))
		printf("  netmap not fully applied: %s\n", str(nm, "apply_error"));
	if (json_is_object(rej))
		printf("  last refused netmap: %lld seconds ago: %s\n",
		       (long long)(time(NULL) - json_integer_value(json_object_get(rej, "time"))),
		       str(rej, "reason"));
}

/* Endpoint discovery: the public mappings, and whether this node is behind NAT. */
/* "relay r1: tls, registered, 12.3 ms, home" or "relay r1: not registered (why)", one line
 * per relay. */
static void print_relays(const json_t *a)
{
	const json_t *r;
	size_t i;

	json_array_foreach(a, i, r) {
		const char *t = json_string_value(json_object_get(r, "transport"));
		const char *err = json_string_value(json_object_get(r, "error"));
		bool reg = json_is_true(json_object_get(r, "registered"));

		printf("relay %s: %s, %s", json_string_value(json_object_get(r, "name")),
		       t ? t : "not connected", reg ? "registered" : "not registered");
		if (reg && json_is_number(json_object_get(r, "latency_ms")))
			printf(", %.1f ms", json_number_value(json_object_get(r, "latency_ms")));
		if (json_is_true(json_object_get(r, "home")))
			printf(", home");
		if (!reg && err && err[0])
			printf(" (%s)", err);
		printf("\n");
	}
}

static void print_nat(const json_t *n)
{
	const json_t *m = json_object_get(n, "mappings");
	const char *v4 = json_string_value(json_object_get(m, "ipv4"));
	const char *v6 = json_string_value(json_object_get(m, "ipv6"));

	if (!json_is_object(n) || !json_array_size(json_object_get(n, "servers")))
		return;
	printf("  public endpoints: %s%s%s%s (%s%s; UDP to STUN %s)\n", v4 ? v4 : "",
	       v4 && v6 ? ", " : "", v6 ? v6 : "", v4 || v6 ? "" : "none",
	       json_is_true(json_object_get(n, "behind_nat")) ? "behind NAT" : "no NAT",
	       json_is_true(json_object_get(n, "hard_nat")) ? ", mapping varies by destination"
							    : "",
	       str(n, "udp"));
}

/* Protected mode: whether the kill switch is on, and whether it is blocking traffic now. */
static void print_killswitch(const json_t *k)
{
	if (!json_is_object(k))
		return;
	if (!json_is_true(json_object_get(k, "active")))
		printf("  kill switch: off%s%s\n", str(k, "reason")[0] ? ": " : "",
		       str(k, "reason"));
	else if (json_is_true(json_object_get(k, "blocking")))
		printf("  kill switch: on, BLOCKING: %s\n", str(k, "reason"));
	else
		printf("  kill switch: on (nothing leaves outside the tunnel)\n");
}

/* What a map granted this node as a router that it never offered: refused. */
static void print_refused(const json_t *res)
{
	const json_t *r = json_object_get(res, "router"), *v;
	const json_t *routes = json_object_get(r, "refused_routes");
	size_t i;

	if (!json_is_true(json_object_get(r, "refused_exit")) && !json_array_size(routes))
		return;
	printf("  refused (granted by the netmap, not offered by this node):%s",
	       json_is_true(json_object_get(r, "refused_exit")) ? " exit node" : "");
	json_array_foreach(routes, i, v)
		printf("%s %s", i ? "," : " routes", json_string_value(v));
	printf("\n");
}

/* The exit node, LAN access and the LAN subnets routed. */
static void print_exit(const json_t *res)
{
	const json_t *x = json_object_get(res, "exit_node"), *r;
	const json_t *routes = json_object_get(res, "lan_routes");
	size_t i;

	if (json_is_object(x))
		printf("  exit node: %s (%s), %s%s%s\n", str(x, "name"), str(x, "ipv4"),
		       json_is_true(json_object_get(x, "reachable")) ? "reachable"
		       : json_is_true(json_object_get(x, "online"))  ? "online, no recent handshake"
								     : "offline",
		       str(x, "problem")[0] ? ": " : "", str(x, "problem"));
	else if (x)
		printf("  exit node: none (internet traffic goes directly)\n");
	if (json_is_boolean(json_object_get(res, "lan_access")))
		printf("  LAN access: %s\n",
		       json_is_true(json_object_get(res, "lan_access")) ? "on" : "off");
	json_array_foreach(routes, i, r)
		printf("  LAN route: %s via %s\n", str(r, "cidr"), str(r, "via"));
	print_killswitch(json_object_get(res, "killswitch"));
}

int rn_cli_status_main(int argc, char **argv)
{
	json_t *res = NULL, *peers, *p;
	bool json = false;
	size_t i;
	int rc;

	rc = rn_cli_read_opts(argc, argv, "status [--json]", &json);
	if (rc >= 0)
		return rc;
	rc = rn_cli_call("status", &res);
	if (rc)
		return rc;
	if (json) {
		rn_cli_print_json(res);
		json_decref(res);
		return RN_CLI_OK;
	}
	printf("interface: %s\n", json_string_value(json_object_get(res, "interface")));
	printf("  public key: %s\n", json_string_value(json_object_get(res, "public_key")));
	printf("  listening port: %lld\n",
	       (long long)json_integer_value(json_object_get(res, "listen_port")));
	print_login(res);
	print_nat(json_object_get(res, "nat"));
	print_relays(json_object_get(res, "relays"));
	print_exit(res);
	rn_cli_print_router(res);
	print_refused(res);
	peers = json_object_get(res, "peers");
	json_array_foreach(peers, i, p)
		print_peer(p);
	if (!json_array_size(peers))
		printf("  peers: none\n");
	json_decref(res);
	return RN_CLI_OK;
}
