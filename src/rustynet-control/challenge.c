/* SPDX-License-Identifier: MIT */
/* The server's enrollment key and nonces (see challenge.h). */
#include "rustynet-control/challenge.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/util.h"

enum { KEY_B64_LEN = 44 }; /* standard base64 of 32 bytes, with its '=' */

struct slot {
	uint8_t nonce[RN_ENROLL_NONCE_LEN];
	uint8_t client[RN_RATELIMIT_KEY_LEN]; /* who asked */
	uint64_t expires_ms;		      /* 0: free */
};

struct rn_challenge {
	pthread_mutex_t lock;
	uint8_t priv[RN_ENROLL_KEY_LEN]; /* secret: wiped by rn_challenge_free */
	uint8_t pub[RN_ENROLL_KEY_LEN];
	struct slot slots[RN_CHALLENGE_SLOTS]; /* under lock */
};

static int key_path(const char *dir, char *path, size_t len)
{
	return snprintf(path, len, "%s/%s", dir, RN_CTL_ENROLL_KEY) >= (int)len ? -ENAMETOOLONG : 0;
}

int rn_challenge_key_create(const char *state_dir, char *err, size_t errlen)
{
	uint8_t priv[RN_ENROLL_KEY_LEN];
	char path[4096], text[KEY_B64_LEN + 2];
	int fd, ret;

	if (key_path(state_dir, path, sizeof(path)))
		return rn_errf(err, errlen, -ENAMETOOLONG, "the state dir's path is too long");
	if (!rn_enroll_key_generate(priv))
		return rn_errf(err, errlen, -EIO, "no randomness for the enrollment key");
	EVP_EncodeBlock((unsigned char *)text, priv, RN_ENROLL_KEY_LEN);
	OPENSSL_cleanse(priv, sizeof(priv));
	strcat(text, "\n");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		OPENSSL_cleanse(text, sizeof(text));
		return rn_errf(err, errlen, ret, "cannot create %s: %s", path, strerror(-ret));
	}
	ret = rn_write_all(fd, text, strlen(text));
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	OPENSSL_cleanse(text, sizeof(text));
	if (ret) {
		unlink(path);
		return rn_errf(err, errlen, ret, "cannot write %s: %s", path, strerror(-ret));
	}
	return 0;
}

static int key_load(const char *path, uint8_t priv[RN_ENROLL_KEY_LEN], char *err, size_t errlen)
{
	uint8_t raw[RN_ENROLL_KEY_LEN + 2];
	char text[KEY_B64_LEN + 8];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno; /* the caller words ENOENT */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		ret = rn_errf(err, errlen, -EINVAL, "%s is not a regular file", path);
	else if (st.st_mode & 077)
		ret = rn_errf(err, errlen, -EPERM,
			      "%s can be read by others (mode %03o): it is a secret; run chmod "
			      "600 on it",
			      path, (unsigned)(st.st_mode & 0777));
	n = ret ? 0 : read(fd, text, sizeof(text) - 1);
	close(fd);
	if (ret)
		return ret;
	/* exactly the key, with or without one newline */
	if (n < KEY_B64_LEN || n > KEY_B64_LEN + 1 ||
	    (n > KEY_B64_LEN && text[KEY_B64_LEN] != '\n') ||
	    EVP_DecodeBlock(raw, (unsigned char *)text, KEY_B64_LEN) != RN_ENROLL_KEY_LEN + 1 ||
	    text[KEY_B64_LEN - 1] != '=')
		ret = rn_errf(err, errlen, -EINVAL,
			      "%s is not a key (44 characters of base64): restore it from a "
			      "backup, or delete it and restart to make a new one",
			      path);
	else
		memcpy(priv, raw, RN_ENROLL_KEY_LEN);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(text, sizeof(text));
	return ret;
}

int rn_challenge_open(const char *state_dir, struct rn_challenge **out, char *err, size_t errlen)
{
	struct rn_challenge *c;
	char path[4096];
	int ret;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (key_path(state_dir, path, sizeof(path)))
		return rn_errf(err, errlen, -ENAMETOOLONG, "the state dir's path is too long");
	c = calloc(1, sizeof(*c));
	if (!c)
		return rn_errf(err, errlen, -ENOMEM, "out of memory");
	ret = key_load(path, c->priv, err, errlen);
	if (ret == -ENOENT) { /* a state dir from before enrollment proofs: make the key now */
		ret = rn_challenge_key_create(state_dir, err, errlen);
		if (!ret || ret == -EEXIST)
			ret = key_load(path, c->priv, err, errlen);
	}
	if (ret < 0 && !err[0])
		rn_errf(err, errlen, ret, "cannot read %s: %s", path, strerror(-ret));
	if (!ret && !rn_enroll_key_public(c->priv, c->pub))
		ret = rn_errf(err, errlen, -EIO, "%s: cannot derive its public key", path);
	if (ret) {
		OPENSSL_cleanse(c, sizeof(*c));
		free(c);
		return ret;
	}
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void rn_challenge_free(struct rn_challenge *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

const uint8_t *rn_challenge_server_key(const struct rn_challenge *c)
{
	return c->pub;
}

/* The slot a new nonce of client takes: its own oldest when it has its share, else a free or
 * expired one, else the oldest. Under c->lock. */
static struct slot *slot_for(struct rn_challenge *c, const uint8_t client[RN_RATELIMIT_KEY_LEN],
			     uint64_t now_ms)
{
	struct slot *own = NULL, *any = NULL;
	size_t n_own = 0;

	for (size_t i = 0; i < RN_CHALLENGE_SLOTS; i++) {
		struct slot *s = &c->slots[i];

		if (s->expires_ms <= now_ms) { /* free or expired */
			if (!any || any->expires_ms > now_ms)
				any = s;
			continue;
		}
		if (!memcmp(s->client, client, RN_RATELIMIT_KEY_LEN)) {
			n_own++;
			if (!own || s->expires_ms < own->expires_ms)
				own = s;
		}
		if (!any || (any->expires_ms > now_ms && s->expires_ms < any->expires_ms))
			any = s;
	}
	return n_own >= RN_CHALLENGE_PER_CLIENT ? own : any;
}

int rn_challenge_issue(struct rn_challenge *c, const uint8_t client[RN_RATELIMIT_KEY_LEN],
		       uint64_t now_ms, uint8_t nonce[RN_ENROLL_NONCE_LEN])
{
	struct slot *victim;

	if (RAND_bytes(nonce, RN_ENROLL_NONCE_LEN) != 1)
		return -EIO;
	pthread_mutex_lock(&c->lock);
	victim = slot_for(c, client, now_ms);
	memcpy(victim->nonce, nonce, RN_ENROLL_NONCE_LEN);
	memcpy(victim->client, client, RN_RATELIMIT_KEY_LEN);
	victim->expires_ms = now_ms + RN_CHALLENGE_TTL_MS;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

bool rn_challenge_take(struct rn_challenge *c, const uint8_t nonce[RN_ENROLL_NONCE_LEN],
		       uint64_t now_ms)
{
	bool ok = false;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < RN_CHALLENGE_SLOTS; i++) {
		struct slot *s = &c->slots[i];

		if (s->expires_ms && !CRYPTO_memcmp(s->nonce, nonce, RN_ENROLL_NONCE_LEN)) {
			ok = s->expires_ms > now_ms;
			memset(s, 0, sizeof(*s));
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

bool rn_challenge_verify(const struct rn_challenge *c, const struct rn_enroll_transcript *t,
			 const uint8_t proof[RN_ENROLL_PROOF_LEN])
{
	return !CRYPTO_memcmp(t->server_pub, c->pub, RN_ENROLL_KEY_LEN) &&
	       rn_enroll_proof_verify(c->priv, t->node_pub, t, proof);
}
