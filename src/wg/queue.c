/* SPDX-License-Identifier: MIT */
/* The work queue, the per-owner ordered queues (serials) and the buffer pool: see queue.h. */
#include "wg/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

void rn_serial_init(struct rn_serial *s, const struct rn_serial_ops *ops)
{
	pthread_mutex_init(&s->lock, NULL);
	s->ops = ops;
	s->head = s->tail = NULL;
	s->draining = false;
}

void rn_serial_destroy(struct rn_serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

/* Detaches the finished items at the head, in order; caller holds s->lock. */
static struct rn_queue_item *serial_take_done(struct rn_serial *s)
{
	struct rn_queue_item *first = s->head, *last = NULL;

	for (struct rn_queue_item *it = s->head; it && it->done; it = it->serial_next)
		last = it;
	if (!last)
		return NULL;
	s->head = last->serial_next;
	if (!s->head)
		s->tail = NULL;
	last->serial_next = NULL;
	return first;
}

/*
 * Marks item done and, unless another thread is draining s, drains every finished item at
 * the head. The draining flag is only read and written under s->lock, together with the done
 * marks, so a finished item is either seen by the drainer's next look or makes its finisher
 * the drainer: nothing is left stranded at the head.
 *
 * Releasing an item may free the serial's owner, so one drained item is kept unreleased until
 * s is no longer touched.
 */
static void serial_complete(struct rn_queue_item *item, void *ctx)
{
	struct rn_serial *s = item->serial;
	const struct rn_serial_ops *ops = s->ops;
	struct rn_queue_item *batch, *held = NULL;

	pthread_mutex_lock(&s->lock);
	item->done = true;
	if (s->draining) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->draining = true;
	while ((batch = serial_take_done(s))) {
		pthread_mutex_unlock(&s->lock);
		if (held)
			ops->release(held); /* batch still pins the owner */
		while (batch) {
			struct rn_queue_item *next = batch->serial_next;

			ops->drain(batch, ctx);
			if (next)
				ops->release(batch);
			else
				held = batch;
			batch = next;
		}
		pthread_mutex_lock(&s->lock);
	}
	s->draining = false;
	pthread_mutex_unlock(&s->lock);
	if (held)
		ops->release(held);
}

/* Caller holds q->lock. */
static struct rn_queue_item *queue_pop(struct rn_queue *q)
{
	struct rn_queue_item *item = q->head;

	if (item) {
		q->head = item->work_next;
		if (!q->head)
			q->tail = NULL;
	}
	return item;
}

static void *worker_main(void *arg)
{
	struct rn_queue_worker *w = arg;
	struct rn_queue *q = w->queue;
	struct rn_queue_item *item;

	for (;;) {
		pthread_mutex_lock(&q->lock);
		while (!q->head && !q->stopping) {
			q->n_idle++;
			pthread_cond_wait(&q->cond, &q->lock);
			q->n_idle--;
		}
		item = queue_pop(q);
		pthread_mutex_unlock(&q->lock);
		/* Stopping ends a worker only once the queue is empty: every batch gets released.
		 */
		if (!item)
			return NULL;
		item->serial->ops->process(item, w->ctx);
		serial_complete(item, w->ctx);
	}
}

bool rn_queue_help(struct rn_queue *q, void *ctx)
{
	struct rn_queue_item *item;

	if (!q->n_workers)
		return false;
	pthread_mutex_lock(&q->lock);
	item = queue_pop(q);
	pthread_mutex_unlock(&q->lock);
	if (!item)
		return false;
	item->serial->ops->process(item, ctx);
	serial_complete(item, ctx);
	return true;
}

void rn_queue_init(struct rn_queue *q)
{
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->head = q->tail = NULL;
	q->n_idle = 0;
	q->stopping = false;
	q->n_workers = 0;
	q->workers = NULL;
}

static void queue_join(struct rn_queue *q, unsigned int n)
{
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	for (unsigned int i = 0; i < n; i++)
		pthread_join(q->workers[i].thread, NULL);
}

int rn_queue_start(struct rn_queue *q, unsigned int n_workers, void *const *worker_ctx)
{
	int err;

	if (!n_workers)
		return 0;
	q->workers = calloc(n_workers, sizeof(*q->workers));
	if (!q->workers)
		return -ENOMEM;
	for (unsigned int i = 0; i < n_workers; i++) {
		q->workers[i].queue = q;
		q->workers[i].ctx = worker_ctx[i];
		err = pthread_create(&q->workers[i].thread, NULL, worker_main, &q->workers[i]);
		if (err) {
			queue_join(q, i);
			free(q->workers);
			q->workers = NULL;
			q->stopping = false;
			return -err;
		}
	}
	q->n_workers = n_workers;
	return 0;
}

void rn_queue_stop(struct rn_queue *q)
{
	queue_join(q, q->n_workers);
	free(q->workers);
	q->workers = NULL;
	q->n_workers = 0;
}

void rn_queue_destroy(struct rn_queue *q)
{
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
}

void rn_queue_submit(struct rn_queue *q, struct rn_serial *s, struct rn_queue_item *item, void *ctx,
		     bool light)
{
	bool here = !q->n_workers;

	item->serial = s;
	item->serial_next = item->work_next = NULL;
	item->done = false;
	pthread_mutex_lock(&s->lock);
	if (s->tail)
		s->tail->serial_next = item;
	else
		s->head = item;
	s->tail = item;
	pthread_mutex_unlock(&s->lock);

	if (!here) {
		pthread_mutex_lock(&q->lock);
		/* Waking a worker costs more than a little work: a lone packet stays here. */
		here = light && !q->head && q->n_idle == q->n_workers;
		if (!here) {
			if (q->tail)
				q->tail->work_next = item;
			else
				q->head = item;
			q->tail = item;
			/* A busy worker finds it on its next look: only wake a sleeping one. */
			if (q->n_idle)
				pthread_cond_signal(&q->cond);
		}
		pthread_mutex_unlock(&q->lock);
	}
	if (here) {
		s->ops->process(item, ctx);
		serial_complete(item, ctx);
	}
}

void rn_pool_init(struct rn_pool *p)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* timeouts immune to clock steps */
	pthread_cond_init(&p->cond, &attr);
	pthread_condattr_destroy(&attr);
	p->free = NULL;
	p->n_free = p->n_waiting = p->min_free = p->n_released = 0;
	p->release = NULL;
	p->stopping = false;
}

void rn_pool_destroy(struct rn_pool *p)
{
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

void rn_pool_put(struct rn_pool *p, struct rn_pool_node *n)
{
	pthread_mutex_lock(&p->lock);
	n->next = p->free;
	n->released = false; /* it was just used */
	p->free = n;
	p->n_free++;
	if (p->n_waiting)
		pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

struct rn_pool_node *rn_pool_get(struct rn_pool *p, int timeout_ms)
{
	struct rn_pool_node *n;
	struct timespec deadline;
	int err = 0;

	if (timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&p->lock);
	while (!p->free && timeout_ms && !p->stopping && err != ETIMEDOUT) {
		p->n_waiting++;
		if (timeout_ms < 0)
			pthread_cond_wait(&p->cond, &p->lock);
		else
			err = pthread_cond_timedwait(&p->cond, &p->lock, &deadline);
		p->n_waiting--;
	}
	n = p->free;
	if (n) {
		p->free = n->next;
		p->n_free--;
		if (p->n_free < p->min_free)
			p->min_free = p->n_free;
		if (n->released) {
			n->released = false;
			p->n_released--;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return n;
}

void rn_pool_stop(struct rn_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* Appends the detached list idle under the free ones; caller holds p->lock. */
static void pool_append(struct rn_pool *p, struct rn_pool_node *idle, unsigned int count)
{
	struct rn_pool_node **link = &p->free;

	while (*link)
		link = &(*link)->next;
	*link = idle;
	p->n_free += count;
	if (p->n_waiting)
		pthread_cond_broadcast(&p->cond);
}

unsigned int rn_pool_trim(struct rn_pool *p)
{
	struct rn_pool_node *idle, **link = &p->free;
	unsigned int count, newly = 0;

	pthread_mutex_lock(&p->lock);
	count = p->min_free;
	if (!p->release || p->stopping || count <= p->n_released) {
		/* nothing idle, or only what is released already */
		p->min_free = p->n_free;
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	/*
	 * Detach the bottom count: madvise takes a while, and a buffer left in the list could
	 * be taken and written meanwhile. The load needs none of them: it took none for a
	 * whole period.
	 */
	for (unsigned int i = count; i < p->n_free; i++)
		link = &(*link)->next;
	idle = *link;
	*link = NULL;
	p->n_free -= count;
	pthread_mutex_unlock(&p->lock);

	for (struct rn_pool_node *n = idle; n; n = n->next) {
		if (!n->released) {
			p->release(n);
			n->released = true;
			newly++;
		}
	}

	pthread_mutex_lock(&p->lock);
	pool_append(p, idle, count);
	p->n_released += newly;
	p->min_free = p->n_free;
	pthread_mutex_unlock(&p->lock);
	return newly;
}

static size_t page_round(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (size + page - 1) / page * page;
}

void *rn_pool_mem_alloc(size_t size)
{
	void *mem = mmap(NULL, page_round(size), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return mem == MAP_FAILED ? NULL : mem;
}

void rn_pool_mem_free(void *mem, size_t size)
{
	if (mem)
		munmap(mem, page_round(size));
}

void rn_pool_mem_release(void *mem, size_t size)
{
	/* Private anonymous pages: MADV_DONTNEED frees them at once, zero-filled on next use. */
	if (mem)
		madvise(mem, page_round(size), MADV_DONTNEED);
}
