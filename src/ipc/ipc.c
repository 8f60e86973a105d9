/* SPDX-License-Identifier: MIT */
/*
 * The local API framing (see ipc.h): length-prefixed JSON over a Unix stream socket, with a
 * deadline on every message so one stuck client cannot hold the daemon's loop, and the
 * client's connect with errors that tell people what to do.
 */
#include "ipc/ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/wipe_alloc.h"

void rn_ipc_json_wipe_frees(void)
{
	json_set_alloc_funcs(malloc, rn_wipe_free);
}

void rn_ipc_json_wipe(json_t *v)
{
	if (json_is_string(v)) {
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it))
			rn_ipc_json_wipe(json_object_iter_value(it));
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			rn_ipc_json_wipe(json_array_get(v, i));
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return 0;
	}
}

static int write_all(int fd, const void *buf, size_t len, int64_t deadline)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int err = wait_fd(fd, POLLOUT, deadline);

			if (err)
				return err;
			continue;
		}
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes. -ECONNRESET if the peer closed before the first byte, -EPROTO after. */
static int read_all(int fd, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, p + got, len - got, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int err = wait_fd(fd, POLLIN, deadline);

			if (err)
				return err;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return got ? -EPROTO : -ECONNRESET;
		got += (size_t)n;
	}
	return 0;
}

int rn_ipc_send(int fd, const json_t *msg, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	uint8_t hdr[RN_IPC_HDR_BYTES];
	char *body;
	size_t len;
	int err;

	body = json_dumps(msg, JSON_COMPACT);
	if (!body)
		return -ENOMEM;
	len = strlen(body);
	if (len == 0 || len > RN_IPC_MAX_MSG_BYTES) {
		explicit_bzero(body, len);
		free(body);
		return -EMSGSIZE;
	}
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	err = write_all(fd, hdr, sizeof(hdr), deadline);
	if (!err)
		err = write_all(fd, body, len, deadline);
	explicit_bzero(body, len); /* it may carry an auth key */
	free(body);
	return err;
}

int rn_ipc_recv(int fd, json_t **out, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	uint8_t hdr[RN_IPC_HDR_BYTES];
	json_error_t jerr;
	char *body;
	uint32_t len;
	json_t *msg;
	int err;

	*out = NULL;
	err = read_all(fd, hdr, sizeof(hdr), deadline);
	if (err)
		return err;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > RN_IPC_MAX_MSG_BYTES)
		return -EMSGSIZE;
	body = malloc(len);
	if (!body)
		return -ENOMEM;
	err = read_all(fd, body, len, deadline);
	if (err == -ECONNRESET)
		err = -EPROTO; /* the header came: a close now is a truncated frame */
	if (err) {
		explicit_bzero(body, len);
		free(body);
		return err;
	}
	msg = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	explicit_bzero(body, len); /* it may carry an auth key */
	free(body);
	explicit_bzero(&jerr, sizeof(jerr)); /* its text may quote the body */
	if (!msg)
		return -EPROTO;
	if (!json_is_object(msg)) {
		json_decref(msg);
		return -EPROTO;
	}
	*out = msg;
	return 0;
}

json_t *rn_ipc_request_new(const char *cmd, json_t *args)
{
	if (!args)
		args = json_object();
	return json_pack("{s:s, s:o}", "cmd", cmd, "args", args);
}

json_t *rn_ipc_reply_ok(json_t *result)
{
	return json_pack("{s:b, s:o}", "ok", 1, "result", result ? result : json_null());
}

json_t *rn_ipc_reply_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

bool rn_ipc_request_parse(json_t *req, const char **cmd, json_t **args)
{
	json_t *c = json_object_get(req, "cmd");
	json_t *a = json_object_get(req, "args");

	if (!json_is_string(c) || (a && !json_is_object(a) && !json_is_null(a)))
		return false;
	*cmd = json_string_value(c);
	*args = json_is_object(a) ? a : NULL;
	return true;
}

static int make_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (!*path || strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/* Non-blocking connect finished within timeout_ms: 0 or -errno. */
static int connect_timeout(int fd, const struct sockaddr_un *sun, int timeout_ms)
{
	socklen_t sl = sizeof(int);
	int err, soerr = 0;

	if (!connect(fd, (const struct sockaddr *)sun, sizeof(*sun)))
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return -errno;
	err = wait_fd(fd, POLLOUT, now_ms() + timeout_ms);
	if (err)
		return err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -errno;
	return -soerr;
}

int rn_ipc_connect(const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd, r;

	r = make_addr(path, &sun);
	if (r) {
		snprintf(err, errlen, "socket path \"%s\" is empty or too long (at most %zu bytes)",
			 path, sizeof(sun.sun_path) - 1);
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create a socket: %s", strerror(-r));
		return r;
	}
	r = connect_timeout(fd, &sun, timeout_ms);
	if (!r)
		return fd;
	close(fd);
	if (r == -ENOENT || r == -ECONNREFUSED)
		snprintf(
		    err, errlen,
		    "rustynetd is not running (%s at %s): start it with `rustynetd --state DIR`",
		    r == -ENOENT ? "no socket" : "nobody listens on the socket", path);
	else if (r == -EACCES || r == -EPERM)
		snprintf(err, errlen,
			 "permission denied on %s: rustynetd's socket is for root only; run this "
			 "command as root (sudo rustynet ...)",
			 path);
	else if (r == -ETIMEDOUT)
		snprintf(err, errlen,
			 "rustynetd did not accept the connection on %s within %d ms: is it stuck? "
			 "see its log",
			 path, timeout_ms);
	else
		snprintf(err, errlen, "cannot connect to rustynetd at %s: %s", path, strerror(-r));
	return r;
}

static void recv_error(int r, const char *path, char *err, size_t errlen)
{
	if (r == -ECONNRESET)
		snprintf(err, errlen,
			 "rustynetd at %s closed the connection without answering (see its log)",
			 path);
	else if (r == -ETIMEDOUT)
		snprintf(err, errlen, "rustynetd at %s did not answer within %d ms (see its log)",
			 path, RN_IPC_TIMEOUT_MS);
	else if (r == -EPROTO || r == -EMSGSIZE)
		snprintf(err, errlen,
			 "rustynetd at %s sent a malformed answer: are rustynet and rustynetd the "
			 "same version?",
			 path);
	else
		snprintf(err, errlen, "talking to rustynetd at %s failed: %s", path, strerror(-r));
}

int rn_ipc_call(const char *path, const char *cmd, json_t *args, json_t **result, char *err,
		size_t errlen)
{
	return rn_ipc_call_timeout(path, cmd, args, RN_IPC_TIMEOUT_MS, result, err, errlen);
}

int rn_ipc_call_timeout(const char *path, const char *cmd, json_t *args, int reply_timeout_ms,
			json_t **result, char *err, size_t errlen)
{
	json_t *req, *rep = NULL, *ok, *e;
	int fd, r;

	*result = NULL;
	req = rn_ipc_request_new(cmd, args);
	if (!req) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	fd = rn_ipc_connect(path, RN_IPC_TIMEOUT_MS, err, errlen);
	if (fd < 0) {
		json_decref(req);
		return fd;
	}
	r = rn_ipc_send(fd, req, RN_IPC_TIMEOUT_MS);
	rn_ipc_json_wipe(req);
	json_decref(req);
	/* The daemon may refuse (SO_PEERCRED) and close before reading: its answer says why. */
	if (!r || r == -EPIPE || r == -ECONNRESET)
		r = rn_ipc_recv(fd, &rep, reply_timeout_ms);
	close(fd);
	if (r) {
		recv_error(r, path, err, errlen);
		return r;
	}
	ok = json_object_get(rep, "ok");
	if (!json_is_boolean(ok)) {
		recv_error(-EPROTO, path, err, errlen);
		json_decref(rep);
		return -EPROTO;
	}
	if (!json_is_true(ok)) {
		e = json_object_get(rep, "error");
		snprintf(err, errlen, "%s",
			 json_is_string(e) ? json_string_value(e)
					   : "rustynetd refused the request");
		json_decref(rep);
		return -EREMOTEIO;
	}
	*result = json_incref(json_object_get(rep, "result"));
	if (!*result)
		*result = json_null();
	json_decref(rep);
	return 0;
}

/* Creates the socket's directory (one level) 0755 if missing. */
static int make_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (!mkdir(dir, 0755) || errno == EEXIST)
		return 0;
	snprintf(err, errlen, "cannot create the socket directory %s: %s", dir, strerror(errno));
	return -errno;
}

/* A socket file at path: -EADDRINUSE if a daemon answers, else removed. Other files: -EEXIST. */
static int clear_stale(const char *path, const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			 "%s exists and is not a socket: remove it or pick another "
			 "--socket path",
			 path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (!r) {
		snprintf(err, errlen,
			 "another rustynetd already serves %s: stop it first "
			 "(`rustynet --socket %s down`)",
			 path, path);
		return -EADDRINUSE;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int rn_ipc_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, r;

	r = make_addr(path, &sun);
	if (r) {
		snprintf(err, errlen, "socket path \"%s\" is empty or too long", path);
		return r;
	}
	r = make_dir(path, err, errlen);
	if (r)
		return r;
	r = clear_stale(path, &sun, err, errlen);
	if (r) {
		if (r != -EEXIST && r != -EADDRINUSE)
			snprintf(err, errlen, "cannot replace %s: %s", path, strerror(-r));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto err_errno;
	old = umask(0177); /* the file is 0600 from the start: no window for other users */
	r = bind(fd, (const struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0)
		goto err_errno;
	return fd;
err_errno:
	r = -errno;
	snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(-r));
	if (fd >= 0)
		close(fd);
	return r;
}

int rn_ipc_peer_cred(int fd, uid_t *uid, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	*uid = cred.uid;
	*pid = cred.pid;
	return 0;
}
