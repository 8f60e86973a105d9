/* SPDX-License-Identifier: MIT */
/*
 * rustynetd's pieces and what they share: the daemon object (flags, the embedded data plane,
 * its UAPI socket and the local control socket), the state dir and node key, and the control
 * socket's command handlers.
 */
#ifndef RN_DAEMON_DAEMON_H
#define RN_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "netmap/netmap.h"
#include "rustynetd/advertise.h"
#include "rustynetd/apply.h"
#include "rustynetd/client.h"
#include "rustynetd/exit.h"
#include "rustynetd/killswitch.h"
#include "rustynetd/localaddrs.h"
#include "rustynetd/guard.h"
#include "rustynetd/magicdns.h"
#include "rustynetd/paths.h"
#include "rustynetd/router.h"
#include "wg/config.h"
#include "wg/uapi_server.h"

#define RN_DAEMON_DEFAULT_STATE	    "/var/lib/rustynet"
#define RN_DAEMON_DEFAULT_INTERFACE "rustynet0"
#define RN_DAEMON_NODE_KEY	    "node.key" /* in the state dir, wg-compatible base64, 0600 */
#define RN_DAEMON_B64_KEY_LEN	    44	       /* base64 of 32 bytes with its one '=' */
#define RN_DAEMON_DEFAULT_PORT	    41641      /* WireGuard UDP listen port */
#define RN_DAEMON_UP_TIMEOUT_MS	    20000      /* how long `rustynet up` waits for an answer */

struct rn_wg_device;
struct rn_system;
struct rn_callme;

struct rn_daemon {
	const char *state_dir;	    /* borrowed from argv */
	const char *socket_path;    /* borrowed from argv */
	const char *ifname;	    /* borrowed from argv */
	struct rn_wg_device *dev;   /* owned: started and stopped by main.c */
	struct rn_uapi_server uapi; /* wg(8)'s socket onto dev */
	int ctl_fd;		    /* the local API's listening socket; -1 when closed */
	bool stop;		    /* set by `rustynet down`: leave the loop and clean up */
	uint8_t public_key[RN_WG_KEY_LEN];
	uint16_t listen_port;

	struct rn_system *sys;	  /* owned: every address and route installed, journaled */
	bool logged_in;		  /* login holds a node token (STATE/control.json) */
	struct rn_login login;	  /* its token is a secret: wiped on logout and exit */
	struct rn_client *client; /* owned: the poll thread; NULL when not polling */

	/* The applied map; version 0: none. Its filter was moved to the data plane. */
	struct rn_netmap map;
	struct rn_apply_intents installed;   /* group "mesh" as last installed; n_addrs 0: none */
	char apply_error[RN_CLIENT_ERR_MAX]; /* the last map's system-layer failure, "" if none */
	uint64_t rejected_at;		     /* unix seconds of the last refused map, 0: none */
	char rejected_reason[RN_CLIENT_ERR_MAX];
	/* Why the data plane has no filter (and drops everything), "" while the map's is in. */
	char filter_error[RN_CLIENT_ERR_MAX];
	/* Why the cached map was not run at start (past its validity), "" once a map runs. */
	char cache_expired[RN_CLIENT_ERR_MAX];
	struct rn_exit_state exit;	 /* exit.c: exit node and LAN access, group "exit" */
	struct rn_killswitch killswitch; /* killswitch.c: protected mode, group "killswitch" */
	struct rn_guard guard;		 /* guard.c: LAN probes for our addresses, group "guard" */
	struct rn_localaddrs local;	 /* localaddrs.c: the host's addresses, for the filter */

	struct rn_advertise adv;	 /* what this node offers (STATE/advertise.json) */
	struct rn_router router;	 /* forwarding and NAT once approved (router.c) */
	const char *resolv_conf;	 /* borrowed from argv: --resolv-conf */
	struct rn_magicdns_state dns;	 /* magicdns.c: Magic DNS, group "dns" */
	struct rn_paths paths;		 /* paths.c: which endpoint of each peer is in use */
	struct rn_daemon_disco *disco;	 /* discovery.c: owned; NULL when not running */
	struct rn_daemon_relays *relays; /* relays.c: owned; NULL before the first relay */
	struct rn_callme *callme;	 /* callme.c: owned; NULL until logged in with a map */
};

/*
 * Creates the state dir 0700 if missing; refuses one that group or others may write, or that
 * another user owns. 0 or -errno, with err saying what to do.
 */
int rn_daemon_state_prepare(const char *dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Loads DIR/node.key, or generates and stores a new one (0600) on first start. A key file that
 * group or others may read is refused. 0 or -errno, with err saying what to do.
 */
int rn_daemon_key_load(const char *dir, uint8_t priv[RN_WG_KEY_LEN], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Base64 (wg's format) of a 32-byte key into out[RN_DAEMON_B64_KEY_LEN + 1]. */
void rn_daemon_key_b64(const uint8_t key[RN_WG_KEY_LEN], char out[RN_DAEMON_B64_KEY_LEN + 1]);

/* Accepts one connection on d->ctl_fd and answers its one request. Never fatal. */
void rn_daemon_control_handle(struct rn_daemon *d);

/* route.c: the advertise and route commands' work. Loads STATE/advertise.json at start. */
void rn_daemon_advertise_load(struct rn_daemon *d);
/* Sets what this node offers (persisted, sent to the server at once). 0 or -errno, err set. */
int rn_daemon_advertise_set(struct rn_daemon *d, const struct rn_advertise *adv, char *err,
			    size_t errlen);
/* The "advertise_exit"/"advertise_routes" arguments of a command, on top of d->adv, into
 * *out. 0 (nothing given: *out = d->adv), or -EINVAL with err saying what is wrong. */
int rn_daemon_advertise_args(const struct rn_daemon *d, json_t *args, struct rn_advertise *out,
			     char *err, size_t errlen);
/* The "route" command: {"action": "advertise"|"retract"|"list", "cidr": CIDR}. */
json_t *rn_daemon_cmd_route(struct rn_daemon *d, json_t *args);

/* The status command's answer (status.c). */
json_t *rn_daemon_status(struct rn_daemon *d);

/* exit.c: exit node and LAN access. */
/* At start, before the first map: read STATE/exit.json. */
void rn_daemon_exit_load(struct rn_daemon *d);
/* After each map and each choice: install the plan's difference (no-op when unchanged). */
void rn_daemon_exit_apply(struct rn_daemon *d);
/* Logout: drop the exit node choice (a new network has other nodes); LAN access stays. */
void rn_daemon_exit_forget(struct rn_daemon *d);
/* While planning next's peers: the selected exit's default allowed IPs. 0 or -ENOMEM. */
int rn_daemon_exit_add_defaults(struct rn_daemon *d, const struct rn_netmap *next,
				struct rn_wg_config *plan);
/* status: {"exit_node", "lan_access", "lan_routes"} to merge into its answer. */
json_t *rn_daemon_exit_status(const struct rn_daemon *d, const struct rn_wg_config *cfg);
/* The local API's commands: exit-node-list, exit-node-select, exit-node-off, lan-access. */
json_t *rn_daemon_exit_cmd_list(struct rn_daemon *d, json_t *args);
json_t *rn_daemon_exit_cmd_select(struct rn_daemon *d, json_t *args);
json_t *rn_daemon_exit_cmd_off(struct rn_daemon *d, json_t *args);
json_t *rn_daemon_exit_cmd_lan(struct rn_daemon *d, json_t *args);

/* magicdns.c: Magic DNS. */
/* At start: resolv.conf left by a crash restored, the host's nameservers read. */
void rn_daemon_dns_init(struct rn_daemon *d);
/* After each applied map: serve its zone (starting the resolver with the first). */
void rn_daemon_dns_apply(struct rn_daemon *d);
/* Each turn of the loop: a change of protected mode changes the upstreams. */
void rn_daemon_dns_tick(struct rn_daemon *d);
/* Logout and exit: resolver stopped, addresses removed, resolv.conf restored. */
void rn_daemon_dns_stop(struct rn_daemon *d);
/*
 * `up --accept-dns[=false]`: saved first (0600, kept across restarts), then Magic DNS stopped
 * with the system resolver restored, or started again. 0, or -errno with err said.
 */
int rn_daemon_dns_set_accept(struct rn_daemon *d, bool accept, char *err, size_t errlen);
bool rn_daemon_dns_protected(const struct rn_daemon *d);
size_t rn_daemon_dns_upstreams(const struct rn_daemon *d, struct rn_netmap_ip *out,
			       const char **from);
void rn_daemon_dns_service_addrs(const struct rn_netmap *m, struct rn_prefix *v4,
				 struct rn_prefix *v6);
json_t *rn_daemon_dns_cmd_inspect(struct rn_daemon *d, json_t *args);

/* discovery.c: endpoint discovery through the WireGuard socket (path/discovery.h). */
struct rn_daemon_disco;
/* After the device starts: hooks its socket. 0 or -errno (the daemon runs on without it). */
int rn_daemon_disco_start(struct rn_daemon *d);
/* Before the device stops. NULL-safe. */
void rn_daemon_disco_stop(struct rn_daemon *d);
/* Readable when STUN answers wait; -1 when not running. */
int rn_daemon_disco_fd(const struct rn_daemon *d);
/* Each turn of the loop (readable: the fd was): takes the map's servers, answers and due
 * sends; returns how long the loop may sleep, in ms. */
int rn_daemon_disco_run(struct rn_daemon *d, bool readable);
/* The host's addresses changed: a round at once. */
void rn_daemon_disco_kick(struct rn_daemon *d);
/* The persistent keepalive peers need now: RN_APPLY_NAT_KEEPALIVE_S while behind NAT, else 0. */
uint16_t rn_daemon_disco_keepalive(const struct rn_daemon *d);
/* After plan went into the data plane: reach its new or moved peers at once. */
void rn_daemon_disco_peers_set(struct rn_daemon *d, const struct rn_wg_config *plan);
/* status's "nat" object; netcheck's command ({"refresh": true} starts a round). */
json_t *rn_daemon_disco_status(const struct rn_daemon *d);
json_t *rn_daemon_disco_cmd_netcheck(struct rn_daemon *d, json_t *args);

/* session.c: login, logout and the poll thread's hand-overs. */
/* At start: load control.json and netmap.json, apply the map, start polling. Never fatal. */
void rn_daemon_session_resume(struct rn_daemon *d);
/* `up`: enroll, persist, apply the first map, start polling. 0 or -errno, err for people. */
int rn_daemon_session_up(struct rn_daemon *d, const char *server, const char *authkey,
			 const char *hostname, char *err, size_t errlen);
/* `logout`: tells the server (best effort), clears peers/addresses/routes/filter, forgets. */
int rn_daemon_session_logout(struct rn_daemon *d, char *err, size_t errlen);
/* The client fd was readable: take and apply what the poll thread handed over. */
void rn_daemon_session_poll_ready(struct rn_daemon *d);
/* At exit: stop the thread, wipe the token. Kernel state is undone by main.c. */
void rn_daemon_session_close(struct rn_daemon *d);

#endif
