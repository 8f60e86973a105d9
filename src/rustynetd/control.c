/* SPDX-License-Identifier: MIT */
/*
 * The local control socket: who may talk to rustynetd (root, or the daemon's own user, checked
 * with SO_PEERCRED), and the commands of this build: status, version, down, up, logout, route,
 * and exit.c's exit-node and lan-access commands. One
 * request per connection, with a deadline, so a stuck client cannot hold the daemon's loop;
 * only `up` and `logout` wait on the control server, at most RN_CLIENT_REQUEST_TIMEOUT_S.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "ipc/ipc.h"
#include "rustynetd/daemon.h"
#include "rustynetd/relays.h"
#include "wg/device.h"

#ifndef RN_VERSION
#define RN_VERSION "unknown"
#endif

#define CTL_TIMEOUT_MS 1000 /* a client must send its whole request within this */

static json_t *cmd_status(struct rn_daemon *d, json_t *args)
{
	(void)args;
	return rn_daemon_status(d);
}

static const char *arg_str(json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

/* {"server","auth_key","hostname"}: log in; none of them: say whether we are up. Either may
 * carry "advertise_exit"/"advertise_routes" (route.c): the enroll sends them. */
static json_t *cmd_up(struct rn_daemon *d, json_t *args)
{
	const char *server = arg_str(args, "server"), *key = arg_str(args, "auth_key");
	const char *host = arg_str(args, "hostname");
	char err[RN_CLIENT_ERR_MAX], v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
	struct rn_advertise adv, old = d->adv;
	json_t *dns = json_object_get(args, "accept_dns");
	bool dns_was = d->dns.off;

	if (rn_daemon_advertise_args(d, args, &adv, err, sizeof(err)))
		return rn_ipc_reply_error("%s", err);
	if (dns && !json_is_boolean(dns))
		return rn_ipc_reply_error("accept_dns must be true or false");
	if (!server && !key) {
		if (!d->logged_in)
			return rn_ipc_reply_error("not logged in: run rustynet up --server URL "
						  "--auth-key KEY");
		if (rn_daemon_advertise_set(d, &adv, err, sizeof(err)))
			return rn_ipc_reply_error("%s", err);
		if (dns && rn_daemon_dns_set_accept(d, json_is_true(dns), err, sizeof(err)))
			return rn_ipc_reply_error("%s", err);
	} else if (!server || !key || !host) {
		return rn_ipc_reply_error("up needs server, auth_key and hostname");
	} else {
		d->adv = adv; /* the enroll carries it; kept only if the login works */
		if (dns)      /* so the first map starts Magic DNS only if it is wanted */
			d->dns.off = json_is_false(dns);
		if (rn_daemon_session_up(d, server, key, host, err, sizeof(err))) {
			d->adv = old;
			d->dns.off = dns_was;
			return rn_ipc_reply_error("%s", err);
		}
		d->adv = old;
		if (rn_daemon_advertise_set(d, &adv, err, sizeof(err)))
			log_warn(MAIN, "up: %s", err);
		if (dns && rn_daemon_dns_set_accept(d, json_is_true(dns), err, sizeof(err)))
			log_warn(MAIN, "up: %s", err);
	}
	if (!d->map.version)
		return rn_ipc_reply_ok(json_pack("{s:s, s:b, s:n}", "server", d->login.server_url,
						 "already", !server, "self"));
	inet_ntop(AF_INET, d->map.self.ipv4, v4, sizeof(v4));
	inet_ntop(AF_INET6, d->map.self.ipv6, v6, sizeof(v6));
	return rn_ipc_reply_ok(json_pack("{s:s, s:b, s:{s:s, s:s, s:s, s:s}}", "server",
					 d->login.server_url, "already", !server, "self", "name",
					 d->map.self.name, "dns_name", d->map.self.dns_name, "ipv4",
					 v4, "ipv6", v6));
}

static json_t *cmd_logout(struct rn_daemon *d, json_t *args)
{
	char err[RN_CLIENT_ERR_MAX];

	(void)args;
	if (rn_daemon_session_logout(d, err, sizeof(err)))
		return rn_ipc_reply_error("%s", err);
	return rn_ipc_reply_ok(json_pack("{s:s?}", "warning", err[0] ? err : NULL));
}

static json_t *cmd_version(struct rn_daemon *d, json_t *args)
{
	(void)d, (void)args;
	return rn_ipc_reply_ok(json_pack("{s:s}", "version", RN_VERSION));
}

static json_t *cmd_down(struct rn_daemon *d, json_t *args)
{
	(void)args;
	log_info(MAIN, "shutdown requested over the control socket");
	d->stop = true;
	return rn_ipc_reply_ok(NULL);
}

/* discovery.c's answer, with the relays' latencies and the home (relays.c). */
static json_t *cmd_netcheck(struct rn_daemon *d, json_t *args)
{
	json_t *reply = rn_daemon_disco_cmd_netcheck(d, args);
	json_t *res = json_object_get(reply, "result");

	if (json_is_object(res))
		rn_daemon_relays_netcheck(d, res);
	return reply;
}

static const struct {
	const char *name;
	json_t *(*fn)(struct rn_daemon *d, json_t *args);
} commands[] = {
	{ "status", cmd_status },
	{ "version", cmd_version },
	{ "down", cmd_down },
	{ "up", cmd_up },
	{ "logout", cmd_logout },
	{ "exit-node-list", rn_daemon_exit_cmd_list },
	{ "exit-node-select", rn_daemon_exit_cmd_select },
	{ "exit-node-off", rn_daemon_exit_cmd_off },
	{ "lan-access", rn_daemon_exit_cmd_lan },
	{ "route", rn_daemon_cmd_route },
	{ "dns-inspect", rn_daemon_dns_cmd_inspect },
	{ "netcheck", cmd_netcheck },
};

static json_t *dispatch(struct rn_daemon *d, json_t *req)
{
	const char *cmd;
	json_t *args;

	if (!rn_ipc_request_parse(req, &cmd, &args))
		return rn_ipc_reply_error("malformed request: expected {\"cmd\": \"...\", "
					  "\"args\": {...}}");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(d, args);
	return rn_ipc_reply_error(
	    "unknown command \"%.64s\": this rustynetd (%s) knows status, "
	    "version, down, up, logout, route, exit-node-*, lan-access, dns-inspect and netcheck; are "
	    "rustynet and rustynetd the same version?",
	    cmd, RN_VERSION);
}

/* Root and the daemon's own user may use it; everyone else gets a reason. */
static json_t *check_peer(int fd)
{
	uid_t uid;
	pid_t pid;
	int err = rn_ipc_peer_cred(fd, &uid, &pid);

	if (err)
		return rn_ipc_reply_error("cannot identify the caller: %s", strerror(-err));
	if (uid == 0 || uid == geteuid())
		return NULL;
	log_warn(MAIN, "refused a control connection from uid %u (pid %d)", (unsigned)uid,
		 (int)pid);
	return rn_ipc_reply_error("permission denied: uid %u may not control rustynetd; run this "
				  "command as root (sudo rustynet ...)",
				  (unsigned)uid);
}

void rn_daemon_control_handle(struct rn_daemon *d)
{
	json_t *req = NULL, *rep;
	int fd, err;

	fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_warn(MAIN, "control socket accept failed: %s", strerror(errno));
		return;
	}
	rep = check_peer(fd);
	if (!rep) {
		err = rn_ipc_recv(fd, &req, CTL_TIMEOUT_MS);
		if (err == -EMSGSIZE || err == -EPROTO)
			rep = rn_ipc_reply_error("malformed request (%s): expected a 4-byte length "
						 "and a JSON object of at most %u bytes",
						 strerror(-err), RN_IPC_MAX_MSG_BYTES);
		else if (err)
			log_debug(MAIN, "control client went away: %s", strerror(-err));
		else
			rep = dispatch(d, req);
	}
	if (rep) {
		err = rn_ipc_send(fd, rep, CTL_TIMEOUT_MS);
		if (err)
			log_debug(MAIN, "cannot answer control client: %s", strerror(-err));
	}
	json_decref(rep);
	rn_ipc_json_wipe(req); /* `up` carries the auth key */
	json_decref(req);
	close(fd);
}
