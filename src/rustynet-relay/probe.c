/* SPDX-License-Identifier: MIT */
/*
 * rustynet-relay probe: acts as one node on a relay with the client library (src/relay/
 * client.h): registers, sends a message to another node's key, prints what arrives. For the
 * integration tests and for checking a relay by hand; it carries text, not WireGuard packets.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "relay/client.h"
#include "relay/relay.h"
#include "rustynet-relay/cmd.h"

static const char usage[] =
    "Usage: rustynet-relay probe --relay ADDR:PORT [--tls --pin PIN] --cred KEY:EXPIRY:TOKEN\n"
    "         [--send KEY --message TEXT [--count N]] [--receive N] [--timeout SECONDS]\n\n"
    "Registers with the relay as the node the credential names (UDP, or TLS checking the\n"
    "certificate pin that `rustynet-relay spki` prints), prints \"registered\", then sends TEXT\n"
    "to the node KEY (base64) N times (default 1, 0.2 s apart) and prints each message that\n"
    "arrives as \"recv FROM_KEY TEXT\". Exits 0 once registered, sent and N messages received,\n"
    "1 when the timeout (default 5 s) comes first or the relay refuses it.\n";

struct probe {
	unsigned received;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_recv(void *ctx, const uint8_t src[RN_RELAY_KEY_LEN], const uint8_t *p, size_t len)
{
	struct probe *pr = ctx;
	char key[45];

	EVP_EncodeBlock((unsigned char *)key, src, RN_RELAY_KEY_LEN);
	printf("recv %s ", key);
	for (size_t i = 0; i < len; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	putchar('\n');
	fflush(stdout);
	pr->received++;
}

/* base64 (as `rustynet-relay spki` prints and the map carries) or 64 hex digits */
static bool parse_pin(const char *hex, uint8_t pin[RN_RELAY_SPKI_LEN])
{
	if (rn_relay_key_parse(hex, pin))
		return true;
	if (strlen(hex) != 2 * RN_RELAY_SPKI_LEN)
		return false;
	for (size_t i = 0; i < RN_RELAY_SPKI_LEN; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return false;
		pin[i] = (uint8_t)v;
	}
	return true;
}

static int run(struct rn_relay_client *c, struct probe *pr, const uint8_t *dst, const char *msg,
	       unsigned count, unsigned want, uint64_t deadline)
{
	bool said = false;
	uint64_t next_send = 0;

	while (mono_ms() < deadline) {
		struct pollfd p = { .fd = rn_relay_client_fd(c), .events = POLLIN };

		if (rn_relay_client_want_write(c))
			p.events |= POLLOUT;
		poll(&p, 1, 50);
		if (rn_relay_client_input(c) || rn_relay_client_tick(c)) {
			fprintf(stderr, "rustynet-relay probe: the relay closed the connection\n");
			return RN_RELAY_ERROR;
		}
		if (!rn_relay_client_registered(c))
			continue;
		if (!said) {
			printf("registered\n");
			fflush(stdout);
			said = true;
		}
		if (dst && count && mono_ms() >= next_send) {
			int ret = rn_relay_client_send(c, dst, msg, strlen(msg));

			if (ret)
				fprintf(stderr, "rustynet-relay probe: send: %s\n", strerror(-ret));
			count--;
			next_send = mono_ms() + 200;
		}
		if ((!dst || !count) && pr->received >= want)
			return RN_RELAY_OK;
	}
	fprintf(stderr, "rustynet-relay probe: timed out (%s, %u received)\n",
		said ? "registered" : "never registered", pr->received);
	return RN_RELAY_ERROR;
}

int rn_relay_probe_main(int argc, char **argv)
{
	const char *relay = NULL, *cred_text = NULL, *pin_text = NULL, *dst_text = NULL;
	const char *msg = "probe", *count_text = "1", *want_text = "0", *timeout_text = "5";
	struct rn_relay_client_config cfg = { 0 };
	uint8_t pin[RN_RELAY_SPKI_LEN], dst[RN_RELAY_KEY_LEN];
	struct rn_relay_cred cred;
	struct rn_relay_client *c;
	struct probe pr = { 0 };
	char err[512];
	int ret;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], **v = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return RN_RELAY_OK;
		}
		if (!strcmp(a, "--tls")) {
			cfg.tls = true;
			continue;
		}
		v = !strcmp(a, "--relay")     ? &relay
		    : !strcmp(a, "--cred")    ? &cred_text
		    : !strcmp(a, "--pin")     ? &pin_text
		    : !strcmp(a, "--send")    ? &dst_text
		    : !strcmp(a, "--message") ? &msg
		    : !strcmp(a, "--count")   ? &count_text
		    : !strcmp(a, "--receive") ? &want_text
		    : !strcmp(a, "--timeout") ? &timeout_text
					      : NULL;
		if (!v || i + 1 >= argc) {
			fprintf(stderr, "rustynet-relay probe: unexpected \"%s\"\n%s", a, usage);
			return RN_RELAY_USAGE;
		}
		*v = argv[++i];
	}
	if (!relay || !cred_text || (cfg.tls && !pin_text)) {
		fprintf(stderr,
			"rustynet-relay probe: --relay and --cred are required, and --pin "
			"with --tls\n%s",
			usage);
		return RN_RELAY_USAGE;
	}
	if (!rn_relay_cred_parse(cred_text, &cred)) {
		fprintf(stderr, "rustynet-relay probe: --cred: expected KEY:EXPIRY:TOKEN as "
				"`rustynet-relay issue` prints\n");
		return RN_RELAY_USAGE;
	}
	if (pin_text && !parse_pin(pin_text, pin)) {
		fprintf(stderr,
			"rustynet-relay probe: --pin \"%s\": expected base64 (as `rustynet-relay "
			"spki` prints) or 64 hex digits\n",
			pin_text);
		return RN_RELAY_USAGE;
	}
	if (dst_text && !rn_relay_key_parse(dst_text, dst)) {
		fprintf(stderr, "rustynet-relay probe: --send \"%s\": expected a base64 key\n",
			dst_text);
		return RN_RELAY_USAGE;
	}
	if (!*msg || strlen(msg) > RN_RELAY_PAYLOAD_MAX || atoi(timeout_text) <= 0) {
		fprintf(stderr,
			"rustynet-relay probe: --message must be 1 to %d bytes and "
			"--timeout positive\n",
			RN_RELAY_PAYLOAD_MAX);
		return RN_RELAY_USAGE;
	}
	cfg.server = relay;
	cfg.spki = pin_text ? pin : NULL;
	cfg.cred = &cred;
	cfg.recv = on_recv;
	cfg.ctx = &pr;
	cfg.timeout_ms = 1000 * atoi(timeout_text);
	c = rn_relay_client_new(&cfg, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "rustynet-relay probe: %s\n", err);
		return RN_RELAY_ERROR;
	}
	ret = run(c, &pr, dst_text ? dst : NULL, msg, (unsigned)atoi(count_text),
		  (unsigned)atoi(want_text), mono_ms() + 1000ull * (unsigned)atoi(timeout_text));
	rn_relay_client_free(c);
	return ret;
}
