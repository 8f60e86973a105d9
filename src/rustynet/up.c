/* SPDX-License-Identifier: MIT */
/*
 * rustynet up: logs this node in to a control server with an auth key (the daemon enrolls,
 * applies the first netmap and keeps polling), or, without flags, says whether it is up.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/authkey_format.h"
#include "ipc/ipc.h"
#include "rustynet/authkey_input.h"
#include "rustynet/cli.h"

#define UP_USAGE                                                                                   \
	"up [--server URL (--auth-key-file FILE | --auth-key - | --auth-key KEY)\n"                \
	"          [--hostname NAME]] [--advertise-exit-node[=false]]\n"                           \
	"          [--advertise-routes CIDR[,CIDR...]] [--accept-dns[=false]] [--json]\n"          \
	"  --auth-key-file FILE  read the key from FILE (mode 600; one line)\n"                    \
	"  --auth-key -          read the key from standard input (one line)\n"                    \
	"  --auth-key KEY        the key itself: in shell history, and in ps until up starts\n"    \
	"  --accept-dns=false    Magic DNS off on this device: the system resolver is left as\n"   \
	"                        it was (kept across restarts; --accept-dns turns it on again)"

/* The key's text with room for a "\r" before its newline; zeroed before up returns. */
#define UP_KEY_BUF (RN_AUTHKEY_STRSIZE + 1)

struct up_opts {
	const char *server, *key, *hostname;
	const char *key_file; /* --auth-key-file, or "-" for --auth-key - */
	char *key_arg;	      /* the argv string of --auth-key KEY, zeroed once copied */
	const char *exit;     /* NULL: unchanged; "true" / "false" */
	const char *routes;   /* NULL: unchanged; "" clears */
	const char *dns;      /* --accept-dns: NULL unchanged; "true" / "false" */
	bool json;
};

/* --name VALUE or --name=VALUE at argv[*i]; advances *i past it. */
static bool opt_value(int argc, char **argv, int *i, const char *name, const char **out)
{
	size_t n = strlen(name);

	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return true;
	}
	if (strcmp(argv[*i], name))
		return false;
	if (*i + 1 >= argc) {
		*out = NULL;
		return true;
	}
	*out = argv[++*i];
	return true;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG_NAME " up: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: " PROG_NAME " " UP_USAGE "\n");
	return RN_CLI_USAGE;
}

static int parse(int argc, char **argv, struct up_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *v = "";

		if (!strcmp(argv[i], "--json")) {
			o->json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: " PROG_NAME " " UP_USAGE "\n");
			return RN_CLI_OK;
		} else if (opt_value(argc, argv, &i, "--server", &v)) {
			o->server = v;
		} else if (opt_value(argc, argv, &i, "--auth-key-file", &v)) {
			if (o->key || o->key_file)
				return usage_error("%s", "give the auth key once: --auth-key-file, "
							 "--auth-key - or --auth-key KEY");
			o->key_file = v;
		} else if (opt_value(argc, argv, &i, "--auth-key", &v)) {
			if (o->key || o->key_file)
				return usage_error("%s", "give the auth key once: --auth-key-file, "
							 "--auth-key - or --auth-key KEY");
			if (v && !strcmp(v, "-"))
				o->key_file = "-";
			else
				o->key_arg = (char *)(o->key = v);
		} else if (opt_value(argc, argv, &i, "--hostname", &v)) {
			o->hostname = v;
		} else if (!strcmp(argv[i], "--advertise-exit-node")) {
			o->exit = "true";
		} else if (!strncmp(argv[i], "--advertise-exit-node=", 22)) {
			o->exit = argv[i] + 22;
			if (strcmp(o->exit, "true") && strcmp(o->exit, "false"))
				return usage_error("--advertise-exit-node takes =true or =false, "
						   "not \"%s\"",
						   o->exit);
		} else if (!strcmp(argv[i], "--accept-dns")) {
			o->dns = "true";
		} else if (!strncmp(argv[i], "--accept-dns=", 13)) {
			o->dns = argv[i] + 13;
			if (strcmp(o->dns, "true") && strcmp(o->dns, "false"))
				return usage_error("--accept-dns takes =true or =false, not \"%s\"",
						   o->dns);
		} else if (opt_value(argc, argv, &i, "--advertise-routes", &v)) {
			o->routes = v;
		} else {
			return usage_error("unexpected argument \"%s\"", argv[i]);
		}
		if (!v)
			return usage_error("%s needs a value", argv[i]);
	}
	return -1;
}

/* "CIDR,CIDR" into a JSON array, each checked; NULL (said why) when one is bad. */
static json_t *routes_arg(const char *list)
{
	json_t *a = json_array();
	char buf[4096], *save = NULL, *tok;

	if (strlen(list) >= sizeof(buf)) {
		usage_error("%s", "--advertise-routes is too long");
		json_decref(a);
		return NULL;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); a && tok; tok = strtok_r(NULL, ",", &save)) {
		if (!rn_cli_cidr_ok("up", tok)) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, json_string(tok));
	}
	return a;
}

/*
 * Brings the key into buf (UP_KEY_BUF bytes) from where it was given, and zeroes the argv copy
 * of --auth-key KEY so ps shows it no longer. -1 to go on, or an exit code.
 */
static int load_key(struct up_opts *o, char *buf)
{
	char err[512];
	int r;

	if (o->key_arg) {
		snprintf(buf, UP_KEY_BUF, "%s", o->key_arg);
		explicit_bzero(o->key_arg, strlen(o->key_arg));
		o->key = buf;
		return -1;
	}
	if (!o->key_file)
		return -1;
	if (!strcmp(o->key_file, "-"))
		r = rn_cli_authkey_read_fd(STDIN_FILENO, "standard input", buf, UP_KEY_BUF, err,
					   sizeof(err));
	else
		r = rn_cli_authkey_read_file(o->key_file, buf, UP_KEY_BUF, err, sizeof(err));
	if (r) {
		fprintf(stderr, PROG_NAME " up: %s\n", err);
		return r == -ENODATA || r == -EMSGSIZE || r == -EINVAL ? RN_CLI_USAGE : RN_CLI_ERR;
	}
	o->key = buf;
	return -1;
}

/* Which flags go together: before the key is read, so a bad line never waits on stdin. */
static int check_flags(const struct up_opts *o)
{
	if (!o->server != !(o->key || o->key_file))
		return usage_error("%s", "--server and an auth key (--auth-key-file FILE, "
					 "--auth-key - or --auth-key KEY) go together");
	if (!o->server && o->hostname)
		return usage_error("%s", "--hostname needs --server and an auth key");
	return -1;
}

/* Checks what can be checked here, so a typo is reported before the daemon is asked. */
static int check(struct up_opts *o, char *host, size_t hostlen)
{
	struct rn_authkey key;
	char why[256];

	if (!o->server)
		return -1;
	if (strncmp(o->server, "https://", 8) || !o->server[8])
		return usage_error("--server \"%s\" must be an https:// URL (the control protocol "
				   "runs over HTTPS only)",
				   o->server);
	if (!rn_authkey_parse(o->key, &key, why, sizeof(why))) {
		fprintf(stderr, PROG_NAME " up: the auth key is not usable: %s\n", why);
		explicit_bzero(&key, sizeof(key));
		return RN_CLI_USAGE;
	}
	explicit_bzero(&key, sizeof(key));
	if (!o->hostname) {
		if (gethostname(host, hostlen) < 0 || !host[0])
			return usage_error("%s",
					   "cannot read this host's name: pass --hostname NAME");
		host[hostlen - 1] = '\0';
		o->hostname = host;
	}
	if (!o->hostname[0] || strlen(o->hostname) > 255)
		return usage_error("--hostname \"%s\" must be 1-255 bytes", o->hostname);
	return -1;
}

static void print_result(const json_t *res, bool json)
{
	const json_t *self = json_object_get(res, "self");
	const char *server = json_string_value(json_object_get(res, "server"));

	if (json) {
		rn_cli_print_json(res);
		return;
	}
	if (json_is_true(json_object_get(res, "already")))
		printf("already up: ");
	if (!json_is_object(self)) {
		printf("logged in to %s; waiting for the first network map\n", server);
		return;
	}
	printf("logged in as %s (%s, %s) to %s\n",
	       json_string_value(json_object_get(self, "dns_name")),
	       json_string_value(json_object_get(self, "ipv4")),
	       json_string_value(json_object_get(self, "ipv6")), server);
}

static int up(struct up_opts *o, char *keybuf)
{
	static char host[HOST_NAME_MAX + 1]; /* o->hostname may point here after we return */
	json_t *args = NULL, *res = NULL;
	int rc;

	rc = check(o, host, sizeof(host));
	if (rc >= 0)
		return rc;
	if (o->server)
		args = json_pack("{s:s, s:s, s:s}", "server", o->server, "auth_key", o->key,
				 "hostname", o->hostname);
	explicit_bzero(keybuf, UP_KEY_BUF); /* the request holds the only copy now */
	o->key = NULL;
	if (o->dns) {
		if (!args)
			args = json_object();
		json_object_set_new(args, "accept_dns", json_boolean(!strcmp(o->dns, "true")));
	}
	if (o->exit || o->routes) {
		json_t *routes = o->routes ? routes_arg(o->routes) : NULL;

		if (o->routes && !routes) {
			rn_ipc_json_wipe(args);
			json_decref(args);
			return RN_CLI_USAGE;
		}
		if (!args)
			args = json_object();
		if (o->exit)
			json_object_set_new(args, "advertise_exit",
					    json_boolean(!strcmp(o->exit, "true")));
		if (routes)
			json_object_set_new(args, "advertise_routes", routes);
	}
	/* rn_ipc_call zeroes the request's strings and the frame it sent */
	rc = rn_cli_call_args("up", args, RN_CLI_SLOW_TIMEOUT_MS, &res);
	if (!rc)
		print_result(res, o->json);
	json_decref(res);
	return rc;
}

int rn_cli_up_main(int argc, char **argv)
{
	struct up_opts o = { 0 };
	char keybuf[UP_KEY_BUF];
	int rc;

	explicit_bzero(keybuf, sizeof(keybuf));
	rc = parse(argc, argv, &o);
	if (rc < 0)
		rc = check_flags(&o);
	if (rc < 0)
		rc = load_key(&o, keybuf);
	if (rc < 0)
		rc = up(&o, keybuf);
	explicit_bzero(keybuf, sizeof(keybuf));
	if (o.key_arg) /* also when parse or load failed before the copy */
		explicit_bzero(o.key_arg, strlen(o.key_arg));
	return rc;
}
