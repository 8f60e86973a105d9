/* SPDX-License-Identifier: MIT */
/*
 * The "dns_records" setting: extra names every node's Magic DNS answers (`rustynet-control dns
 * records add NAME A|AAAA IP`), carried in each netmap's dns.records. Stored as canonical text
 * "NAME TYPE IP" entries joined by ","; "" means none. Pure parsing and printing, shared by the
 * store (which refuses bad values), the mapper and the admin command.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/store.h"

int rn_store_dns_record_parse(const char *name, const char *type, const char *ip,
			      struct rn_netmap_dns_record *out, char *err, size_t errlen)
{
	size_t len = strlen(name);

	memset(out, 0, sizeof(*out));
	if (len && name[len - 1] == '.')
		len--;
	if (len > RN_NETMAP_DNS_NAME_MAX) {
		snprintf(err, errlen, "the name is longer than %d bytes", RN_NETMAP_DNS_NAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		out->name[i] = (char)tolower((unsigned char)name[i]);
	if (!rn_netmap_is_dns_name(out->name)) {
		snprintf(
		    err, errlen,
		    "\"%.64s\" is not a DNS name (labels of letters, digits and -, dot-separated)",
		    name);
		return -EINVAL;
	}
	if (!strcasecmp(type, "A"))
		out->type = RN_NETMAP_RR_A;
	else if (!strcasecmp(type, "AAAA"))
		out->type = RN_NETMAP_RR_AAAA;
	else {
		snprintf(err, errlen, "type \"%.16s\": say A or AAAA", type);
		return -EINVAL;
	}
	out->value.family = out->type == RN_NETMAP_RR_A ? AF_INET : AF_INET6;
	if (inet_pton(out->value.family, ip, out->value.addr) != 1 ||
	    !rn_store_ip_unicast(out->value.family, out->value.addr)) {
		snprintf(err, errlen, "\"%.64s\" is not a unicast %s address", ip,
			 out->type == RN_NETMAP_RR_A ? "IPv4 (type A)" : "IPv6 (type AAAA)");
		return -EINVAL;
	}
	return 0;
}

bool rn_store_dns_record_same(const struct rn_netmap_dns_record *a,
			      const struct rn_netmap_dns_record *b)
{
	return !strcmp(a->name, b->name) && a->type == b->type &&
	       a->value.family == b->value.family && !memcmp(a->value.addr, b->value.addr, 16);
}

int rn_store_dns_records_parse(const char *text, struct rn_netmap_dns_record *out, size_t max,
			       size_t *n, char *err, size_t errlen)
{
	const char *p = text;

	*n = 0;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char one[RN_NETMAP_DNS_NAME_MAX + 64], name[256], type[8], ip[INET6_ADDRSTRLEN],
		    extra;
		int ret;

		if (*n == max) {
			snprintf(err, errlen, "at most %zu DNS records", max);
			return -EINVAL;
		}
		if (len < sizeof(one)) {
			memcpy(one, p, len);
			one[len] = '\0';
		}
		if (len >= sizeof(one) ||
		    sscanf(one, "%255s %7s %45s %c", name, type, ip, &extra) != 3) {
			snprintf(err, errlen, "\"%.*s\" is not NAME A|AAAA IP",
				 (int)(len > 64 ? 64 : len), p);
			return -EINVAL;
		}
		ret = rn_store_dns_record_parse(name, type, ip, &out[*n], err, errlen);
		if (ret)
			return ret;
		for (size_t i = 0; i < *n; i++) {
			if (rn_store_dns_record_same(&out[i], &out[*n])) {
				snprintf(err, errlen, "\"%.*s\" is listed twice", (int)len, p);
				return -EINVAL;
			}
		}
		(*n)++;
		p = comma ? comma + 1 : NULL;
		if (p && !*p) {
			snprintf(err, errlen,
				 "a trailing comma: give NAME TYPE IP[,NAME TYPE IP...]");
			return -EINVAL;
		}
	}
	return 0;
}

void rn_store_dns_record_format(const struct rn_netmap_dns_record *r, char *out, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(r->value.family, r->value.addr, a, sizeof(a));
	snprintf(out, size, "%s %s %s", r->name, r->type == RN_NETMAP_RR_A ? "A" : "AAAA", a);
}

void rn_store_dns_records_format(const struct rn_netmap_dns_record *v, size_t n, char *out,
				 size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++) {
		char one[RN_NETMAP_DNS_NAME_MAX + 64];

		rn_store_dns_record_format(&v[i], one, sizeof(one));
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "", one);
	}
}
