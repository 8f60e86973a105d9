/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for rustynetd's state files, read back as root at every start: a damaged or
 * planted file must be refused with a reason, leave nothing half-loaded, and never crash the
 * daemon. The first byte picks the file, the rest is its content, written to a private state
 * directory and read with the daemon's own loader:
 *   0: control.json (the login: server, pins, node token; rn_persist_login_load)
 *   1: exit.json (exit node and LAN access choice; rn_exit_prefs_parse)
 *   2: advertise.json (routes and exit offered; rn_advertise_load)
 * Whatever loads must save and load back to the same thing. netmap.json is the signed envelope
 * as received: fuzz/netmap_fuzz.c covers its decoder; the journal has fuzz/journal_fuzz.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rustynetd/advertise.h"
#include "rustynetd/exit.h"
#include "rustynetd/persist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], again_dir[64];

static void cleanup(void)
{
	static const char *const names[] = { RN_PERSIST_LOGIN_FILE, RN_ADVERTISE_FILE };
	char path[128];

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", again_dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	rmdir(again_dir);
}

static void setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(dir, sizeof(dir), "%s/rn-state-fuzz-XXXXXX", base);
	snprintf(again_dir, sizeof(again_dir), "%s/rn-state-fuzz-XXXXXX", base);
	if (!mkdtemp(dir) || !mkdtemp(again_dir))
		abort();
	atexit(cleanup);
}

static void put(const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
}

static bool zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void login(const uint8_t *data, size_t size)
{
	struct rn_login a, b;
	char err[512] = "";

	put(RN_PERSIST_LOGIN_FILE, data, size);
	if (rn_persist_login_load(dir, &a, err, sizeof(err))) {
		if (!err[0] || !zero(&a, sizeof(a)))
			__builtin_trap(); /* refused without a reason, or half loaded */
		return;
	}
	if (!a.node_id || !a.server_url[0] || !a.hostname[0] || !a.node_token[0])
		__builtin_trap();
	if (rn_persist_login_save(again_dir, &a, err, sizeof(err)) ||
	    rn_persist_login_load(again_dir, &b, err, sizeof(err)) || memcmp(&a, &b, sizeof(a)))
		__builtin_trap(); /* what loads saves and loads back the same */
	rn_login_wipe(&a);
	rn_login_wipe(&b);
}

static void exit_prefs(const uint8_t *data, size_t size)
{
	struct rn_exit_prefs a, b;
	char *text;

	if (!rn_exit_prefs_parse((const char *)data, size, &a)) {
		if (!zero(&a, sizeof(a)))
			__builtin_trap();
		return;
	}
	text = rn_exit_prefs_dump(&a);
	if (!text)
		abort();
	if (!rn_exit_prefs_parse(text, strlen(text), &b) || a.node_id != b.node_id ||
	    a.lan_access != b.lan_access || strcmp(a.name, b.name))
		__builtin_trap();
	free(text);
}

static void advertise(const uint8_t *data, size_t size)
{
	struct rn_advertise *a = calloc(2, sizeof(*a)), *b = a + 1;
	char err[512] = "";

	if (!a)
		abort();
	put(RN_ADVERTISE_FILE, data, size);
	if (rn_advertise_load(dir, a, err, sizeof(err))) {
		if (!err[0] || a->n_routes || a->exit)
			__builtin_trap();
	} else if (rn_advertise_save(again_dir, a) ||
		   rn_advertise_load(again_dir, b, err, sizeof(err)) || !rn_advertise_equal(a, b)) {
		__builtin_trap();
	}
	free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		setup();
		ready = true;
	}
	if (!size || size > 8192)
		return 0;
	switch (data[0] % 3) {
	case 0:
		login(data + 1, size - 1);
		break;
	case 1:
		exit_prefs(data + 1, size - 1);
		break;
	default:
		advertise(data + 1, size - 1);
	}
	return 0;
}
