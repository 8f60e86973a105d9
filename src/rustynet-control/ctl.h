/* SPDX-License-Identifier: MIT */
/*
 * What the rustynet-control admin commands share: the invocation (state dir, actor), the
 * subcommand entry points the table in main.c dispatches to, and small helpers for opening the
 * store, finding a node, printing JSON and reporting usage errors.
 */
#ifndef RN_CTL_CTL_H
#define RN_CTL_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "control/store.h"

#define RN_CTL_DEFAULT_STATE "/var/lib/rustynet-control"

/* Exit codes of every command. */
enum { RN_CTL_OK = 0, RN_CTL_ERR = 1, RN_CTL_USAGE = 2 };

/* Files in the state dir, beside control.db. */
#define RN_CTL_SIGN_KEY "netmap-signing.key"
#define RN_CTL_SIGN_PUB "netmap-signing.pub"
#define RN_CTL_TLS_CERT "tls-cert.pem"
#define RN_CTL_TLS_KEY	"tls-key.pem"

struct rn_ctl_verb;

struct rn_ctl {
	const char *state;		/* the state dir */
	char actor[96];			/* "admin:" + the invoking user's name, for the audit log */
	const char *prog;		/* "rustynet-control" */
	const struct rn_ctl_verb *verb; /* the verb running, for its usage errors */
};

/* A command group: argv[0] is the group's name. Returns an exit code. */
typedef int (*rn_ctl_main_fn)(struct rn_ctl *ctl, int argc, char **argv);

int rn_ctl_init_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_authkey_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_nodes_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_users_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_routes_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_exit_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_policy_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_dns_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_stun_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_relay_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_serve_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_audit_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_settings_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_backup_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_restore_main(struct rn_ctl *ctl, int argc, char **argv);
int rn_ctl_token_main(struct rn_ctl *ctl, int argc, char **argv);

/* One verb of a group: "list", "create", ... and its help text. */
struct rn_ctl_verb {
	const char *name;
	rn_ctl_main_fn fn;
	const char *usage; /* "authkey list [--json]" */
	const char *help;  /* one or more lines, printed by --help */
};

/* Dispatches argv[1] of a group to its verb; handles "--help" and unknown verbs. */
int rn_ctl_dispatch(struct rn_ctl *ctl, const char *group, const struct rn_ctl_verb *verbs,
		    int argc, char **argv);
/* Prints a usage error naming the command, and returns RN_CTL_USAGE. */
int rn_ctl_usage_error(const struct rn_ctl *ctl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rn_ctl_print_help(const struct rn_ctl *ctl);
/* -h or --help. */
bool rn_ctl_is_help(const char *arg);

/*
 * Parses --help, --json (only if json is not NULL) and min..max positional arguments (max -1:
 * no limit) of a verb; argv[0] is the verb. Sets *first to the index of the first positional
 * argument; they are moved to the end of argv. Returns -1 to go on, or an exit code to return.
 */
int rn_ctl_simple_args(const struct rn_ctl *ctl, int argc, char **argv, int min, int max,
		       bool *json, int *first);

/* Opens the store of ctl->state, printing what went wrong. 0 or -errno. */
int rn_ctl_store_open(struct rn_ctl *ctl, struct rn_store **out);
/* Reports a failed store call: "what: message". Returns RN_CTL_ERR. */
int rn_ctl_store_error(struct rn_store *store, const char *what, int err);

/* A node by DNS name or, failing that, by decimal id. Prints an error; 0 or -errno. */
int rn_ctl_node_find(struct rn_store *store, const char *arg, struct rn_store_node *out);
/* The same without printing (the server's): -ENOENT, or the store's error. */
int rn_ctl_node_lookup(struct rn_store *store, const char *arg, struct rn_store_node *out);

/* --- users: the store has no listing call yet; read them read-only from control.db --- */
/* Every user, from the store the command already has open; reports errors itself. */
int rn_ctl_users_load(struct rn_store *store, struct rn_store_user **out, size_t *n_out);
void rn_ctl_users_free(struct rn_store_user *users, size_t n);
/* The name of user id, or "?" */
const char *rn_ctl_user_name(const struct rn_store_user *users, size_t n, int64_t id);

/* --- TLS (tls.c) --- */
/*
 * Makes a P-256 key and a self-signed certificate (CN rustynet-control, SANs: the names, as IP
 * SANs when they are addresses) and writes them to new files: the key 0600, the cert 0644.
 */
int rn_ctl_tls_create(const char *key_path, const char *cert_path, const char *const *names,
		      size_t n_names);
/*
 * The IP addresses among the certificate's names (init --hostname IP: what nodes may enroll
 * against), in order, at most max. 0, or -errno (unreadable, not a certificate) silently.
 */
int rn_ctl_tls_cert_ips(const char *cert_path, struct rn_netmap_ip *out, size_t max, size_t *n);
/* SHA-256 of the DER SubjectPublicKeyInfo of the certificate in cert_path. Prints errors. */
int rn_ctl_tls_pin(const char *cert_path, uint8_t pin[32]);

/* --- what the CLI and the admin API (admin_api.c) share: one JSON shape, one rule each --- */
/* A node as `nodes list --json` and GET /admin/v1/nodes show it (nodes.c). */
json_t *rn_ctl_node_json(const struct rn_store_node *nd, const char *user, int64_t now);
/* A user with its node count (users.c). */
json_t *rn_ctl_user_json(const struct rn_store_user *u, int nodes);
/* An auth key, never its secret (authkey.c). */
json_t *rn_ctl_authkey_json(const struct rn_store_authkey *k, const char *user, int64_t now);
/* An audit row, its details parsed (audit.c). */
json_t *rn_ctl_audit_json(const struct rn_store_audit *a);

/* What `authkey create` asks for (authkey.c). */
struct rn_ctl_authkey_req {
	const char *user; /* made if new */
	bool reusable, ephemeral;
	int64_t expires_s; /* from now; 0: never */
	const char *tags;  /* JSON array of "tag:..." */
	bool user_made;	   /* out: the user was new */
};
/*
 * Makes an auth key as `authkey create` does and writes its rnk1 text (the store's secret with
 * the server's TLS pin and netmap key) to text. err says why on failure; 0 or -errno.
 */
int rn_ctl_authkey_make(struct rn_store *store, const char *state, const char *actor,
			struct rn_ctl_authkey_req *req, int64_t now, char *text, size_t text_size,
			int64_t *id, char *err, size_t errlen);

/*
 * The node's approved routes (JSON array text) plus cidrs, each once; or (remove) without them,
 * each of which must be approved. malloc'd, or NULL with err set (bad input, out of memory).
 */
char *rn_ctl_routes_update(const char *approved, char *const *cidrs, size_t n, bool remove,
			   char *err, size_t errlen);
/* `exit approve|unapprove`: refuses a node that does not offer it or is not approved. */
int rn_ctl_exit_set(struct rn_store *store, const char *actor, const struct rn_store_node *node,
		    bool approve, int64_t now, char *err, size_t errlen);

/* Checks a policy text against the store's network as `policy check` does (policy.c): 0,
 * -EINVAL with perr (line:col), or another -errno with perr->message. notes may be NULL. */
struct rn_policy_error;
int rn_ctl_policy_check_text(struct rn_store *store, const char *text, size_t len, const char *name,
			     FILE *notes, struct rn_policy_error *perr);

/* Prints obj (stolen) as indented JSON and a newline. Returns RN_CTL_OK or RN_CTL_ERR. */
int rn_ctl_json_print(json_t *obj);
/* "2024-05-01T12:00:00Z", or "never" for 0. */
void rn_ctl_time_format(int64_t t, char *buf, size_t size);
/* A JSON array text as a value: parsed, or an empty array if it does not parse. */
json_t *rn_ctl_json_array(const char *text);

#endif
