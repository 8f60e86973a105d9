/* SPDX-License-Identifier: MIT */
/*
 * Rewriting and restoring resolv.conf (see resolvconf.h). Every write is a temp file, fsync and
 * rename beside its target; a target that cannot be renamed over (a bind mount, as
 * `ip netns exec` makes) is rewritten in place instead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "rustynetd/resolvconf.h"

int rn_resolvconf_slurp(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	char *b;
	size_t n;

	*buf = NULL;
	if (!f)
		return -errno;
	b = malloc(RN_RESOLVCONF_MAX + 1);
	if (!b) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(b, 1, RN_RESOLVCONF_MAX + 1, f);
	fclose(f);
	if (n > RN_RESOLVCONF_MAX) {
		free(b);
		return -EFBIG;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static int write_fd(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return fsync(fd) ? -errno : 0;
}

/* Atomically replaces path with data (mode for a new file); in place when rename cannot. */
static int put(const char *path, const char *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.rustynet-tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd >= 0) {
		e = fchmod(fd, mode) ? -errno : write_fd(fd, data, len);
		close(fd);
		if (!e && !rename(tmp, path))
			return 0;
		unlink(tmp);
		if (e)
			return e;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	e = write_fd(fd, data, len);
	close(fd);
	return e;
}

static void state_path(const struct rn_resolvconf *rc, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", rc->state_dir, name);
}

static void read_host_ns(struct rn_resolvconf *rc, const char *text)
{
	const char *line = text;

	rc->n_host_ns = 0;
	while (line && *line && rc->n_host_ns < RN_RESOLVCONF_MAX_NS) {
		char addr[64];
		struct rn_netmap_ip *ip = &rc->host_ns[rc->n_host_ns];

		if (sscanf(line, " nameserver %63s", addr) == 1) {
			char *pct = strchr(addr, '%');

			if (pct)
				*pct = '\0'; /* a zone index: not ours to follow */
			if (inet_pton(AF_INET, addr, ip->addr) == 1)
				ip->family = AF_INET;
			else if (inet_pton(AF_INET6, addr, ip->addr) == 1)
				ip->family = AF_INET6;
			else
				ip->family = 0;
			/* never ourselves: that would loop */
			if (ip->family && strcmp(addr, "100.100.100.100"))
				rc->n_host_ns++;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
}

/* Whether the file still holds exactly what we wrote. */
static bool still_ours(const struct rn_resolvconf *rc)
{
	char p[PATH_MAX], *ours = NULL, *cur = NULL;
	size_t lo = 0, lc = 0;
	bool same;

	state_path(rc, RN_RESOLVCONF_OURS, p, sizeof(p));
	if (rn_resolvconf_slurp(p, &ours, &lo) || rn_resolvconf_slurp(rc->path, &cur, &lc)) {
		free(ours);
		free(cur);
		return false;
	}
	same = lo == lc && (!lo || !memcmp(ours, cur, lo));
	free(ours);
	free(cur);
	return same;
}

int rn_resolvconf_restore(struct rn_resolvconf *rc)
{
	char bk[PATH_MAX], ours[PATH_MAX], prev[PATH_MAX], *data = NULL;
	size_t len = 0;
	int e;

	state_path(rc, RN_RESOLVCONF_BACKUP, bk, sizeof(bk));
	state_path(rc, RN_RESOLVCONF_OURS, ours, sizeof(ours));
	e = rn_resolvconf_slurp(bk, &data, &len);
	if (e == -ENOENT) {
		rc->installed = false;
		return 0;
	}
	if (e) {
		snprintf(rc->problem, sizeof(rc->problem),
			 "cannot read %.200s: %s: %.200s left as it is", bk, strerror(-e),
			 rc->path);
		log_error(MAIN, "dns: %s", rc->problem);
		return e;
	}
	if (!still_ours(rc)) {
		state_path(rc, RN_RESOLVCONF_PREVIOUS, prev, sizeof(prev));
		rename(bk, prev);
		snprintf(rc->problem, sizeof(rc->problem),
			 "%.200s was rewritten by someone else while Magic DNS ran: left as it is; "
			 "the file it had before rustynet is in %.200s",
			 rc->path, prev);
		log_warn(MAIN, "dns: %s", rc->problem);
		e = 0;
	} else {
		e = put(rc->path, data, len, 0644);
		if (e) {
			snprintf(rc->problem, sizeof(rc->problem),
				 "cannot restore %.200s: %s (the original is in %.200s)", rc->path,
				 strerror(-e), bk);
			log_error(MAIN, "dns: %s", rc->problem);
			free(data);
			return e;
		}
		unlink(bk);
		log_info(MAIN, "dns: %s restored", rc->path);
	}
	unlink(ours);
	free(data);
	rc->installed = false;
	return e;
}

void rn_resolvconf_init(struct rn_resolvconf *rc, const char *path, const char *state_dir)
{
	struct stat st;
	char *text = NULL;
	size_t len;

	memset(rc, 0, sizeof(*rc));
	rc->path = path;
	rc->state_dir = state_dir;
	rn_resolvconf_restore(rc); /* after a crash: what the dead process left */
	if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
		snprintf(rc->problem, sizeof(rc->problem),
			 "%.300s is a symbolic link (managed by another tool): not rewritten",
			 path);
		log_warn(MAIN, "dns: %s", rc->problem);
	}
	if (!rn_resolvconf_slurp(path, &text, &len))
		read_host_ns(rc, text);
	free(text);
}

int rn_resolvconf_install(struct rn_resolvconf *rc, const char *nameserver, const char *domain)
{
	char bk[PATH_MAX], ours[PATH_MAX], want[512], *cur = NULL, *old = NULL;
	size_t len = 0, olen = 0;
	struct stat st;
	int e;

	if (rc->resolved || (!lstat(rc->path, &st) && S_ISLNK(st.st_mode)))
		return 0;
	snprintf(want, sizeof(want),
		 "# Written by rustynetd for Magic DNS; restored by `rustynet down`.\n"
		 "nameserver %s\nsearch %s\n",
		 nameserver, domain);
	state_path(rc, RN_RESOLVCONF_BACKUP, bk, sizeof(bk));
	state_path(rc, RN_RESOLVCONF_OURS, ours, sizeof(ours));
	if (rc->installed) {
		if (!rn_resolvconf_slurp(ours, &old, &olen) && olen == strlen(want) &&
		    (!olen || !memcmp(old, want, olen))) {
			free(old);
			return 0; /* unchanged */
		}
		free(old);
		if (!still_ours(rc)) {
			snprintf(rc->problem, sizeof(rc->problem),
				 "%.300s was rewritten by someone else: Magic DNS leaves it alone",
				 rc->path);
			return -EBUSY;
		}
	} else {
		e = rn_resolvconf_slurp(rc->path, &cur, &len);
		if (e == -ENOENT) {
			cur = strdup("");
			e = cur ? 0 : -ENOMEM;
		}
		/* The backup first: from here a crash is seen and undone at the next start. */
		if (!e)
			e = put(bk, cur, len, 0600);
		free(cur);
		if (e)
			goto fail;
	}
	e = put(ours, want, strlen(want), 0600);
	if (!e)
		e = put(rc->path, want, strlen(want), 0644);
	if (e)
		goto fail;
	rc->installed = true;
	rc->problem[0] = '\0';
	log_info(MAIN, "dns: %s points at %s, search %s", rc->path, nameserver, domain);
	return 0;
fail:
	snprintf(rc->problem, sizeof(rc->problem), "cannot rewrite %.300s: %s", rc->path,
		 strerror(-e));
	log_error(MAIN, "dns: %s", rc->problem);
	if (!rc->installed) { /* the file itself was not replaced: forget the attempt */
		unlink(ours);
		unlink(bk);
	}
	return e;
}

size_t rn_resolvconf_nameservers(const char *path, char lines[][64], size_t max)
{
	char *text = NULL, *line, *save = NULL;
	size_t len, n = 0;

	if (rn_resolvconf_slurp(path, &text, &len))
		return 0;
	for (line = strtok_r(text, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (!strncmp(line, "nameserver", 10))
			snprintf(lines[n++], 64, "%s", line);
	}
	free(text);
	return n;
}

bool rn_resolvconf_intact(const struct rn_resolvconf *rc)
{
	return rc->installed && still_ours(rc);
}
