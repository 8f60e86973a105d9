/* SPDX-License-Identifier: MIT */
/*
 * The UAPI socket. Binding follows wireguard-go (mode 0600, a stale socket replaced, a live one
 * left alone); serving frames "get=1\n\n" and "set=1\n<key=value lines>\n" requests off one
 * connection and answers each with "errno=N\n\n" (after the body, for get). Every request must
 * arrive whole within timeout_ms and RN_UAPI_MAX_REQUEST_BYTES: the caller's control loop is
 * ours while we serve, and one stuck or hostile client must not keep it.
 */
#include "wg/uapi_server.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "wg/uapi.h"

#define UAPI_BUF_MIN 4096
#define UAPI_OP_LEN  6 /* "get=1\n" and "set=1\n" */

enum uapi_op { OP_GET, OP_SET };

struct uapi_conn {
	int fd;
	char *buf; /* received and not yet served; may hold keys, so wiped on growth and free */
	size_t len, cap;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 0 when fd has one of events, -ETIMEDOUT past deadline, or -errno. */
static int conn_wait(const struct uapi_conn *c, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };

	for (;;) {
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* Not realloc: the old buffer may hold keys and must be wiped, not just freed. */
static int conn_grow(struct uapi_conn *c)
{
	size_t cap = c->cap ? 2 * c->cap : UAPI_BUF_MIN;
	char *buf;

	if (c->cap >= RN_UAPI_MAX_REQUEST_BYTES)
		return -EMSGSIZE;
	if (cap > RN_UAPI_MAX_REQUEST_BYTES)
		cap = RN_UAPI_MAX_REQUEST_BYTES;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	if (c->buf) {
		memcpy(buf, c->buf, c->len);
		OPENSSL_cleanse(c->buf, c->cap);
		free(c->buf);
	}
	c->buf = buf;
	c->cap = cap;
	return 0;
}

/* Bytes received (> 0), 0 at end of stream, -ETIMEDOUT, -EMSGSIZE when full, or -errno. */
static ssize_t conn_fill(struct uapi_conn *c, int64_t deadline)
{
	int ret;

	if (c->len == c->cap) {
		ret = conn_grow(c);
		if (ret)
			return ret;
	}
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);

		if (n >= 0) {
			c->len += (size_t)n;
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		ret = conn_wait(c, POLLIN, deadline);
		if (ret)
			return ret;
	}
}

static int conn_send(const struct uapi_conn *c, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		/* MSG_NOSIGNAL: a client that hangs up must not kill the daemon with SIGPIPE. */
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		int ret;

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		ret = conn_wait(c, POLLOUT, deadline);
		if (ret)
			return ret;
	}
	return 0;
}

/* "errno=N\n\n" with N positive, as wireguard-go writes it; 0 for success. */
static int conn_reply(const struct uapi_conn *c, int ret, int64_t deadline)
{
	char line[32];
	int err = ret < 0 ? -ret : ret ? EIO : 0; /* an op that broke its 0/-errno contract */
	int n = snprintf(line, sizeof(line), "errno=%d\n\n", err);

	return conn_send(c, line, (size_t)n, deadline);
}

/*
 * Frames the request at the head of the buffer. 1 when complete, with its body length and its
 * total length; 0 when more bytes are needed; -EINVAL when it is no request wg sends; -EPROTO
 * when the stream ended inside one. Like wireguard-go, the end of the stream also ends a set.
 */
static int conn_frame(const struct uapi_conn *c, bool eof, enum uapi_op *op, size_t *body_len,
		      size_t *req_len)
{
	size_t head = c->len < UAPI_OP_LEN ? c->len : UAPI_OP_LEN;
	const char *end;

	if (!c->len)
		return 0;
	if (memcmp(c->buf, "get=1\n", head) && memcmp(c->buf, "set=1\n", head))
		return -EINVAL;
	if (c->len < UAPI_OP_LEN + (c->buf[0] == 'g'))
		return eof ? -EPROTO : 0;
	if (c->buf[0] == 'g') {
		*op = OP_GET;
		*body_len = 0;
		*req_len = UAPI_OP_LEN + 1;
		return c->buf[UAPI_OP_LEN] == '\n' ? 1 : -EINVAL;
	}
	*op = OP_SET;
	/* From the '\n' of "set=1\n", so that "set=1\n\n" is an empty body. */
	end = memmem(c->buf + UAPI_OP_LEN - 1, c->len - UAPI_OP_LEN + 1, "\n\n", 2);
	if (end) {
		*body_len = (size_t)(end + 1 - c->buf) - UAPI_OP_LEN;
		*req_len = (size_t)(end + 2 - c->buf);
		return 1;
	}
	if (!eof)
		return 0;
	if (c->buf[c->len - 1] != '\n')
		return -EPROTO; /* the last line was cut off: applying it could do harm */
	*body_len = c->len - UAPI_OP_LEN;
	*req_len = c->len;
	return 1;
}

/* 1 when a whole request is at the head of the buffer, 0 when the client is done, or -errno. */
static int conn_next(struct uapi_conn *c, int64_t deadline, enum uapi_op *op, size_t *body_len,
		     size_t *req_len)
{
	bool eof = false;

	for (;;) {
		int ret = conn_frame(c, eof, op, body_len, req_len);
		ssize_t n;

		if (ret || eof)
			return ret;
		n = conn_fill(c, deadline);
		if (n < 0)
			return (int)n;
		eof = !n;
	}
}

static void conn_consume(struct uapi_conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	OPENSSL_cleanse(c->buf + c->len - n, n);
	c->len -= n;
}

static int serve_get(struct rn_uapi_server *s, const struct uapi_conn *c, int64_t deadline)
{
	struct rn_wg_config snap = { 0 };
	char *body = NULL;
	size_t len = 0;
	int ret;

	ret = s->ops->get(s->ctx, &snap);
	if (!ret)
		ret = rn_uapi_format_get(&snap, &body, &len);
	rn_wg_config_free(&snap);
	if (ret) {
		log_warn(UAPI, "%s: get failed: %s", s->ifname, strerror(ret < 0 ? -ret : EIO));
		return conn_reply(c, ret, deadline);
	}
	ret = conn_send(c, body, len, deadline);
	rn_uapi_free_response(body, len);
	if (ret)
		return ret;
	return conn_reply(c, 0, deadline);
}

static int serve_set(struct rn_uapi_server *s, const struct uapi_conn *c, size_t body_len,
		     int64_t deadline)
{
	struct rn_wg_config cfg = { 0 };
	char err[RN_UAPI_ERR_LEN];
	int ret;

	ret = rn_uapi_parse_set(c->buf + UAPI_OP_LEN, body_len, &cfg, err, sizeof(err));
	if (ret) {
		log_warn(UAPI, "%s: set refused, nothing changed: %s", s->ifname, err);
		return conn_reply(c, ret, deadline);
	}
	log_debug(UAPI, "%s: set with %zu peer entries", s->ifname, cfg.n_peers);
	ret = s->ops->set(s->ctx, &cfg);
	rn_wg_config_free(&cfg);
	if (ret)
		log_warn(UAPI, "%s: set failed: %s", s->ifname, strerror(ret < 0 ? -ret : EIO));
	return conn_reply(c, ret, deadline);
}

/* The head of a request that could not be framed, printable, for the log. It stops at the
 * first '=' or '\n', so a client that forgot "set=1" does not have its private key logged. */
static const char *conn_quote_head(const struct uapi_conn *c, char *dst, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < c->len && i < 16 && o + 5 < len; i++) {
		unsigned char ch = (unsigned char)c->buf[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			dst[o++] = (char)ch;
		else
			o += (size_t)snprintf(dst + o, len - o, "\\x%02x", ch);
		if (ch == '=' || ch == '\n')
			break;
	}
	dst[o] = '\0';
	return dst;
}

/* Framing errors end the connection: where the next request would start is unknowable. */
static void conn_refuse(struct rn_uapi_server *s, const struct uapi_conn *c, int ret)
{
	char q[96];

	if (ret == -ETIMEDOUT) {
		log_warn(UAPI, "%s: no whole request within %d ms, closing the connection",
			 s->ifname, s->timeout_ms);
		return;
	}
	if (ret == -EMSGSIZE)
		log_warn(UAPI, "%s: request larger than %u bytes, closing the connection",
			 s->ifname, RN_UAPI_MAX_REQUEST_BYTES);
	else if (ret == -EPROTO)
		log_warn(UAPI, "%s: the client closed its end inside a request starting \"%s\"",
			 s->ifname, conn_quote_head(c, q, sizeof(q)));
	else if (ret == -EINVAL && c->len > UAPI_OP_LEN && !memcmp(c->buf, "get=1\n", 6))
		log_warn(UAPI,
			 "%s: \"get=1\" not followed by an empty line, closing the connection",
			 s->ifname);
	else if (ret == -EINVAL)
		log_warn(UAPI,
			 "%s: request starting \"%s\" is neither get=1 nor set=1, closing "
			 "the connection",
			 s->ifname, conn_quote_head(c, q, sizeof(q)));
	else {
		log_debug(UAPI, "%s: connection lost: %s", s->ifname, strerror(-ret));
		return;
	}
	conn_reply(c, ret, now_ms() + s->timeout_ms);
}

static void serve(struct rn_uapi_server *s, int fd)
{
	struct uapi_conn c = { .fd = fd };
	size_t body_len, req_len;
	enum uapi_op op;
	int ret;

	for (;;) {
		ret = conn_next(&c, now_ms() + s->timeout_ms, &op, &body_len, &req_len);
		if (ret <= 0) {
			if (ret)
				conn_refuse(s, &c, ret);
			break;
		}
		if (op == OP_GET)
			ret = serve_get(s, &c, now_ms() + s->timeout_ms);
		else
			ret = serve_set(s, &c, body_len, now_ms() + s->timeout_ms);
		conn_consume(&c, req_len);
		if (ret) {
			log_debug(UAPI, "%s: reply not sent: %s", s->ifname, strerror(-ret));
			break;
		}
	}
	if (c.buf)
		OPENSSL_cleanse(c.buf, c.cap);
	free(c.buf);
}

/* The socket is 0600 already; this only matters if someone loosened it. */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

void rn_uapi_server_handle(struct rn_uapi_server *s)
{
	int fd;

	if (s->fd < 0)
		return;
	fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn(UAPI, "%s: accept: %s", s->path, strerror(errno));
		return;
	}
	if (peer_allowed(fd))
		serve(s, fd);
	else
		log_warn(UAPI, "%s: connection from a uid that is neither root nor ours, refused",
			 s->path);
	close(fd);
}

/* Same rules as the kernel's dev_valid_name(), which also keeps the name safe in a path. */
static bool ifname_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= IF_NAMESIZE || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (; *name; name++)
		if (*name == '/' || *name == ':' || *name == ' ' ||
		    (*name >= '\t' && *name <= '\r'))
			return false;
	return true;
}

static int mkdir_p(const char *dir)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t n = strlen(dir);

	if (n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	for (char *p = path + 1;; p++) {
		char ch = *p;

		if (ch && ch != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		if (!ch)
			return 0;
		*p = ch;
	}
}

/* Whether something accepts connections on sun. Non-blocking, so a full backlog says "yes". */
static bool socket_is_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool live;

	if (fd < 0)
		return true; /* cannot tell, so do not steal it */
	live = !connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) ||
	       (errno != ECONNREFUSED && errno != ENOENT);
	close(fd);
	return live;
}

static int bind_or_reclaim(int fd, const struct sockaddr_un *sun)
{
	struct stat st;

	if (!bind(fd, (const struct sockaddr *)sun, sizeof(*sun)))
		return 0;
	if (errno != EADDRINUSE)
		return -errno;
	if (lstat(sun->sun_path, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_warn(UAPI, "%s exists and is not a socket; not removing it", sun->sun_path);
		return -EEXIST;
	}
	if (socket_is_live(sun)) {
		log_warn(UAPI, "%s is served by another live process; stop it first",
			 sun->sun_path);
		return -EADDRINUSE;
	}
	log_info(UAPI, "%s: replacing the stale socket of a process that is gone", sun->sun_path);
	if (unlink(sun->sun_path) && errno != ENOENT)
		return -errno;
	if (bind(fd, (const struct sockaddr *)sun, sizeof(*sun)))
		return -errno;
	return 0;
}

int rn_uapi_server_open(struct rn_uapi_server *s, const char *ifname, const char *dir,
			const struct rn_uapi_ops *ops, void *ctx)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int ret, n;

	*s = (struct rn_uapi_server){
		.fd = -1, .timeout_ms = RN_UAPI_TIMEOUT_MS, .ops = ops, .ctx = ctx
	};
	if (!ifname_valid(ifname)) {
		log_warn(UAPI,
			 "interface name \"%s\" is not valid: 1-%d characters, no '/', ':' or "
			 "spaces",
			 ifname, IF_NAMESIZE - 1);
		return -EINVAL;
	}
	n = snprintf(s->path, sizeof(s->path), "%s/%s.sock", dir, ifname);
	if (!*dir || n < 0 || (size_t)n >= sizeof(s->path)) {
		log_warn(UAPI, "socket directory \"%s\" is empty or too long for a socket path",
			 dir);
		return -ENAMETOOLONG;
	}
	memcpy(s->ifname, ifname, strlen(ifname) + 1);
	memcpy(sun.sun_path, s->path, (size_t)n + 1);
	ret = mkdir_p(dir);
	if (ret) {
		log_warn(UAPI, "cannot create %s: %s", dir, strerror(-ret));
		return ret;
	}
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -errno;
	/*
	 * On Linux bind() creates the file with the socket inode's mode less the umask, so this
	 * gives 0600 from the start. wireguard-go sets the umask instead, but the umask is
	 * process-wide and other threads may be creating files.
	 */
	if (fchmod(s->fd, 0600)) {
		ret = -errno;
		goto err_close;
	}
	ret = bind_or_reclaim(s->fd, &sun);
	if (ret)
		goto err_close;
	if (listen(s->fd, 16)) {
		ret = -errno;
		goto err_unlink;
	}
	log_debug(UAPI, "listening on %s", s->path);
	return 0;

err_unlink:
	unlink(s->path);
err_close:
	if (ret != -EADDRINUSE && ret != -EEXIST)
		log_warn(UAPI, "cannot listen on %s: %s", s->path, strerror(-ret));
	close(s->fd);
	s->fd = -1;
	return ret;
}

int rn_uapi_server_fd(const struct rn_uapi_server *s)
{
	return s->fd;
}

void rn_uapi_server_close(struct rn_uapi_server *s)
{
	if (s->fd < 0)
		return;
	close(s->fd);
	s->fd = -1;
	if (unlink(s->path) && errno != ENOENT)
		log_warn(UAPI, "cannot remove %s: %s", s->path, strerror(errno));
}
