/* SPDX-License-Identifier: MIT */
/* Logging with subsystem groups: stderr in the foreground, syslog otherwise; debug per group. */
#ifndef RN_COMMON_LOG_H
#define RN_COMMON_LOG_H

#include <stdbool.h>

enum rn_log_group {
	RN_LOG_MAIN,
	RN_LOG_NOISE,
	RN_LOG_PEER,
	RN_LOG_RX,
	RN_LOG_TX,
	RN_LOG_UAPI,
	RN_LOG_TUN,
	RN_LOG_GROUP_COUNT
};

enum rn_log_level { RN_LOG_ERROR, RN_LOG_WARN, RN_LOG_INFO, RN_LOG_DEBUG };

/* to_syslog: false logs to stderr. ident names the program in every line. */
void rn_log_open(const char *ident, bool to_syslog);
/* Enables debug for a comma-separated list of group names ("all" for every group). */
void rn_log_set_debug(const char *groups);
bool rn_log_debug_enabled(enum rn_log_group group);
void rn_log(enum rn_log_level level, enum rn_log_group group, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(g, ...) rn_log(RN_LOG_ERROR, RN_LOG_##g, __VA_ARGS__)
#define log_warn(g, ...)  rn_log(RN_LOG_WARN, RN_LOG_##g, __VA_ARGS__)
#define log_info(g, ...)  rn_log(RN_LOG_INFO, RN_LOG_##g, __VA_ARGS__)
#define log_debug(g, ...)                                                                          \
	do {                                                                                       \
		if (rn_log_debug_enabled(RN_LOG_##g))                                              \
			rn_log(RN_LOG_DEBUG, RN_LOG_##g, __VA_ARGS__);                             \
	} while (0)

#endif
