/* SPDX-License-Identifier: MIT */
/*
 * The node's login to its control server: `up` (enroll, apply the first map, persist, poll),
 * `logout`, resuming after a restart from the state dir, and the maps the poll thread hands
 * over. Everything here runs in the daemon's loop; the poll thread only fetches.
 */
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/authkey_format.h"
#include "common/log.h"
#include "rustynetd/callme.h"
#include "rustynetd/daemon.h"
#include "rustynetd/relays.h"
#include "rustynetd/persist.h"

static void start_polling(struct rn_daemon *d, bool connected)
{
	int r;

	rn_client_stop(d->client);
	d->client = NULL;
	rn_daemon_callme_stop(d); /* its login may be the old one: the tick starts it again */
	r = rn_client_start(&d->login, d->ifname, d->listen_port, d->map.version, connected,
			    &d->adv, &d->client);
	if (r)
		log_error(MAIN, "control: cannot start polling: %s", strerror(-r));
}

void rn_daemon_session_resume(struct rn_daemon *d)
{
	char err[RN_CLIENT_ERR_MAX];
	char *env = NULL;
	size_t len;
	int r;

	rn_daemon_advertise_load(d);
	r = rn_persist_login_load(d->state_dir, &d->login, err, sizeof(err));
	if (r == -ENOENT) {
		log_info(MAIN,
			 "not logged in: waiting for `rustynet up --server URL --auth-key KEY`");
		return;
	}
	if (r) {
		log_error(MAIN, "%s", err);
		return;
	}
	d->logged_in = true;
	r = rn_persist_netmap_load(d->state_dir, &env, &len);
	if (!r) {
		if (rn_apply_envelope(d, env, len, RN_APPLY_FROM_CACHE, err, sizeof(err)))
			log_warn(MAIN, "the cached netmap is not usable: %s", err);
		free(env);
	} else if (r != -ENOENT) {
		log_warn(MAIN, "cannot read the cached netmap: %s", strerror(-r));
	}
	log_info(MAIN, "logged in to %s as node %llu", d->login.server_url,
		 (unsigned long long)d->login.node_id);
	start_polling(d, false);
}

static bool hostname_ok(const char *h, char *err, size_t errlen)
{
	size_t len = strlen(h);

	for (size_t i = 0; i < len; i++) {
		if (!isprint((unsigned char)h[i])) {
			snprintf(err, errlen,
				 "the hostname has a control character: pick another "
				 "with --hostname NAME");
			return false;
		}
	}
	if (len < 1 || len >= RN_CLIENT_HOSTNAME_MAX) {
		snprintf(err, errlen, "the hostname must be 1-%d bytes",
			 RN_CLIENT_HOSTNAME_MAX - 1);
		return false;
	}
	return true;
}

static int enroll_errno(enum rn_client_failure f)
{
	switch (f) {
	case RN_CLIENT_UNREACHABLE:
		return -EHOSTUNREACH;
	case RN_CLIENT_WRONG_SERVER:
		return -EKEYREJECTED;
	case RN_CLIENT_REFUSED:
		return -EACCES;
	default:
		return -EPROTO;
	}
}

/* Fills l from the command's arguments; false with err set when any is unusable. */
static bool login_from_args(struct rn_login *l, const char *server, const char *authkey,
			    const char *hostname, struct rn_authkey *key, char *err, size_t errlen)
{
	char why[256];
	size_t n;

	memset(l, 0, sizeof(*l));
	if (!rn_client_url_ok(server, err, errlen))
		return false;
	if (!rn_authkey_parse(authkey, key, why, sizeof(why))) {
		snprintf(err, errlen, "the auth key is not usable: %s", why);
		return false;
	}
	if (!hostname_ok(hostname, err, errlen))
		return false;
	snprintf(l->server_url, sizeof(l->server_url), "%s", server);
	n = strlen(l->server_url);
	while (n > 8 && l->server_url[n - 1] == '/')
		l->server_url[--n] = '\0';
	memcpy(l->tls_pin, key->tls_pin, sizeof(l->tls_pin));
	memcpy(l->netmap_pub, key->netmap_pub, sizeof(l->netmap_pub));
	snprintf(l->hostname, sizeof(l->hostname), "%s", hostname);
	return true;
}

int rn_daemon_session_up(struct rn_daemon *d, const char *server, const char *authkey,
			 const char *hostname, char *err, size_t errlen)
{
	struct rn_client_enrolled en;
	struct rn_client_status st = { 0 };
	uint8_t priv[RN_WG_KEY_LEN];
	struct rn_authkey key;
	struct rn_login l, old;
	bool was_logged_in = d->logged_in;
	enum rn_client_failure f;
	int r;

	if (d->client)
		rn_client_get_status(d->client, &st);
	if (d->logged_in && !st.refused) {
		snprintf(err, errlen,
			 "already logged in to %s: run `rustynet logout` first to join another "
			 "network",
			 d->login.server_url);
		return -EALREADY;
	}
	if (!login_from_args(&l, server, authkey, hostname, &key, err, errlen)) {
		OPENSSL_cleanse(&key, sizeof(key));
		return -EINVAL;
	}
	log_info(MAIN, "up: enrolling at %s as \"%s\"", l.server_url, l.hostname);
	/* the node key, to prove we hold it; read again so that it is kept in memory only here */
	if (rn_daemon_key_load(d->state_dir, priv, err, errlen)) {
		OPENSSL_cleanse(&key, sizeof(key));
		rn_login_wipe(&l);
		return -EIO;
	}
	f = rn_client_enroll(&l, key.secret, priv, d->ifname, d->listen_port, &d->adv, &en, err,
			     errlen);
	OPENSSL_cleanse(priv, sizeof(priv));
	OPENSSL_cleanse(&key, sizeof(key));
	if (f) {
		log_warn(MAIN, "up: %s", err);
		rn_login_wipe(&l);
		return enroll_errno(f);
	}
	l.node_id = en.node_id;
	memcpy(l.node_token, en.node_token, sizeof(l.node_token));
	old = d->login;
	d->login = l; /* the first map verifies under the new login's netmap key */
	r = rn_apply_envelope(d, en.envelope, en.envelope_len, RN_APPLY_FROM_ENROLL, err, errlen);
	rn_client_enrolled_free(&en);
	if (r) {
		char why[RN_CLIENT_ERR_MAX];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen,
			 "%s accepted the auth key, but its first netmap was refused: %s (was the "
			 "auth key made by this server?)",
			 l.server_url, why);
		d->login = old;
		rn_login_wipe(&l);
		d->logged_in = was_logged_in;
		return r;
	}
	rn_login_wipe(&old);
	rn_login_wipe(&l);
	d->logged_in = true;
	d->rejected_at = 0;
	d->rejected_reason[0] = '\0';
	r = rn_persist_login_save(d->state_dir, &d->login, err, errlen);
	if (r)
		log_error(MAIN, "up: %s: the login is lost at the next restart", err);
	log_info(MAIN, "up: logged in to %s as %s (node %llu)", d->login.server_url,
		 d->map.self.dns_name, (unsigned long long)d->login.node_id);
	start_polling(d, true);
	return 0;
}

int rn_daemon_session_logout(struct rn_daemon *d, char *err, size_t errlen)
{
	enum rn_client_failure f;
	int r;

	err[0] = '\0';
	if (!d->logged_in && !d->map.version) {
		snprintf(err, errlen, "not logged in");
		return -ENOTCONN;
	}
	rn_client_stop(d->client);
	d->client = NULL;
	rn_daemon_callme_stop(d);
	if (d->logged_in) {
		f = rn_client_logout(&d->login, err, errlen);
		if (f && f != RN_CLIENT_REFUSED)
			log_warn(MAIN, "logout: the server was not told: %s", err);
		else
			err[0] = '\0';
	}
	rn_daemon_dns_stop(d);
	rn_apply_clear(d);
	rn_daemon_relays_stop(d);
	rn_daemon_paths_free(d);
	rn_daemon_exit_forget(d);
	r = rn_persist_forget(d->state_dir);
	if (r)
		log_error(MAIN, "logout: cannot remove the login from %s: %s", d->state_dir,
			  strerror(-r));
	rn_login_wipe(&d->login);
	d->logged_in = false;
	d->rejected_at = 0;
	d->rejected_reason[0] = '\0';
	log_info(MAIN, "logged out: peers, addresses and routes removed");
	return 0;
}

void rn_daemon_session_poll_ready(struct rn_daemon *d)
{
	char err[RN_CLIENT_ERR_MAX];
	size_t len = 0;
	char *env;
	int r;

	env = rn_client_take(d->client, &len);
	rn_daemon_callme_received(d);
	if (!env)
		return; /* a status change only: status reads it when asked */
	r = rn_apply_envelope(d, env, len, RN_APPLY_FROM_POLL, err, sizeof(err));
	rn_client_ack(d->client, d->map.version, r == 0);
	free(env);
}

void rn_daemon_session_close(struct rn_daemon *d)
{
	rn_client_stop(d->client);
	d->client = NULL;
	rn_daemon_callme_stop(d);
	rn_daemon_dns_stop(d);
	rn_daemon_relays_stop(d);
	rn_daemon_paths_free(d);
	rn_login_wipe(&d->login);
	rn_netmap_free(&d->map);
}
