/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control backup FILE` and `rustynet-control --state NEW restore FILE`: the store,
 * copied online (the server may run), and the keys and certificate that make the server the one
 * nodes trust, in one file. A restored state dir serves the same nodes: same signing key, same
 * TLS pin, same tokens.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "rustynet-control/challenge.h"
#include "rustynet-control/ctl.h"

enum { RN_BACKUP_FILE_MAX = 1 << 20 };

/* The state dir's files that travel with the store; NULL-terminated for rn_store_restore. */
static const char *const rn_backup_names[] = {
	RN_CTL_SIGN_KEY, RN_CTL_SIGN_PUB, RN_CTL_TLS_CERT, RN_CTL_TLS_KEY, RN_CTL_ENROLL_KEY, NULL,
};

/* Reads state/name into f (content malloc'd); -ENOENT if it is not there. */
static int rn_backup_read(const char *state, const char *name, struct rn_store_file *f)
{
	char path[4096];
	struct stat sb;
	void *buf;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", state, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > RN_BACKUP_FILE_MAX) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf || read(fd, buf, (size_t)sb.st_size) != sb.st_size)
		ret = buf ? -EIO : -ENOMEM;
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	f->name = name;
	f->mode = sb.st_mode & 0777;
	f->content = buf;
	f->len = (size_t)sb.st_size;
	return 0;
}

static int rn_ctl_backup(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store_file files[sizeof(rn_backup_names) / sizeof(rn_backup_names[0])] = { 0 };
	struct rn_store *store = NULL;
	size_t n = 0;
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 1, 1, NULL, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = RN_CTL_ERR;
	for (size_t i = 0; rn_backup_names[i]; i++) {
		int err = rn_backup_read(ctl->state, rn_backup_names[i], &files[n]);

		if (err == -ENOENT)
			continue;
		if (err) {
			fprintf(stderr, "rustynet-control: backup: cannot read %s/%s: %s\n",
				ctl->state, rn_backup_names[i], strerror(-err));
			goto out;
		}
		n++;
	}
	if (rn_store_backup(store, argv[first], files, n)) {
		rn_ctl_store_error(store, "backup", -EIO);
		goto out;
	}
	printf("Backed up the store and %zu key file(s) to %s (mode 0600: it holds the signing "
	       "and TLS keys).\nRestore with: rustynet-control --state NEW_DIR restore %s\n",
	       n, argv[first], argv[first]);
	ret = RN_CTL_OK;
out:
	for (size_t i = 0; i < n; i++) {
		OPENSSL_cleanse((void *)files[i].content, files[i].len);
		free((void *)files[i].content);
	}
	rn_store_close(store);
	return ret;
}

static int rn_ctl_restore(struct rn_ctl *ctl, int argc, char **argv)
{
	char err[600];
	size_t n = 0;
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 1, 1, NULL, &first);
	if (ret >= 0)
		return ret;
	if (rn_store_restore(argv[first], ctl->state, rn_backup_names, &n, err, sizeof(err))) {
		fprintf(stderr, "rustynet-control: restore: %s\n", err);
		return RN_CTL_ERR;
	}
	printf("Restored %s into %s: the store and %zu key file(s). Serve it as before; nodes "
	       "keep their addresses, tokens and trust.\n",
	       argv[first], ctl->state, n);
	return RN_CTL_OK;
}

static const struct rn_ctl_verb rn_backup_verb = {
	"backup", rn_ctl_backup, "backup FILE",
	"Writes a consistent copy of the store, taken while the server may run, and the\n"
	"signing, enrollment and TLS keys into FILE (a new file, mode 0600). Keep it as safe as\n"
	"the state dir: whoever has it can impersonate the server.\n"
};

static const struct rn_ctl_verb rn_restore_verb = {
	"restore", rn_ctl_restore, "restore FILE",
	"Makes the state dir given with --state (it must not exist) from a backup FILE. The\n"
	"restored server serves the same network: nodes keep their addresses, tokens and\n"
	"trust (the same signing key and TLS pin). A backup from an older version is migrated.\n"
};

int rn_ctl_backup_main(struct rn_ctl *ctl, int argc, char **argv)
{
	ctl->verb = &rn_backup_verb;
	return rn_backup_verb.fn(ctl, argc, argv);
}

int rn_ctl_restore_main(struct rn_ctl *ctl, int argc, char **argv)
{
	ctl->verb = &rn_restore_verb;
	return rn_restore_verb.fn(ctl, argc, argv);
}
