/* SPDX-License-Identifier: MIT */
/*
 * The local control socket: who may talk to rustynetd (root, or the daemon's own user, checked
 * with SO_PEERCRED), and the commands of this build: status, version, down. One request per
 * connection, with a deadline, so a stuck client cannot hold the daemon's loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "ipc/ipc.h"
#include "rustynetd/daemon.h"
#include "wg/device.h"

#ifndef RN_VERSION
#define RN_VERSION "unknown"
#endif

#define CTL_TIMEOUT_MS 1000 /* a client must send its whole request within this */

static json_t *endpoint_json(const union rn_wg_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];

	if (ep->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->sin.sin_addr, addr, sizeof(addr));
		snprintf(buf, sizeof(buf), "%s:%u", addr, ntohs(ep->sin.sin_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->sin6.sin6_addr, addr, sizeof(addr));
		snprintf(buf, sizeof(buf), "[%s]:%u", addr, ntohs(ep->sin6.sin6_port));
	} else {
		return json_null();
	}
	return json_string(buf);
}

static json_t *allowed_ips_json(const struct rn_wg_peer_config *p)
{
	char addr[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];
	json_t *a = json_array();

	for (size_t i = 0; a && i < p->n_allowed_ips; i++) {
		const struct rn_wg_allowed_ip *ip = &p->allowed_ips[i];

		inet_ntop(ip->family,
			  ip->family == AF_INET ? (const void *)&ip->ip4 : (const void *)&ip->ip6,
			  addr, sizeof(addr));
		snprintf(buf, sizeof(buf), "%s/%u", addr, ip->cidr);
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static json_t *peer_json(const struct rn_wg_peer_config *p)
{
	char key[RN_DAEMON_B64_KEY_LEN + 1];

	rn_daemon_key_b64(p->public_key, key);
	return json_pack("{s:s, s:o, s:o, s:I, s:I, s:I, s:i}", "public_key", key, "endpoint",
			 endpoint_json(&p->endpoint), "allowed_ips", allowed_ips_json(p),
			 "latest_handshake", (json_int_t)p->last_handshake.tv_sec, "rx_bytes",
			 (json_int_t)p->rx_bytes, "tx_bytes", (json_int_t)p->tx_bytes,
			 "persistent_keepalive", (int)p->persistent_keepalive);
}

static json_t *cmd_status(struct rn_daemon *d)
{
	char key[RN_DAEMON_B64_KEY_LEN + 1];
	struct rn_wg_config cfg = {0};
	json_t *peers, *res;
	int err;

	err = rn_wg_device_snapshot(d->dev, &cfg);
	if (err)
		return rn_ipc_reply_error("cannot read interface %s: %s (see rustynetd's log)",
					  d->ifname, strerror(-err));
	peers = json_array();
	for (size_t i = 0; peers && i < cfg.n_peers; i++)
		json_array_append_new(peers, peer_json(&cfg.peers[i]));
	rn_daemon_key_b64(d->public_key, key);
	res = json_pack("{s:s, s:s, s:i, s:i, s:b, s:s, s:o}", "interface",
			rn_wg_device_ifname(d->dev), "public_key", key, "listen_port",
			(int)cfg.listen_port, "fwmark", (int)cfg.fwmark, "logged_in", 0, "state",
			"NeedsLogin", "peers", peers);
	rn_wg_config_free(&cfg);
	return res ? rn_ipc_reply_ok(res) : NULL;
}

static json_t *cmd_version(struct rn_daemon *d)
{
	(void)d;
	return rn_ipc_reply_ok(json_pack("{s:s}", "version", RN_VERSION));
}

static json_t *cmd_down(struct rn_daemon *d)
{
	log_info(MAIN, "shutdown requested over the control socket");
	d->stop = true;
	return rn_ipc_reply_ok(NULL);
}

static const struct {
	const char *name;
	json_t *(*fn)(struct rn_daemon *d);
} commands[] = {
    {"status", cmd_status},
    {"version", cmd_version},
    {"down", cmd_down},
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
			return commands[i].fn(d);
	return rn_ipc_reply_error("unknown command \"%.64s\": this rustynetd (%s) knows status, "
				  "version and down; are rustynet and rustynetd the same version?",
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
	json_decref(req);
	close(fd);
}
