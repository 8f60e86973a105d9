/* SPDX-License-Identifier: MIT */
/* Helpers every rustynet-control command group uses: dispatch, usage errors, the store, JSON. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "rustynet-control/ctl.h"

bool rn_ctl_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

static void rn_ctl_group_usage(FILE *f, const char *group, const struct rn_ctl_verb *verbs)
{
	fprintf(f, "Usage:\n");
	for (const struct rn_ctl_verb *v = verbs; v->name; v++)
		fprintf(f, "  rustynet-control %s\n", v->usage);
	fprintf(f, "`rustynet-control %s VERB --help` describes a verb.\n", group);
}

int rn_ctl_dispatch(struct rn_ctl *ctl, const char *group, const struct rn_ctl_verb *verbs,
		    int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "rustynet-control %s: which one? ", group);
		rn_ctl_group_usage(stderr, group, verbs);
		return RN_CTL_USAGE;
	}
	if (rn_ctl_is_help(argv[1])) {
		rn_ctl_group_usage(stdout, group, verbs);
		return RN_CTL_OK;
	}
	for (const struct rn_ctl_verb *v = verbs; v->name; v++) {
		if (strcmp(argv[1], v->name))
			continue;
		ctl->verb = v;
		return v->fn(ctl, argc - 1, argv + 1);
	}
	fprintf(stderr, "rustynet-control %s: unknown verb \"%s\". ", group, argv[1]);
	rn_ctl_group_usage(stderr, group, verbs);
	return RN_CTL_USAGE;
}

void rn_ctl_print_help(const struct rn_ctl *ctl)
{
	printf("Usage: rustynet-control %s\n\n%s", ctl->verb->usage, ctl->verb->help);
	printf("\nGlobal: --state DIR (default " RN_CTL_DEFAULT_STATE ").\n");
}

int rn_ctl_usage_error(const struct rn_ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rustynet-control: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: rustynet-control %s (--help for more)\n", ctl->verb->usage);
	return RN_CTL_USAGE;
}

int rn_ctl_simple_args(const struct rn_ctl *ctl, int argc, char **argv, int min, int max,
		       bool *json, int *first)
{
	char *pos[argc > 0 ? argc : 1];
	int n = 0, opts = 1;
	bool dashdash = false;

	if (json)
		*json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!dashdash && !strcmp(a, "--")) {
			dashdash = true;
		} else if (!dashdash && rn_ctl_is_help(a)) {
			rn_ctl_print_help(ctl);
			return RN_CTL_OK;
		} else if (!dashdash && json && !strcmp(a, "--json")) {
			*json = true;
		} else if (!dashdash && a[0] == '-' && a[1]) {
			return rn_ctl_usage_error(ctl, "unknown option \"%s\"", a);
		} else {
			pos[n++] = argv[i];
			continue;
		}
		argv[opts++] = argv[i];
	}
	memcpy(argv + opts, pos, sizeof(char *) * (size_t)n);
	*first = opts;
	if (n < min)
		return rn_ctl_usage_error(ctl, "missing argument");
	if (max >= 0 && n > max)
		return rn_ctl_usage_error(ctl, "unexpected argument \"%s\"", pos[max]);
	return -1;
}

int rn_ctl_store_open(struct rn_ctl *ctl, struct rn_store **out)
{
	struct stat st;
	int ret;

	if (stat(ctl->state, &st) < 0 && errno == ENOENT) {
		fprintf(stderr,
			"rustynet-control: no state dir at \"%s\": create one with "
			"`rustynet-control init --state %s`, or give --state DIR\n",
			ctl->state, ctl->state);
		return -ENOENT;
	}
	ret = rn_store_open(ctl->state, out);
	if (ret)
		fprintf(stderr, "rustynet-control: cannot open the state in \"%s\": %s\n",
			ctl->state, strerror(-ret));
	return ret;
}

int rn_ctl_store_error(struct rn_store *store, const char *what, int err)
{
	const char *msg = rn_store_errmsg(store);

	fprintf(stderr, "rustynet-control: %s: %s\n", what, msg[0] ? msg : strerror(-err));
	return RN_CTL_ERR;
}

int rn_ctl_node_lookup(struct rn_store *store, const char *arg, struct rn_store_node *out)
{
	struct rn_store_node *nodes;
	size_t n;
	char *end;
	long long id;
	int ret;

	char lower[RN_STORE_LABEL_MAX + 1];
	size_t i;

	/* DNS names are case-insensitive: "E" is node "e" */
	for (i = 0; arg[i] && i < RN_STORE_LABEL_MAX; i++)
		lower[i] = (char)(arg[i] >= 'A' && arg[i] <= 'Z' ? arg[i] - 'A' + 'a' : arg[i]);
	lower[i] = '\0';
	ret = rn_store_node_get_by_name(store, arg[i] ? arg : lower, out);
	if (ret != -ENOENT)
		return ret;
	errno = 0;
	id = strtoll(arg, &end, 10);
	if (arg[0] >= '0' && arg[0] <= '9' && !*end && !errno) {
		ret = rn_store_node_list(store, &nodes, &n);
		if (ret)
			return ret;
		ret = -ENOENT;
		for (i = 0; i < n; i++) {
			if (nodes[i].id != id)
				continue;
			*out = nodes[i];
			memset(&nodes[i], 0, sizeof(nodes[i])); /* its strings now belong to out */
			ret = 0;
		}
		rn_store_node_list_free(nodes, n);
	}
	return ret;
}

int rn_ctl_node_find(struct rn_store *store, const char *arg, struct rn_store_node *out)
{
	int ret = rn_ctl_node_lookup(store, arg, out);

	if (ret == -ENOENT)
		fprintf(stderr,
			"rustynet-control: no node \"%s\": give its DNS name or id as "
			"`rustynet-control nodes list` shows them\n",
			arg);
	else if (ret)
		rn_ctl_store_error(store, "looking up a node", ret);
	return ret;
}

int rn_ctl_json_print(json_t *obj)
{
	int ret;

	if (!obj) {
		fprintf(stderr, "rustynet-control: out of memory\n");
		return RN_CTL_ERR;
	}
	ret = json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (ret)
		return RN_CTL_ERR;
	putchar('\n');
	return RN_CTL_OK;
}

void rn_ctl_time_format(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm))
		snprintf(buf, size, "never");
	else
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *rn_ctl_json_array(const char *text)
{
	json_t *a = text ? json_loads(text, 0, NULL) : NULL;

	if (json_is_array(a))
		return a;
	json_decref(a);
	return json_array();
}
