/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control relay add NAME ... | list [--json] | remove NAME | secret --out FILE`: the
 * relays (rustynet-relay, run elsewhere) every node's map lists after the control server's own
 * (`serve --relay-udp/--relay-tls`). Stored in the store (store_relay.c, audited) and sent in
 * every netmap's "relays", so a change reaches the nodes like any other. Every relay of a
 * network shares one secret, the state dir's relay.secret (relaysrv.h): a map carries one
 * credential for all of them, so an external relay runs with the file `relay secret` writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/util.h"
#include "netmap/netmap_priv.h"
#include "rustynet-control/ctl.h"
#include "rustynet-control/relaysrv.h"

/* Whether the secret in file is the network's; prints why not. */
static bool rn_relay_cmd_same_secret(struct rn_ctl *ctl, const char *file,
				     const uint8_t net[RN_RELAY_SECRET_LEN])
{
	uint8_t theirs[RN_RELAY_SECRET_LEN];
	char err[512];
	bool same;

	if (rn_relay_secret_load(file, theirs, err, sizeof(err))) {
		fprintf(stderr, "%s relay add: --secret-file: %s\n", ctl->prog, err);
		return false;
	}
	same = CRYPTO_memcmp(theirs, net, sizeof(theirs)) == 0;
	OPENSSL_cleanse(theirs, sizeof(theirs));
	if (!same)
		fprintf(stderr,
			"%s relay add: \"%s\" is not this network's relay secret, so the relay "
			"would refuse every node's credential: start it with the file `%s relay "
			"secret --out FILE` writes; nothing changed\n",
			ctl->prog, file, ctl->prog);
	return same;
}

static int rn_relay_add(struct rn_ctl *ctl, int argc, char **argv)
{
	const char *name = NULL, *udp = NULL, *tls = NULL, *spki = NULL, *secret_file = NULL;
	uint8_t secret[RN_RELAY_SECRET_LEN];
	struct rn_netmap_relay r;
	struct rn_store *store = NULL;
	char err[512];
	int ret;

	for (int i = 1; i < argc; i++) {
		const char **v = !strcmp(argv[i], "--udp")	     ? &udp
				 : !strcmp(argv[i], "--tls")	     ? &tls
				 : !strcmp(argv[i], "--spki")	     ? &spki
				 : !strcmp(argv[i], "--secret-file") ? &secret_file
								     : NULL;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			rn_ctl_print_help(ctl);
			return RN_CTL_OK;
		}
		if (v && i + 1 < argc)
			*v = argv[++i];
		else if (!v && argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return rn_ctl_usage_error(ctl, "unexpected argument \"%s\"", argv[i]);
	}
	if (!name)
		return rn_ctl_usage_error(ctl, "give the relay's NAME");
	if (rn_store_relay_make(name, udp, tls, spki, &r, err, sizeof(err)))
		return rn_ctl_usage_error(ctl, "%s; nothing changed", err);
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	/* the secret exists before any map lists the relay: serve needs it for the credentials */
	if (rn_ctl_relay_secret(ctl->state, true, secret, err, sizeof(err))) {
		fprintf(stderr, "%s relay add: %s; nothing changed\n", ctl->prog, err);
		ret = RN_CTL_ERR;
		goto out;
	}
	if (secret_file && !rn_relay_cmd_same_secret(ctl, secret_file, secret)) {
		ret = RN_CTL_ERR;
		goto out;
	}
	ret = rn_store_relay_add(store, ctl->actor, &r, time(NULL));
	if (ret) {
		ret = rn_ctl_store_error(store, "adding the relay", ret);
		goto out;
	}
	printf("relay %s added (nodes get it with their next netmap; it must run with this "
	       "network's relay secret: `%s relay secret --out FILE`)\n",
	       name, ctl->prog);
	ret = RN_CTL_OK;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	rn_store_close(store);
	return ret;
}

static int rn_relay_remove(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	int first, ret = rn_ctl_simple_args(ctl, argc, argv, 1, 1, NULL, &first);

	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_relay_remove(store, ctl->actor, argv[first], time(NULL));
	if (ret) {
		ret = rn_ctl_store_error(store, "removing the relay", ret);
	} else {
		printf("relay %s removed (nodes stop using it with their next netmap)\n",
		       argv[first]);
		ret = RN_CTL_OK;
	}
	rn_store_close(store);
	return ret;
}

static void rn_relay_texts(const struct rn_netmap_relay *r, char udp[RN_NETMAP_ENDPOINT_STRLEN],
			   char tls[RN_NETMAP_ENDPOINT_STRLEN], char spki[48])
{
	udp[0] = tls[0] = spki[0] = '\0';
	if (r->udp.sa.sa_family != AF_UNSPEC)
		rn_netmap_endpoint_format(&r->udp, udp, RN_NETMAP_ENDPOINT_STRLEN);
	if (r->tls.sa.sa_family != AF_UNSPEC) {
		rn_netmap_endpoint_format(&r->tls, tls, RN_NETMAP_ENDPOINT_STRLEN);
		rn_netmap_b64_encode(r->spki, sizeof(r->spki), spki);
	}
}

static int rn_relay_list(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_netmap_relay v[RN_STORE_RELAYS_MAX];
	struct rn_store *store = NULL;
	size_t n = 0;
	json_t *a;
	bool json;
	int first, ret = rn_ctl_simple_args(ctl, argc, argv, 0, 0, &json, &first);

	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_relay_list(store, v, &n);
	if (ret) {
		ret = rn_ctl_store_error(store, "reading the relays", ret);
		goto out;
	}
	a = json ? json_array() : NULL;
	if (!json && n)
		printf("%-16s %-24s %-24s %s\n", "NAME", "UDP", "TLS", "SPKI");
	for (size_t i = 0; i < n; i++) {
		char udp[RN_NETMAP_ENDPOINT_STRLEN], tls[RN_NETMAP_ENDPOINT_STRLEN], spki[48];

		rn_relay_texts(&v[i], udp, tls, spki);
		if (json)
			json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}", "name", v[i].name,
							   "udp", udp, "tls", tls, "spki", spki));
		else
			printf("%-16s %-24s %-24s %s\n", v[i].name, udp[0] ? udp : "-",
			       tls[0] ? tls : "-", spki[0] ? spki : "-");
	}
	ret = json ? rn_ctl_json_print(json_pack("{s:o}", "relays", a)) : RN_CTL_OK;
out:
	rn_store_close(store);
	return ret;
}

/* Writes secret as hex to a new file (0600, never over an existing one). */
static int rn_relay_secret_write(const char *path, const uint8_t secret[RN_RELAY_SECRET_LEN])
{
	char hex[2 * RN_RELAY_SECRET_LEN + 2];
	int fd, ret;

	for (size_t i = 0; i < RN_RELAY_SECRET_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", secret[i]);
	hex[2 * RN_RELAY_SECRET_LEN] = '\n';
	hex[2 * RN_RELAY_SECRET_LEN + 1] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = rn_write_all(fd, hex, strlen(hex));
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret)
		unlink(path);
out:
	OPENSSL_cleanse(hex, sizeof(hex));
	return ret;
}

static int rn_relay_secret_cmd(struct rn_ctl *ctl, int argc, char **argv)
{
	uint8_t secret[RN_RELAY_SECRET_LEN];
	const char *out = NULL;
	struct rn_store *store = NULL;
	char err[512];
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			rn_ctl_print_help(ctl);
			return RN_CTL_OK;
		}
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else
			return rn_ctl_usage_error(ctl, "unexpected argument \"%s\"", argv[i]);
	}
	if (!out)
		return rn_ctl_usage_error(ctl, "--out FILE is required");
	if (rn_ctl_store_open(ctl, &store)) /* a state dir, not any directory */
		return RN_CTL_ERR;
	rn_store_close(store);
	if (rn_ctl_relay_secret(ctl->state, true, secret, err, sizeof(err))) {
		fprintf(stderr, "%s relay secret: %s\n", ctl->prog, err);
		return RN_CTL_ERR;
	}
	ret = rn_relay_secret_write(out, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (ret) {
		fprintf(stderr, "%s relay secret: cannot write \"%s\": %s%s\n", ctl->prog, out,
			strerror(-ret), ret == -EEXIST ? " (refusing to overwrite a file)" : "");
		return RN_CTL_ERR;
	}
	printf("wrote the network's relay secret to %s (mode 0600): start each relay with "
	       "`rustynet-relay serve --secret %s ...`, then `%s relay add`; keep it like a "
	       "private key\n",
	       out, out, ctl->prog);
	return RN_CTL_OK;
}

static const struct rn_ctl_verb rn_relay_verbs[] = {
	{ "add", rn_relay_add,
	  "relay add NAME [--udp ADDR:PORT] [--tls ADDR:PORT --spki PIN] [--secret-file FILE]",
	  "Lists a relay (rustynet-relay serve, run elsewhere) in every node's map, after the\n"
	  "control server's own (serve --relay-udp/--relay-tls). NAME is a DNS label (not\n"
	  "\"control\", the server's own). --udp and --tls are where nodes reach it, IPv4:PORT\n"
	  "or [IPv6]:PORT, unicast; at least one. --spki is its TLS certificate's pin, what\n"
	  "`rustynet-relay spki --cert FILE` prints, required with --tls. At most 7 relays.\n"
	  "The relay must run with this network's relay secret (`relay secret --out FILE`):\n"
	  "each node's map carries one credential for every relay. --secret-file FILE checks\n"
	  "that FILE is that secret and refuses the relay if not. A bad entry is refused and\n"
	  "nothing changes. Audited; nodes get it with their next map.\n" },
	{ "list", rn_relay_list, "relay list [--json]",
	  "Prints the admin's relays (nothing when none). The server's own relay is not in\n"
	  "this list: it is the --relay-udp/--relay-tls of a running serve.\n" },
	{ "remove", rn_relay_remove, "relay remove NAME",
	  "Takes a relay out of every node's map. Audited.\n" },
	{ "secret", rn_relay_secret_cmd, "relay secret --out FILE",
	  "Writes the network's relay secret (STATE/relay.secret, made when missing) to a new\n"
	  "file, mode 0600, for `rustynet-relay serve --secret FILE` on an external relay.\n"
	  "Whoever holds it can make credentials for any key: copy it only to relays.\n" },
	{ 0 },
};

int rn_ctl_relay_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "relay", rn_relay_verbs, argc, argv);
}
