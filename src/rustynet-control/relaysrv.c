/* SPDX-License-Identifier: MIT */
/* The relay embedded in `rustynet-control serve`, and the network's relay secret (relaysrv.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/util.h"
#include "control/store.h"
#include "netmap/netmap_priv.h"
#include "relay/server.h"
#include "rustynet-control/ctl.h"
#include "rustynet-control/relaysrv.h"
#include "rustynet-control/stunsrv.h"

enum { RN_CTL_RELAY_STEP_MS = 1000 }; /* the relay's timers want a step at least this often */

struct rn_ctl_relay {
	struct rn_relay_server *srv; /* owned; used only by the thread once it runs */
	pthread_t thread;
	bool running;
	atomic_bool stop;
};

int rn_ctl_relay_secret(const char *state, bool create, uint8_t secret[RN_RELAY_SECRET_LEN],
			char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", state, RN_CTL_RELAY_SECRET);
	if (lstat(path, &st) < 0 && errno == ENOENT) {
		if (!create)
			return rn_errf(err, errlen, -ENOENT, "there is no relay secret \"%s\"",
				       path);
		ret = rn_relay_secret_generate(path, err, errlen);
		if (ret && ret != -EEXIST) /* EEXIST: another process made it just now */
			return ret;
		if (!ret)
			log_info(MAIN, "made the network's relay secret %s", path);
	}
	return rn_relay_secret_load(path, secret, err, errlen);
}

/* What nodes are told of one listen address: itself, or for a wildcard what they reach. */
static int rn_ctl_relay_adv(const struct rn_ctl_relay_config *cfg, const char *opt,
			    const char *text, union rn_netmap_endpoint *out, char *err,
			    size_t errlen)
{
	union rn_netmap_endpoint ep;

	memset(out, 0, sizeof(*out));
	if (!text)
		return 0;
	if (strlen(text) >= RN_NETMAP_ENDPOINT_STRLEN || rn_netmap_endpoint_parse(text, &ep))
		return rn_errf(err, errlen, -EINVAL,
			       "%s \"%.64s\" is not ADDR:PORT or [ADDR]:PORT (numeric, port "
			       "1-65535)",
			       opt, text);
	if (!rn_stunsrv_advertised(&ep, cfg->https, cfg->hosts, cfg->n_hosts, out))
		return rn_errf(err, errlen, -EINVAL,
			       "%s %s: the maps cannot name a wildcard address: give the address "
			       "nodes reach (or init --hostname, or --listen, one of that family)",
			       opt, text);
	if (rn_store_endpoint_bad(out))
		return rn_errf(err, errlen, -EINVAL, "%s %s: nodes elsewhere cannot reach it (%s)",
			       opt, text, rn_store_endpoint_bad(out));
	return 0;
}

struct rn_ctl_relay *rn_ctl_relay_open(const struct rn_ctl_relay_config *cfg,
				       struct rn_netmap_relay *adv,
				       uint8_t secret[RN_RELAY_SECRET_LEN], char *err,
				       size_t errlen)
{
	char cert[4096], key[4096];
	struct rn_relay_server_config sc = { 0 };
	struct rn_ctl_relay *r;

	memset(adv, 0, sizeof(*adv));
	snprintf(adv->name, sizeof(adv->name), "%s", RN_STORE_RELAY_OWN_NAME);
	snprintf(cert, sizeof(cert), "%s/%s", cfg->state, RN_CTL_TLS_CERT);
	snprintf(key, sizeof(key), "%s/%s", cfg->state, RN_CTL_TLS_KEY);
	if (rn_ctl_relay_adv(cfg, "--relay-udp", cfg->udp, &adv->udp, err, errlen) ||
	    rn_ctl_relay_adv(cfg, "--relay-tls", cfg->tls, &adv->tls, err, errlen))
		return NULL;
	if (cfg->tls && rn_relay_spki_file(cert, adv->spki, err, errlen))
		return NULL;
	if (rn_ctl_relay_secret(cfg->state, true, secret, err, errlen))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		rn_errf(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	sc.secret = secret;
	sc.udp_listen = cfg->udp;
	sc.tls_listen = cfg->tls;
	sc.cert_file = cert;
	sc.key_file = key;
	sc.stats_file = cfg->stats_file;
	r->srv = rn_relay_server_new(&sc, err, errlen);
	if (!r->srv) {
		free(r);
		return NULL;
	}
	return r;
}

static void *rn_ctl_relay_run(void *arg)
{
	struct rn_ctl_relay *r = arg;
	int ret;

	while (!atomic_load(&r->stop)) {
		ret = rn_relay_server_step(r->srv, RN_CTL_RELAY_STEP_MS);
		if (ret) {
			log_error(MAIN, "the relay stopped: %s", strerror(-ret));
			break;
		}
	}
	return NULL;
}

int rn_ctl_relay_start(struct rn_ctl_relay *r)
{
	if (pthread_create(&r->thread, NULL, rn_ctl_relay_run, r))
		return -EAGAIN;
	r->running = true;
	return 0;
}

void rn_ctl_relay_free(struct rn_ctl_relay *r)
{
	char stats[2048];

	if (!r)
		return;
	if (r->running) {
		atomic_store(&r->stop, true);
		pthread_join(r->thread, NULL);
	}
	if (rn_relay_server_stats_json(r->srv, stats, sizeof(stats)) > 0)
		log_debug(MAIN, "relay counters: %s", stats);
	rn_relay_server_free(r->srv);
	free(r);
}
