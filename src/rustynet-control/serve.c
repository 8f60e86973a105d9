/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control serve --listen ADDR:PORT [--stun-listen ADDR]...`: the control protocol over
 * HTTPS (TLS 1.3 only, with the certificate made by init), on libmicrohttpd with a thread per
 * connection so a long-poll simply waits on a condition variable. A watcher thread notices the
 * admin CLI's changes (another process) through the audit log, and nodes going offline through
 * time. With --stun-listen, a STUN responder (stunsrv.h) answers in a thread of its own; with
 * --relay-udp/--relay-tls, a relay (relaysrv.h) forwards in another.
 * SIGTERM or SIGINT stops it cleanly: long-polls are answered, connections closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "control/api.h"
#include "netmap/netmap_priv.h"
#include "rustynet-control/admin_api.h"
#include "rustynet-control/ctl.h"
#include "rustynet-control/relaysrv.h"
#include "rustynet-control/serve.h"
#include "rustynet-control/stunsrv.h"

enum {
	RN_SERVE_MAX_CONNECTIONS = 4096,
	RN_SERVE_MAX_PER_CLIENT = 64, /* connections of one IPv4 address or IPv6 /64 */
	RN_SERVE_CONN_TIMEOUT_S = 60, /* above the long-poll's 25 s */
	RN_SERVE_STACK = 512 << 10,   /* bytes per connection thread */
	RN_SERVE_PEM_MAX = 64 << 10,  /* bytes of a key or certificate file */
	RN_SERVE_AUDIT_PEEK = 64,     /* new audit rows the watcher reads before it just bumps */
	RN_SERVE_CERT_IPS = 32,	      /* IP names of the certificate looked at */
};

#define RN_SERVE_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3"

/* every --stun-listen may add one entry to the maps, in the room the store keeps for them */
_Static_assert((int)RN_STUNSRV_MAX_LISTEN <= (int)RN_STORE_STUN_OWN_MAX,
	       "room for the responder's entries");

static const char rn_serve_json[] = "application/json";

void rn_serve_bump(struct rn_serve *s)
{
	s->epoch++;
	pthread_cond_broadcast(&s->changed);
}

/* The relay secret, once there is one: made by the embedded relay or an admin's `relay add`. */
static void rn_serve_relay_secret(struct rn_serve *s)
{
	char err[512];
	int ret;

	if (s->has_relay_secret)
		return;
	ret = rn_ctl_relay_secret(s->state, false, s->relay_secret, err, sizeof(err));
	if (!ret) {
		s->has_relay_secret = true;
	} else if (ret != -ENOENT && !s->relay_secret_warned) {
		log_error(MAIN, "the relay secret: %s; the maps list no relays until it is fixed",
			  err);
		s->relay_secret_warned = true;
	}
}

struct rn_mapper_epoch *rn_serve_snapshot(struct rn_serve *s)
{
	struct rn_mapper_epoch *e = NULL;
	struct rn_mapper_own own = { .stun = s->own_stun, .n_stun = s->n_own_stun };
	char err[256];

	if (s->snap && rn_mapper_epoch_serial(s->snap) == s->epoch)
		return s->snap;
	rn_serve_relay_secret(s);
	own.relay = s->has_own_relay ? &s->own_relay : NULL;
	own.relay_secret = s->has_relay_secret ? s->relay_secret : NULL;
	if (rn_mapper_epoch_load(s->store, s->epoch, time(NULL), &own, &e, err, sizeof(err))) {
		log_error(MAIN, "loading the network: %s", err);
		return NULL;
	}
	rn_mapper_epoch_free(s->snap);
	s->snap = e;
	return e;
}

/* ---- HTTP ---- */

struct rn_serve_req {
	char *body; /* owned: what has come so far */
	size_t len;
	bool too_big;
};

static void rn_serve_free_secret(void *cls)
{
	char *body = cls;

	OPENSSL_cleanse(body, strlen(body));
	free(body);
}

static enum MHD_Result rn_serve_send(struct MHD_Connection *conn, struct rn_serve_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char retry[16];

	if (!r->body && r->status != 204)
		rn_serve_error(r, 500, "out of memory");
	if (!r->body)
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	else if (r->secret)
		resp = MHD_create_response_from_buffer_with_free_callback(r->len, r->body,
									  rn_serve_free_secret);
	else
		resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	r->body = NULL; /* the response owns it */
	if (r->status != 204)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rn_serve_json);
	if (r->status == 429) {
		snprintf(retry, sizeof(retry), "%u", r->retry_after_s);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	if (r->status == 405)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					r->allow[0] ? r->allow : "POST");
	if (r->etag[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result rn_serve_fail_now(struct MHD_Connection *conn, unsigned status,
					 const char *msg)
{
	struct rn_serve_reply r = { 0 };

	rn_serve_error(&r, status, "%s", msg);
	return rn_serve_send(conn, &r);
}

static bool rn_serve_known_path(const char *url)
{
	return !strcmp(url, "/v1/enroll") || !strcmp(url, "/v1/enroll/challenge") ||
	       !strcmp(url, "/v1/poll") || !strcmp(url, "/v1/logout") || !strcmp(url, "/v1/call");
}

/* The first call for a request: path, method and declared size, before any body is read. */
static enum MHD_Result rn_serve_begin(struct MHD_Connection *conn, const char *url,
				      const char *method, void **con_cls)
{
	const char *clen =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	struct rn_serve_req *req;
	bool admin = !strncmp(url, RN_ADMIN_API_PREFIX, strlen(RN_ADMIN_API_PREFIX));

	if (!admin && !rn_serve_known_path(url))
		return rn_serve_fail_now(conn, 404,
					 "unknown path: the API is POST /v1/enroll/challenge, "
					 "/v1/enroll, /v1/poll, /v1/call, /v1/logout");
	if (!admin && strcmp(method, MHD_HTTP_METHOD_POST))
		return rn_serve_fail_now(conn, 405, "use POST");
	if (clen && strtoull(clen, NULL, 10) > RN_API_BODY_MAX)
		return rn_serve_fail_now(conn, 413, "the body is over 64 KiB");
	req = calloc(1, sizeof(*req));
	if (!req)
		return MHD_NO;
	*con_cls = req;
	return MHD_YES;
}

static void rn_serve_append(struct rn_serve_req *req, const char *data, size_t n)
{
	char *grown;

	if (req->too_big || req->len + n > RN_API_BODY_MAX) {
		req->too_big = true;
		return;
	}
	grown = realloc(req->body, req->len + n + 1);
	if (!grown) {
		req->too_big = true;
		return;
	}
	memcpy(grown + req->len, data, n);
	req->body = grown;
	req->len += n;
	req->body[req->len] = '\0';
}

static enum MHD_Result rn_serve_handle(void *cls, struct MHD_Connection *conn, const char *url,
				       const char *method, const char *version,
				       const char *upload_data, size_t *upload_data_size,
				       void **con_cls)
{
	struct rn_serve *s = cls;
	struct rn_serve_req *req = *con_cls;
	struct rn_serve_reply r = { 0 };
	const union MHD_ConnectionInfo *ci;
	const char *auth;

	(void)version;
	if (!req)
		return rn_serve_begin(conn, url, method, con_cls);
	if (*upload_data_size) {
		rn_serve_append(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->too_big)
		return rn_serve_fail_now(conn, 413, "the body is over 64 KiB");
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!strncmp(url, RN_ADMIN_API_PREFIX, strlen(RN_ADMIN_API_PREFIX))) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (!ci || !ci->client_addr)
			return MHD_NO;
		rn_admin_api_handle(s, conn, ci->client_addr, method, url, req->body, req->len, &r);
	} else if (!strncmp(url, "/v1/enroll", 10)) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (!ci || !ci->client_addr)
			return MHD_NO;
		if (!strcmp(url, "/v1/enroll"))
			rn_serve_enroll(s, ci->client_addr, req->body, req->len, &r);
		else
			rn_serve_challenge(s, ci->client_addr, req->body, req->len, &r);
	} else if (!strcmp(url, "/v1/poll")) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		rn_serve_poll(s, auth, req->body, req->len, ci ? ci->connect_fd : -1, &r);
	} else if (!strcmp(url, "/v1/call")) {
		rn_serve_call(s, auth, req->body, req->len, &r);
	} else {
		rn_serve_logout(s, auth, req->body, req->len, &r);
	}
	return rn_serve_send(conn, &r);
}

static void rn_serve_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			       enum MHD_RequestTerminationCode toe)
{
	struct rn_serve_req *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!req)
		return;
	if (req->body)
		OPENSSL_cleanse(req->body, req->len); /* an enroll body holds an auth key */
	free(req->body);
	free(req);
	*con_cls = NULL;
}

/* ---- connections per client (connlimit.h) ---- */

static void rn_serve_client_text(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = sa->sa_family == AF_INET6
			    ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
			    : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* Before accept completes, in the listening thread (as is rn_serve_conn's STARTED). */
static enum MHD_Result rn_serve_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct rn_serve *s = cls;
	char text[RN_NETMAP_ENDPOINT_STRLEN];

	(void)len;
	if (rn_connlimit_allow(s->conns, addr))
		return MHD_YES;
	rn_serve_client_text(addr, text, sizeof(text));
	log_debug(MAIN, "connection from %s refused: its address (IPv6: its /64) has %d open", text,
		  RN_SERVE_MAX_PER_CLIENT);
	return MHD_NO;
}

/* *socket_context marks a connection that was counted, so that only those are uncounted. */
static void rn_serve_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	static char counted;
	struct rn_serve *s = cls;
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	if (!ci || !ci->client_addr)
		return;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED && !rn_connlimit_add(s->conns, ci->client_addr))
		*socket_context = &counted;
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context == &counted) {
		rn_connlimit_release(s->conns, ci->client_addr);
		*socket_context = NULL;
	}
}

/* ---- the watcher: others' changes, and time ---- */

static void rn_serve_ts_add_ms(struct timespec *ts, long ms)
{
	ts->tv_nsec += ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

static uint64_t rn_serve_ts_ms(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000 + (uint64_t)ts->tv_nsec / 1000000;
}

/*
 * Whether the audit rows after s->audit_id hold a change this process did not publish itself:
 * rows of "node:N" are its own (nodes' enrollments, offers, logouts, each published when
 * written, or held on purpose: coalesce.h); anything else, an admin's above all, is not.
 */
static bool rn_serve_foreign_rows(struct rn_serve *s)
{
	struct rn_store_audit *rows = NULL;
	size_t n = 0;
	bool foreign = false;

	if (rn_store_audit_list(s->store, s->audit_id, RN_SERVE_AUDIT_PEEK, &rows, &n) ||
	    n == RN_SERVE_AUDIT_PEEK)
		foreign = true; /* cannot tell, or too many to look at: publish */
	for (size_t i = 0; i < n && !foreign; i++)
		foreign = strncmp(rows[i].actor, "node:", 5) != 0;
	rn_store_audit_list_free(rows, n);
	return foreign;
}

/* Test builds: a shorter value from the environment, for the ephemeral test (mesh-basic.sh). */
static int64_t rn_serve_hook_s(const char *name, int64_t value)
{
#ifdef RN_TEST_HOOKS
	const char *v = getenv(name);

	if (v && atoi(v) > 0 && atoi(v) <= value)
		return atoi(v);
#else
	(void)name;
#endif
	return value;
}

int64_t rn_serve_poll_s(void)
{
	return rn_serve_hook_s("RUSTYNET_CONTROL_POLL_S", RN_SERVE_POLL_S);
}

/* How long an ephemeral node may go without polling before it is removed. */
static int64_t rn_serve_ephemeral_gone_s(void)
{
	return rn_serve_hook_s("RUSTYNET_CONTROL_EPHEMERAL_GONE_S", RN_SERVE_EPHEMERAL_GONE_S);
}

/* Removes the ephemeral nodes gone offline (lock held); true if any was. */
static bool rn_serve_remove_gone_ephemeral(struct rn_serve *s)
{
	int64_t now = (int64_t)time(NULL);
	size_t removed = 0;

	if (rn_store_node_remove_gone_ephemeral(s->store, now - rn_serve_ephemeral_gone_s(), now,
						&removed))
		log_warn(MAIN, "removing ephemeral nodes gone offline: %s",
			 rn_store_errmsg(s->store));
	if (removed)
		log_info(MAIN, "removed %zu ephemeral node(s) offline for %lld s", removed,
			 (long long)rn_serve_ephemeral_gone_s());
	return removed > 0;
}

/*
 * Every RN_SERVE_WATCH_MS (and on every bump, since it waits on the same condition): others'
 * changes through the audit log, nodes' held changes that are due, nodes going offline. The next
 * tick is counted from now, so that a storm of bumps cannot push it far into the future.
 */
static void *rn_serve_watch(void *arg)
{
	struct rn_serve *s = arg;
	struct timespec now, next;
	int64_t id, online_check = 0;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (rn_serve_ts_ms(&now) >= rn_serve_ts_ms(&next)) {
			next = now;
			rn_serve_ts_add_ms(&next, RN_SERVE_WATCH_MS);
		}
		pthread_cond_timedwait(&s->changed, &s->lock, &next);
		if (s->stopping)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (rn_store_audit_last_id(s->store, &id) == 0 && id != s->audit_id) {
			if (rn_serve_foreign_rows(s))
				rn_serve_bump(s);
			s->audit_id = id;
		}
		rn_serve_publish_held(s, rn_serve_ts_ms(&now));
		if (now.tv_sec - online_check >= RN_SERVE_ONLINE_CHECK_S) {
			online_check = now.tv_sec;
			/* nodes gone offline, or relay credentials due for renewal */
			if (s->snap && (rn_mapper_epoch_online_changed(s->snap, time(NULL)) ||
					rn_mapper_epoch_cred_changed(s->snap, time(NULL))))
				rn_serve_bump(s);
			if (rn_serve_remove_gone_ephemeral(s))
				rn_serve_bump(s);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- setup ---- */

/* Reads a PEM file whole; a private one must be 0600-ish (nobody else may read it). */
static char *rn_serve_read_pem(const char *dir, const char *name, bool private)
{
	char path[4096], *buf = NULL;
	struct stat sb;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		log_error(MAIN, "cannot read \"%s\": %s (run rustynet-control init?)", path,
			  strerror(errno));
		goto out;
	}
	if (private && (sb.st_mode & 077)) {
		log_error(MAIN, "\"%s\" is open to others (mode %04o): chmod 600 it", path,
			  (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size <= 0 || sb.st_size > RN_SERVE_PEM_MAX) {
		log_error(MAIN, "\"%s\" is not a PEM file of at most %d bytes", path,
			  RN_SERVE_PEM_MAX);
		goto out;
	}
	buf = calloc(1, (size_t)sb.st_size + 1);
	if (buf && read(fd, buf, (size_t)sb.st_size) != sb.st_size) {
		log_error(MAIN, "short read of \"%s\"", path);
		free(buf);
		buf = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

static int rn_serve_init(struct rn_serve *s, struct rn_ctl *ctl, uint8_t priv[RN_NETMAP_KEY_LEN])
{
	pthread_condattr_t ca;
	char path[4096], err[256];
	int ret;

	memset(s, 0, sizeof(*s));
	s->state = ctl->state;
	snprintf(path, sizeof(path), "%s/%s", ctl->state, RN_CTL_SIGN_KEY);
	ret = rn_netmap_key_load(path, RN_NETMAP_KEY_PRIVATE, priv, err, sizeof(err));
	if (ret) {
		log_error(MAIN, "the netmap signing key: %s", err);
		return ret;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->changed, &ca);
	pthread_condattr_destroy(&ca);
	ret = rn_challenge_open(ctl->state, &s->challenge, err, sizeof(err));
	if (ret) {
		log_error(MAIN, "the enrollment key: %s", err);
		return ret;
	}
	s->rl = rn_ratelimit_new();
	s->cache = rn_mapper_cache_new(priv);
	s->co = rn_coalesce_new();
	s->calls = rn_callq_new();
	s->conns = rn_connlimit_new(RN_SERVE_MAX_PER_CLIENT);
	s->admin = rn_admin_api_new();
	if (!s->rl || !s->cache || !s->co || !s->calls || !s->conns || !s->admin)
		return -ENOMEM;
	ret = rn_ctl_store_open(ctl, &s->store);
	if (!ret)
		ret = rn_store_audit_last_id(s->store, &s->audit_id);
	return ret;
}

static void rn_serve_fini(struct rn_serve *s)
{
	rn_mapper_epoch_free(s->snap);
	rn_mapper_cache_free(s->cache);
	rn_coalesce_free(s->co);
	rn_callq_free(s->calls);
	rn_connlimit_free(s->conns);
	rn_ratelimit_free(s->rl);
	rn_admin_api_free(s->admin);
	rn_challenge_free(s->challenge);
	rn_store_close(s->store);
	OPENSSL_cleanse(s->relay_secret, sizeof(s->relay_secret));
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
}

/* libmicrohttpd's own messages (mostly failed TLS handshakes from scanners and old clients):
 * into our log at debug level rather than raw on stderr. */
__attribute__((format(printf, 2, 0))) static void rn_serve_mhd_log(void *cls, const char *fmt,
								   va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_debug(MAIN, "libmicrohttpd: %s", buf);
}

static struct MHD_Daemon *rn_serve_start(struct rn_serve *s, const union rn_netmap_endpoint *ep,
					 const char *key, const char *cert)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_TLS | MHD_USE_ERROR_LOG;
	uint16_t port = ntohs(ep->sa.sa_family == AF_INET ? ep->sin.sin_port : ep->sin6.sin6_port);

	if (ep->sa.sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(
	    flags, port, rn_serve_accept, s, rn_serve_handle, s, MHD_OPTION_SOCK_ADDR, &ep->sa,
	    MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_MEM_CERT, cert,
	    MHD_OPTION_HTTPS_PRIORITIES, RN_SERVE_TLS_PRIORITIES, MHD_OPTION_EXTERNAL_LOGGER,
	    rn_serve_mhd_log, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)RN_SERVE_MAX_CONNECTIONS,
	    MHD_OPTION_NOTIFY_CONNECTION, rn_serve_conn, s, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)RN_SERVE_CONN_TIMEOUT_S, MHD_OPTION_THREAD_STACK_SIZE, (size_t)RN_SERVE_STACK,
	    MHD_OPTION_NOTIFY_COMPLETED, rn_serve_completed, s, MHD_OPTION_END);
}

/* Runs until SIGTERM or SIGINT. */
static int rn_serve_run(struct rn_serve *s, const union rn_netmap_endpoint *ep, const char *key,
			const char *cert, const char *listen, struct rn_stunsrv *stun,
			struct rn_ctl_relay *relay)
{
	struct MHD_Daemon *d;
	pthread_t watcher;
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* blocked before any thread starts, so every thread inherits it and sigwait gets them */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (stun && rn_stunsrv_start(stun)) {
		log_error(MAIN, "cannot start the STUN responder's thread");
		return -EAGAIN;
	}
	if (relay && rn_ctl_relay_start(relay)) {
		log_error(MAIN, "cannot start the relay's thread");
		return -EAGAIN;
	}
	if (pthread_create(&watcher, NULL, rn_serve_watch, s))
		return -EAGAIN;
	d = rn_serve_start(s, ep, key, cert);
	if (!d) {
		log_error(MAIN, "cannot serve on %s: is the address ours and the port free?",
			  listen);
	} else {
		log_info(MAIN, "serving the control protocol on https://%s", listen);
		sigwait(&set, &sig);
		log_info(MAIN, "signal %d: stopping", sig);
	}
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	if (d)
		MHD_stop_daemon(d);
	pthread_join(watcher, NULL);
	return d ? 0 : -EADDRNOTAVAIL;
}

/*
 * The STUN responder on each of stun_eps, and what the maps tell nodes about it (s->own_stun).
 * 0, or -errno after a logged error (the port in use, an address not ours).
 */
static int rn_serve_stun_open(struct rn_serve *s, const struct rn_ctl *ctl,
			      const union rn_netmap_endpoint *https,
			      const union rn_netmap_endpoint *stun_eps, size_t n,
			      struct rn_stunsrv **out)
{
	struct rn_netmap_ip hosts[RN_SERVE_CERT_IPS];
	char path[4096], err[256], text[RN_NETMAP_ENDPOINT_STRLEN], adv[RN_NETMAP_ENDPOINT_STRLEN];
	size_t n_hosts = 0;
	int ret;

	*out = NULL;
	if (!n)
		return 0;
	*out = rn_stunsrv_new();
	if (!*out)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", ctl->state, RN_CTL_TLS_CERT);
	if (rn_ctl_tls_cert_ips(path, hosts, RN_SERVE_CERT_IPS, &n_hosts))
		n_hosts = 0;
	for (size_t i = 0; i < n; i++) {
		union rn_netmap_endpoint a;
		bool dup = false;

		rn_netmap_endpoint_format(&stun_eps[i], text, sizeof(text));
		ret = rn_stunsrv_listen(*out, &stun_eps[i], err, sizeof(err));
		if (ret) {
			log_error(MAIN, "--stun-listen %s: %s", text, err);
			return ret;
		}
		if (!rn_stunsrv_advertised(&stun_eps[i], https, hosts, n_hosts, &a)) {
			log_warn(MAIN,
				 "answering STUN on %s, but the maps cannot name it: give "
				 "--stun-listen the address nodes reach (or init --hostname, or "
				 "--listen, one of that family)",
				 text);
			continue;
		}
		for (size_t j = 0; j < s->n_own_stun && !dup; j++)
			dup = rn_store_stun_server_same(&s->own_stun[j], &a);
		if (!dup)
			s->own_stun[s->n_own_stun++] = a;
		rn_netmap_endpoint_format(&a, adv, sizeof(adv));
		log_info(MAIN, "answering STUN Binding requests on udp %s (the maps name %s)", text,
			 adv);
	}
	return 0;
}

/*
 * The embedded relay on --relay-udp / --relay-tls (neither: none), and what the maps tell nodes
 * of it (s->own_relay). 0, or -errno after a logged error.
 */
static int rn_serve_relay_open(struct rn_serve *s, const struct rn_ctl *ctl,
			       const union rn_netmap_endpoint *https, const char *udp,
			       const char *tls, const char *stats, struct rn_ctl_relay **out)
{
	struct rn_netmap_ip hosts[RN_SERVE_CERT_IPS];
	struct rn_ctl_relay_config cfg = {
		.state = ctl->state, .udp = udp, .tls = tls, .stats_file = stats, .https = https
	};
	char u[RN_NETMAP_ENDPOINT_STRLEN] = "-", t[RN_NETMAP_ENDPOINT_STRLEN] = "-";
	char path[4096], err[512];

	*out = NULL;
	if (!udp && !tls)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", ctl->state, RN_CTL_TLS_CERT);
	if (rn_ctl_tls_cert_ips(path, hosts, RN_SERVE_CERT_IPS, &cfg.n_hosts))
		cfg.n_hosts = 0;
	cfg.hosts = hosts;
	*out = rn_ctl_relay_open(&cfg, &s->own_relay, s->relay_secret, err, sizeof(err));
	if (!*out) {
		log_error(MAIN, "the relay: %s", err);
		return -EINVAL;
	}
	s->has_own_relay = true;
	s->has_relay_secret = true;
	if (udp)
		rn_netmap_endpoint_format(&s->own_relay.udp, u, sizeof(u));
	if (tls)
		rn_netmap_endpoint_format(&s->own_relay.tls, t, sizeof(t));
	log_info(MAIN, "relaying on udp %s, tls %s (the maps name udp %s, tls %s)%s%s",
		 udp ? udp : "-", tls ? tls : "-", u, t, stats ? "; counters in " : "",
		 stats ? stats : "");
	return 0;
}

/*
 * --relay: the relay on --listen's address, UDP RN_SERVE_RELAY_UDP_PORT and TLS 443 (what gets
 * through firewalls that block UDP), for each not given by --relay-udp / --relay-tls. A usage
 * error's exit code, or -1 to go on.
 */
static int rn_serve_relay_defaults(struct rn_ctl *ctl, const union rn_netmap_endpoint *listen,
				   const char **udp, const char **tls,
				   char def_udp[RN_NETMAP_ENDPOINT_STRLEN],
				   char def_tls[RN_NETMAP_ENDPOINT_STRLEN])
{
	union rn_netmap_endpoint e = *listen;
	uint16_t listen_port = ntohs(e.sa.sa_family == AF_INET ? e.sin.sin_port : e.sin6.sin6_port);

	if (!*tls && listen_port == 443)
		return rn_ctl_usage_error(
		    ctl, "--relay wants TLS port 443, which --listen takes: give the "
			 "relay --relay-tls ADDR:443 on another address (or another "
			 "port)");
	if (!*udp) {
		if (e.sa.sa_family == AF_INET)
			e.sin.sin_port = htons(RN_SERVE_RELAY_UDP_PORT);
		else
			e.sin6.sin6_port = htons(RN_SERVE_RELAY_UDP_PORT);
		rn_netmap_endpoint_format(&e, def_udp, RN_NETMAP_ENDPOINT_STRLEN);
		*udp = def_udp;
	}
	if (!*tls) {
		if (e.sa.sa_family == AF_INET)
			e.sin.sin_port = htons(443);
		else
			e.sin6.sin6_port = htons(443);
		rn_netmap_endpoint_format(&e, def_tls, RN_NETMAP_ENDPOINT_STRLEN);
		*tls = def_tls;
	}
	return -1;
}

/* --stun-listen ADDR into eps[*n]; a usage error's exit code, or -1 to go on. */
static int rn_serve_stun_arg(struct rn_ctl *ctl, const char *arg, union rn_netmap_endpoint *eps,
			     size_t *n)
{
	char err[256];

	if (*n == RN_STUNSRV_MAX_LISTEN)
		return rn_ctl_usage_error(
		    ctl, "--stun-listen at most %d times (e.g. one IPv4, one IPv6)",
		    RN_STUNSRV_MAX_LISTEN);
	if (rn_stunsrv_parse_listen(arg, &eps[*n], err, sizeof(err)))
		return rn_ctl_usage_error(ctl, "--stun-listen %s", err);
	(*n)++;
	return -1;
}

static int rn_serve_cmd(struct rn_ctl *ctl, int argc, char **argv)
{
	union rn_netmap_endpoint stun_eps[RN_STUNSRV_MAX_LISTEN];
	uint8_t priv[RN_NETMAP_KEY_LEN];
	union rn_netmap_endpoint ep;
	const char *listen = NULL, *relay_udp = NULL, *relay_tls = NULL, *relay_stats = NULL;
	char def_udp[RN_NETMAP_ENDPOINT_STRLEN], def_tls[RN_NETMAP_ENDPOINT_STRLEN];
	char *key = NULL, *cert = NULL;
	bool relay_default = false;
	struct rn_stunsrv *stun = NULL;
	struct rn_ctl_relay *relay = NULL;
	struct rn_serve s;
	size_t n_stun = 0;
	int ret = RN_CTL_ERR, r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			rn_ctl_print_help(ctl);
			return RN_CTL_OK;
		} else if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			listen = argv[++i];
		} else if (!strncmp(argv[i], "--listen=", 9)) {
			listen = argv[i] + 9;
		} else if (!strcmp(argv[i], "--stun-listen") && i + 1 < argc) {
			r = rn_serve_stun_arg(ctl, argv[++i], stun_eps, &n_stun);
			if (r >= 0)
				return r;
		} else if (!strncmp(argv[i], "--stun-listen=", 14)) {
			r = rn_serve_stun_arg(ctl, argv[i] + 14, stun_eps, &n_stun);
			if (r >= 0)
				return r;
		} else if (!strcmp(argv[i], "--relay")) {
			relay_default = true;
		} else if (!strcmp(argv[i], "--relay-udp") && i + 1 < argc) {
			relay_udp = argv[++i];
		} else if (!strcmp(argv[i], "--relay-tls") && i + 1 < argc) {
			relay_tls = argv[++i];
		} else if (!strcmp(argv[i], "--relay-stats-file") && i + 1 < argc) {
			relay_stats = argv[++i];
		} else {
			return rn_ctl_usage_error(ctl, "unexpected argument \"%s\"", argv[i]);
		}
	}
	if (!listen)
		return rn_ctl_usage_error(ctl, "--listen ADDR:PORT is required");
	if (rn_netmap_endpoint_parse(listen, &ep))
		return rn_ctl_usage_error(ctl,
					  "--listen \"%s\" is not ADDR:PORT or [ADDR]:PORT with a "
					  "port of 1-65535",
					  listen);
	if (relay_default) {
		r = rn_serve_relay_defaults(ctl, &ep, &relay_udp, &relay_tls, def_udp, def_tls);
		if (r >= 0)
			return r;
	}
	for (int i = 0; i < 2; i++) {
		const char *a = i ? relay_tls : relay_udp;
		union rn_netmap_endpoint rep;

		if (a &&
		    (strlen(a) >= RN_NETMAP_ENDPOINT_STRLEN || rn_netmap_endpoint_parse(a, &rep)))
			return rn_ctl_usage_error(ctl,
						  "--relay-%s \"%s\" is not ADDR:PORT or "
						  "[ADDR]:PORT with a port of 1-65535",
						  i ? "tls" : "udp", a);
	}
	if (relay_stats && !relay_udp && !relay_tls)
		return rn_ctl_usage_error(
		    ctl, "--relay-stats-file needs --relay, --relay-udp or --relay-tls");
	rn_log_set_debug(getenv("RUSTYNET_CONTROL_DEBUG"));
	if (rn_serve_init(&s, ctl, priv) ||
	    rn_serve_stun_open(&s, ctl, &ep, stun_eps, n_stun, &stun) ||
	    rn_serve_relay_open(&s, ctl, &ep, relay_udp, relay_tls, relay_stats, &relay))
		goto out;
	key = rn_serve_read_pem(ctl->state, RN_CTL_TLS_KEY, true);
	cert = rn_serve_read_pem(ctl->state, RN_CTL_TLS_CERT, false);
	if (key && cert && !rn_serve_run(&s, &ep, key, cert, listen, stun, relay))
		ret = RN_CTL_OK;
out:
	rn_ctl_relay_free(relay);
	rn_stunsrv_free(stun);
	rn_serve_fini(&s);
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	free(key);
	free(cert);
	OPENSSL_cleanse(priv, sizeof(priv));
	return ret;
}

static const struct rn_ctl_verb rn_serve_verbs[] = {
	{ "serve", rn_serve_cmd,
	  "serve --listen ADDR:PORT [--stun-listen ADDR]... [--relay] [--relay-udp ADDR:PORT]\n"
	  "      [--relay-tls ADDR:PORT] [--relay-stats-file FILE]",
	  "Serves the control protocol (docs/control-protocol.md) over HTTPS, TLS 1.3 only, with\n"
	  "the certificate init made: nodes enroll with auth keys and long-poll their netmaps.\n"
	  "ADDR is an IPv4 address or [IPv6]; 0.0.0.0 or [::] for all. Runs in the foreground\n"
	  "until SIGTERM or SIGINT; logs one line per enrollment or refusal.\n\n"
	  "  --stun-listen ADDR  also answer STUN Binding requests (RFC 8489) on UDP ADDR: IP,\n"
	  "                      IP:PORT, [IPv6] or [IPv6]:PORT, port 3478 when none; at most\n"
	  "                      twice (e.g. 0.0.0.0 and [::]; [::] takes IPv6 only). Nodes\n"
	  "                      ask it for their public address and port (docs/nat-traversal.md).\n"
	  "                      Every map lists it first, before `stun set`'s servers: ADDR\n"
	  "                      itself, or for 0.0.0.0 / [::] the first IP of that family\n"
	  "                      among init --hostname (the URL nodes enroll against), else the\n"
	  "                      --listen address if it is one of that family.\n"
	  "                      Answers are rate-limited per source address (20/s, bursts of\n"
	  "                      40); anything but a Binding request is dropped silently.\n"
	  "  --relay             the relay below on --listen's address: UDP 3479 and TLS 443\n"
	  "                      (each unless given by the next two options)\n"
	  "  --relay-udp ADDR:PORT, --relay-tls ADDR:PORT\n"
	  "                      also run a relay (docs/nat-traversal.md) for nodes that cannot\n"
	  "                      reach each other directly: over UDP, and/or over TLS with this\n"
	  "                      server's certificate (nodes pin its key; a TCP port other\n"
	  "                      than --listen's: 443 on an address of its own in production).\n"
	  "                      Every map lists it first as relay \"control\", before `relay\n"
	  "                      add`'s; a wildcard ADDR is named as for --stun-listen. Its\n"
	  "                      secret is STATE/relay.secret (made 0600 when missing; refused\n"
	  "                      when others may read it), which every relay of the network\n"
	  "                      shares (`relay secret --out FILE`).\n"
	  "  --relay-stats-file FILE\n"
	  "                      the relay's counters as JSON, rewritten every second.\n\n"
	  "Environment: RUSTYNET_CONTROL_DEBUG=main logs debug lines (refused connections, the\n"
	  "STUN responder's counters every minute and at exit, the relay's at exit).\n" },
	{ 0 },
};

int rn_ctl_serve_main(struct rn_ctl *ctl, int argc, char **argv)
{
	ctl->verb = &rn_serve_verbs[0];
	return rn_serve_verbs[0].fn(ctl, argc, argv);
}
