/* SPDX-License-Identifier: MIT */
/* Reading and writing /proc/sys values of the caller's network namespace, by dotted key. */
#ifndef RN_SYSTEM_SYSCTL_H
#define RN_SYSTEM_SYSCTL_H

#include <stddef.h>

/* Bounds of what the journal keeps: keys like "net.ipv4.conf.rustynet0.src_valid_mark". */
#define RN_SYSCTL_KEY_MAX   128
#define RN_SYSCTL_VALUE_MAX 128

/*
 * Turns a dotted key into its /proc/sys path. As sysctl(8) does, a '/' in the key stands for a
 * '.' inside one component ("net.ipv4.conf.eth0/100.forwarding" for interface "eth0.100").
 * -EINVAL for keys that are empty, too long, or that could leave /proc/sys.
 */
int rn_sysctl_path(const char *key, char *path, size_t len);

/* Reads a value without its trailing newline. -ENOENT when the key does not exist. */
int rn_sysctl_read(const char *key, char *value, size_t len);

/* Writes value and, when prev is not NULL, returns the value it replaced in prev. */
int rn_sysctl_write(const char *key, const char *value, char *prev, size_t prev_len);

#endif
