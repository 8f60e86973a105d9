/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the crypto queue: order kept per serial when workers finish out of order,
 * one drainer per serial at a time, every item released once (and the owner freeable from
 * the last release), inline mode, pool exhaustion (wait or go without) and shutdown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wg/queue.h"

enum { MAX_ITEMS = 4096, MAX_SERIALS = 8, N_WORKERS = 4 };

/* A serial's owner, refcounted like a peer: each queued item holds a reference. */
struct owner {
	struct rn_serial serial;
	_Atomic int refs;
	_Atomic int in_drain; /* drainers right now: must never exceed 1 */
	unsigned int n_drained;
	unsigned int drained[MAX_ITEMS]; /* sequence numbers in drain order */
};

struct test_item {
	struct rn_queue_item item;
	struct owner *owner;
	unsigned int seq;      /* submission order within the owner */
	unsigned int delay_us; /* time the parallel step takes */
	_Atomic bool processed;
	_Atomic int n_released;
	bool gate; /* process waits until gate_open */
};

static _Atomic bool gate_open;
static _Atomic unsigned int drained_total, released_total;
static _Atomic int drains_before_gate; /* drains seen while the gated item was pending */
static int worker_tags[N_WORKERS];
static int inline_tag;

#define ti_of(it) ((struct test_item *)((char *)(it)-offsetof(struct test_item, item)))

static void sleep_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	if (us)
		nanosleep(&ts, NULL);
}

static void owner_put(struct owner *o)
{
	if (atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	rn_serial_destroy(&o->serial);
	free(o);
}

static void t_process(struct rn_queue_item *it, void *worker)
{
	struct test_item *t = ti_of(it);

	assert_non_null(worker);
	if (t->gate) {
		while (!atomic_load(&gate_open))
			sleep_us(100);
		sleep_us(20000); /* time for the later item to be marked done */
		/* The later item finished first, yet nothing of this serial may have drained. */
		atomic_store(&drains_before_gate, (int)t->owner->n_drained);
	}
	sleep_us(t->delay_us);
	atomic_store(&t->processed, true);
	if (!t->gate && t->seq == 1)
		atomic_store(&gate_open, true);
}

static void t_drain(struct rn_queue_item *it, void *worker)
{
	struct test_item *t = ti_of(it);
	struct owner *o = t->owner;

	assert_non_null(worker);
	assert_int_equal(atomic_fetch_add(&o->in_drain, 1), 0);
	assert_true(atomic_load(&t->processed));
	assert_int_equal(atomic_load(&t->n_released), 0);
	o->drained[o->n_drained++] = t->seq;
	atomic_fetch_add(&drained_total, 1);
	atomic_fetch_sub(&o->in_drain, 1);
}

static void t_release(struct rn_queue_item *it)
{
	struct test_item *t = ti_of(it);

	assert_int_equal(atomic_fetch_add(&t->n_released, 1), 0);
	atomic_fetch_add(&released_total, 1);
	owner_put(t->owner);
}

static const struct rn_serial_ops test_ops = {
	.process = t_process,
	.drain = t_drain,
	.release = t_release,
};

static struct owner *owner_new(void)
{
	struct owner *o = calloc(1, sizeof(*o));

	assert_non_null(o);
	rn_serial_init(&o->serial, &test_ops);
	o->refs = 1;
	return o;
}

static void reset_counters(void)
{
	atomic_store(&gate_open, false);
	atomic_store(&drained_total, 0);
	atomic_store(&released_total, 0);
	atomic_store(&drains_before_gate, -1);
}

static void start_workers(struct rn_queue *q, unsigned int n)
{
	void *ctx[N_WORKERS];

	for (unsigned int i = 0; i < n; i++)
		ctx[i] = &worker_tags[i];
	rn_queue_init(q);
	assert_int_equal(rn_queue_start(q, n, ctx), 0);
}

static void submit(struct rn_queue *q, struct owner *o, struct test_item *t)
{
	atomic_fetch_add(&o->refs, 1);
	t->owner = o;
	rn_queue_submit(q, &o->serial, &t->item, &inline_tag, false);
}

/* Item 0 finishes only after item 1 did: item 1 must still drain second. */
static void test_out_of_order_finish(void **state)
{
	struct test_item items[2] = { { .seq = 0, .gate = true }, { .seq = 1 } };
	struct owner *o = owner_new();
	struct rn_queue q;

	(void)state;
	reset_counters();
	start_workers(&q, 2);
	o->refs++; /* keep it for the checks */
	submit(&q, o, &items[0]);
	submit(&q, o, &items[1]);
	owner_put(o);
	rn_queue_stop(&q);
	rn_queue_destroy(&q);
	assert_int_equal(atomic_load(&drains_before_gate), 0);
	assert_int_equal(o->n_drained, 2);
	assert_int_equal(o->drained[0], 0);
	assert_int_equal(o->drained[1], 1);
	assert_int_equal(atomic_load(&released_total), 2);
	assert_int_equal(atomic_load(&o->refs), 1);
	owner_put(o);
}

/* Many serials, random crypto times: each serial drains in order, one thread at a time. */
static void test_random_order_many_serials(void **state)
{
	enum { N = 3000 };
	struct test_item *items = calloc(N, sizeof(*items));
	struct owner *owners[MAX_SERIALS];
	unsigned int next_seq[MAX_SERIALS] = { 0 };
	struct rn_queue q;

	(void)state;
	assert_non_null(items);
	reset_counters();
	srand(1234);
	for (int i = 0; i < MAX_SERIALS; i++) {
		owners[i] = owner_new();
		owners[i]->refs++;
	}
	start_workers(&q, N_WORKERS);
	for (int i = 0; i < N; i++) {
		int s = rand() % MAX_SERIALS;

		items[i].seq = next_seq[s]++;
		items[i].delay_us = (unsigned int)(rand() % 4 == 0 ? rand() % 200 : 0);
		submit(&q, owners[s], &items[i]);
	}
	rn_queue_stop(&q);
	rn_queue_destroy(&q);
	assert_int_equal(atomic_load(&drained_total), N);
	assert_int_equal(atomic_load(&released_total), N);
	for (int s = 0; s < MAX_SERIALS; s++) {
		assert_int_equal(owners[s]->n_drained, next_seq[s]);
		for (unsigned int k = 0; k < owners[s]->n_drained; k++)
			assert_int_equal(owners[s]->drained[k], k);
		assert_int_equal(atomic_load(&owners[s]->refs), 2);
		owner_put(owners[s]);
		owner_put(owners[s]);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(atomic_load(&items[i].n_released), 1);
	free(items);
}

/* The owner goes away with its last item: the release must be the queue's last touch. */
static void test_owner_freed_by_last_release(void **state)
{
	enum { N = 200 };
	struct test_item *items = calloc(N, sizeof(*items));
	struct rn_queue q;

	(void)state;
	assert_non_null(items);
	reset_counters();
	start_workers(&q, N_WORKERS);
	for (int round = 0; round < 20; round++) {
		struct owner *o = owner_new();

		for (int i = 0; i < N / 20; i++) {
			struct test_item *t = &items[round * (N / 20) + i];

			t->seq = (unsigned int)i;
			t->delay_us = (unsigned int)(i % 3) * 20;
			submit(&q, o, t);
		}
		owner_put(o); /* the "device" lets go while items are in flight */
	}
	rn_queue_stop(&q);
	rn_queue_destroy(&q);
	assert_int_equal(atomic_load(&released_total), N);
	free(items);
}

/* No workers: the caller runs both steps at once, with its own context. */
static void *seen_ctx;

static void inline_process(struct rn_queue_item *it, void *worker)
{
	seen_ctx = worker;
	t_process(it, worker);
}

static void test_inline(void **state)
{
	static const struct rn_serial_ops ops = {
		.process = inline_process,
		.drain = t_drain,
		.release = t_release,
	};
	struct test_item items[3] = { { .seq = 0 }, { .seq = 1 }, { .seq = 2 } };
	struct owner *o = owner_new();
	struct rn_queue q;

	(void)state;
	reset_counters();
	o->serial.ops = &ops;
	rn_queue_init(&q);
	assert_int_equal(rn_queue_start(&q, 0, NULL), 0);
	for (int i = 0; i < 3; i++) {
		submit(&q, o, &items[i]);
		/* Done before submit returns. */
		assert_int_equal(o->n_drained, (unsigned int)i + 1);
		assert_int_equal(atomic_load(&items[i].n_released), 1);
	}
	assert_ptr_equal(seen_ctx, &inline_tag);
	rn_queue_stop(&q);
	rn_queue_destroy(&q);
	assert_int_equal(atomic_load(&o->refs), 1);
	owner_put(o);
}

/* A light item with every worker asleep runs in the caller; a heavy one goes to a worker. */
static void test_light_runs_here_when_idle(void **state)
{
	static const struct rn_serial_ops ops = {
		.process = inline_process,
		.drain = t_drain,
		.release = t_release,
	};
	struct test_item items[2] = { { .seq = 0 }, { .seq = 1 } };
	struct owner *o = owner_new();
	struct rn_queue q;
	bool idle = false;

	(void)state;
	reset_counters();
	o->serial.ops = &ops;
	start_workers(&q, 2);
	while (!idle) {
		pthread_mutex_lock(&q.lock);
		idle = q.n_idle == q.n_workers;
		pthread_mutex_unlock(&q.lock);
		sleep_us(1000);
	}
	atomic_fetch_add(&o->refs, 1);
	items[0].owner = o;
	rn_queue_submit(&q, &o->serial, &items[0].item, &inline_tag, true);
	assert_ptr_equal(seen_ctx, &inline_tag);
	assert_int_equal(atomic_load(&items[0].n_released), 1);
	atomic_fetch_add(&o->refs, 1);
	items[1].owner = o;
	rn_queue_submit(&q, &o->serial, &items[1].item, &inline_tag, false);
	rn_queue_stop(&q);
	rn_queue_destroy(&q);
	assert_true(seen_ctx == &worker_tags[0] || seen_ctx == &worker_tags[1]);
	assert_int_equal(o->n_drained, 2);
	assert_int_equal(atomic_load(&o->refs), 1);
	owner_put(o);
}

/* A producer out of buffers runs queued work itself; the order still holds. */
static void test_help(void **state)
{
	struct test_item items[2] = { { .seq = 0, .gate = true }, { .seq = 1 } };
	struct owner *o = owner_new();
	struct rn_queue q;

	(void)state;
	reset_counters();
	start_workers(&q, 1);
	o->refs++;
	submit(&q, o, &items[0]); /* the worker takes it and blocks on the gate */
	while (true) {
		bool taken;

		pthread_mutex_lock(&q.lock);
		taken = !q.head;
		pthread_mutex_unlock(&q.lock);
		if (taken)
			break;
		sleep_us(1000);
	}
	submit(&q, o, &items[1]);
	assert_true(rn_queue_help(&q, &inline_tag)); /* runs item 1, which opens the gate */
	assert_true(atomic_load(&items[1].processed));
	assert_false(rn_queue_help(&q, &inline_tag)); /* nothing queued */
	rn_queue_stop(&q);
	rn_queue_destroy(&q);
	assert_int_equal(o->n_drained, 2);
	assert_int_equal(o->drained[0], 0);
	assert_int_equal(o->drained[1], 1);
	assert_int_equal(atomic_load(&o->refs), 2);
	owner_put(o);
	owner_put(o);
}

/* Shutdown runs what is still queued to the end before the workers go. */
static void test_stop_finishes_queue(void **state)
{
	enum { N = 64 };
	struct test_item items[N];
	struct owner *o = owner_new();
	struct rn_queue q;

	(void)state;
	memset(items, 0, sizeof(items));
	reset_counters();
	start_workers(&q, 1);
	for (int i = 0; i < N; i++) {
		items[i].seq = (unsigned int)i;
		items[i].delay_us = 300;
		submit(&q, o, &items[i]);
	}
	rn_queue_stop(&q); /* at once: most items are still queued */
	rn_queue_destroy(&q);
	assert_int_equal(o->n_drained, N);
	assert_int_equal(atomic_load(&released_total), N);
	assert_int_equal(atomic_load(&o->refs), 1);
	owner_put(o);
}

struct pool_waiter {
	struct rn_pool *pool;
	struct rn_pool_node *got;
	_Atomic bool returned;
};

static void *pool_wait_thread(void *arg)
{
	struct pool_waiter *w = arg;

	w->got = rn_pool_get(w->pool, -1);
	atomic_store(&w->returned, true);
	return NULL;
}

/* Exhausted: get without waiting says so, get with waiting blocks until a put. */
static void test_pool_exhaustion(void **state)
{
	struct rn_pool_node nodes[2], *a, *b;
	struct pool_waiter w = { 0 };
	struct rn_pool pool;
	pthread_t th;

	(void)state;
	rn_pool_init(&pool);
	rn_pool_put(&pool, &nodes[0]);
	rn_pool_put(&pool, &nodes[1]);
	a = rn_pool_get(&pool, 0);
	b = rn_pool_get(&pool, -1);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_null(rn_pool_get(&pool, 0));
	assert_null(rn_pool_get(&pool, 5)); /* the receive side drops after a while */

	w.pool = &pool;
	assert_int_equal(pthread_create(&th, NULL, pool_wait_thread, &w), 0);
	sleep_us(20000);
	assert_false(atomic_load(&w.returned)); /* the transmit side waits here */
	rn_pool_put(&pool, b);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_ptr_equal(w.got, b);
	rn_pool_put(&pool, a);
	rn_pool_put(&pool, b);
	rn_pool_destroy(&pool);
}

/* Shutdown wakes a producer waiting on an empty pool. */
static void test_pool_stop_wakes_waiter(void **state)
{
	struct pool_waiter w = { 0 };
	struct rn_pool pool;
	pthread_t th;

	(void)state;
	rn_pool_init(&pool);
	w.pool = &pool;
	assert_int_equal(pthread_create(&th, NULL, pool_wait_thread, &w), 0);
	sleep_us(20000);
	assert_false(atomic_load(&w.returned));
	rn_pool_stop(&pool);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_null(w.got);
	assert_null(rn_pool_get(&pool, -1)); /* stopped: never blocks again */
	rn_pool_destroy(&pool);
}

enum { MEM_BUF_SIZE = 64 * 1024 };

struct mem_buf {
	struct rn_pool_node node;
	uint8_t *mem;
};

static void mem_buf_release(struct rn_pool_node *n)
{
	struct mem_buf *b = (struct mem_buf *)((char *)n - offsetof(struct mem_buf, node));

	rn_pool_mem_release(b->mem, MEM_BUF_SIZE);
}

/* How many of the buffer's pages are in memory. */
static size_t resident_pages(const uint8_t *mem)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = MEM_BUF_SIZE / page, count = 0;
	unsigned char vec[MEM_BUF_SIZE / 4096];

	assert_true(n <= sizeof(vec));
	assert_int_equal(mincore((void *)mem, MEM_BUF_SIZE, vec), 0);
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	return count;
}

/*
 * Buffers left in the pool through a whole trim period give their pages back; one taken in
 * that period keeps them, until a period passes without it being taken either.
 */
static void test_pool_trim_gives_idle_pages_back(void **state)
{
	size_t all = MEM_BUF_SIZE / (size_t)sysconf(_SC_PAGESIZE);
	struct mem_buf bufs[4];
	struct rn_pool pool;
	struct rn_pool_node *n;

	(void)state;
	rn_pool_init(&pool);
	pool.release = mem_buf_release;
	for (int i = 0; i < 4; i++) {
		bufs[i].mem = rn_pool_mem_alloc(MEM_BUF_SIZE);
		assert_non_null(bufs[i].mem);
		memset(bufs[i].mem, 0xa5, MEM_BUF_SIZE); /* a burst touched them all */
		assert_int_equal(resident_pages(bufs[i].mem), all);
		rn_pool_put(&pool, &bufs[i].node);
	}
	assert_int_equal(rn_pool_trim(&pool), 0); /* the first call only starts the period */

	/* A light load: one buffer at a time, the one on top. */
	n = rn_pool_get(&pool, 0);
	assert_ptr_equal(n, &bufs[3].node);
	memset(bufs[3].mem, 0x5a, MEM_BUF_SIZE);
	rn_pool_put(&pool, n);
	assert_int_equal(rn_pool_trim(&pool), 3);
	assert_int_equal(pool.n_released, 3);
	assert_int_equal(pool.n_free, 4);
	for (int i = 0; i < 3; i++)
		assert_int_equal(resident_pages(bufs[i].mem), 0);
	assert_int_equal(resident_pages(bufs[3].mem), all); /* busy: kept */
	assert_int_equal(bufs[3].mem[0], 0x5a);

	/* Busy again: nothing new to release, and the released ones are not counted twice. */
	rn_pool_put(&pool, rn_pool_get(&pool, 0));
	assert_int_equal(rn_pool_trim(&pool), 0);
	assert_int_equal(resident_pages(bufs[3].mem), all);

	/* A whole period untouched: the last one goes too. */
	assert_int_equal(rn_pool_trim(&pool), 1);
	assert_int_equal(pool.n_released, 4);
	assert_int_equal(resident_pages(bufs[3].mem), 0);

	/* A burst takes them all back; released memory reads as zeros and works as before. */
	for (int i = 3; i >= 0; i--) {
		n = rn_pool_get(&pool, 0);
		assert_ptr_equal(n, &bufs[i].node);
		assert_int_equal(bufs[i].mem[MEM_BUF_SIZE - 1], 0);
		memset(bufs[i].mem, 0x11, MEM_BUF_SIZE);
		assert_int_equal(resident_pages(bufs[i].mem), all);
	}
	assert_int_equal(pool.n_released, 0);
	assert_int_equal(rn_pool_trim(&pool), 0); /* everything in use: nothing to release */
	for (int i = 0; i < 4; i++)
		rn_pool_put(&pool, &bufs[i].node);
	assert_int_equal(rn_pool_trim(&pool), 0); /* none was free the whole period */
	for (int i = 0; i < 4; i++)
		assert_int_equal(resident_pages(bufs[i].mem), all);
	for (int i = 0; i < 4; i++)
		rn_pool_mem_free(bufs[i].mem, MEM_BUF_SIZE);
	rn_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_of_order_finish),
		cmocka_unit_test(test_random_order_many_serials),
		cmocka_unit_test(test_owner_freed_by_last_release),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_light_runs_here_when_idle),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_stop_finishes_queue),
		cmocka_unit_test(test_pool_exhaustion),
		cmocka_unit_test(test_pool_stop_wakes_waiter),
		cmocka_unit_test(test_pool_trim_gives_idle_pages_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
