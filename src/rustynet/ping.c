/* SPDX-License-Identifier: MIT */
/*
 * rustynet ping: ICMP echo to a peer through the tunnel. The peer is named as the daemon's
 * netmap names it (name, DNS name or mesh address); the echo goes out of a raw socket bound
 * to the tunnel interface (SO_BINDTODEVICE), so it proves the tunnel, not some other route.
 * Needs root (raw sockets), like every command. Each reply says which path it took (direct or
 * relayed, and the endpoint), as the daemon's status had it when the reply came.
 * Exit 0 when any reply came, 1 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rustynet/cli.h"

#define PING_USAGE    "ping NAME|IP [-c COUNT] [--json]"
#define PING_WAIT_MS  1000 /* per echo */
#define PING_MAX      1000
#define PING_DATA_LEN 32

struct target {
	int family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
	char ip[INET6_ADDRSTRLEN];
	const char *name;   /* borrowed from the status reply */
	const json_t *peer; /* NULL: an address no peer has */
};

static bool match_peer(const json_t *p, const char *what)
{
	static const char *const keys[] = { "name", "dns_name", "ipv4", "ipv6" };

	for (size_t i = 0; i < 4; i++) {
		const char *v = json_string_value(json_object_get(p, keys[i]));

		if (v && !strcasecmp(v, what))
			return true;
	}
	return false;
}

/* Finds what in the status's peers; an IP literal that no peer has is pinged as is. */
static int resolve(const json_t *status, const char *what, struct target *t)
{
	const json_t *peers = json_object_get(status, "peers"), *p;
	const char *ip = what;
	size_t i;

	memset(t, 0, sizeof(*t));
	t->name = what;
	json_array_foreach(peers, i, p) {
		if (match_peer(p, what)) {
			t->peer = p;
			if (json_string_value(json_object_get(p, "name")))
				t->name = json_string_value(json_object_get(p, "name"));
			ip = json_string_value(json_object_get(p, "ipv4"));
			if (!ip)
				ip = json_string_value(json_object_get(p, "ipv6"));
			break;
		}
	}
	if (ip && inet_pton(AF_INET, ip, &t->v4) == 1)
		t->family = AF_INET;
	else if (ip && inet_pton(AF_INET6, ip, &t->v6) == 1)
		t->family = AF_INET6;
	if (!t->family) {
		fprintf(stderr,
			PROG_NAME " ping: no peer named \"%s\" in this node's network map (see "
				  "`rustynet status` for the names)\n",
			what);
		return RN_CLI_ERR;
	}
	inet_ntop(t->family, &t->v4, t->ip, sizeof(t->ip));
	return RN_CLI_OK;
}

static uint16_t inet_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static int open_socket(const struct target *t, const char *ifname)
{
	int fd = socket(t->family, SOCK_RAW | SOCK_CLOEXEC,
			t->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);

	if (fd < 0) {
		fprintf(stderr, PROG_NAME " ping: cannot open a raw ICMP socket: %s%s\n",
			strerror(errno), errno == EPERM ? " (run as root)" : "");
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0) {
		fprintf(stderr, PROG_NAME " ping: cannot bind to %s: %s\n", ifname,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int send_echo(int fd, const struct target *t, uint16_t id, uint16_t seq)
{
	uint8_t pkt[8 + PING_DATA_LEN] = { 0 };
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_addr = t->v6 };
	struct sockaddr_in sa4 = { .sin_family = AF_INET, .sin_addr = t->v4 };

	pkt[0] = t->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	memcpy(pkt + 4, &(uint16_t){ htons(id) }, 2);
	memcpy(pkt + 6, &(uint16_t){ htons(seq) }, 2);
	memset(pkt + 8, 0xa5, PING_DATA_LEN);
	if (t->family == AF_INET) {
		uint16_t c = inet_checksum(pkt, sizeof(pkt));

		memcpy(pkt + 2, &c, 2);
		return (int)sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&sa4, sizeof(sa4));
	}
	/* The kernel fills the ICMPv6 checksum of raw ICMPv6 sockets. */
	return (int)sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&sa6, sizeof(sa6));
}

/* Whether buf is the echo reply to (id, seq). IPv4 raw sockets include the IP header. */
static bool is_reply(const struct target *t, const uint8_t *buf, size_t len, uint16_t id,
		     uint16_t seq)
{
	size_t off = 0;

	if (t->family == AF_INET) {
		if (len < 20)
			return false;
		off = (size_t)(buf[0] & 0x0f) * 4;
	}
	if (len < off + 8)
		return false;
	buf += off;
	return buf[0] == (t->family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY) &&
	       (buf[4] << 8 | buf[5]) == id && (buf[6] << 8 | buf[7]) == seq;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* One echo; the RTT in ms, or a negative value when no reply came in time. */
static double ping_once(int fd, const struct target *t, uint16_t id, uint16_t seq)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	double start = now_ms(), left;
	uint8_t buf[1500];
	ssize_t n;

	if (send_echo(fd, t, id, seq) < 0) {
		fprintf(stderr, PROG_NAME " ping: send to %s: %s\n", t->ip, strerror(errno));
		return -1;
	}
	while ((left = PING_WAIT_MS - (now_ms() - start)) > 0) {
		if (poll(&pfd, 1, (int)left + 1) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0 && is_reply(t, buf, (size_t)n, id, seq))
			return now_ms() - start;
	}
	return -1;
}

static int parse(int argc, char **argv, const char **what, long *count, bool *json)
{
	char *end;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			*json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: " PROG_NAME " " PING_USAGE "\n");
			return RN_CLI_OK;
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			*count = strtol(argv[++i], &end, 10);
			if (*end || *count < 1 || *count > PING_MAX) {
				fprintf(stderr, PROG_NAME " ping: -c takes 1-%d, not \"%s\"\n",
					PING_MAX, argv[i]);
				return RN_CLI_USAGE;
			}
		} else if (argv[i][0] != '-' && !*what) {
			*what = argv[i];
		} else {
			fprintf(stderr,
				PROG_NAME " ping: unexpected argument \"%s\"\nUsage: " PROG_NAME
					  " " PING_USAGE "\n",
				argv[i]);
			return RN_CLI_USAGE;
		}
	}
	if (!*what) {
		fprintf(stderr,
			PROG_NAME " ping: which peer?\nUsage: " PROG_NAME " " PING_USAGE "\n");
		return RN_CLI_USAGE;
	}
	return -1;
}

/*
 * How the data plane reaches the peer right now: its path kind ("direct", "relay", "none") into
 * kind and its endpoint into ep (empty: none). Asked after each reply, so a path change in the
 * middle of a run shows on the reply that took the new path.
 */
static void peer_path(const char *name, char *kind, size_t klen, char *ep, size_t elen, char *relay,
		      size_t rlen)
{
	json_t *st = NULL, *p;
	size_t i;

	snprintf(kind, klen, "none");
	ep[0] = relay[0] = '\0';
	if (rn_cli_call("status", &st))
		return;
	json_array_foreach(json_object_get(st, "peers"), i, p) {
		const char *k =
		    json_string_value(json_object_get(json_object_get(p, "path"), "kind"));

		if (!match_peer(p, name))
			continue;
		if (json_is_string(json_object_get(p, "endpoint")))
			snprintf(ep, elen, "%s", json_string_value(json_object_get(p, "endpoint")));
		if (json_is_string(json_object_get(json_object_get(p, "path"), "relay")))
			snprintf(relay, rlen, "%s",
				 json_string_value(
				     json_object_get(json_object_get(p, "path"), "relay")));
		if (k)
			snprintf(kind, klen, "%s", k);
		else if (ep[0])
			snprintf(kind, klen, "direct");
	}
	json_decref(st);
}

int rn_cli_ping_main(int argc, char **argv)
{
	const char *what = NULL, *ifname;
	json_t *status = NULL, *rtts, *replies;
	long count = 3, got = 0;
	uint16_t id = (uint16_t)getpid();
	struct target t;
	char ep[80], kind[16], relay[80];
	bool json = false;
	int rc, fd;

	rc = parse(argc, argv, &what, &count, &json);
	if (rc >= 0)
		return rc;
	rc = rn_cli_call("status", &status);
	if (rc)
		return rc;
	ifname = json_string_value(json_object_get(status, "interface"));
	rc = resolve(status, what, &t);
	if (rc || !ifname || (fd = open_socket(&t, ifname)) < 0) {
		json_decref(status);
		return RN_CLI_ERR;
	}
	rtts = json_array();
	replies = json_array();
	for (long seq = 1; seq <= count; seq++) {
		double ms = ping_once(fd, &t, id, (uint16_t)seq);

		if (ms >= 0) {
			got++;
			peer_path(what, kind, sizeof(kind), ep, sizeof(ep), relay, sizeof(relay));
			json_array_append_new(rtts, json_real(ms));
			json_array_append_new(replies,
					      json_pack("{s:I, s:f, s:s, s:s?, s:s?}", "seq",
							(json_int_t)seq, "rtt_ms", ms, "path", kind,
							"endpoint", ep[0] ? ep : NULL, "relay",
							relay[0] ? relay : NULL));
			if (!json)
				printf("reply from %s (%s): seq=%ld time=%.2f ms via %s %s\n",
				       t.name, t.ip, seq, ms, kind,
				       relay[0] ? relay
				       : ep[0]	? ep
						: "(no endpoint)");
		} else {
			json_array_append_new(rtts, json_null());
			if (!json)
				printf("no reply from %s (%s): seq=%ld\n", t.name, t.ip, seq);
		}
	}
	close(fd);
	peer_path(what, kind, sizeof(kind), ep, sizeof(ep), relay, sizeof(relay));
	if (json) {
		json_t *out =
		    json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:s?, s:s, s:b}", "peer", t.name,
			      "ip", t.ip, "sent", (json_int_t)count, "received", (json_int_t)got,
			      "rtt_ms", rtts, "replies", replies, "endpoint", ep[0] ? ep : NULL,
			      "path", kind, "direct", !strcmp(kind, "direct"));

		rn_cli_print_json(out);
		json_decref(out);
	} else {
		json_decref(rtts);
		json_decref(replies);
		if (ep[0])
			printf("%ld/%ld replies; peer endpoint %s (%s)\n", got, count, ep, kind);
		else
			printf("%ld/%ld replies; no endpoint known for the peer\n", got, count);
	}
	json_decref(status);
	return got ? RN_CLI_OK : RN_CLI_ERR;
}
