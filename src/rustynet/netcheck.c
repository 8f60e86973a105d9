/* SPDX-License-Identifier: MIT */
/*
 * rustynet netcheck: what endpoint discovery sees from this node, after a fresh round of STUN
 * requests from the WireGuard socket: the public IPv4 and IPv6 mappings, whether the mapping
 * varies by destination ("hard" NAT: peers cannot use it), whether UDP reaches any STUN server,
 * and each server's latency; then each relay's latency (its last registrations' round trip)
 * and the preferred (home) relay. --json prints the daemon's answer as is.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rustynet/cli.h"

#define WAIT_MS 8000 /* a round gives up on a silent server after 5.5 s */
#define STEP_MS 200

static json_t *ask(bool refresh)
{
	json_t *res = NULL;

	if (rn_cli_call_args("netcheck", json_pack("{s:b}", "refresh", refresh), 2000, &res))
		return NULL;
	return res;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static const char *str_or(const json_t *v, const char *none)
{
	return json_is_string(v) ? json_string_value(v) : none;
}

/* "relay r1: 12.3 ms (home)" or "relay r2: not registered", then the preferred relay. */
static void print_relays(const json_t *res)
{
	const json_t *a = json_object_get(res, "relays"), *r;
	size_t i;

	if (!json_array_size(a))
		return;
	json_array_foreach(a, i, r) {
		const json_t *lat = json_object_get(r, "latency_ms");
		const char *name = str_or(json_object_get(r, "name"), "?");

		if (json_is_true(json_object_get(r, "registered")) && json_is_number(lat))
			printf("  relay %s: %.1f ms%s\n", name, json_number_value(lat),
			       json_is_true(json_object_get(r, "home")) ? " (home)" : "");
		else
			printf("  relay %s: not registered\n", name);
	}
	printf("preferred relay: %s\n",
	       str_or(json_object_get(res, "preferred_relay"), "(none registered)"));
}

static void print_human(const json_t *res)
{
	const json_t *m = json_object_get(res, "mappings"), *hard, *s;
	const char *udp = str_or(json_object_get(res, "udp"), "unknown");
	size_t i;

	hard = json_object_get(res, "varies_by_destination");
	printf("UDP to STUN: %s\n", !strcmp(udp, "ok")	      ? "ok"
				    : !strcmp(udp, "blocked") ? "blocked (no server answered)"
							      : "unknown (no STUN servers)");
	printf("public IPv4: %s\n", str_or(json_object_get(m, "ipv4"), "(none)"));
	printf("public IPv6: %s\n", str_or(json_object_get(m, "ipv6"), "(none)"));
	printf("mapping varies by destination: %s\n",
	       json_is_true(json_object_get(hard, "ipv4")) ||
		       json_is_true(json_object_get(hard, "ipv6"))
		   ? "yes"
		   : "no");
	printf("behind NAT: %s\n", json_is_true(json_object_get(res, "behind_nat")) ? "yes" : "no");
	json_array_foreach(json_object_get(res, "servers"), i, s) {
		const json_t *lat = json_object_get(s, "latency_ms");

		if (json_is_true(json_object_get(s, "answered_last_round")) && json_is_number(lat))
			printf("  server %s: %.1f ms, sees %s\n",
			       str_or(json_object_get(s, "server"), "?"), json_number_value(lat),
			       str_or(json_object_get(s, "mapped"), "?"));
		else
			printf("  server %s: no answer\n",
			       str_or(json_object_get(s, "server"), "?"));
	}
	print_relays(res);
}

int rn_cli_netcheck_main(int argc, char **argv)
{
	json_t *res;
	json_int_t rounds;
	bool json = false;
	int rc, waited = 0;

	rc = rn_cli_read_opts(argc, argv, "netcheck [--json]", &json);
	if (rc >= 0)
		return rc;
	res = ask(true);
	if (!res)
		return RN_CLI_ERR;
	rounds = json_integer_value(json_object_get(res, "rounds"));
	/* Wait for the round just started to finish (none starts without servers). */
	while (json_array_size(json_object_get(res, "servers")) && waited < WAIT_MS) {
		if (json_integer_value(json_object_get(res, "rounds")) > rounds &&
		    !json_is_true(json_object_get(res, "in_round")))
			break;
		sleep_ms(STEP_MS);
		waited += STEP_MS;
		json_decref(res);
		res = ask(false);
		if (!res)
			return RN_CLI_ERR;
	}
	if (json)
		rn_cli_print_json(res);
	else
		print_human(res);
	json_decref(res);
	return RN_CLI_OK;
}
