/* SPDX-License-Identifier: MIT */
/*
 * control-bench: the control server's netmap work without any data plane, for bench/control.sh.
 *
 *   control-bench mapper N       a temp store with N nodes under the starter policy (everyone
 *                                reaches everyone: every map lists every node); prints the time
 *                                to build and sign one node's map, and all N after a change
 *   control-bench populate DIR N adds N simulated nodes (user "bench", random keys, an endpoint
 *                                in 203.0.113.0/24) to the control state in DIR
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "control/mapper.h"
#include "control/store.h"
#include "netmap/netmap.h"
#include "policy/policy.h"

enum {
	ALL_MAX_S = 60, /* stop building "all" maps after this long and extrapolate */
};

static double now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int die(const char *what, struct rn_store *store, int err)
{
	fprintf(stderr, "control-bench: %s: %s (%s)\n", what, strerror(-err),
		store ? rn_store_errmsg(store) : "");
	return 1;
}

/* Adds n nodes of user "bench"; returns 0 or 1 (reported). */
static int populate(struct rn_store *store, size_t n)
{
	int64_t user, now = time(NULL);
	int err = rn_store_user_get_by_name(store, "bench", &user);

	if (err == -ENOENT)
		err = rn_store_user_add(store, "bench", "bench", now, &user);
	if (err)
		return die("user", store, err);
	for (size_t i = 0; i < n; i++) {
		uint8_t key[RN_STORE_KEY_LEN];
		char host[32], ep[64];
		struct rn_store_node_enroll req = { .hostname = host,
						    .user_id = user,
						    .public_key = key };
		struct rn_store_node node;

		if (RAND_bytes(key, sizeof(key)) != 1)
			return die("random", NULL, -EIO);
		snprintf(host, sizeof(host), "sim-%zu", i);
		err = rn_store_node_add(store, "bench", &req, now, &node, NULL);
		if (err)
			return die("node add", store, err);
		snprintf(ep, sizeof(ep), "[\"203.0.113.%zu:41641\"]", 1 + i % 254);
		err = rn_store_node_touch(store, node.id, now, ep);
		rn_store_node_clear(&node);
		if (err)
			return die("node touch", store, err);
	}
	return 0;
}

static int bench_mapper(size_t n)
{
	char dir[] = "/tmp/rn-control-bench.XXXXXX", err[256], cmd[64];
	struct rn_mapper_epoch *e = NULL;
	struct rn_mapper_cache *cache;
	struct rn_store *store = NULL;
	uint8_t priv[32], pub[32];
	double t0, c0, one, all, all_cpu;
	const char *env;
	uint64_t version;
	size_t len, built = 0;
	int ret = 1;

	if (!mkdtemp(dir))
		return die("mkdtemp", NULL, -errno);
	if (rn_netmap_sign_key_generate(priv, pub) || !(cache = rn_mapper_cache_new(priv)))
		goto out;
	if ((ret = rn_store_open(dir, &store)) ||
	    (ret = rn_store_policy_set(store, "bench", rn_policy_default_text(), time(NULL)))) {
		ret = die("store", store, ret);
		goto out_cache;
	}
	if ((ret = populate(store, n)))
		goto out_cache;

	t0 = now_ms(CLOCK_MONOTONIC);
	if ((ret = rn_mapper_epoch_load(store, 1, time(NULL), NULL, &e, err, sizeof(err))) ||
	    (ret =
		 rn_mapper_cache_get(cache, e, store, 1, &version, &env, &len, err, sizeof(err)))) {
		fprintf(stderr, "control-bench: one map: %s\n", err);
		goto out_epoch;
	}
	one = now_ms(CLOCK_MONOTONIC) - t0;
	printf("netmap_one_ms_%zu %.2f\nnetmap_bytes_%zu %zu\n", n, one, n, len);
	rn_mapper_epoch_free(e);
	e = NULL;

	/* a policy change: every map's filter changes, so every map is rebuilt and re-signed */
	if ((ret = rn_store_policy_set(store, "bench",
				       "{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],"
				       "\"dst\":[\"*:*\"]}]}",
				       time(NULL)))) {
		ret = die("policy", store, ret);
		goto out_cache;
	}
	t0 = now_ms(CLOCK_MONOTONIC);
	c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	if ((ret = rn_mapper_epoch_load(store, 2, time(NULL), NULL, &e, err, sizeof(err))))
		goto out_epoch;
	for (uint64_t id = 1; id <= n; id++) {
		ret = rn_mapper_cache_get(cache, e, store, id, &version, &env, &len, err,
					  sizeof(err));
		if (ret) {
			fprintf(stderr, "control-bench: map %" PRIu64 ": %s\n", id, err);
			goto out_epoch;
		}
		built++;
		if (now_ms(CLOCK_MONOTONIC) - t0 > ALL_MAX_S * 1e3)
			break;
	}
	all = (now_ms(CLOCK_MONOTONIC) - t0) * n / built;
	all_cpu = (now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0) * n / built;
	printf("netmap_all_ms_%zu%s %.0f\nnetmap_all_server_cpu_ms_%zu%s %.0f\n", n,
	       built < n ? "_extrapolated" : "", all, n, built < n ? "_extrapolated" : "", all_cpu);
	ret = 0;
out_epoch:
	rn_mapper_epoch_free(e);
out_cache:
	rn_mapper_cache_free(cache);
out:
	rn_store_close(store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "control-bench: could not remove %s\n", dir);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct rn_store *store = NULL;
	char *end;
	unsigned long n;
	int ret;

	if (argc == 3 && !strcmp(argv[1], "mapper")) {
		n = strtoul(argv[2], &end, 10);
		if (*end || !n || n > 100000)
			goto usage;
		return bench_mapper(n);
	}
	if (argc == 4 && !strcmp(argv[1], "populate")) {
		n = strtoul(argv[3], &end, 10);
		if (*end || !n || n > 100000)
			goto usage;
		if ((ret = rn_store_open(argv[2], &store)))
			return die("store", store, ret);
		ret = populate(store, n);
		rn_store_close(store);
		return ret;
	}
usage:
	fprintf(stderr, "Usage: control-bench mapper N | control-bench populate STATE_DIR N\n");
	return 2;
}
