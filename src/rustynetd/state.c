/* SPDX-License-Identifier: MIT */
/*
 * The daemon's state dir and the node's WireGuard key in it. The key is made here on first
 * start and never leaves the node; a dir or key file others could change or read is refused
 * rather than trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "rustynetd/daemon.h"
#include "wg/crypto.h"

int rn_daemon_state_prepare(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0) {
		log_info(MAIN, "created state directory %s", dir);
		return 0;
	}
	if (errno != EEXIST) {
		int r = -errno;

		snprintf(err, errlen, "cannot create state directory %s: %s%s", dir, strerror(-r),
			 r == -ENOENT ? " (create its parent directory first)" : "");
		return r;
	}
	if (stat(dir, &st) < 0) {
		int r = -errno;

		snprintf(err, errlen, "cannot read state directory %s: %s", dir, strerror(-r));
		return r;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state path %s is not a directory: pick another --state DIR",
			 dir);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "state directory %s belongs to uid %u, not to us (uid %u): chown it or "
			 "pick another --state DIR",
			 dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "state directory %s is writable by others (mode %03o): run `chmod 700 %s`",
			 dir, (unsigned)(st.st_mode & 0777), dir);
		return -EPERM;
	}
	return 0;
}

void rn_daemon_key_b64(const uint8_t key[RN_WG_KEY_LEN], char out[RN_DAEMON_B64_KEY_LEN + 1])
{
	EVP_EncodeBlock((unsigned char *)out, key, RN_WG_KEY_LEN);
}

/* Exactly 44 canonical base64 characters (surrounding whitespace ignored) into key. */
static bool key_decode(const char *text, size_t len, uint8_t key[RN_WG_KEY_LEN])
{
	char canon[RN_DAEMON_B64_KEY_LEN + 1];
	uint8_t raw[RN_WG_KEY_LEN + 1];
	bool ok;

	while (len && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\r'))
		len--;
	if (len != RN_DAEMON_B64_KEY_LEN)
		return false;
	if (EVP_DecodeBlock(raw, (const unsigned char *)text, (int)len) != RN_WG_KEY_LEN + 1)
		return false;
	rn_daemon_key_b64(raw, canon);
	ok = !memcmp(canon, text, len);
	if (ok)
		memcpy(key, raw, RN_WG_KEY_LEN);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(canon, sizeof(canon));
	return ok;
}

static int key_read(const char *path, uint8_t priv[RN_WG_KEY_LEN], char *err, size_t errlen)
{
	char buf[128];
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file: move it away", path);
		r = -EINVAL;
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s may be read by others (mode %03o): run `chmod 600 %s`",
			 path, (unsigned)(st.st_mode & 0777), path);
		r = -EPERM;
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0 || !key_decode(buf, n < 0 ? 0 : (size_t)n, priv)) {
		snprintf(err, errlen,
			 "%s does not hold a WireGuard private key (44 base64 characters, as `wg "
			 "genkey` writes): restore it from a backup, or remove it to get a new "
			 "node identity",
			 path);
		r = -EINVAL;
	}
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return r;
}

/* Writes a new key to path via a temp file, so a crash never leaves half a key. */
static int key_create(const char *path, uint8_t priv[RN_WG_KEY_LEN], char *err, size_t errlen)
{
	char tmp[PATH_MAX + 8], b64[RN_DAEMON_B64_KEY_LEN + 2];
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%.*s.tmp", PATH_MAX - 1, path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(-r));
		return r;
	}
	rn_x25519_generate(priv);
	rn_daemon_key_b64(priv, b64);
	b64[RN_DAEMON_B64_KEY_LEN] = '\n';
	if (write(fd, b64, RN_DAEMON_B64_KEY_LEN + 1) != RN_DAEMON_B64_KEY_LEN + 1 || fsync(fd))
		r = errno ? -errno : -EIO;
	if (close(fd) && !r)
		r = -errno;
	if (!r && link(tmp, path) < 0) /* link, not rename: never replace a key that appeared */
		r = -errno;
	unlink(tmp);
	OPENSSL_cleanse(b64, sizeof(b64));
	if (r)
		snprintf(err, errlen, "cannot store the node key in %s: %s", path, strerror(-r));
	return r;
}

int rn_daemon_key_load(const char *dir, uint8_t priv[RN_WG_KEY_LEN], char *err, size_t errlen)
{
	char path[PATH_MAX];
	int r;

	err[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/%s", dir, RN_DAEMON_NODE_KEY) >= (int)sizeof(path)) {
		snprintf(err, errlen, "state directory path is too long");
		return -ENAMETOOLONG;
	}
	r = key_read(path, priv, err, errlen);
	if (r != -ENOENT) {
		if (r && !*err)
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	r = key_create(path, priv, err, errlen);
	if (!r)
		log_info(MAIN, "generated a new node key in %s", path);
	return r;
}
