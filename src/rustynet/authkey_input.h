/* SPDX-License-Identifier: MIT */
/*
 * Reading `up`'s auth key from somewhere other than the command line, where every user can see
 * it (ps, /proc/PID/cmdline): `--auth-key-file FILE` and `--auth-key -` (standard input).
 * One line; a trailing "\n" or "\r\n" is stripped. A regular file that group or others may
 * read is refused, as ssh refuses such a private key: the key enrolls a node into someone's
 * network. Every byte read lands only in the caller's buffer, which is zeroed on any failure.
 */
#ifndef RN_CLI_AUTHKEY_INPUT_H
#define RN_CLI_AUTHKEY_INPUT_H

#include <stddef.h>

/*
 * Reads the key from fd (what names it in errors: "standard input", the path) into out, which
 * holds outlen bytes with the NUL. Reads one byte at a time up to the first newline, so input
 * after it stays unread on a pipe or terminal. 0, or -errno with err for people: -ENODATA
 * empty, -EMSGSIZE longer than outlen - 1, -EINVAL a NUL byte or more than one line (files),
 * or read's error.
 */
int rn_cli_authkey_read_fd(int fd, const char *what, char *out, size_t outlen, char *err,
			   size_t errlen);

/* Opens path and reads the key as above; refuses a regular file group or others may read. */
int rn_cli_authkey_read_file(const char *path, char *out, size_t outlen, char *err, size_t errlen);

#endif
