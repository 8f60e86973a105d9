/* SPDX-License-Identifier: MIT */
/*
 * The node's offer (advertise.h): CIDR checks, the sorted route set, and its file.
 */
#include "rustynetd/advertise.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rustynetd/persist.h"

static int cmp(const struct rn_filter_prefix *a, const struct rn_filter_prefix *b)
{
	int c = a->family - b->family;

	if (!c)
		c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c;
	return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}

int rn_advertise_add(struct rn_advertise *a, const struct rn_filter_prefix *p)
{
	size_t i = 0;

	while (i < a->n_routes && cmp(&a->routes[i], p) < 0)
		i++;
	if (i < a->n_routes && !cmp(&a->routes[i], p))
		return -EEXIST;
	if (a->n_routes == RN_ADVERTISE_MAX_ROUTES)
		return -ENOSPC;
	memmove(&a->routes[i + 1], &a->routes[i], (a->n_routes - i) * sizeof(a->routes[0]));
	a->routes[i] = *p;
	a->n_routes++;
	return 0;
}

/* Whether r lies inside one of a's routes. */
static bool offered_route(const struct rn_advertise *a, const struct rn_filter_prefix *r)
{
	for (size_t i = 0; i < a->n_routes; i++)
		if (a->routes[i].family == r->family && a->routes[i].len <= r->len &&
		    rn_filter_prefix_has(&a->routes[i], r->family, r->addr))
			return true;
	return false;
}

void rn_advertise_restrict(const struct rn_advertise *offered, struct rn_filter *f,
			   struct rn_advertise_refused *refused)
{
	size_t k = 0;

	memset(refused, 0, sizeof(*refused));
	if (f->exit && !offered->exit) {
		refused->exit = true;
		f->exit = false;
	}
	for (size_t i = 0; i < f->n_routes; i++) {
		if (offered_route(offered, &f->routes[i]))
			f->routes[k++] = f->routes[i];
		else if (refused->n_routes < RN_ADVERTISE_MAX_ROUTES)
			refused->routes[refused->n_routes++] = f->routes[i];
	}
	f->n_routes = k;
}

bool rn_advertise_refused_any(const struct rn_advertise_refused *r)
{
	return r->exit || r->n_routes;
}

int rn_advertise_remove(struct rn_advertise *a, const struct rn_filter_prefix *p)
{
	for (size_t i = 0; i < a->n_routes; i++) {
		if (cmp(&a->routes[i], p))
			continue;
		memmove(&a->routes[i], &a->routes[i + 1],
			(a->n_routes - i - 1) * sizeof(a->routes[0]));
		a->n_routes--;
		return 0;
	}
	return -ENOENT;
}

bool rn_advertise_equal(const struct rn_advertise *a, const struct rn_advertise *b)
{
	if (a->exit != b->exit || a->n_routes != b->n_routes)
		return false;
	for (size_t i = 0; i < a->n_routes; i++)
		if (cmp(&a->routes[i], &b->routes[i]))
			return false;
	return true;
}

json_t *rn_advertise_routes_json(const struct rn_advertise *a)
{
	char buf[RN_FILTER_PREFIX_STRLEN];
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < a->n_routes; i++) {
		if (json_array_append_new(arr, json_string(rn_filter_prefix_format(
						   &a->routes[i], buf, sizeof(buf))))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *rn_advertise_to_json(const struct rn_advertise *a)
{
	return json_pack("{s:b, s:o}", "exit", a->exit, "routes", rn_advertise_routes_json(a));
}

int rn_advertise_from_json(const json_t *j, struct rn_advertise *out, char *err, size_t errlen)
{
	json_t *routes = NULL, *v;
	json_error_t jerr;
	char why[160];
	int adv_exit = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (json_unpack_ex((json_t *)j, &jerr, 0, "{s:b, s:o !}", "exit", &adv_exit, "routes",
			   &routes) ||
	    !json_is_array(routes) || json_array_size(routes) > RN_ADVERTISE_MAX_ROUTES) {
		snprintf(err, errlen, "not {\"exit\": bool, \"routes\": [at most %d CIDRs]}",
			 RN_ADVERTISE_MAX_ROUTES);
		return -EINVAL;
	}
	out->exit = adv_exit;
	json_array_foreach(routes, i, v) {
		struct rn_filter_prefix p;

		if (!json_is_string(v)) {
			snprintf(err, errlen, "routes[%zu] is not a string", i);
			return -EINVAL;
		}
		if (!rn_advertise_cidr_parse(json_string_value(v), NULL, &p, why, sizeof(why))) {
			snprintf(err, errlen, "routes[%zu]: %s", i, why);
			return -EINVAL;
		}
		rn_advertise_add(out, &p); /* a duplicate is harmless: kept once */
	}
	return 0;
}

int rn_advertise_load(const char *dir, struct rn_advertise *out, char *err, size_t errlen)
{
	char *text = NULL, why[200];
	json_error_t jerr;
	size_t len = 0;
	json_t *j;
	int r;

	memset(out, 0, sizeof(*out));
	r = rn_persist_read(dir, RN_ADVERTISE_FILE, RN_ADVERTISE_MAX_BYTES, &text, &len);
	if (r == -ENOENT)
		return r;
	if (r) {
		snprintf(err, errlen, "cannot read %s/%s: %s", dir, RN_ADVERTISE_FILE,
			 strerror(-r));
		return r;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!j) {
		snprintf(err, errlen, "%s/%s: line %d: %s", dir, RN_ADVERTISE_FILE, jerr.line,
			 jerr.text);
		return -EBADMSG;
	}
	r = rn_advertise_from_json(j, out, why, sizeof(why));
	json_decref(j);
	if (r) {
		snprintf(err, errlen, "%s/%s: %s", dir, RN_ADVERTISE_FILE, why);
		memset(out, 0, sizeof(*out));
		return -EBADMSG;
	}
	return 0;
}

int rn_advertise_save(const char *dir, const struct rn_advertise *a)
{
	json_t *j = rn_advertise_to_json(a);
	char *text = j ? json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	int r = text ? rn_persist_write(dir, RN_ADVERTISE_FILE, text, strlen(text)) : -ENOMEM;

	free(text);
	json_decref(j);
	return r;
}
