/* SPDX-License-Identifier: MIT */
/*
 * `rustynet-control settings get|set`: the network-wide settings an admin chooses. Each has a
 * name people type, the store key it lives under, and a parser that turns what was typed into
 * the stored value (so the store never holds a typo).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rustynet-control/ctl.h"
#include "rustynet-control/duration.h"

struct rn_setting {
	const char *name, *key;
	/* typed -> stored; false with err set when it is not a value of this setting */
	bool (*parse)(const char *typed, char *out, size_t size, char *err, size_t errlen);
	/* stored -> shown ("" stored: the default) */
	void (*show)(const char *stored, char *out, size_t size);
};

static bool rn_setting_parse_expiry(const char *typed, char *out, size_t size, char *err,
				    size_t errlen)
{
	int64_t s;

	if (!strcmp(typed, "off")) {
		snprintf(out, size, "0");
		return true;
	}
	if (!rn_duration_parse(typed, &s, err, errlen))
		return false;
	snprintf(out, size, "%lld", (long long)s);
	return true;
}

static void rn_setting_show_expiry(const char *stored, char *out, size_t size)
{
	long long s = stored[0] ? atoll(stored) : 0;

	if (s <= 0)
		snprintf(out, size, "off");
	else if (s % 86400 == 0)
		snprintf(out, size, "%lldd", s / 86400);
	else
		snprintf(out, size, "%llds", s);
}

static const struct rn_setting rn_settings[] = {
	{ "key-expiry", RN_STORE_SETTING_KEY_EXPIRY, rn_setting_parse_expiry,
	  rn_setting_show_expiry },
};

static const struct rn_setting *rn_setting_find(const char *name)
{
	for (size_t i = 0; i < sizeof(rn_settings) / sizeof(rn_settings[0]); i++)
		if (!strcmp(rn_settings[i].name, name))
			return &rn_settings[i];
	return NULL;
}

static int rn_settings_get(struct rn_ctl *ctl, int argc, char **argv)
{
	struct rn_store *store = NULL;
	json_t *obj;
	int ret, first;
	bool json;

	ret = rn_ctl_simple_args(ctl, argc, argv, 0, 0, &json, &first);
	if (ret >= 0)
		return ret;
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	obj = json_object();
	for (size_t i = 0; i < sizeof(rn_settings) / sizeof(rn_settings[0]); i++) {
		char stored[64] = "", shown[64];

		rn_store_setting_get(store, rn_settings[i].key, stored, sizeof(stored));
		rn_settings[i].show(stored, shown, sizeof(shown));
		if (json)
			json_object_set_new(obj, rn_settings[i].name, json_string(shown));
		else
			printf("%-14s %s\n", rn_settings[i].name, shown);
	}
	ret = json ? rn_ctl_json_print(json_incref(obj)) : RN_CTL_OK;
	json_decref(obj);
	rn_store_close(store);
	return ret;
}

static int rn_settings_set(struct rn_ctl *ctl, int argc, char **argv)
{
	const struct rn_setting *s;
	struct rn_store *store = NULL;
	char value[64], err[200];
	int ret, first;

	ret = rn_ctl_simple_args(ctl, argc, argv, 2, 2, NULL, &first);
	if (ret >= 0)
		return ret;
	s = rn_setting_find(argv[first]);
	if (!s)
		return rn_ctl_usage_error(ctl, "no setting \"%.40s\" (settings: key-expiry)",
					  argv[first]);
	if (!s->parse(argv[first + 1], value, sizeof(value), err, sizeof(err)))
		return rn_ctl_usage_error(ctl, "%s: %s", s->name, err);
	if (rn_ctl_store_open(ctl, &store))
		return RN_CTL_ERR;
	ret = rn_store_setting_set(store, ctl->actor, s->key, value, time(NULL));
	if (ret) {
		ret = rn_ctl_store_error(store, "settings set", ret);
	} else {
		char shown[64];

		s->show(value, shown, sizeof(shown));
		printf("%s is now %s.\n", s->name, shown);
		ret = RN_CTL_OK;
	}
	rn_store_close(store);
	return ret;
}

static const struct rn_ctl_verb rn_settings_verbs[] = {
	{ "get", rn_settings_get, "settings get [--json]",
	  "Prints every setting and its value.\n" },
	{ "set", rn_settings_set, "settings set NAME VALUE",
	  "Sets a network-wide setting:\n"
	  "  key-expiry DURATION|off  how long a node's key lasts after it enrolls (e.g.\n"
	  "      180d); an expired node drops from every map until `rustynet up --auth-key`\n"
	  "      renews it. Applies to keys enrolled or renewed from now on; `nodes expiry`\n"
	  "      changes one node's.\n" },
	{ 0 },
};

int rn_ctl_settings_main(struct rn_ctl *ctl, int argc, char **argv)
{
	return rn_ctl_dispatch(ctl, "settings", rn_settings_verbs, argc, argv);
}
