/* SPDX-License-Identifier: MIT */
/*
 * rustynet dns inspect [--json] | dns query NAME [TYPE] [--json]: the troubleshooting commands
 * of Magic DNS. inspect asks the daemon what it serves and how the system resolver is wired;
 * query asks the resolver itself at 100.100.100.100 over UDP (TCP after a truncated answer)
 * and says which path answered: the zone (authoritative, AA set) or an upstream (forwarded).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <ldns/ldns.h>

#include "rustynet/cli.h"

#define USE	  "dns inspect [--json] | dns query NAME [TYPE] [--json]"
#define SERVICE	  "100.100.100.100"
#define TIMEOUT_S 3 /* the resolver gives upstreams 2 s */

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k)) ?: "";
}

/* The tunnel link as systemd-resolved has it: servers, search domains, routing domains. */
static void print_resolved(json_t *r)
{
	json_t *x;
	size_t i, reverse = 0;

	if (!r)
		return;
	printf("                 link %s: DNS", str(r, "link"));
	json_array_foreach(json_object_get(r, "dns"), i, x)
		printf(" %s", json_string_value(x));
	printf("%s, domains", json_array_size(json_object_get(r, "dns")) ? "" : " none");
	json_array_foreach(json_object_get(r, "domains"), i, x) {
		const char *d = json_string_value(x);
		size_t n = strlen(d);

		/* 65 reverse zones would drown the line: counted instead */
		if ((n > 13 && !strcmp(d + n - 13, ".in-addr.arpa")) ||
		    (n > 9 && !strcmp(d + n - 9, ".ip6.arpa")))
			reverse++;
		else
			printf(" %s", d);
	}
	if (reverse)
		printf(" + %zu reverse zones", reverse);
	printf(", DefaultRoute %s\n",
	       json_is_true(json_object_get(r, "default_route")) ? "yes (every name)" : "no");
}

static void print_inspect(json_t *res)
{
	json_t *x, *sys = json_object_get(res, "system"), *svc = json_object_get(res, "service");
	size_t i;

	if (json_is_false(json_object_get(res, "accept_dns")))
		printf("Magic DNS:       off on this device (rustynet up --accept-dns=false): the "
		       "system resolver is left as it was\n");
	else
		printf("Magic DNS:       %s on %s and %s\n",
		       json_is_true(json_object_get(res, "serving")) ? "serving" : "NOT serving",
		       json_string_value(json_array_get(svc, 0)),
		       json_string_value(json_array_get(svc, 1)));
	printf("Zone:            %s (this node: %s)\n", str(res, "domain"), str(res, "dns_name"));
	printf("Protected mode:  %s\n", json_is_true(json_object_get(res, "protected_mode"))
					    ? "on (an exit node is selected)"
					    : "off");
	printf("Upstreams:      ");
	json_array_foreach(json_object_get(res, "upstreams"), i, x)
		printf(" %s", json_string_value(x));
	printf("%s (from %s)\n", json_array_size(json_object_get(res, "upstreams")) ? "" : " none",
	       str(res, "upstream_source"));
	printf("System resolver: %s %s, %s\n", str(sys, "mode"), str(sys, "path"),
	       json_is_true(json_object_get(sys, "wired")) ? "pointed at Magic DNS" : "not wired");
	json_array_foreach(json_object_get(sys, "nameservers"), i, x)
		printf("                   %s\n", json_string_value(x));
	print_resolved(json_object_get(sys, "resolved"));
	printf("Records:\n");
	json_array_foreach(json_object_get(res, "records"), i, x) {
		const char *node = str(x, "node");

		printf("  %-40s %-5s %-28s %s%s\n", str(x, "name"), str(x, "type"), str(x, "value"),
		       node[0] ? node : "(extra record)",
		       !node[0]					    ? ""
		       : json_is_true(json_object_get(x, "online")) ? " online"
								    : " offline");
	}
	printf("Problems:%s\n", json_array_size(json_object_get(res, "problems")) ? "" : " none");
	json_array_foreach(json_object_get(res, "problems"), i, x)
		printf("  - %s\n", json_string_value(x));
}

static int inspect(int argc, char **argv)
{
	json_t *res = NULL;
	bool json = false;
	int rc = rn_cli_read_opts(argc, argv, "dns inspect [--json]", &json);

	if (rc >= 0)
		return rc;
	rc = rn_cli_call("dns-inspect", &res);
	if (rc)
		return rc;
	if (json)
		rn_cli_print_json(res);
	else
		print_inspect(res);
	json_decref(res);
	return RN_CLI_OK;
}

/* The resolver's reply to NAME TYPE, or NULL with the reason printed. */
static ldns_pkt *ask(const char *name, ldns_rr_type type)
{
	char full[1024];
	ldns_resolver *res = ldns_resolver_new();
	ldns_rdf *ns = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, SERVICE), *dn;
	ldns_pkt *pkt = NULL;
	ldns_status st = LDNS_STATUS_MEM_ERR;

	snprintf(full, sizeof(full), "%s%s", name, name[strlen(name) - 1] == '.' ? "" : ".");
	dn = ldns_dname_new_frm_str(full);
	if (res && ns && dn && ldns_resolver_push_nameserver(res, ns) == LDNS_STATUS_OK) {
		ldns_resolver_set_timeout(res, (struct timeval){ .tv_sec = TIMEOUT_S });
		ldns_resolver_set_retry(res, 1);
		ldns_resolver_set_fallback(res, true); /* TC: again over TCP */
		ldns_resolver_set_recursive(res, true);
		ldns_resolver_set_edns_udp_size(res, 1232);
		st = ldns_resolver_query_status(&pkt, res, dn, type, LDNS_RR_CLASS_IN, LDNS_RD);
	}
	if (!dn)
		fprintf(stderr, PROG_NAME " dns query: \"%s\" is not a DNS name\n", name);
	else if (st != LDNS_STATUS_OK || !pkt)
		fprintf(stderr,
			PROG_NAME " dns query: no answer from Magic DNS at %s: %s (is rustynetd up "
				  "and logged in? see rustynet dns inspect)\n",
			SERVICE, ldns_get_errorstr_by_id(st));
	ldns_rdf_deep_free(ns);
	ldns_rdf_deep_free(dn);
	ldns_resolver_deep_free(res);
	return dn ? pkt : NULL;
}

static int query(int argc, char **argv)
{
	const char *name = NULL, *tname = "A", *path;
	json_t *answers = json_array(), *out;
	bool json = false;
	ldns_rr_list *an;
	ldns_rr_type type;
	ldns_pkt *pkt;
	char *rc_text;
	int rcode;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return printf("Usage: " PROG_NAME " dns query NAME [TYPE] [--json]\n"), 0;
		else if (!name)
			name = argv[i];
		else
			tname = argv[i];
	}
	type = name ? ldns_get_rr_type_by_name(tname) : 0;
	if (!name || !*name || !type) {
		fprintf(stderr, PROG_NAME " dns query: %s\nUsage: " PROG_NAME " %s\n",
			name ? "unknown record type" : "name a host", USE);
		json_decref(answers);
		return RN_CLI_USAGE;
	}
	pkt = ask(name, type);
	if (!pkt) {
		json_decref(answers);
		return RN_CLI_ERR;
	}
	rcode = ldns_pkt_get_rcode(pkt);
	path = ldns_pkt_aa(pkt) ? "zone" : rcode == LDNS_RCODE_SERVFAIL ? "none" : "upstream";
	an = ldns_pkt_answer(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		char *t = ldns_rr2str(ldns_rr_list_rr(an, i));

		if (t) {
			t[strcspn(t, "\n")] = '\0';
			json_array_append_new(answers, json_string(t));
		}
		free(t);
	}
	rc_text = ldns_pkt_rcode2str((ldns_pkt_rcode)rcode);
	out = json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", name, "type", tname, "rcode",
			rc_text ? rc_text : "?", "path", path, "answers", answers);
	if (json) {
		rn_cli_print_json(out);
	} else {
		size_t i;
		json_t *x;

		printf("%s %s: %s, from %s\n", name, tname, rc_text ? rc_text : "?",
		       !strcmp(path, "zone")   ? "the Magic DNS zone"
		       : !strcmp(path, "none") ? "nobody (no upstream answered: SERVFAIL)"
					       : "an upstream (forwarded)");
		json_array_foreach(answers, i, x)
			printf("  %s\n", json_string_value(x));
	}
	free(rc_text);
	json_decref(out);
	ldns_pkt_free(pkt);
	return rcode == LDNS_RCODE_NOERROR ? RN_CLI_OK : RN_CLI_ERR;
}

int rn_cli_dns_main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "inspect"))
		return inspect(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "query"))
		return query(argc - 1, argv + 1);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: " PROG_NAME " " USE "\n");
		return RN_CLI_OK;
	}
	fprintf(stderr, PROG_NAME " dns: say inspect or query\nUsage: " PROG_NAME " " USE "\n");
	return RN_CLI_USAGE;
}
