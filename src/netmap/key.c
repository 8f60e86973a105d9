/* SPDX-License-Identifier: MIT */
/*
 * The control server's Ed25519 signing key: generation, signing and verification through
 * OpenSSL's EVP interface, the key_id that names a key on the wire, and the key files that
 * `rustynet-control init` writes and both ends read. A private key file that anyone but its
 * owner can read is refused, as sshd refuses its host keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "netmap/netmap_priv.h"

#define KEY_FILE_MAX 256 /* bytes read from a key file: a key and some whitespace */

int rn_netmap_sign_key_generate(uint8_t priv[RN_NETMAP_KEY_LEN], uint8_t pub[RN_NETMAP_KEY_LEN])
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	size_t plen = RN_NETMAP_KEY_LEN, qlen = RN_NETMAP_KEY_LEN;
	int ret = 0;

	if (!key)
		return -ENOMEM;
	if (EVP_PKEY_get_raw_private_key(key, priv, &plen) != 1 ||
	    EVP_PKEY_get_raw_public_key(key, pub, &qlen) != 1 || plen != RN_NETMAP_KEY_LEN ||
	    qlen != RN_NETMAP_KEY_LEN) {
		OPENSSL_cleanse(priv, RN_NETMAP_KEY_LEN);
		ret = -EIO;
	}
	EVP_PKEY_free(key); /* OpenSSL wipes its copy of the private key */
	return ret;
}

int rn_netmap_sign_key_public(const uint8_t priv[RN_NETMAP_KEY_LEN], uint8_t pub[RN_NETMAP_KEY_LEN])
{
	EVP_PKEY *key =
	    EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, RN_NETMAP_KEY_LEN);
	size_t len = RN_NETMAP_KEY_LEN;
	int ret = 0;

	if (!key)
		return -ENOMEM;
	if (EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 || len != RN_NETMAP_KEY_LEN)
		ret = -EINVAL;
	EVP_PKEY_free(key);
	return ret;
}

EVP_PKEY *rn_netmap_sign_key_new(const uint8_t priv[RN_NETMAP_KEY_LEN])
{
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, RN_NETMAP_KEY_LEN);
}

int rn_netmap_sign_pkey(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[RN_NETMAP_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = RN_NETMAP_SIG_LEN;
	int ret = -ENOMEM;

	if (!key || !ctx)
		goto out;
	ret = -EINVAL;
	/* Ed25519 is "pure": no digest here, the whole message goes to one DigestSign call. */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 || siglen != RN_NETMAP_SIG_LEN)
		goto out;
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

int rn_netmap_sign(const uint8_t priv[RN_NETMAP_KEY_LEN], const void *msg, size_t len,
		   uint8_t sig[RN_NETMAP_SIG_LEN])
{
	EVP_PKEY *key = rn_netmap_sign_key_new(priv);
	int ret = rn_netmap_sign_pkey(key, msg, len, sig);

	EVP_PKEY_free(key);
	return ret;
}

bool rn_netmap_verify(const uint8_t pub[RN_NETMAP_KEY_LEN], const void *msg, size_t len,
		      const uint8_t sig[RN_NETMAP_SIG_LEN])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, RN_NETMAP_KEY_LEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = false;

	if (key && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1)
		ok = EVP_DigestVerify(ctx, sig, RN_NETMAP_SIG_LEN, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok;
}

void rn_netmap_key_id(const uint8_t pub[RN_NETMAP_KEY_LEN], char out[RN_NETMAP_KEY_ID_STRLEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (EVP_Digest(pub, RN_NETMAP_KEY_LEN, md, &mdlen, EVP_sha256(), NULL) != 1)
		memset(md, 0, sizeof(md)); /* matches no real key: decoding then refuses */
	rn_netmap_hex_encode(md, RN_NETMAP_KEY_ID_LEN, out);
}

/* ---- key files ---- */

static const char *kind_name(enum rn_netmap_key_kind kind)
{
	return kind == RN_NETMAP_KEY_PRIVATE ? "private key" : "public key";
}

static int read_small(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return 0;
}

/* Takes buf[0..len) without surrounding whitespace as 64 hex digits or 44 base64 characters. */
static bool parse_key_text(const char *buf, size_t len, uint8_t key[RN_NETMAP_KEY_LEN])
{
	while (len && strchr(" \t\r\n", buf[len - 1]))
		len--;
	while (len && strchr(" \t\r\n", buf[0])) {
		buf++;
		len--;
	}
	if (len == 2 * RN_NETMAP_KEY_LEN)
		return rn_netmap_hex_decode(buf, len, key, RN_NETMAP_KEY_LEN);
	return rn_netmap_b64_decode(buf, len, key, RN_NETMAP_KEY_LEN);
}

int rn_netmap_key_load(const char *path, enum rn_netmap_key_kind kind,
		       uint8_t key[RN_NETMAP_KEY_LEN], char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s %s: %s", kind_name(kind), path,
			 strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(-ret));
		goto out;
	}
	ret = -EINVAL;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s is not a regular file", kind_name(kind), path);
		goto out;
	}
	ret = -EPERM;
	if (kind == RN_NETMAP_KEY_PRIVATE && (st.st_mode & 077)) {
		snprintf(err, errlen,
			 "private key %s has mode %04o: group or others may read it; "
			 "run chmod 600 %s (and make a new key if others did read it)",
			 path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	ret = read_small(fd, buf, sizeof(buf), &len);
	if (ret) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-ret));
		goto out;
	}
	ret = -EINVAL;
	if (len > KEY_FILE_MAX || !parse_key_text(buf, len, key)) {
		snprintf(err, errlen,
			 "%s %s does not hold a key: want 64 hex digits or 44 base64 characters",
			 kind_name(kind), path);
		goto out;
	}
	ret = 0;
out:
	if (ret)
		OPENSSL_cleanse(key,
				RN_NETMAP_KEY_LEN); /* a half-parsed key is still key material */
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return ret;
}

/* Makes a new directory entry durable: without it a power cut can lose the key just written. */
static void sync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int rn_netmap_key_save(const char *path, enum rn_netmap_key_kind kind,
		       const uint8_t key[RN_NETMAP_KEY_LEN], char *err, size_t errlen)
{
	char text[RN_NETMAP_B64_KEY_LEN + 2], tmp[PATH_MAX];
	mode_t mode = kind == RN_NETMAP_KEY_PRIVATE ? 0600 : 0644;
	int fd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "key file path too long: %s", path);
		return -ENAMETOOLONG;
	}
	/* A temporary file then link(): the key appears whole or not at all, and never replaces. */
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create a file next to %s: %s", path, strerror(-ret));
		return ret;
	}
	rn_netmap_b64_encode(key, RN_NETMAP_KEY_LEN, text);
	strcat(text, "\n");
	ret = rn_write_all(fd, text, strlen(text));
	if (!ret && fchmod(fd, mode))
		ret = -errno;
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(-ret));
		goto out;
	}
	if (link(tmp, path)) {
		ret = -errno;
		if (ret == -EEXIST)
			snprintf(err, errlen, "%s already exists; not replacing a %s", path,
				 kind_name(kind));
		else
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(-ret));
	}
	if (!ret) {
		unlink(tmp);
		sync_dir_of(path);
	}
out:
	unlink(tmp);
	OPENSSL_cleanse(text, sizeof(text));
	return ret;
}
