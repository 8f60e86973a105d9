/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control dns upstreams set IP[,IP...] | clear | get [--json]`: the resolvers every
 * node's Magic DNS forwards names outside the network to. Stored as the "dns_upstreams"
 * setting (audited) and sent in every netmap's dns.resolvers, so a change reaches the nodes
 * like any other. In protected mode (an exit node selected) nodes use only these.
 * `dns records add NAME A|AAAA IP | remove NAME [TYPE [IP]] | list [--json] | clear`: extra
 * names every node answers, the "dns_records" setting, sent in dns.records the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rustynet-control/ctl.h"

#define USE "dns upstreams set IP[,IP...] | dns upstreams clear | dns upstreams get [--json]"
#define USE_RECORDS                                                                                \
	"dns records add NAME A|AAAA IP | dns records remove NAME [A|AAAA [IP]] | "                \
	"dns records list [--json] | dns records clear"

static int set(struct rn_ctl *ctl, const char *value)
{
	struct rn_store_ip ips[RN_STORE_DNS_UPSTREAMS_MAX];
	char canon[RN_STORE_DNS_UPSTREAMS_TEXT_MAX], err[160];
	struct rn_store *store = NULL;
	size_t n;
	int ret;

	if (rn_store_dns_upstreams_parse(value, ips, RN_STORE_DNS_UPSTREAMS_MAX, &n, err,
					 sizeof(err))) {
		fprintf(stderr, "%s dns upstreams set: %s\n", ctl->prog, err);
		return RN_CTL_USAGE;
	}
	rn_store_dns_upstreams_format(ips, n, canon, sizeof(canon));
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_setting_set(store, ctl->actor, "dns_upstreams", canon, time(NULL));
	if (ret) {
		ret = rn_ctl_store_error(store, "setting the DNS upstreams", ret);
	} else {
		printf("DNS upstreams: %s (nodes get them with their next netmap)\n",
		       n ? canon : "none");
		ret = RN_CTL_OK;
	}
	rn_store_close(store);
	return ret;
}

static int get(struct rn_ctl *ctl, bool json)
{
	char text[RN_STORE_DNS_UPSTREAMS_TEXT_MAX] = "";
	struct rn_store *store = NULL;
	int ret;

	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_setting_get(store, "dns_upstreams", text, sizeof(text));
	if (ret && ret != -ENOENT) {
		ret = rn_ctl_store_error(store, "reading the DNS upstreams", ret);
		goto out;
	}
	if (json) {
		json_t *a = json_array(), *o;
		char *save = NULL;

		for (char *p = strtok_r(text, ",", &save); p; p = strtok_r(NULL, ",", &save))
			json_array_append_new(a, json_string(p));
		o = json_pack("{s:o}", "upstreams", a);
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s\n", text[0] ? text : "none");
	}
	ret = RN_CTL_OK;
out:
	rn_store_close(store);
	return ret;
}

static int upstreams(struct rn_ctl *ctl, int argc, char **argv)
{
	bool json = argc == 3 && !strcmp(argv[2], "--json");

	if (argc == 3 && !strcmp(argv[1], "set"))
		return set(ctl, argv[2]);
	if (argc == 2 && !strcmp(argv[1], "clear"))
		return set(ctl, "");
	if ((argc == 2 || json) && !strcmp(argv[1], "get"))
		return get(ctl, json);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		rn_ctl_print_help(ctl);
		return RN_CTL_OK;
	}
	return rn_ctl_usage_error(ctl, "say set IP[,IP...], clear or get");
}

/* The stored records, read into v (RN_STORE_DNS_RECORDS_MAX); *n 0 when none were set. */
static int records_load(struct rn_ctl *ctl, struct rn_store *store, struct rn_netmap_dns_record *v,
			size_t *n)
{
	char *text = malloc(RN_STORE_DNS_RECORDS_TEXT_MAX), err[160];
	int ret =
	    text ? rn_store_setting_get(store, "dns_records", text, RN_STORE_DNS_RECORDS_TEXT_MAX)
		 : -ENOMEM;

	*n = 0;
	if (ret == -ENOENT)
		ret = 0;
	else if (ret)
		ret = rn_ctl_store_error(store, "reading the DNS records", ret);
	else if (rn_store_dns_records_parse(text, v, RN_STORE_DNS_RECORDS_MAX, n, err,
					    sizeof(err))) {
		fprintf(stderr, "%s dns records: the stored records do not parse: %s\n", ctl->prog,
			err);
		ret = RN_CTL_ERR;
	}
	free(text);
	return ret;
}

static int records_save(struct rn_ctl *ctl, struct rn_store *store,
			const struct rn_netmap_dns_record *v, size_t n)
{
	char *text = malloc(RN_STORE_DNS_RECORDS_TEXT_MAX);
	int ret;

	if (!text)
		return rn_ctl_store_error(store, "saving the DNS records", -ENOMEM);
	rn_store_dns_records_format(v, n, text, RN_STORE_DNS_RECORDS_TEXT_MAX);
	ret = rn_store_setting_set(store, ctl->actor, "dns_records", text, time(NULL));
	free(text);
	return ret ? rn_ctl_store_error(store, "saving the DNS records", ret) : 0;
}

/* NAME as given, or NAME.DOMAIN when it has no dot: "printer" is printer.rustynet. */
static void records_qualify(struct rn_store *store, const char *name, char *out, size_t size)
{
	char domain[RN_STORE_LABEL_MAX + 1] = "";

	if (strchr(name, '.') || rn_store_setting_get(store, "domain", domain, sizeof(domain)))
		snprintf(out, size, "%s", name);
	else
		snprintf(out, size, "%s.%s", name, domain);
}

static int records_print(struct rn_ctl *ctl, bool json)
{
	struct rn_netmap_dns_record *v = calloc(RN_STORE_DNS_RECORDS_MAX, sizeof(*v));
	struct rn_store *store = NULL;
	json_t *a;
	size_t n = 0;
	int ret;

	if (!v || rn_ctl_store_open(ctl, &store)) {
		free(v);
		return RN_CTL_ERR;
	}
	ret = records_load(ctl, store, v, &n);
	rn_store_close(store);
	if (ret) {
		free(v);
		return ret;
	}
	a = json_array();
	for (size_t i = 0; i < n; i++) {
		char one[RN_NETMAP_DNS_NAME_MAX + 64], *type, *ip;

		rn_store_dns_record_format(&v[i], one, sizeof(one));
		if (!json) {
			printf("%s\n", one);
			continue;
		}
		type = strchr(one, ' ');
		*type++ = '\0';
		ip = strchr(type, ' ');
		*ip++ = '\0';
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s}", "name", one, "type", type, "value", ip));
	}
	if (json) {
		json_t *o = json_pack("{s:o}", "records", a);

		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		if (!n)
			printf("none\n");
		json_decref(a);
	}
	free(v);
	return RN_CTL_OK;
}

/* add (argc 5) or remove (argc 3-5) one or more records, then save the list. */
static int records_change(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_netmap_dns_record *v = calloc(RN_STORE_DNS_RECORDS_MAX, sizeof(*v)), want;
	bool add = !strcmp(argv[1], "add");
	char name[RN_NETMAP_DNS_NAME_MAX + 2], err[200];
	struct rn_store *store = NULL;
	size_t n = 0, k = 0, gone = 0;
	int ret;

	if (!v || rn_ctl_store_open(ctl, &store)) {
		free(v);
		return RN_CTL_ERR;
	}
	records_qualify(store, argv[2], name, sizeof(name));
	/* remove takes a partial record: a stand-in type and address where they are not given */
	ret = rn_store_dns_record_parse(
	    name, argc > 3 ? argv[3] : "A",
	    argc > 4 ? argv[4]
		     : (argc > 3 && !strcasecmp(argv[3], "AAAA") ? "2001:db8::1" : "192.0.2.1"),
	    &want, err, sizeof(err));
	if (ret) {
		ret = rn_ctl_usage_error(ctl, "%s", err);
		goto out;
	}
	ret = records_load(ctl, store, v, &n);
	if (ret)
		goto out;
	for (size_t i = 0; i < n; i++) {
		bool match = !strcmp(v[i].name, want.name) &&
			     (argc < 4 || v[i].type == want.type) &&
			     (argc < 5 || rn_store_dns_record_same(&v[i], &want));

		if (add && rn_store_dns_record_same(&v[i], &want)) {
			printf("%s %s is already there\n", want.name, argv[3]);
			ret = RN_CTL_OK;
			goto out;
		}
		if (!add && match)
			gone++;
		else
			v[k++] = v[i];
	}
	if (add && n == RN_STORE_DNS_RECORDS_MAX) {
		fprintf(stderr, "%s dns records add: at most %d records\n", ctl->prog,
			RN_STORE_DNS_RECORDS_MAX);
		ret = RN_CTL_ERR;
		goto out;
	}
	if (!add && !gone) {
		fprintf(stderr, "%s dns records remove: no such record for %s\n", ctl->prog,
			want.name);
		ret = RN_CTL_ERR;
		goto out;
	}
	if (add)
		v[k++] = want;
	ret = records_save(ctl, store, v, k);
	if (!ret && add)
		printf("Added %s %s %s (nodes answer it with their next netmap)\n", want.name,
		       argv[3], argv[4]);
	else if (!ret)
		printf("Removed %zu record(s) of %s\n", gone, want.name);
out:
	rn_store_close(store);
	free(v);
	return ret;
}

static int records(struct rn_ctl *ctl, int argc, char **argv)
{
	bool json = argc == 3 && !strcmp(argv[2], "--json");

	if (argc == 5 && !strcmp(argv[1], "add"))
		return records_change(ctl, argc, argv);
	if (argc >= 3 && argc <= 5 && !strcmp(argv[1], "remove"))
		return records_change(ctl, argc, argv);
	if ((argc == 2 || json) && !strcmp(argv[1], "list"))
		return records_print(ctl, json);
	if (argc == 2 && !strcmp(argv[1], "clear")) {
		struct rn_store *store = NULL;
		int ret;

		if (rn_ctl_store_open(ctl, &store))
			return RN_CTL_ERR;
		ret = records_save(ctl, store, NULL, 0);
		rn_store_close(store);
		if (!ret)
			printf("DNS records: none\n");
		return ret ? ret : RN_CTL_OK;
	}
	if (argc == 2 && rn_ctl_is_help(argv[1])) {
		rn_ctl_print_help(ctl);
		return RN_CTL_OK;
	}
	return rn_ctl_usage_error(ctl, "say add NAME A|AAAA IP, remove NAME [A|AAAA [IP]], "
				       "list [--json] or clear");
}

static const struct rn_ctl_verb rn_dns_verbs[] = {
	{ "upstreams", upstreams, USE,
	  "set: the resolvers nodes forward names outside the network to (at most 8, unicast).\n"
	  "clear: none (nodes without an exit node then use their own resolvers).\n"
	  "get: prints them.\n" },
	{ "records", records, USE_RECORDS,
	  "add: an extra name every node's Magic DNS answers (A: IPv4, AAAA: IPv6); a NAME\n"
	  "without a dot is in the network's domain (printer: printer.rustynet).\n"
	  "remove: its records (of that type, or that one record).\n"
	  "list: prints them; clear: none.\n" },
	{ 0 },
};

int rn_ctl_dns_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "dns", rn_dns_verbs, argc, argv);
}
