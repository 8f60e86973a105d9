/* SPDX-License-Identifier: MIT */
/*
 * systemd-resolved integration (see resolved.h). The calls are resolved's Manager methods
 * SetLinkDNS, SetLinkDomains, SetLinkDefaultRoute, SetLinkLLMNR, SetLinkMulticastDNS,
 * SetLinkDNSSEC, SetLinkDNSOverTLS and RevertLink; the read-back is the Link object's DNS,
 * Domains and DefaultRoute properties. resolved authorizes them by our CAP_NET_ADMIN.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>

#include "rustynetd/resolved.h"

#define BUS_PATH      "/org/freedesktop/resolve1"
#define BUS_MANAGER   "org.freedesktop.resolve1.Manager"
#define BUS_LINK      "org.freedesktop.resolve1.Link"
#define MESH_V4_FIRST 64 /* 100.64.0.0/10: 100.64.x.x to 100.127.x.x */
#define MESH_V4_LAST  127

struct rn_resolved {
	sd_bus *bus;
};

/* Whether text has a line "KEY ... WORD ..." (WORD a whole word; '#' starts a comment). */
static bool line_has(const char *text, const char *key, const char *word, const char *seps)
{
	size_t kl = strlen(key), wl = strlen(word);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *end = strchr(l, '\n'), *hash, *p;

		end = end ? end : l + strlen(l);
		hash = memchr(l, '#', (size_t)(end - l));
		end = hash ? hash : end;
		while (l < end && (*l == ' ' || *l == '\t'))
			l++;
		if ((size_t)(end - l) < kl || strncmp(l, key, kl))
			continue;
		for (p = l + kl; p + wl <= end; p++) {
			bool starts = strchr(seps, p[-1]) != NULL;
			bool ends = p + wl == end || strchr(seps, p[wl]);

			if (starts && ends && !strncmp(p, word, wl))
				return true;
		}
	}
	return false;
}

bool rn_resolved_fronts_system(const char *resolv_conf, const char *nsswitch)
{
	if (resolv_conf && (line_has(resolv_conf, "nameserver", "127.0.0.53", " \t") ||
			    line_has(resolv_conf, "nameserver", "127.0.0.54", " \t")))
		return true;
	/* "hosts: files resolve [!UNAVAIL=return] dns" */
	return nsswitch && line_has(nsswitch, "hosts:", "resolve", " \t]");
}

static int add_domain(struct rn_resolved_link *l, const char *name, bool routing)
{
	struct rn_resolved_domain *d;

	if (l->n_domains == RN_RESOLVED_MAX_DOMAINS)
		return -ENOSPC;
	d = &l->domains[l->n_domains];
	if (snprintf(d->name, sizeof(d->name), "%s", name) >= (int)sizeof(d->name))
		return -ENAMETOOLONG;
	d->routing = routing;
	l->n_domains++;
	return 0;
}

int rn_resolved_link_for(const struct rn_netmap *m, bool protected_mode,
			 struct rn_resolved_link *out)
{
	char name[RN_RESOLVED_DOMAIN_MAX];
	size_t n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->dns[0].family = AF_INET;
	inet_pton(AF_INET, "100.100.100.100", out->dns[0].addr);
	out->n_dns = 1;
	r = add_domain(out, m->domain, false); /* search: `ping nas` works */
	for (int x = MESH_V4_FIRST; !r && x <= MESH_V4_LAST; x++) {
		snprintf(name, sizeof(name), "%d.100.in-addr.arpa", x);
		r = add_domain(out, name, true);
	}
	for (int i = 5; i >= 0; i--) { /* the /48, nibbles reversed */
		n += (size_t)snprintf(name + n, sizeof(name) - n, "%x.%x.", m->self.ipv6[i] & 0xf,
				      m->self.ipv6[i] >> 4);
	}
	snprintf(name + n, sizeof(name) - n, "ip6.arpa");
	if (!r)
		r = add_domain(out, name, true);
	if (!r && protected_mode)
		r = add_domain(out, ".", true);
	out->default_route = protected_mode;
	return r;
}

static bool has_domain(const struct rn_resolved_link *l, const struct rn_resolved_domain *d)
{
	for (size_t i = 0; i < l->n_domains; i++)
		if (l->domains[i].routing == d->routing && !strcmp(l->domains[i].name, d->name))
			return true;
	return false;
}

bool rn_resolved_link_equal(const struct rn_resolved_link *a, const struct rn_resolved_link *b)
{
	if (a->n_dns != b->n_dns || a->n_domains != b->n_domains ||
	    a->default_route != b->default_route)
		return false;
	for (size_t i = 0; i < a->n_dns; i++)
		if (a->dns[i].family != b->dns[i].family ||
		    memcmp(a->dns[i].addr, b->dns[i].addr, a->dns[i].family == AF_INET ? 4 : 16))
			return false;
	for (size_t i = 0; i < a->n_domains; i++)
		if (!has_domain(b, &a->domains[i]))
			return false;
	return true;
}

/* ---------------------------------------------------------------- over D-Bus */

static int fail(int r, const sd_bus_error *e, char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "systemd-resolved: %s: %s", what,
		 e && sd_bus_error_is_set(e) ? e->message : strerror(r < 0 ? -r : EIO));
	return r < 0 ? r : -EIO;
}

/*
 * Whether process pid shares our network namespace. resolved configures links by ifindex in
 * its own namespace: from another one (a container, a test namespace on a host bus) the same
 * number names some other link.
 */
static bool same_netns(uint32_t pid)
{
	char path[64];
	struct stat ours, theirs;

	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	return !stat("/proc/self/ns/net", &ours) && !stat(path, &theirs) &&
	       ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

int rn_resolved_open(struct rn_resolved **out, char *why, size_t whylen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	struct rn_resolved *r;
	uint32_t pid = 0;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = sd_bus_open_system(&r->bus);
	if (rc < 0) {
		fail(rc, NULL, why, whylen, "cannot connect to the system bus");
		goto out;
	}
	sd_bus_set_method_call_timeout(r->bus, RN_RESOLVED_CALL_TIMEOUT);
	rc = sd_bus_call_method(r->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				"org.freedesktop.DBus", "GetNameOwner", &e, &reply, "s",
				RN_RESOLVED_BUS_NAME);
	if (rc < 0) {
		fail(rc, &e, why, whylen, "not running on the system bus");
		goto out;
	}
	reply = sd_bus_message_unref(reply);
	rc = sd_bus_call_method(r->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				"org.freedesktop.DBus", "GetConnectionUnixProcessID", &e, &reply,
				"s", RN_RESOLVED_BUS_NAME);
	if (rc >= 0)
		rc = sd_bus_message_read(reply, "u", &pid);
	if (rc < 0) {
		fail(rc, &e, why, whylen, "cannot tell its process");
		goto out;
	}
	if (!same_netns(pid)) {
		snprintf(why, whylen,
			 "systemd-resolved (pid %u) runs in another network namespace: "
			 "it cannot see our interface",
			 pid);
		rc = -EXDEV;
		goto out;
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	rn_resolved_close(r);
	return rc;
}

void rn_resolved_close(struct rn_resolved *r)
{
	if (!r)
		return;
	sd_bus_flush_close_unref(r->bus);
	free(r);
}

/* A Manager method call about link ifindex, its other arguments still to append. */
static int link_call_new(struct rn_resolved *r, const char *method, int ifindex, sd_bus_message **m)
{
	int rc = sd_bus_message_new_method_call(r->bus, m, RN_RESOLVED_BUS_NAME, BUS_PATH,
						BUS_MANAGER, method);

	return rc < 0 ? rc : sd_bus_message_append(*m, "i", ifindex);
}

/* Sends m, unless building it failed (rc < 0); frees it either way. */
static int link_call_send(struct rn_resolved *r, sd_bus_message *m, int rc, const char *method,
			  char *why, size_t whylen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;

	if (rc >= 0)
		rc = sd_bus_call(r->bus, m, 0, &e, NULL);
	if (rc < 0)
		fail(rc, &e, why, whylen, method);
	sd_bus_error_free(&e);
	sd_bus_message_unref(m);
	return rc < 0 ? rc : 0;
}

static int set_dns(struct rn_resolved *r, int ifindex, const struct rn_resolved_link *want,
		   char *why, size_t whylen)
{
	sd_bus_message *m = NULL;
	int rc = link_call_new(r, "SetLinkDNS", ifindex, &m);

	if (rc >= 0)
		rc = sd_bus_message_open_container(m, 'a', "(iay)");
	for (size_t i = 0; rc >= 0 && i < want->n_dns; i++) {
		const struct rn_netmap_ip *ip = &want->dns[i];

		rc = sd_bus_message_open_container(m, 'r', "iay");
		if (rc >= 0)
			rc = sd_bus_message_append(m, "i", ip->family);
		if (rc >= 0)
			rc = sd_bus_message_append_array(m, 'y', ip->addr,
							 ip->family == AF_INET ? 4 : 16);
		if (rc >= 0)
			rc = sd_bus_message_close_container(m);
	}
	if (rc >= 0)
		rc = sd_bus_message_close_container(m);
	return link_call_send(r, m, rc, "SetLinkDNS", why, whylen);
}

static int set_domains(struct rn_resolved *r, int ifindex, const struct rn_resolved_link *want,
		       char *why, size_t whylen)
{
	sd_bus_message *m = NULL;
	int rc = link_call_new(r, "SetLinkDomains", ifindex, &m);

	if (rc >= 0)
		rc = sd_bus_message_open_container(m, 'a', "(sb)");
	for (size_t i = 0; rc >= 0 && i < want->n_domains; i++)
		rc = sd_bus_message_append(m, "(sb)", want->domains[i].name,
					   (int)want->domains[i].routing);
	if (rc >= 0)
		rc = sd_bus_message_close_container(m);
	return link_call_send(r, m, rc, "SetLinkDomains", why, whylen);
}

/* SetLinkLLMNR and the like: one string, the mode. */
static int set_mode(struct rn_resolved *r, const char *method, int ifindex, const char *mode,
		    char *why, size_t whylen)
{
	sd_bus_message *m = NULL;
	int rc = link_call_new(r, method, ifindex, &m);

	if (rc >= 0)
		rc = sd_bus_message_append(m, "s", mode);
	return link_call_send(r, m, rc, method, why, whylen);
}

static int set_default_route(struct rn_resolved *r, int ifindex, bool on, char *why, size_t whylen)
{
	sd_bus_message *m = NULL;
	int rc = link_call_new(r, "SetLinkDefaultRoute", ifindex, &m);

	if (rc >= 0)
		rc = sd_bus_message_append(m, "b", (int)on);
	return link_call_send(r, m, rc, "SetLinkDefaultRoute", why, whylen);
}

int rn_resolved_link_set(struct rn_resolved *r, int ifindex, const struct rn_resolved_link *want,
			 char *why, size_t whylen)
{
	int rc;

	/* The link's extras first: queries must not go out by LLMNR or DoT once DNS is set. */
	rc = set_mode(r, "SetLinkLLMNR", ifindex, "no", why, whylen);
	if (!rc)
		rc = set_mode(r, "SetLinkMulticastDNS", ifindex, "no", why, whylen);
	if (!rc)
		rc = set_mode(r, "SetLinkDNSOverTLS", ifindex, "no", why, whylen);
	if (!rc)
		rc = set_mode(r, "SetLinkDNSSEC", ifindex, "no", why, whylen);
	if (!rc)
		rc = set_dns(r, ifindex, want, why, whylen);
	if (!rc)
		rc = set_domains(r, ifindex, want, why, whylen);
	if (!rc)
		rc = set_default_route(r, ifindex, want->default_route, why, whylen);
	return rc;
}

int rn_resolved_link_revert(struct rn_resolved *r, int ifindex, char *why, size_t whylen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int rc = sd_bus_call_method(r->bus, RN_RESOLVED_BUS_NAME, BUS_PATH, BUS_MANAGER,
				    "RevertLink", &e, NULL, "i", ifindex);

	if (rc < 0 && !sd_bus_error_has_name(&e, "org.freedesktop.resolve1.NoSuchLink"))
		fail(rc, &e, why, whylen, "RevertLink");
	else
		rc = 0;
	sd_bus_error_free(&e);
	return rc;
}

static int read_dns(sd_bus_message *m, struct rn_resolved_link *out)
{
	int rc = sd_bus_message_enter_container(m, 'a', "(iay)");

	while (rc >= 0) {
		const void *addr;
		size_t len;
		int family;

		rc = sd_bus_message_enter_container(m, 'r', "iay");
		if (rc <= 0)
			break;
		rc = sd_bus_message_read(m, "i", &family);
		if (rc >= 0)
			rc = sd_bus_message_read_array(m, 'y', &addr, &len);
		if (rc >= 0)
			rc = sd_bus_message_exit_container(m);
		if (rc >= 0 && out->n_dns < RN_RESOLVED_MAX_DNS &&
		    ((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16))) {
			out->dns[out->n_dns].family = (uint8_t)family;
			memcpy(out->dns[out->n_dns].addr, addr, len);
			out->n_dns++;
		}
	}
	return rc < 0 ? rc : sd_bus_message_exit_container(m);
}

static int read_domains(sd_bus_message *m, struct rn_resolved_link *out)
{
	const char *name;
	int routing, rc = sd_bus_message_enter_container(m, 'a', "(sb)");

	while (rc >= 0) {
		rc = sd_bus_message_read(m, "(sb)", &name, &routing);
		if (rc <= 0)
			break;
		/* more than we ever set: someone else's; the comparison will tell */
		if (add_domain(out, name, routing) == -ENOSPC)
			break;
	}
	return rc < 0 ? rc : sd_bus_message_exit_container(m);
}

int rn_resolved_link_get(struct rn_resolved *r, int ifindex, struct rn_resolved_link *out,
			 char *why, size_t whylen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path;
	char *p = NULL;
	int rc, def = 0;

	memset(out, 0, sizeof(*out));
	rc = sd_bus_call_method(r->bus, RN_RESOLVED_BUS_NAME, BUS_PATH, BUS_MANAGER, "GetLink", &e,
				&reply, "i", ifindex);
	if (rc >= 0)
		rc = sd_bus_message_read(reply, "o", &path);
	if (rc >= 0)
		p = strdup(path);
	sd_bus_message_unref(reply);
	reply = NULL;
	if (rc >= 0 && !p)
		rc = -ENOMEM;
	if (rc >= 0)
		rc = sd_bus_get_property(r->bus, RN_RESOLVED_BUS_NAME, p, BUS_LINK, "DNS", &e,
					 &reply, "a(iay)");
	if (rc >= 0)
		rc = read_dns(reply, out);
	sd_bus_message_unref(reply);
	reply = NULL;
	if (rc >= 0)
		rc = sd_bus_get_property(r->bus, RN_RESOLVED_BUS_NAME, p, BUS_LINK, "Domains", &e,
					 &reply, "a(sb)");
	if (rc >= 0)
		rc = read_domains(reply, out);
	sd_bus_message_unref(reply);
	if (rc >= 0)
		rc = sd_bus_get_property_trivial(r->bus, RN_RESOLVED_BUS_NAME, p, BUS_LINK,
						 "DefaultRoute", &e, 'b', &def);
	out->default_route = def;
	if (rc < 0)
		fail(rc, &e, why, whylen, "reading the link back");
	free(p);
	sd_bus_error_free(&e);
	return rc < 0 ? rc : 0;
}
