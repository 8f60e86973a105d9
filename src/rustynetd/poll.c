/* SPDX-License-Identifier: MIT */
/*
 * The long-poll thread: asks the control server for a map newer than the one the node runs,
 * and hands each answer to the daemon's loop (eventfd + one slot under a mutex), waiting for
 * the loop's verdict before it polls again. Failures back off 1 s doubling to 30 s, with
 * jitter so that nodes restarted together do not retry together; 429 waits Retry-After;
 * 401/403 end the thread: the node needs a new login. A new offer (advertise) aborts the
 * request in flight and polls again at once with it.
 */
#include <errno.h>
#include <net/if.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "rustynetd/client.h"

#define ACK_WAIT_S 10 /* the loop handles a map in well under this */

struct rn_client {
	struct rn_login login; /* a copy; its token wiped on stop */
	char ifname[IF_NAMESIZE];
	uint16_t port;
	int efd; /* readable: an envelope or a status change waits for the loop */
	pthread_t thread;
	atomic_bool stop;
	atomic_bool abort; /* end the request in flight: set by stop and by a new offer */

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;  /* CLOCK_MONOTONIC; signalled by stop and ack */
	char *pending;	      /* owned: an envelope the loop has not taken */
	size_t pending_len;
	bool waiting_ack;
	bool accepted;
	uint64_t since;
	struct rn_advertise adv;
	struct rn_client_status st;
	uint64_t calls[RN_CLIENT_CALLS_MAX]; /* received, not yet taken by the loop */
	size_t n_calls;
};

static void notify(struct rn_client *c)
{
	uint64_t one = 1;

	if (write(c->efd, &one, sizeof(one)) < 0)
		log_warn(MAIN, "control: cannot wake the main loop: %s", strerror(errno));
}

/* Sleeps ms unless stopped first. Caller holds c->lock. Returns false once stopped. */
static bool wait_locked(struct rn_client *c, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!atomic_load(&c->stop))
		if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT)
			break;
	return !atomic_load(&c->stop);
}

static bool sleep_ms(struct rn_client *c, long ms)
{
	bool ok;

	pthread_mutex_lock(&c->lock);
	ok = wait_locked(c, ms);
	pthread_mutex_unlock(&c->lock);
	return ok;
}

static void set_status(struct rn_client *c, bool connected, bool refused, const char *err)
{
	bool changed;

	pthread_mutex_lock(&c->lock);
	changed = c->st.connected != connected || c->st.refused != refused ||
		  strcmp(c->st.last_error, err);
	c->st.connected = connected;
	c->st.refused = refused;
	snprintf(c->st.last_error, sizeof(c->st.last_error), "%s", err);
	pthread_mutex_unlock(&c->lock);
	if (changed && err[0])
		log_warn(MAIN, "control: %s", err);
	else if (changed && connected)
		log_info(MAIN, "control: connected to %s", c->login.server_url);
	if (changed)
		notify(c);
}

/* Hands an envelope over and waits for the verdict. Returns whether it was accepted. */
static bool hand_over(struct rn_client *c, char *env, size_t len)
{
	bool accepted;

	pthread_mutex_lock(&c->lock);
	free(c->pending);
	c->pending = env;
	c->pending_len = len;
	c->waiting_ack = true;
	c->accepted = false;
	pthread_mutex_unlock(&c->lock);
	notify(c);
	pthread_mutex_lock(&c->lock);
	/* rn_client_ack broadcasts: each wait ends at once when the verdict comes. */
	for (int i = 0; i < ACK_WAIT_S * 10 && c->waiting_ack && !atomic_load(&c->stop); i++)
		wait_locked(c, 100);
	accepted = !c->waiting_ack && c->accepted;
	pthread_mutex_unlock(&c->lock);
	return accepted;
}

/* Queues calls for the loop (the oldest waiting give way when it is full) and wakes it. */
static void hand_calls(struct rn_client *c, const uint64_t *from, size_t n)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < n; i++) {
		if (c->n_calls == RN_CLIENT_CALLS_MAX)
			memmove(c->calls, c->calls + 1, --c->n_calls * sizeof(c->calls[0]));
		c->calls[c->n_calls++] = from[i];
	}
	pthread_mutex_unlock(&c->lock);
	notify(c);
}

static long next_backoff(long prev)
{
	long d = prev ? prev * 2 : RN_CLIENT_BACKOFF_MIN_MS;

	return d > RN_CLIENT_BACKOFF_MAX_MS ? RN_CLIENT_BACKOFF_MAX_MS : d;
}

static long jitter(long ms, unsigned int *seed)
{
	return ms / 2 + (long)(rand_r(seed) % (unsigned int)(ms / 2 + 1));
}

/* The TLS session of a poll is up: connected, even while the answer is 25 s away. */
static void poll_connected(void *arg)
{
	struct rn_client *c = arg;
	bool was;

	pthread_mutex_lock(&c->lock);
	was = c->st.connected && !c->st.last_error[0];
	pthread_mutex_unlock(&c->lock);
	if (!was)
		set_status(c, true, false, "");
}

static void *poll_thread(void *arg)
{
	struct rn_client *c = arg;
	char err[RN_CLIENT_ERR_MAX];
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	struct rn_client_polled got;
	struct rn_advertise adv;
	enum rn_client_failure f;
	long backoff = 0, wait;
	bool calls = true; /* until a server from before calls refuses the member */
	uint64_t since;
	void *conn = NULL;

	while (!atomic_load(&c->stop)) {
		pthread_mutex_lock(&c->lock);
		since = c->since;
		adv = c->adv;
		atomic_store(&c->abort, false); /* a newer offer sets it again after this */
		pthread_mutex_unlock(&c->lock);
		err[0] = '\0';
		f = rn_client_poll_once(&c->login, c->ifname, c->port, since, &adv, calls,
					&c->abort, poll_connected, c, &conn, &got, err,
					sizeof(err));
		if (f == RN_CLIENT_BAD_REQUEST && calls && strstr(err, "\"calls\"")) {
			log_warn(MAIN, "control: the server takes no calls (an older version): "
				       "polling without them");
			calls = false;
			continue;
		}
		if (atomic_load(&c->stop)) {
			free(got.envelope);
			break;
		}
		if (f != RN_CLIENT_OK && atomic_load(&c->abort)) {
			log_debug(MAIN, "control: the offer changed: polling again with it");
			continue;
		}
		wait = 0;
		if (f == RN_CLIENT_OK) {
			set_status(c, true, false, "");
			backoff = 0;
			if (got.n_calls)
				hand_calls(c, got.calls, got.n_calls);
			if (got.envelope && !hand_over(c, got.envelope, got.envelope_len))
				wait = jitter(backoff = next_backoff(backoff), &seed);
		} else if (f == RN_CLIENT_REFUSED) {
			set_status(c, true, true, err);
			break;
		} else if (got.retry_after_s > 0) {
			set_status(c, true, false, err);
			wait = 1000L * (got.retry_after_s > 300 ? 300 : got.retry_after_s);
		} else {
			set_status(c, f == RN_CLIENT_RETRY || f == RN_CLIENT_BAD_REQUEST, false,
				   err);
			wait = jitter(backoff = next_backoff(backoff), &seed);
		}
		if (wait)
			log_debug(MAIN, "control: next poll in %ld ms", wait);
		if (wait)
			rn_client_conn_close(&conn); /* a server that refused may have gone */
		if (wait && !sleep_ms(c, wait))
			break;
	}
	rn_client_conn_close(&conn);
	return NULL;
}

int rn_client_start(const struct rn_login *login, const char *ifname, uint16_t port, uint64_t since,
		    bool connected, const struct rn_advertise *adv, struct rn_client **out)
{
	struct rn_client *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;
	int err;

	if (!c)
		return -ENOMEM;
	c->login = *login;
	snprintf(c->ifname, sizeof(c->ifname), "%s", ifname);
	c->port = port;
	c->since = since;
	if (adv)
		c->adv = *adv;
	c->st.connected = connected;
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->efd < 0) {
		err = -errno;
		rn_login_wipe(&c->login);
		free(c);
		return err;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	err = -pthread_create(&c->thread, NULL, poll_thread, c);
	if (err) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
		close(c->efd);
		rn_login_wipe(&c->login);
		free(c);
		return err;
	}
	log_info(MAIN, "control: polling %s for maps above version %llu", login->server_url,
		 (unsigned long long)since);
	*out = c;
	return 0;
}

void rn_client_stop(struct rn_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->stop, true);
	atomic_store(&c->abort, true);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	close(c->efd);
	free(c->pending);
	rn_login_wipe(&c->login);
	free(c);
}

void rn_client_set_advertise(struct rn_client *c, const struct rn_advertise *adv)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->adv = *adv;
	pthread_mutex_unlock(&c->lock);
	atomic_store(&c->abort, true);
}

void rn_client_repoll(struct rn_client *c)
{
	if (c)
		atomic_store(&c->abort, true);
}

int rn_client_fd(const struct rn_client *c)
{
	return c->efd;
}

char *rn_client_take(struct rn_client *c, size_t *len)
{
	uint64_t n;
	char *env;

	if (read(c->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug(MAIN, "control: eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&c->lock);
	env = c->pending;
	*len = c->pending_len;
	c->pending = NULL;
	c->pending_len = 0;
	pthread_mutex_unlock(&c->lock);
	return env;
}

void rn_client_ack(struct rn_client *c, uint64_t version, bool accepted)
{
	pthread_mutex_lock(&c->lock);
	c->since = version;
	c->accepted = accepted;
	c->waiting_ack = false;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void rn_client_get_status(struct rn_client *c, struct rn_client_status *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	pthread_mutex_unlock(&c->lock);
}

size_t rn_client_take_calls(struct rn_client *c, uint64_t *from, size_t max)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->n_calls < max ? c->n_calls : max;
	memcpy(from, c->calls, n * sizeof(from[0]));
	memmove(c->calls, c->calls + n, (c->n_calls - n) * sizeof(c->calls[0]));
	c->n_calls -= n;
	pthread_mutex_unlock(&c->lock);
	return n;
}
