/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control users ...`. Users are made by `authkey create --user`. store.h has no call
 * that lists users yet, so rn_ctl_users_load reads them from control.db read-only; it is the one
 * place this binary touches SQL and should become rn_store_user_list().
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rustynet-control/ctl.h"

int rn_ctl_users_load(struct rn_ctl *ctl, struct rn_ctl_user **out, size_t *n_out)
{
	struct rn_ctl_user *users = NULL, *grown;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	char *path = NULL;
	size_t n = 0;
	int ret = -EIO, rc;

	*out = NULL;
	*n_out = 0;
	if (asprintf(&path, "%s/control.db", ctl->state) < 0)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db, 5000);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT id, name, created_at FROM users ORDER BY id",
					-1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);

		grown = realloc(users, (n + 1) * sizeof(*users));
		if (!grown) {
			ret = -ENOMEM;
			goto err;
		}
		users = grown;
		users[n].id = sqlite3_column_int64(st, 0);
		users[n].created_at = sqlite3_column_int64(st, 2);
		users[n].name = strdup(name ? name : "");
		if (!users[n++].name) {
			ret = -ENOMEM;
			goto err;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "rustynet-control: reading users from \"%s\": %s\n", path,
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto err;
	}
	*out = users;
	*n_out = n;
	ret = 0;
	goto out;
err:
	rn_ctl_users_free(users, n);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return ret;
}

void rn_ctl_users_free(struct rn_ctl_user *users, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(users[i].name);
	free(users);
}

const char *rn_ctl_user_name(const struct rn_ctl_user *users, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (users[i].id == id)
			return users[i].name;
	return "?";
}

static int rn_ctl_users_list(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store_node *nodes = NULL;
	struct rn_ctl_user *users = NULL;
	struct rn_store *store = NULL;
	size_t n_users = 0, n_nodes = 0;
	int ret, first;
	json_t *arr;
	bool json;

	ret = rn_ctl_simple_args(ctl, argc, argv, 0, 0, &json, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_node_list(store, &nodes, &n_nodes);
	if (ret) {
		ret = rn_ctl_store_error(store, "listing nodes", ret);
		goto out;
	}
	ret = RN_CTL_ERR;
	if (rn_ctl_users_load(ctl, &users, &n_users))
		goto out;
	arr = json_array();
	if (!json)
		printf("%-6s %-24s %-6s %s\n", "ID", "NAME", "NODES", "CREATED");
	for (size_t i = 0; i < n_users; i++) {
		char when[32];
		int count = 0;

		for (size_t j = 0; j < n_nodes; j++)
			count += nodes[j].user_id == users[i].id;
		rn_ctl_time_format(users[i].created_at, when, sizeof(when));
		if (json)
			json_array_append_new(
			    arr, json_pack("{s:I,s:s,s:i,s:I}", "id", (json_int_t)users[i].id,
					   "name", users[i].name, "nodes", count, "created_at",
					   (json_int_t)users[i].created_at));
		else
			printf("%-6lld %-24s %-6d %s\n", (long long)users[i].id, users[i].name,
			       count, when);
	}
	if (json)
		ret = rn_ctl_json_print(json_pack("{s:o}", "users", arr));
	else
		json_decref(arr);
	if (!json)
		ret = RN_CTL_OK;
out:
	rn_ctl_users_free(users, n_users);
	rn_store_node_list_free(nodes, n_nodes);
	rn_store_close(store);
	return ret;
}

static const struct rn_ctl_verb rn_ctl_users_verbs[] = {
    {"list", rn_ctl_users_list, "users list [--json]",
     "Lists the users: id, name, how many nodes each has, when it was made.\n"
     "A user is made by `rustynet-control authkey create --user NAME`.\n"},
    {0},
};

int rn_ctl_users_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "users", rn_ctl_users_verbs, argc, argv);
}
