/* SPDX-License-Identifier: MIT */
/*
 * rustynetd: the node daemon. This slice owns the state dir and node key, one TUN interface
 * run by the embedded data plane (served to wg(8) over its UAPI socket, as rustynet-wg does),
 * and the local control socket the rustynet CLI talks to, all in one poll loop.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <net/if.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "ipc/ipc.h"
#include "rustynetd/callme.h"
#include "rustynetd/daemon.h"
#include "rustynetd/localaddrs.h"
#include "rustynetd/relays.h"
#include "system/system.h"
#include "wg/crypto.h"
#include "wg/device.h"
#include "wg/tun.h"

#ifndef RN_VERSION
#define RN_VERSION "unknown"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: rustynetd [--state DIR] [--socket PATH] [--interface NAME] [--port N]\n"
		"                 [--resolv-conf PATH]\n"
		"\n"
		"The rustynet node daemon; runs as root, in the foreground.\n"
		"  --state DIR       state directory, made 0700 (default %s)\n"
		"  --socket PATH     control socket for the rustynet CLI (default %s)\n"
		"  --interface NAME  the TUN interface to create (default %s)\n"
		"  --port N          WireGuard UDP listen port, 1-65535 (default %d)\n"
		"  --resolv-conf PATH  the resolver file Magic DNS rewrites (default %s)\n"
		"Debug logging: RUSTYNETD_DEBUG=all (or a list: main,noise,peer,rx,tx,uapi,tun).\n",
		RN_DAEMON_DEFAULT_STATE, RN_IPC_DEFAULT_SOCKET, RN_DAEMON_DEFAULT_INTERFACE,
		RN_DAEMON_DEFAULT_PORT, RN_RESOLVCONF_DEFAULT);
}

static int uapi_get(void *ctx, struct rn_wg_config *out)
{
	return rn_wg_device_snapshot(ctx, out);
}

static int uapi_set(void *ctx, const struct rn_wg_config *cfg)
{
	return rn_wg_device_apply(ctx, cfg);
}

static const struct rn_uapi_ops uapi_ops = { .get = uapi_get, .set = uapi_set };

/* Starts the device with the node key and listen port set. 0 or -errno (logged). */
static int start_device(struct rn_daemon *d, const uint8_t priv[RN_WG_KEY_LEN])
{
	struct rn_wg_config cfg = { .flags = RN_WG_DEV_HAS_PRIVATE_KEY | RN_WG_DEV_HAS_LISTEN_PORT,
				    .listen_port = d->listen_port };
	int err;

	err = rn_wg_device_start(d->ifname, RN_WG_DEVICE_DENY_UNFILTERED, &d->dev);
	if (err) {
		log_error(MAIN, "cannot create interface %s: %s%s", d->ifname, strerror(-err),
			  err == -EPERM || err == -EACCES ? " (run rustynetd as root)"
			  : err == -EBUSY ? " (another process runs this interface: pick another "
					    "--interface)"
					  : "");
		d->dev = NULL;
		return err;
	}
	memcpy(cfg.private_key, priv, RN_WG_KEY_LEN);
	err = rn_wg_device_apply(d->dev, &cfg);
	OPENSSL_cleanse(cfg.private_key, sizeof(cfg.private_key));
	if (err) {
		log_error(MAIN, "cannot set the node key and UDP port %u on %s: %s%s",
			  d->listen_port, d->ifname, strerror(-err),
			  err == -EADDRINUSE ? " (pick another --port)" : "");
		rn_wg_device_stop(d->dev);
		d->dev = NULL;
	}
	return err;
}

/*
 * Opens the system layer and undoes what an earlier run left (it crashed, or was killed):
 * its routes and addresses went with its TUN device, but the journal still lists them.
 * Without the system layer the daemon still runs the data plane; applying maps reports it.
 */
static void open_system(struct rn_daemon *d)
{
	size_t left, swept = 0;
	int err;

	err = rn_system_open(d->state_dir, &d->sys);
	if (err) {
		log_error(MAIN,
			  "cannot open the system layer in %s: %s: mesh addresses and routes "
			  "will not be installed",
			  d->state_dir, strerror(-err));
		d->sys = NULL;
		return;
	}
	left = rn_system_count(d->sys, NULL);
	if (!left)
		return;
	err = rn_killswitch_undo_others(d); /* the kill switch stays until the choice is read */
	/* Only after an unclean exit: the sweep removes every tagged route in this netns. */
	if (!err)
		err = rn_system_sweep(d->sys, &swept);
	log_info(MAIN, "undid %zu changes left by an earlier run, swept %zu more%s", left, swept,
		 err ? " (some failed: see above)" : "");
}

enum { TRIM_EVERY_MS = 10000 };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The holes that work (a new map, a zone, a CLI request) left in the heap go back to the
 * kernel: free() itself only gives back the top. Once the loop wakes with nothing to do, at
 * most every TRIM_EVERY_MS, and only after work (the paths tick wakes it every second).
 */
static void trim_heap(bool worked)
{
	static uint64_t last_ms;
	static bool dirty;
	uint64_t now;

	dirty |= worked;
	if (!dirty || worked)
		return;
	now = now_ms();
	if (now - last_ms < TRIM_EVERY_MS)
		return;
	malloc_trim(0);
	last_ms = now;
	dirty = false;
}

static void run(struct rn_daemon *d, int sfd)
{
	int wait_ms = rn_daemon_disco_run(d, false);

	while (!d->stop) {
		struct pollfd pfd[6] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = d->ctl_fd, .events = POLLIN },
			{ .fd = rn_uapi_server_fd(&d->uapi), .events = POLLIN },
			{ .fd = d->client ? rn_client_fd(d->client) : -1, .events = POLLIN },
			{ .fd = rn_localaddrs_fd(d), .events = POLLIN },
			{ .fd = rn_daemon_disco_fd(d), .events = POLLIN },
		};
		int n = poll(pfd, 6, wait_ms), paths_ms;

		if (n < 0 && errno != EINTR) {
			log_error(MAIN, "poll failed: %s", strerror(errno));
			break;
		}
		if (n > 0 && (pfd[0].revents & POLLIN)) {
			log_info(MAIN, "signal received, shutting down");
			break;
		}
		if (n > 0 && (pfd[1].revents & POLLIN))
			rn_daemon_control_handle(d);
		if (n > 0 && (pfd[2].revents & POLLIN))
			rn_uapi_server_handle(&d->uapi);
		if (n > 0 && (pfd[3].revents & POLLIN) && d->client)
			rn_daemon_session_poll_ready(d);
		/* our endpoints may have moved, and with them the poll's own connection */
		if (n > 0 && (pfd[4].revents & POLLIN) && rn_localaddrs_ready(d)) {
			rn_client_repoll(d->client);
			rn_daemon_disco_kick(d);	    /* and with them, perhaps, our NAT */
			rn_daemon_paths_network_changed(d); /* and the best path to each peer */
		}
		wait_ms = rn_daemon_disco_run(d, n > 0 && (pfd[5].revents & POLLIN));
		rn_daemon_dns_tick(d);
		rn_daemon_relays_tick(d);
		paths_ms = rn_daemon_paths_tick(d);
		if (paths_ms < wait_ms)
			wait_ms = paths_ms;
		rn_daemon_callme_tick(d);
		if (rn_wg_device_is_dead(d->dev) || !rn_tun_exists(d->ifname)) {
			log_error(MAIN, "interface %s is gone, shutting down", d->ifname);
			break;
		}
		rn_wg_device_refresh_mtu(d->dev);
		trim_heap(n > 0);
	}
}

static int serve(struct rn_daemon *d)
{
	uint8_t priv[RN_WG_KEY_LEN];
	char err[512] = "";
	sigset_t mask;
	int r, sfd, status = 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		log_error(MAIN, "signalfd: %s", strerror(errno));
		return 1;
	}
	if (rn_crypto_init()) {
		log_error(MAIN, "OpenSSL lacks an algorithm WireGuard needs: install OpenSSL 3");
		goto err_sfd;
	}
	if (rn_daemon_state_prepare(d->state_dir, err, sizeof(err)) ||
	    rn_daemon_key_load(d->state_dir, priv, err, sizeof(err))) {
		log_error(MAIN, "%s", err);
		goto err_key;
	}
	if (!rn_x25519_public(d->public_key, priv)) {
		log_error(MAIN, "cannot derive the public key from the node key");
		goto err_key;
	}
	d->ctl_fd = rn_ipc_listen(d->socket_path, err, sizeof(err));
	if (d->ctl_fd < 0) {
		log_error(MAIN, "%s", err);
		goto err_key;
	}
	if (rn_client_global_init()) {
		log_error(MAIN, "cannot initialise libcurl");
		goto err_ctl;
	}
	open_system(d);
	if (start_device(d, priv))
		goto err_sys;
	r = rn_uapi_server_open(&d->uapi, d->ifname, RN_UAPI_SOCKET_DIR, &uapi_ops, d->dev);
	if (r) {
		log_error(MAIN, "cannot serve %s/%s.sock: %s%s", RN_UAPI_SOCKET_DIR, d->ifname,
			  strerror(-r),
			  r == -EADDRINUSE ? " (another daemon serves this interface)" : "");
		goto err_dev;
	}
	OPENSSL_cleanse(priv, sizeof(priv));
	log_info(MAIN, "running %s, UDP port %u; control socket %s, wg(8) socket %s", d->ifname,
		 d->listen_port, d->socket_path, d->uapi.path);
	rn_localaddrs_start(d); /* before any map: its filter meets the host's addresses */
	r = rn_daemon_disco_start(d);
	if (r)
		log_warn(MAIN, "endpoint discovery is off: %s", strerror(-r));
	rn_daemon_exit_load(d);
	rn_killswitch_sync(d);
	rn_daemon_dns_init(d);
	rn_daemon_session_resume(d);
	run(d, sfd);
	status = 0;
	rn_daemon_session_close(d);
	rn_uapi_server_close(&d->uapi);
err_dev:
	if (d->sys && rn_killswitch_shutdown(d))
		log_error(MAIN, "some addresses or routes could not be removed: see above");
	rn_exit_plan_free(&d->exit.installed);
	rn_localaddrs_stop(d);
	rn_daemon_disco_stop(d);
	rn_wg_device_stop(d->dev);
err_sys:
	rn_system_close(d->sys);
	rn_client_global_cleanup();
err_ctl:
	close(d->ctl_fd);
	unlink(d->socket_path);
err_key:
	OPENSSL_cleanse(priv, sizeof(priv));
err_sfd:
	close(sfd);
	if (!status)
		log_info(MAIN, "stopped: interface and sockets removed");
	return status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "interface", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ "resolv-conf", required_argument, NULL, 'r' },
		{ 0 },
	};
	struct rn_daemon d = {
		.state_dir = RN_DAEMON_DEFAULT_STATE,
		.socket_path = RN_IPC_DEFAULT_SOCKET,
		.ifname = RN_DAEMON_DEFAULT_INTERFACE,
		.ctl_fd = -1,
		.local = { .fd = -1 },
		.listen_port = RN_DAEMON_DEFAULT_PORT,
		.resolv_conf = RN_RESOLVCONF_DEFAULT,
	};
	unsigned long port;
	char *end;
	int c;

	/*
	 * A small resident size (docs/performance.md): a fixed mmap threshold (glibc's default
	 * grows it up to 32 MiB as large blocks are freed) keeps large, short-lived buffers
	 * (netmaps, zones) out of the heap, where their holes would stay resident.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	rn_ipc_json_wipe_frees(); /* before any JSON: requests and netmaps carry secrets */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			d.state_dir = optarg;
			break;
		case 'S':
			d.socket_path = optarg;
			break;
		case 'i':
			d.ifname = optarg;
			break;
		case 'r':
			d.resolv_conf = optarg;
			break;
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || port < 1 ||
			    port > 65535) {
				fprintf(stderr, "rustynetd: invalid --port \"%s\" (1-65535)\n",
					optarg);
				return 2;
			}
			d.listen_port = (uint16_t)port;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("rustynetd %s\n", RN_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "rustynetd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!*d.ifname || strlen(d.ifname) >= IF_NAMESIZE || strchr(d.ifname, '/')) {
		fprintf(stderr,
			"rustynetd: invalid interface name \"%s\" (1-%d characters, no '/')\n",
			d.ifname, IF_NAMESIZE - 1);
		return 2;
	}
	if (!*d.state_dir || !*d.socket_path || !*d.resolv_conf) {
		fprintf(stderr, "rustynetd: --state, --socket and --resolv-conf need a non-empty "
				"path\n");
		return 2;
	}
	rn_log_set_debug(getenv("RUSTYNETD_DEBUG"));
	rn_log_open("rustynetd", false);
	return serve(&d);
}
