/* SPDX-License-Identifier: MIT */
/*
 * /proc/sys access for the per-namespace network sysctls rustynetd changes (ip_forward,
 * conf.*.forwarding, src_valid_mark). /proc/sys/net follows the network namespace of the
 * calling thread, so the same key means "this namespace's value".
 */
#include "system/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == '/' || c == '@' || c == ':';
}

/* Empty, "." and ".." components would name something other than the key's file. */
static bool components_ok(const char *p)
{
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/' && !*++p)
			return false;
	}
	return true;
}

int rn_sysctl_path(const char *key, char *path, size_t len)
{
	static const char root[] = "/proc/sys/";
	size_t klen = strnlen(key, RN_SYSCTL_KEY_MAX);
	char *p;

	if (klen == 0 || klen >= RN_SYSCTL_KEY_MAX || len < sizeof(root) + klen)
		return -EINVAL;
	memcpy(path, root, sizeof(root) - 1);
	p = path + sizeof(root) - 1;
	for (size_t i = 0; i < klen; i++) {
		if (!key_char_ok(key[i]))
			return -EINVAL;
		p[i] = key[i] == '.' ? '/' : key[i] == '/' ? '.' : key[i];
	}
	p[klen] = '\0';
	return components_ok(p) ? 0 : -EINVAL;
}

int rn_sysctl_read(const char *key, char *value, size_t len)
{
	char path[sizeof("/proc/sys/") + RN_SYSCTL_KEY_MAX];
	ssize_t n;
	int fd, err;

	if (len < 2)
		return -EINVAL;
	err = rn_sysctl_path(key, path, sizeof(path));
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, value, len);
	while (n < 0 && errno == EINTR);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	/* A value that fills the buffer may be cut short: refuse it rather than record half. */
	if ((size_t)n >= len)
		return -EOVERFLOW;
	value[n] = '\0';
	while (n > 0 && (value[n - 1] == '\n' || value[n - 1] == ' '))
		value[--n] = '\0';
	return 0;
}

int rn_sysctl_write(const char *key, const char *value, char *prev, size_t prev_len)
{
	char path[sizeof("/proc/sys/") + RN_SYSCTL_KEY_MAX];
	size_t vlen = strlen(value);
	ssize_t n;
	int fd, err;

	if (vlen == 0 || vlen >= RN_SYSCTL_VALUE_MAX || strchr(value, '\n'))
		return -EINVAL;
	err = rn_sysctl_path(key, path, sizeof(path));
	if (err)
		return err;
	if (prev) {
		err = rn_sysctl_read(key, prev, prev_len);
		if (err)
			return err;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	do
		n = write(fd, value, vlen);
	while (n < 0 && errno == EINTR);
	err = n < 0 ? -errno : (size_t)n != vlen ? -EIO : 0;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}
