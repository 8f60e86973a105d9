/* SPDX-License-Identifier: MIT */
/*
 * rustynet-relay: forwards WireGuard ciphertext between nodes that cannot reach each other
 * (src/relay/relay.h says how and what it trusts). This file is the command table and the
 * foreground loop around the embeddable server; `serve` logs to stderr.
 */
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

#ifndef RN_VERSION
#define RN_VERSION "unknown"
#endif

enum { RN_RELAY_OK = 0, RN_RELAY_ERROR = 1, RN_RELAY_USAGE = 2 };

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
    "stderr. ADDR:PORT is numeric ([::]:443 for IPv6; port 0 picks one, logged at start).\n"
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
	signal(SIGPIPE, SIG_IGN);
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

static int serve_main(int argc, char **argv)
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

/* Parses "--NAME FILE" as the only arguments of a command; NULL after a usage message. */
static const char *one_file_arg(int argc, char **argv, const char *name, const char *usage)
{
	size_t n = strlen(name);

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		exit(RN_RELAY_OK);
	}
	if (argc == 3 && !strcmp(argv[1], name))
		return argv[2];
	if (argc == 2 && !strncmp(argv[1], name, n) && argv[1][n] == '=' && argv[1][n + 1])
		return argv[1] + n + 1;
	fputs(usage, stderr);
	return NULL;
}

static int genkey_main(int argc, char **argv)
{
	static const char usage[] =
	    "Usage: rustynet-relay genkey --secret FILE\n\n"
	    "Makes a new relay secret (32 random bytes, hex) in FILE, mode 0600; refuses to "
	    "overwrite.\nThe control server needs the same secret to issue relay credentials.\n";
	const char *path = one_file_arg(argc, argv, "--secret", usage);
	char err[512];

	if (!path)
		return RN_RELAY_USAGE;
	if (rn_relay_secret_generate(path, err, sizeof(err))) {
		fprintf(stderr, "rustynet-relay genkey: %s\n", err);
		return RN_RELAY_ERROR;
	}
	return RN_RELAY_OK;
}

static int spki_main(int argc, char **argv)
{
	static const char usage[] =
	    "Usage: rustynet-relay spki --cert FILE\n\n"
	    "Prints the SHA-256 of the certificate's public key (DER SubjectPublicKeyInfo) in "
	    "hex: the pin\nnodes check the relay's TLS certificate against.\n";
	const char *path = one_file_arg(argc, argv, "--cert", usage);
	uint8_t spki[RN_RELAY_SPKI_LEN];
	char err[512];

	if (!path)
		return RN_RELAY_USAGE;
	if (rn_relay_spki_file(path, spki, err, sizeof(err))) {
		fprintf(stderr, "rustynet-relay spki: %s\n", err);
		return RN_RELAY_ERROR;
	}
	for (size_t i = 0; i < sizeof(spki); i++)
		printf("%02x", spki[i]);
	printf("\n");
	return RN_RELAY_OK;
}

static int version_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("rustynet-relay %s\n", RN_VERSION);
	return RN_RELAY_OK;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "serve", serve_main, "relay between registered nodes over UDP and TLS" },
	{ "genkey", genkey_main, "make a new relay secret file" },
	{ "spki", spki_main, "print the pin of a TLS certificate" },
	{ "version", version_main, "print the version" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: rustynet-relay COMMAND [ARGS...]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`rustynet-relay COMMAND --help` describes a command. Exit status: 0 ok, "
		   "1 error, 2 bad usage.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return RN_RELAY_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return RN_RELAY_OK;
	}
	rn_log_open("rustynet-relay", false);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "rustynet-relay: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return RN_RELAY_USAGE;
}
