/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control init`: a new state dir with everything a control server needs: the store,
 * the netmap signing key, the TLS key and certificate, and the starter policy. Never touches a
 * state dir that has anything in it: a lost signing key or certificate would cut off every node.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "netmap/netmap.h"
#include "policy/policy.h"
#include "rustynet-control/challenge.h"
#include "rustynet-control/ctl.h"

enum { RN_INIT_MAX_NAMES = 32 };

static const struct rn_ctl_verb rn_init_verb = {
	"init",
	NULL,
	"init [--state DIR] [--domain NAME] [--hostname NAME]...",
	"Creates the state dir DIR (mode 0700) and in it:\n"
	"  control.db                  the store: users, auth keys, nodes, policy, audit log\n"
	"  " RN_CTL_SIGN_KEY "          the Ed25519 key that signs netmaps (0600), and\n"
	"  " RN_CTL_SIGN_PUB "          its public key\n"
	"  " RN_CTL_TLS_KEY ", " RN_CTL_TLS_CERT "  the HTTPS API's key (0600) and self-signed "
	"certificate\n"
	"  " RN_CTL_ENROLL_KEY "                  the X25519 key enrolling nodes prove their keys "
	"to (0600)\n"
	"and installs the starter policy, which lets every node reach every other node.\n"
	"Refuses a DIR that exists and is not empty.\n\n"
	"  --domain NAME     the DNS domain of the network (default \"rustynet\")\n"
	"  --hostname NAME   a name or address for the certificate; repeat for several\n"
	"                    (default: this machine's hostname and localhost)\n",
};

/* A name that is safe in the SAN list: a DNS name (letters, digits, '-', '.', '*') or an IP. */
static bool rn_init_name_ok(const char *s)
{
	unsigned char addr[16];
	size_t len = strlen(s);

	if (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1)
		return true;
	if (!len || len > 253 || s[0] == '.' || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.*") ==
	       len;
}

/* Makes dir 0700, or takes an existing empty one. */
static int rn_init_dir(const char *dir)
{
	struct dirent *de;
	DIR *d;

	if (mkdir(dir, 0700) == 0)
		return chmod(dir, 0700) < 0 ? -errno : 0;
	if (errno != EEXIST) {
		fprintf(stderr, "rustynet-control init: cannot create \"%s\": %s\n", dir,
			strerror(errno));
		return -errno;
	}
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "rustynet-control init: \"%s\" exists and cannot be read: %s\n",
			dir, strerror(errno));
		return -errno;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			break;
	closedir(d);
	if (de) {
		fprintf(stderr,
			"rustynet-control init: \"%s\" already holds state; refusing to "
			"overwrite it (its keys are what nodes trust). Use another --state "
			"DIR, or remove this one if it is really unused.\n",
			dir);
		return -EEXIST;
	}
	return chmod(dir, 0700) < 0 ? -errno : 0;
}

static int rn_init_sign_key(const char *dir, char key_id[RN_NETMAP_KEY_ID_STRLEN])
{
	uint8_t priv[RN_NETMAP_KEY_LEN], pub[RN_NETMAP_KEY_LEN];
	char *kpath = NULL, *ppath = NULL, err[256] = "";
	int ret;

	ret = rn_netmap_sign_key_generate(priv, pub);
	if (ret)
		goto out;
	ret = -ENOMEM;
	if (asprintf(&kpath, "%s/%s", dir, RN_CTL_SIGN_KEY) < 0 ||
	    asprintf(&ppath, "%s/%s", dir, RN_CTL_SIGN_PUB) < 0) {
		kpath = ppath = NULL;
		goto out;
	}
	ret = rn_netmap_key_save(kpath, RN_NETMAP_KEY_PRIVATE, priv, err, sizeof(err));
	if (!ret)
		ret = rn_netmap_key_save(ppath, RN_NETMAP_KEY_PUBLIC, pub, err, sizeof(err));
	if (!ret)
		rn_netmap_key_id(pub, key_id);
out:
	if (ret)
		fprintf(stderr, "rustynet-control init: making the netmap signing key: %s\n",
			err[0] ? err : strerror(-ret));
	OPENSSL_cleanse(priv, sizeof(priv));
	free(kpath);
	free(ppath);
	return ret;
}

static int rn_init_tls(const char *dir, const char *const *names, size_t n)
{
	char *kpath = NULL, *cpath = NULL;
	int ret = -ENOMEM;

	if (asprintf(&kpath, "%s/%s", dir, RN_CTL_TLS_KEY) < 0)
		return -ENOMEM;
	if (asprintf(&cpath, "%s/%s", dir, RN_CTL_TLS_CERT) >= 0)
		ret = rn_ctl_tls_create(kpath, cpath, names, n);
	else
		cpath = NULL;
	free(kpath);
	free(cpath);
	return ret;
}

static int rn_init_store(struct rn_ctl *ctl, const char *domain, char *dom_out, size_t size)
{
	const char *text = rn_policy_default_text();
	struct rn_store *store;
	int64_t now = time(NULL);
	int ret;

	ret = rn_ctl_store_open(ctl, &store);
	if (ret)
		return ret;
	if (domain) {
		ret = rn_store_setting_set(store, ctl->actor, "domain", domain, now);
		if (ret) {
			rn_ctl_store_error(store, "--domain", ret);
			goto out;
		}
	}
	ret = rn_store_policy_set(store, ctl->actor, text, now);
	if (ret) {
		rn_ctl_store_error(store, "installing the starter policy", ret);
		goto out;
	}
	ret = rn_store_setting_get(store, "domain", dom_out, size);
	if (ret)
		rn_ctl_store_error(store, "reading the domain", ret);
out:
	rn_store_close(store);
	return ret;
}

static int rn_init_enroll_key(const char *dir)
{
	char err[256];
	int ret = rn_challenge_key_create(dir, err, sizeof(err));

	if (ret)
		fprintf(stderr, "rustynet-control init: making the enrollment key: %s\n", err);
	return ret;
}

static void rn_init_report(const struct rn_ctl *ctl, const char *domain, const char *key_id,
			   const char *const *names, size_t n)
{
	const char *s = ctl->state;

	printf("Created the rustynet control state in %s (domain \"%s\"):\n", s, domain);
	printf("  %s/control.db              store: users, keys, nodes, policy, audit log\n", s);
	printf("  %s/%s      netmap signing key (private, 0600), key_id %s\n", s, RN_CTL_SIGN_KEY,
	       key_id);
	printf("  %s/%s      its public key\n", s, RN_CTL_SIGN_PUB);
	printf("  %s/%s             TLS key (private, 0600)\n", s, RN_CTL_TLS_KEY);
	printf("  %s/%s              enrollment key (private, 0600)\n", s, RN_CTL_ENROLL_KEY);
	printf("  %s/%s            TLS certificate for", s, RN_CTL_TLS_CERT);
	for (size_t i = 0; i < n; i++)
		printf(" %s", names[i]);
	printf("\n\nThe starter policy is installed: it lets every node reach every other node.\n"
	       "To change it, edit a copy and install it:\n"
	       "  rustynet-control --state %s policy get > policy.hujson\n"
	       "  rustynet-control --state %s policy set policy.hujson\n"
	       "Next, make an auth key for a node:\n"
	       "  rustynet-control --state %s authkey create --user NAME\n",
	       s, s, s);
}

int rn_ctl_init_main(struct rn_ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "hostname", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *names[RN_INIT_MAX_NAMES], *domain = NULL;
	char host[256], dom[RN_STORE_NAME_MAX + 1], key_id[RN_NETMAP_KEY_ID_STRLEN];
	size_t n = 0;
	int c;

	ctl->verb = &rn_init_verb;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			domain = optarg;
			break;
		case 'n':
			if (!rn_init_name_ok(optarg))
				return rn_ctl_usage_error(ctl,
							  "--hostname \"%s\" is not a DNS "
							  "name or an IP address",
							  optarg);
			if (n == RN_INIT_MAX_NAMES)
				return rn_ctl_usage_error(ctl, "more than %d --hostname",
							  RN_INIT_MAX_NAMES);
			names[n++] = optarg;
			break;
		case 'h':
			rn_ctl_print_help(ctl);
			return RN_CTL_OK;
		default:
			return rn_ctl_usage_error(ctl, "unknown option or missing value \"%s\"",
						  argv[optind - 1]);
		}
	}
	if (optind < argc)
		return rn_ctl_usage_error(ctl, "unexpected argument \"%s\"", argv[optind]);
	if (domain && (!domain[0] || strlen(domain) > RN_STORE_LABEL_MAX ||
		       strspn(domain, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(domain)))
		return rn_ctl_usage_error(ctl,
					  "--domain \"%s\" is not one DNS label: use a-z, 0-9 "
					  "and '-', at most 63",
					  domain);
	if (!n) {
		host[sizeof(host) - 1] = '\0';
		if (gethostname(host, sizeof(host) - 1) == 0 && rn_init_name_ok(host) &&
		    strcmp(host, "localhost"))
			names[n++] = host;
		names[n++] = "localhost";
	}
	if (rn_init_dir(ctl->state))
		return RN_CTL_ERR;
	if (rn_init_store(ctl, domain, dom, sizeof(dom)) || rn_init_sign_key(ctl->state, key_id) ||
	    rn_init_tls(ctl->state, names, n) || rn_init_enroll_key(ctl->state)) {
		fprintf(stderr,
			"rustynet-control init: %s is incomplete; remove it and run init "
			"again\n",
			ctl->state);
		return RN_CTL_ERR;
	}
	rn_init_report(ctl, dom, key_id, names, n);
	return RN_CTL_OK;
}
