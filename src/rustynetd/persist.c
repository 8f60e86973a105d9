/* SPDX-License-Identifier: MIT */
/* control.json and netmap.json in the state dir: atomic writes, strict reads. */
#include "common/util.h"
#include "rustynetd/persist.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netmap/netmap.h"

int rn_persist_write(const char *dir, const char *name, const char *buf, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, dfd, err;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp); /* a leftover from a crash mid-write */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	err = rn_write_all(fd, buf, len);
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Reads a whole regular file of at most max bytes; *buf NUL-terminated, for free(). */
int rn_persist_read(const char *dir, const char *name, size_t max, char **buf, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char *p;
	int fd, err = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(fd);
		return -EBADMSG;
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, p + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EBADMSG;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (err) {
		OPENSSL_cleanse(p, (size_t)st.st_size + 1);
		free(p);
		return err;
	}
	p[got] = '\0';
	*buf = p;
	*len = got;
	return 0;
}

int rn_persist_login_save(const char *dir, const struct rn_login *l, char *err, size_t errlen)
{
	char pin[RN_AUTHKEY_B64_LEN + 1], key[RN_AUTHKEY_B64_LEN + 1];
	json_t *j;
	char *text;
	int r;

	rn_authkey_b64_encode(l->tls_pin, pin);
	rn_authkey_b64_encode(l->netmap_pub, key);
	j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:I}", "version", 1, "server_url",
		      l->server_url, "tls_pin", pin, "netmap_key", key, "node_token", l->node_token,
		      "hostname", l->hostname, "node_id", (json_int_t)l->node_id);
	text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (j)
		OPENSSL_cleanse((char *)json_string_value(json_object_get(j, "node_token")),
				strlen(l->node_token));
	json_decref(j);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = rn_persist_write(dir, RN_PERSIST_LOGIN_FILE, text, strlen(text));
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	if (r)
		snprintf(err, errlen, "cannot write %s/%s: %s", dir, RN_PERSIST_LOGIN_FILE,
			 strerror(-r));
	return r;
}

static bool copy_str(json_t *j, const char *name, char *out, size_t size, size_t min)
{
	const char *s = json_string_value(json_object_get(j, name));

	if (!s || strlen(s) >= size || strlen(s) < min)
		return false;
	strcpy(out, s);
	return true;
}

static bool copy_key(json_t *j, const char *name, uint8_t out[32])
{
	const char *s = json_string_value(json_object_get(j, name));

	return s && rn_authkey_b64_decode(s, strlen(s), out);
}

int rn_persist_login_load(const char *dir, struct rn_login *out, char *err, size_t errlen)
{
	char *text = NULL, why[RN_CLIENT_ERR_MAX];
	size_t len;
	json_t *j = NULL, *id;
	int r;

	memset(out, 0, sizeof(*out));
	r = rn_persist_read(dir, RN_PERSIST_LOGIN_FILE, RN_PERSIST_MAX_LOGIN, &text, &len);
	if (r == -ENOENT)
		return r;
	if (r) {
		snprintf(err, errlen, "cannot read %s/%s: %s", dir, RN_PERSIST_LOGIN_FILE,
			 strerror(-r));
		return r;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	id = json_object_get(j, "node_id");
	r = -EBADMSG;
	if (!json_is_object(j) || json_integer_value(json_object_get(j, "version")) != 1 ||
	    !copy_str(j, "server_url", out->server_url, sizeof(out->server_url), 9) ||
	    !copy_str(j, "node_token", out->node_token, sizeof(out->node_token), 5) ||
	    !copy_str(j, "hostname", out->hostname, sizeof(out->hostname), 1) ||
	    !copy_key(j, "tls_pin", out->tls_pin) || !copy_key(j, "netmap_key", out->netmap_pub) ||
	    !json_is_integer(id) || json_integer_value(id) < 1) {
		snprintf(err, errlen,
			 "%s/%s is damaged: remove it and log in again (rustynet up --server URL "
			 "--auth-key KEY)",
			 dir, RN_PERSIST_LOGIN_FILE);
		goto out;
	}
	out->node_id = (uint64_t)json_integer_value(id);
	if (!rn_client_url_ok(out->server_url, why, sizeof(why))) {
		snprintf(err, errlen, "%s/%s: %s", dir, RN_PERSIST_LOGIN_FILE, why);
		goto out;
	}
	r = 0;
out:
	if (j) {
		const char *tok = json_string_value(json_object_get(j, "node_token"));

		if (tok)
			OPENSSL_cleanse((char *)tok, strlen(tok));
	}
	json_decref(j);
	OPENSSL_cleanse(text, len);
	free(text);
	if (r)
		rn_login_wipe(out);
	return r;
}

int rn_persist_netmap_load(const char *dir, char **buf, size_t *len)
{
	return rn_persist_read(dir, RN_PERSIST_NETMAP_FILE, RN_NETMAP_MAX_BYTES, buf, len);
}

int rn_persist_netmap_save(const char *dir, const char *buf, size_t len)
{
	return rn_persist_write(dir, RN_PERSIST_NETMAP_FILE, buf, len);
}

int rn_persist_forget(const char *dir)
{
	static const char *const names[] = { RN_PERSIST_LOGIN_FILE, RN_PERSIST_NETMAP_FILE };
	char path[PATH_MAX];
	int err = 0;

	for (size_t i = 0; i < 2; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		if (unlink(path) < 0 && errno != ENOENT && !err)
			err = -errno;
	}
	return err;
}

int rn_persist_netmap_fresh(const struct rn_netmap *m, uint64_t now, char *err, size_t errlen)
{
	uint64_t valid = rn_netmap_cache_valid_s(m);

	if (now <= m->issued_at || now - m->issued_at <= valid)
		return 0;
	snprintf(err, errlen,
		 "cached map expired, waiting for the control server: netmap version %llu was "
		 "issued %llu s ago and its server made it valid for %llu s; no peers until the "
		 "server is reached",
		 (unsigned long long)m->version, (unsigned long long)(now - m->issued_at),
		 (unsigned long long)valid);
	return -ESTALE;
}
