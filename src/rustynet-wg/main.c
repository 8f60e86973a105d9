/* SPDX-License-Identifier: MIT */
/*
 * rustynet-wg: the data plane alone, a drop-in for wireguard-go. Creates TUN IFNAME and serves
 * the WireGuard UAPI at /var/run/wireguard/IFNAME.sock so the stock wg(8) configures it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/log.h"
#include "wg/device.h"
#include "wg/tun.h"
#include "wg/uapi_server.h"

enum { RN_WG_DEFAULT_MTU = 1420 };

#ifndef RN_VERSION
#define RN_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: rustynet-wg [-f|--foreground] INTERFACE-NAME\n"
		"\n"
		"Creates the TUN interface INTERFACE-NAME and serves the WireGuard userspace API\n"
		"at %s/INTERFACE-NAME.sock; configure it with wg(8).\n"
		"Runs in the background unless -f is given or WG_PROCESS_FOREGROUND=1.\n"
		"Debug logging: RUSTYNET_WG_DEBUG=all (or a list: noise,peer,rx,tx,uapi,tun).\n",
		RN_UAPI_SOCKET_DIR);
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

/* Tells the waiting parent how start-up went, then detaches from it. */
static void report_ready(int fd, int status)
{
	if (fd < 0)
		return;
	if (write(fd, &status, sizeof(status)) != sizeof(status))
		log_warn(MAIN, "could not report start-up to the parent");
	close(fd);
}

static int serve(const char *ifname, int ready_fd)
{
	struct rn_uapi_server uapi;
	struct rn_wg_device *dev;
	sigset_t mask;
	int err, sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	err = rn_wg_device_start(ifname, 0, &dev);
	if (err) {
		log_error(MAIN, "cannot create interface %s: %s%s", ifname, strerror(-err),
			  err == -EPERM || err == -EACCES ? " (run as root or with CAP_NET_ADMIN)"
			  : err == -EBUSY ? " (another process already runs this interface)"
					  : "");
		report_ready(ready_fd, err);
		return 1;
	}
	/* wireguard-go's default, which wg-quick and users rely on (the kernel gives a TUN 1500). */
	err = rn_wg_device_set_mtu(dev, RN_WG_DEFAULT_MTU);
	if (err)
		log_warn(MAIN, "cannot set the MTU of %s to %d: %s", rn_wg_device_ifname(dev),
			 RN_WG_DEFAULT_MTU, strerror(-err));
	err = rn_uapi_server_open(&uapi, rn_wg_device_ifname(dev), RN_UAPI_SOCKET_DIR, &uapi_ops,
				  dev);
	if (err) {
		log_error(MAIN, "cannot serve %s/%s.sock: %s%s", RN_UAPI_SOCKET_DIR,
			  rn_wg_device_ifname(dev), strerror(-err),
			  err == -EADDRINUSE ? " (another daemon serves this interface)" : "");
		rn_wg_device_stop(dev);
		report_ready(ready_fd, err);
		return 1;
	}
	report_ready(ready_fd, 0);
	log_info(MAIN, "serving %s", uapi.path);

	for (;;) {
		struct pollfd pfd[2] = { { .fd = rn_uapi_server_fd(&uapi), .events = POLLIN },
					 { .fd = sfd, .events = POLLIN } };
		int n = poll(pfd, 2, 1000);

		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && (pfd[1].revents & POLLIN)) {
			log_info(MAIN, "signal received, shutting down");
			break;
		}
		if (n > 0 && (pfd[0].revents & POLLIN))
			rn_uapi_server_handle(&uapi);
		/*
		 * Asked of the TUN fd, not of the name here: like wireguard-go, the daemon stays
		 * in this namespace (UDP and UAPI sockets) when the interface is moved to another
		 * (`ip link set IF netns NS`); only deleting it ends the daemon.
		 */
		if (rn_wg_device_is_dead(dev) || rn_wg_device_refresh_mtu(dev) == -ENODEV) {
			log_info(MAIN, "interface %s is gone, shutting down",
				 rn_wg_device_ifname(dev));
			break;
		}
	}
	rn_uapi_server_close(&uapi);
	rn_wg_device_stop(dev);
	if (sfd >= 0)
		close(sfd);
	return 0;
}

/* Like wireguard-go: the parent returns once the interface exists, with its status. */
static int daemonize(const char *ifname)
{
	int pipefd[2], status = -EIO;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		perror("rustynet-wg: pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("rustynet-wg: fork");
		return 1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		if (setsid() < 0 || chdir("/") < 0)
			_exit(1);
		rn_log_open("rustynet-wg", true);
		if (!freopen("/dev/null", "r", stdin) || !freopen("/dev/null", "w", stdout) ||
		    !freopen("/dev/null", "w", stderr))
			_exit(1);
		_exit(serve(ifname, pipefd[1]));
	}
	close(pipefd[1]);
	if (read(pipefd[0], &status, sizeof(status)) != sizeof(status))
		status = -EIO;
	close(pipefd[0]);
	if (status) {
		fprintf(stderr,
			"rustynet-wg: failed to start %s: %s%s (details in the system log)\n",
			ifname, strerror(-status),
			status == -EBUSY ? ": another process already runs this interface" : "");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ 0 },
	};
	const char *env = getenv("WG_PROCESS_FOREGROUND");
	bool foreground = env && !strcmp(env, "1");
	const char *ifname;
	int c;

	while ((c = getopt_long(argc, argv, "fhv", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("rustynet-wg %s\n", RN_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	ifname = argv[optind];
	if (!*ifname || strlen(ifname) >= IF_NAMESIZE || strchr(ifname, '/')) {
		fprintf(stderr,
			"rustynet-wg: invalid interface name '%s' (1-%d characters, no '/')\n",
			ifname, IF_NAMESIZE - 1);
		return 2;
	}
	rn_log_set_debug(getenv("RUSTYNET_WG_DEBUG"));
	if (foreground) {
		rn_log_open("rustynet-wg", false);
		return serve(ifname, -1);
	}
	return daemonize(ifname);
}
