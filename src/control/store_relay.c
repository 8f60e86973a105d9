/* SPDX-License-Identifier: MIT */
/*
 * The admin's relays (`rustynet-control relay add|list|remove`): the relays every netmap's
 * "relays" lists after the control server's own (`serve --relay-udp/--relay-tls`). Kept as the
 * "relays" setting, a JSON array of {"name","udp","tls","spki"} in the netmap's own spelling,
 * rather than a table: it is a short list read whole for every epoch, and a setting needs no
 * migration. Each change is one transaction with its audit entry ("relay.add", "relay.remove").
 * The secret those relays share with the control server is not here: it is a file in the state
 * dir (docs/nat-traversal.md, "Relays in the map").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "control/store_priv.h"
#include "netmap/netmap_priv.h"

static const uint8_t rn_relay_zero[RN_NETMAP_KEY_LEN];

static bool rn_store_relay_label_ok(const char *name)
{
	char label[RN_STORE_LABEL_MAX + 1];

	rn_store_dns_label(name, label);
	return name[0] && strlen(name) <= RN_NETMAP_LABEL_MAX && !strcmp(label, name);
}

/* One endpoint of a relay: "" for none, else a unicast IP:PORT a node elsewhere can reach. */
static int rn_store_relay_endpoint(const char *what, const char *text,
				   union rn_netmap_endpoint *out, char *err, size_t errlen)
{
	const char *why;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!text || !text[0])
		return 0;
	ret = strlen(text) < RN_NETMAP_ENDPOINT_STRLEN ? rn_netmap_endpoint_parse(text, out)
						       : -EINVAL;
	if (ret == -ERANGE)
		return rn_errf(err, errlen, -EINVAL, "%s \"%.64s\": the port must be 1-65535", what,
			       text);
	if (ret)
		return rn_errf(err, errlen, -EINVAL,
			       "%s \"%.64s\" is not IP:PORT (IPv4) or [IP]:PORT (IPv6)", what,
			       text);
	why = rn_store_endpoint_bad(out);
	if (why)
		return rn_errf(err, errlen, -EINVAL, "%s \"%s\" %s", what, text, why);
	return 0;
}

int rn_store_relay_make(const char *name, const char *udp, const char *tls, const char *spki,
			struct rn_netmap_relay *out, char *err, size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (!name || !rn_store_relay_label_ok(name))
		return rn_errf(err, errlen, -EINVAL,
			       "the relay name \"%.64s\" is not a DNS label (1-63 of a-z 0-9 -, "
			       "not starting or ending with -)",
			       name ? name : "");
	if (!strcmp(name, RN_STORE_RELAY_OWN_NAME))
		return rn_errf(err, errlen, -EINVAL,
			       "the relay name \"%s\" is the control server's own relay's: choose "
			       "another",
			       name);
	snprintf(out->name, sizeof(out->name), "%s", name);
	ret = rn_store_relay_endpoint("--udp", udp, &out->udp, err, errlen);
	if (!ret)
		ret = rn_store_relay_endpoint("--tls", tls, &out->tls, err, errlen);
	if (ret)
		return ret;
	if (out->udp.sa.sa_family == AF_UNSPEC && out->tls.sa.sa_family == AF_UNSPEC)
		return rn_errf(err, errlen, -EINVAL,
			       "relay \"%s\": give --udp ADDR:PORT, --tls ADDR:PORT or both", name);
	if (out->tls.sa.sa_family == AF_UNSPEC) {
		if (spki && spki[0])
			return rn_errf(err, errlen, -EINVAL,
				       "relay \"%s\": --spki is the TLS certificate's pin, but no "
				       "--tls was given",
				       name);
		return 0;
	}
	if (!spki || !spki[0])
		return rn_errf(err, errlen, -EINVAL,
			       "relay \"%s\": --tls needs --spki PIN (what `rustynet-relay spki "
			       "--cert FILE` prints for the relay's certificate)",
			       name);
	if (!rn_netmap_b64_decode(spki, strlen(spki), out->spki, sizeof(out->spki)) ||
	    !memcmp(out->spki, rn_relay_zero, sizeof(rn_relay_zero)))
		return rn_errf(err, errlen, -EINVAL,
			       "relay \"%s\": --spki \"%.64s\" is not a SHA-256 pin in base64 (44 "
			       "characters, as `rustynet-relay spki --cert FILE` prints it)",
			       name, spki);
	return 0;
}

static json_t *rn_store_relay_json(const struct rn_netmap_relay *r)
{
	char udp[RN_NETMAP_ENDPOINT_STRLEN] = "", tls[RN_NETMAP_ENDPOINT_STRLEN] = "";
	char spki[4 * ((RN_NETMAP_KEY_LEN + 2) / 3) + 1] = "";

	if (r->udp.sa.sa_family != AF_UNSPEC)
		rn_netmap_endpoint_format(&r->udp, udp, sizeof(udp));
	if (r->tls.sa.sa_family != AF_UNSPEC) {
		rn_netmap_endpoint_format(&r->tls, tls, sizeof(tls));
		rn_netmap_b64_encode(r->spki, sizeof(r->spki), spki);
	}
	return json_pack("{s:s,s:s,s:s,s:s}", "name", r->name, "udp", udp, "tls", tls, "spki",
			 spki);
}

/* The stored list, each entry checked again: a bad one fails the whole read. */
static int rn_store_relay_read(struct rn_store *store, struct rn_netmap_relay *out, size_t *n)
{
	char text[RN_STORE_RELAYS_TEXT_MAX], err[200];
	json_t *a, *v;
	size_t i;
	int ret;

	*n = 0;
	ret = rn_store_setting_get(store, "relays", text, sizeof(text));
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	a = json_loads(text, 0, NULL);
	if (!json_is_array(a) || json_array_size(a) > RN_STORE_RELAYS_MAX) {
		json_decref(a);
		return rn_store_fail(store, -EINVAL,
				     "the stored relays are not a list of at most %d: remove the "
				     "setting \"relays\" by hand and add them again",
				     RN_STORE_RELAYS_MAX);
	}
	json_array_foreach(a, i, v) {
		ret = rn_store_relay_make(json_string_value(json_object_get(v, "name")),
					  json_string_value(json_object_get(v, "udp")),
					  json_string_value(json_object_get(v, "tls")),
					  json_string_value(json_object_get(v, "spki")), &out[*n],
					  err, sizeof(err));
		if (ret) {
			json_decref(a);
			return rn_store_fail(store, ret, "the stored relay %zu: %s", i, err);
		}
		(*n)++;
	}
	json_decref(a);
	return 0;
}

int rn_store_relay_list(struct rn_store *store, struct rn_netmap_relay out[RN_STORE_RELAYS_MAX],
			size_t *n)
{
	return rn_store_relay_read(store, out, n);
}

/* Writes v[0..n) as the setting, inside the caller's transaction. */
static int rn_store_relay_write(struct rn_store *store, const struct rn_netmap_relay *v, size_t n)
{
	json_t *a = json_array();
	sqlite3_stmt *st;
	char *text;
	int ret;

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, rn_store_relay_json(&v[i])))
			json_decref(a), a = NULL;
	text = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	if (!text)
		return rn_store_fail(store, -ENOMEM, "out of memory");
	ret = rn_store_prepare(store,
			       "INSERT INTO settings (key, value) VALUES ('relays', ?) "
			       "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			       &st);
	if (!ret) {
		sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
		ret = rn_store_step_done(store, st, "writing the relays");
	}
	free(text);
	return ret;
}

int rn_store_relay_add(struct rn_store *store, const char *actor, const struct rn_netmap_relay *r,
		       int64_t now)
{
	struct rn_netmap_relay v[RN_STORE_RELAYS_MAX];
	size_t n = 0;
	int ret;

	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_store_relay_read(store, v, &n);
	if (ret)
		goto err;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i].name, r->name)) {
			ret = rn_store_fail(store, -EEXIST,
					    "there is a relay \"%s\" already: remove it first "
					    "(`relay remove %s`)",
					    r->name, r->name);
			goto err;
		}
	}
	if (n == RN_STORE_RELAYS_MAX) {
		ret = rn_store_fail(store, -ENOSPC,
				    "at most %d relays (a map lists %d, one of them the control "
				    "server's own): remove one first",
				    RN_STORE_RELAYS_MAX, RN_NETMAP_MAX_RELAYS);
		goto err;
	}
	v[n++] = *r;
	ret = rn_store_relay_write(store, v, n);
	if (!ret)
		ret = rn_store_audit(store, actor, now, "relay.add", rn_store_relay_json(r));
	if (ret)
		goto err;
	return rn_store_commit(store);
err:
	rn_store_rollback(store);
	return ret;
}

int rn_store_relay_remove(struct rn_store *store, const char *actor, const char *name, int64_t now)
{
	struct rn_netmap_relay v[RN_STORE_RELAYS_MAX];
	size_t n = 0, k = 0;
	int ret;

	ret = rn_store_begin(store);
	if (ret)
		return ret;
	ret = rn_store_relay_read(store, v, &n);
	if (ret)
		goto err;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name))
			v[k++] = v[i];
	if (k == n) {
		ret = rn_store_fail(store, -ENOENT,
				    "there is no relay \"%.64s\" (`relay list` shows them)", name);
		goto err;
	}
	ret = rn_store_relay_write(store, v, k);
	if (!ret)
		ret = rn_store_audit(store, actor, now, "relay.remove",
				     json_pack("{s:s}", "name", name));
	if (ret)
		goto err;
	return rn_store_commit(store);
err:
	rn_store_rollback(store);
	return ret;
}
