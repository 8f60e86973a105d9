/* SPDX-License-Identifier: MIT */
/* rustynet-relay serve: the relay in the foreground until SIGINT or SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "relay/relay.h"
#include "relay/server.h"
#include "rustynet-relay/cmd.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char serve_usage[] =
    "Usage: rustynet-relay serve --secret FILE [--udp ADDR:PORT] [--tls ADDR:PORT --cert FILE "
    "--key FILE]\n"
    "         [--stats-file FILE] [--max-nodes N] [--max-conns N] [--node-bytes-per-s N]\n"
    "         [--node-packets-per-s N] [--debug GROUPS]\n\n"
    "Relays between registered nodes over UDP and/or TLS (TCP), in the foreground, logging to\n"
    "stderr. ADDR:PORT is numeric ([::]:443 serves IPv6 and IPv4; port 0 picks one, logged).\n"
    "--stats-file FILE is rewritten every second with the counters as one JSON object.\n";

static bool parse_u64(const char *opt, const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || !*out) {
		fprintf(stderr, "rustynet-relay serve: %s \"%s\": expected a positive integer\n",
			opt, s);
		return false;
	}
	return true;
}

static int serve_loop(struct rn_relay_server *srv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int ret = 0;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop) {
		ret = rn_relay_server_step(srv, 1000);
		if (ret) {
			log_error(MAIN, "relay: %s; stopping", strerror(-ret));
			break;
		}
	}
	log_info(MAIN, "relay: stopping");
	return ret ? RN_RELAY_ERROR : RN_RELAY_OK;
}

int rn_relay_serve_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "udp", required_argument, NULL, 'u' },
		{ "tls", required_argument, NULL, 't' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "secret", required_argument, NULL, 's' },
		{ "stats-file", required_argument, NULL, 'S' },
		{ "max-nodes", required_argument, NULL, 'n' },
		{ "max-conns", required_argument, NULL, 'C' },
		{ "node-bytes-per-s", required_argument, NULL, 'b' },
		{ "node-packets-per-s", required_argument, NULL, 'p' },
		{ "debug", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct rn_relay_server_config cfg = { 0 };
	uint8_t secret[RN_RELAY_SECRET_LEN];
	const char *secret_file = NULL;
	struct rn_relay_server *srv;
	char err[512];
	uint64_t v;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			cfg.udp_listen = optarg;
			break;
		case 't':
			cfg.tls_listen = optarg;
			break;
		case 'c':
			cfg.cert_file = optarg;
			break;
		case 'k':
			cfg.key_file = optarg;
			break;
		case 's':
			secret_file = optarg;
			break;
		case 'S':
			cfg.stats_file = optarg;
			break;
		case 'd':
			rn_log_set_debug(optarg);
			break;
		case 'n':
		case 'C':
			if (!parse_u64(opt == 'n' ? "--max-nodes" : "--max-conns", optarg, &v))
				return RN_RELAY_USAGE;
			if (v > 1000000) {
				fprintf(stderr, "rustynet-relay serve: \"%s\" is over 1000000\n",
					optarg);
				return RN_RELAY_USAGE;
			}
			*(opt == 'n' ? &cfg.max_nodes : &cfg.max_conns) = (unsigned)v;
			break;
		case 'b':
			if (!parse_u64("--node-bytes-per-s", optarg, &cfg.node_bytes_per_s))
				return RN_RELAY_USAGE;
			break;
		case 'p':
			if (!parse_u64("--node-packets-per-s", optarg, &cfg.node_packets_per_s))
				return RN_RELAY_USAGE;
			break;
		case 'h':
			fputs(serve_usage, stdout);
			return RN_RELAY_OK;
		default:
			fputs(serve_usage, stderr);
			return RN_RELAY_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rustynet-relay serve: unexpected argument \"%s\"\n%s",
			argv[optind], serve_usage);
		return RN_RELAY_USAGE;
	}
	if (!secret_file || (!cfg.udp_listen && !cfg.tls_listen) ||
	    (cfg.tls_listen && (!cfg.cert_file || !cfg.key_file))) {
		fprintf(stderr, "rustynet-relay serve: %s\n%s",
			!secret_file ? "--secret FILE is required"
			: (!cfg.udp_listen && !cfg.tls_listen)
			    ? "give --udp ADDR:PORT, --tls ADDR:PORT or both"
			    : "--tls needs --cert FILE and --key FILE",
			serve_usage);
		return RN_RELAY_USAGE;
	}
	for (int i = 0; i < 2; i++) {
		const char *spec = i ? cfg.tls_listen : cfg.udp_listen;
		struct sockaddr_storage ss;
		socklen_t len;

		if (spec && !rn_relay_addr_parse(spec, &ss, &len)) {
			fprintf(stderr,
				"rustynet-relay serve: --%s \"%s\": expected ADDR:PORT or "
				"[ADDR]:PORT with a numeric address (0.0.0.0:443, [::]:3478)\n",
				i ? "tls" : "udp", spec);
			return RN_RELAY_USAGE;
		}
	}
	if (rn_relay_secret_load(secret_file, secret, err, sizeof(err))) {
		fprintf(stderr, "rustynet-relay serve: %s\n", err);
		return RN_RELAY_ERROR;
	}
	cfg.secret = secret;
	srv = rn_relay_server_new(&cfg, err, sizeof(err));
	OPENSSL_cleanse(secret, sizeof(secret));
	if (!srv) {
		fprintf(stderr, "rustynet-relay serve: %s\n", err);
		return RN_RELAY_ERROR;
	}
	log_info(MAIN, "relay: serving udp port %u, tls port %u%s%s",
		 (unsigned)rn_relay_server_udp_port(srv), (unsigned)rn_relay_server_tls_port(srv),
		 cfg.stats_file ? ", stats in " : "", cfg.stats_file ? cfg.stats_file : "");
	ret = serve_loop(srv);
	rn_relay_server_free(srv);
	return ret;
}
