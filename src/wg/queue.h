/* SPDX-License-Identifier: MIT */
/*
 * Parallel crypto that keeps each peer's order, after the WireGuard kernel driver's queueing.
 * A batch goes on its owner's ordered queue (a serial: one per peer and direction) and on the
 * device's work queue in one step; any worker runs the parallel step (encrypt or decrypt) on
 * it; whoever finishes the batch at the head of a serial then runs the ordered step (send, or
 * replay check and TUN write) for every finished batch at the head, and only one thread
 * drains a serial at a time, so per-thread state such as a GRO table is never shared.
 *
 * Also a pool of preallocated buffers, so the packet path never allocates: the producer
 * either waits for a buffer (back-pressure) or goes without (drop). Buffers that sat in the
 * pool through a whole trim period give their pages back to the kernel (rn_pool_trim), so a
 * burst of traffic does not leave the process large for good.
 *
 * Nothing here knows about packets; the callbacks do. With no workers every submit runs both
 * steps at once in the caller's thread, which keeps one code path for both modes.
 */
#ifndef RN_WG_QUEUE_H
#define RN_WG_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct rn_serial;

/* Embedded in each batch; the batch is the caller's, never allocated or freed here. */
struct rn_queue_item {
	struct rn_queue_item *work_next;   /* work queue link (queue lock) */
	struct rn_queue_item *serial_next; /* serial link (serial lock) */
	struct rn_serial *serial;
	bool done; /* the parallel step finished (serial lock) */
};

struct rn_serial_ops {
	/* The parallel step: any thread, in any order, concurrently with other items. */
	void (*process)(struct rn_queue_item *item, void *worker);
	/* The ordered step: a serial's items in submission order, one thread at a time. */
	void (*drain)(struct rn_queue_item *item, void *worker);
	/*
	 * Called once the serial is no longer touched on this item's behalf: the place to drop
	 * the reference that keeps the serial's owner (and so the serial) alive.
	 */
	void (*release)(struct rn_queue_item *item);
};

struct rn_serial {
	pthread_mutex_t lock;
	const struct rn_serial_ops *ops;
	struct rn_queue_item *head, *tail; /* submitted, not yet drained */
	bool draining;			   /* a thread is running drain: others only mark done */
};

struct rn_queue_worker {
	struct rn_queue *queue;
	void *ctx; /* the caller's per-worker state, passed to the callbacks */
	pthread_t thread;
};

struct rn_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rn_queue_item *head, *tail; /* waiting for the parallel step */
	unsigned int n_idle;		   /* workers asleep on cond */
	bool stopping;
	unsigned int n_workers; /* 0: inline, every submit runs in the caller */
	struct rn_queue_worker *workers;
};

void rn_serial_init(struct rn_serial *s, const struct rn_serial_ops *ops);
/* The serial must be empty: every item submitted to it was released. */
void rn_serial_destroy(struct rn_serial *s);

void rn_queue_init(struct rn_queue *q);
/*
 * Starts n_workers threads, worker i getting worker_ctx[i]; 0 starts none (inline mode).
 * 0 or -errno (nothing left running on failure).
 */
int rn_queue_start(struct rn_queue *q, unsigned int n_workers, void *const *worker_ctx);
/* Runs what is still queued to the end, then joins the workers. Submit nothing meanwhile. */
void rn_queue_stop(struct rn_queue *q);
void rn_queue_destroy(struct rn_queue *q);
/*
 * Appends item to s and hands it to a worker. It runs now in the caller, with ctx as the
 * worker state, in inline mode, or if light (little work, such as one packet) and every worker
 * is asleep with nothing queued: a wake-up would cost more latency than the work. One producer
 * per serial, or the order is the producers' interleaving.
 */
void rn_queue_submit(struct rn_queue *q, struct rn_serial *s, struct rn_queue_item *item, void *ctx,
		     bool light);

/*
 * Runs one queued item in the caller's thread, with ctx as its worker state: a producer out of
 * buffers helps instead of sleeping. false if nothing was queued (or in inline mode).
 */
bool rn_queue_help(struct rn_queue *q, void *ctx);

/* Embedded in each pooled buffer. */
struct rn_pool_node {
	struct rn_pool_node *next;
	bool released; /* its pages were given back; they read as zeros when touched again */
};

struct rn_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rn_pool_node *free; /* a stack: the bottom ones have been unused the longest */
	unsigned int n_free;
	unsigned int n_waiting;
	/* The fewest free since the last trim: that many at the bottom were not taken since. */
	unsigned int min_free;
	unsigned int n_released; /* free buffers whose pages were given back */
	/* Gives a free buffer's pages back (the owner's: madvise). NULL: never trimmed. */
	void (*release)(struct rn_pool_node *n);
	bool stopping;
};

void rn_pool_init(struct rn_pool *p);
void rn_pool_destroy(struct rn_pool *p);
void rn_pool_put(struct rn_pool *p, struct rn_pool_node *n);
/*
 * A free buffer. When none is free, waits up to timeout_ms (0: not at all, -1: for ever) for
 * one to be put back; NULL if none came or the pool is stopped.
 */
struct rn_pool_node *rn_pool_get(struct rn_pool *p, int timeout_ms);
/* Wakes every waiter for good: used on shutdown. */
void rn_pool_stop(struct rn_pool *p);
/*
 * Releases the buffers that stayed free since the previous call (the first call only starts
 * the period), outside the pool lock: call it every few seconds, from one thread. Returns
 * how many it released now; buffers still released from an earlier call are not counted.
 */
unsigned int rn_pool_trim(struct rn_pool *p);

/*
 * Page-aligned memory for pooled buffers, mapped straight from the kernel, so that
 * rn_pool_mem_release can give whole pages back (they read as zeros afterwards).
 * rn_pool_mem_alloc returns NULL on failure.
 */
void *rn_pool_mem_alloc(size_t size);
void rn_pool_mem_free(void *mem, size_t size);
void rn_pool_mem_release(void *mem, size_t size);

#endif
