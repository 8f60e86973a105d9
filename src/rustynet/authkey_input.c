/* SPDX-License-Identifier: MIT */
/* `up`'s auth key from a file or standard input (authkey_input.h). */
#include "rustynet/authkey_input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *out, size_t outlen, int r, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Zeroes out and says why: nothing of a refused key stays behind. */
static int fail(char *out, size_t outlen, int r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	explicit_bzero(out, outlen);
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

/* After the line: only more newlines (a trailing blank line) may follow in a file. */
static bool rest_empty(int fd)
{
	char c;
	ssize_t n;

	while ((n = read(fd, &c, 1)) == 1 || (n < 0 && errno == EINTR))
		if (n == 1 && c != '\n' && c != '\r')
			return false;
	return true;
}

int rn_cli_authkey_read_fd(int fd, const char *what, char *out, size_t outlen, char *err,
			   size_t errlen)
{
	bool newline = false;
	size_t len = 0;
	struct stat st;

	if (outlen < 2)
		return fail(out, outlen, -EINVAL, err, errlen, "no room for the key from %s", what);
	explicit_bzero(out, outlen);
	while (!newline) {
		ssize_t n = read(fd, out + len, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			return fail(out, outlen, -e, err, errlen,
				    "cannot read the auth key from %s: %s", what, strerror(e));
		}
		if (n == 0)
			break;
		if (out[len] == '\n') {
			newline = true;
			out[len] = '\0';
		} else if (out[len] == '\0') {
			return fail(
			    out, outlen, -EINVAL, err, errlen,
			    "the auth key from %s contains a NUL byte: is it the right file?",
			    what);
		} else if (++len >= outlen) {
			return fail(out, outlen, -EMSGSIZE, err, errlen,
				    "%s holds more than an auth key (rnk1.<...>, one line): is it "
				    "the right file?",
				    what);
		}
	}
	if (len && out[len - 1] == '\r')
		out[--len] = '\0';
	if (!len)
		return fail(
		    out, outlen, -ENODATA, err, errlen,
		    "%s is empty: it should hold the auth key from `rustynet-control authkey "
		    "create`",
		    what);
	if (newline && !fstat(fd, &st) && S_ISREG(st.st_mode) && !rest_empty(fd))
		return fail(out, outlen, -EINVAL, err, errlen,
			    "%s has more than one line: it should hold only the auth key", what);
	return 0;
}

int rn_cli_authkey_read_file(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	explicit_bzero(out, outlen);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open the auth key file %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot stat the auth key file %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is a directory, not an auth key file", path);
		close(fd);
		return -EISDIR;
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & 077)) {
		snprintf(err, errlen,
			 "the auth key file %s is readable by group or others (mode %03o): run "
			 "`chmod 600 %s`; the key enrolls nodes into your network",
			 path, (unsigned)(st.st_mode & 0777), path);
		close(fd);
		return -EPERM;
	}
	r = rn_cli_authkey_read_fd(fd, path, out, outlen, err, errlen);
	close(fd);
	return r;
}
