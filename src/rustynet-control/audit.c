/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control audit [--since WHEN] [--json]`: who changed what, and when, from the store's
 * audit log (every change to configuration or membership appends to it in the same transaction).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rustynet-control/ctl.h"
#include "rustynet-control/duration.h"

enum { RN_AUDIT_PAGE = 512 };

static const struct rn_ctl_verb rn_audit_verb = {
	"audit", NULL, "audit [--since WHEN] [--json]",
	"Prints the audit log, oldest first: every change to users, auth keys, nodes, routes,\n"
	"the policy and the settings, with the time (UTC), who made it (admin:USER for these\n"
	"commands, node:ID for what a node did) and the details. WHEN is how long ago\n"
	"(30m, 12h, 7d, 1w) or a UTC date or time (2026-12-01, 2026-12-01T08:00:00Z).\n"
};

json_t *rn_ctl_audit_json(const struct rn_store_audit *a)
{
	json_t *details = json_loads(a->details, 0, NULL);

	return json_pack("{s:I, s:I, s:s, s:s, s:o}", "id", (json_int_t)a->id, "time",
			 (json_int_t)a->time, "actor", a->actor, "action", a->action, "details",
			 details ? details : json_string(a->details));
}

int rn_ctl_audit_main(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	struct rn_store_audit *rows = NULL;
	int64_t since = 0, after = 0;
	json_t *arr = NULL;
	bool json = false;
	char err[160];
	size_t n = 0, got;
	int ret = RN_CTL_ERR;

	ctl->verb = &rn_audit_verb;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (rn_ctl_is_help(a)) {
			rn_ctl_print_help(ctl);
			return RN_CTL_OK;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--since") && i + 1 < argc) {
			v = argv[++i];
		} else if (!strncmp(a, "--since=", 8)) {
			v = a + 8;
		} else if (!strcmp(a, "--since")) {
			return rn_ctl_usage_error(ctl, "--since needs a value");
		} else {
			return rn_ctl_usage_error(ctl,
						  a[0] == '-' ? "unknown option \"%s\""
							      : "unexpected argument \"%s\"",
						  a);
		}
		if (v && !rn_when_parse(v, (int64_t)time(NULL), -1, &since, err, sizeof(err)))
			return rn_ctl_usage_error(ctl, "--since: %s", err);
	}
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	arr = json_array();
	if (!json)
		printf("%-6s %-20s %-16s %-22s %s\n", "ID", "TIME (UTC)", "ACTOR", "ACTION",
		       "DETAILS");
	do {
		if (rn_store_audit_list(store, after, RN_AUDIT_PAGE, &rows, &n)) {
			rn_ctl_store_error(store, "reading the audit log", -1);
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			char when[32];

			after = rows[i].id;
			if (rows[i].time < since)
				continue;
			rn_ctl_time_format(rows[i].time, when, sizeof(when));
			if (json)
				json_array_append_new(arr, rn_ctl_audit_json(&rows[i]));
			else
				printf("%-6lld %-20s %-16s %-22s %s\n", (long long)rows[i].id, when,
				       rows[i].actor, rows[i].action, rows[i].details);
		}
		got = n;
		rn_store_audit_list_free(rows, n);
		rows = NULL;
		n = 0;
	} while (got == RN_AUDIT_PAGE);
	ret = json ? rn_ctl_json_print(json_pack("{s:O}", "entries", arr)) : RN_CTL_OK;
out:
	rn_store_audit_list_free(rows, n);
	json_decref(arr);
	rn_store_close(store);
	return ret;
}
