/* SPDX-License-Identifier: MIT */
/* Logging: one line per event, group-tagged, so a busy daemon stays greppable. */
#include "common/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *const group_names[RN_LOG_GROUP_COUNT] = {
	[RN_LOG_MAIN] = "main", [RN_LOG_NOISE] = "noise", [RN_LOG_PEER] = "peer",
	[RN_LOG_RX] = "rx",	[RN_LOG_TX] = "tx",	  [RN_LOG_UAPI] = "uapi",
	[RN_LOG_TUN] = "tun",
};
static const char *const level_names[] = { "error", "warn", "info", "debug" };

static const char *log_ident = "rustynet";
static bool log_syslog;
/* Written by the control path, read by packet threads: relaxed atomics are enough. */
static _Atomic unsigned int debug_mask;

void rn_log_open(const char *ident, bool to_syslog)
{
	log_ident = ident;
	log_syslog = to_syslog;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void rn_log_set_debug(const char *groups)
{
	unsigned int mask = 0;
	char buf[256], *save = NULL;

	if (!groups)
		groups = "";
	snprintf(buf, sizeof(buf), "%s", groups);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all")) {
			mask = ~0u;
			continue;
		}
		for (int i = 0; i < RN_LOG_GROUP_COUNT; i++)
			if (!strcmp(tok, group_names[i]))
				mask |= 1u << i;
	}
	atomic_store_explicit(&debug_mask, mask, memory_order_relaxed);
}

bool rn_log_debug_enabled(enum rn_log_group group)
{
	return atomic_load_explicit(&debug_mask, memory_order_relaxed) & (1u << group);
}

void rn_log(enum rn_log_level level, enum rn_log_group group, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_syslog) {
		syslog(prio[level], "[%s] %s", group_names[group], msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s %s [%s] %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, log_ident, level_names[level], group_names[group], msg);
}
