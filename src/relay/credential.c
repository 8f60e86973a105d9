/* SPDX-License-Identifier: MIT */
/*
 * The relay's secret (a file only its owner can read), the credentials the control server makes
 * from it and the relay checks, and the certificate pin nodes check the relay against.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "relay/relay.h"

static const char cred_label[] = "rustynet-relay/1";

int rn_relay_credential_issue(const uint8_t secret[RN_RELAY_SECRET_LEN],
			      const uint8_t key[RN_RELAY_KEY_LEN], uint64_t expiry,
			      struct rn_relay_cred *cred)
{
	uint8_t msg[sizeof(cred_label) - 1 + RN_RELAY_KEY_LEN + 8];
	uint64_t be = htobe64(expiry);
	unsigned int len = 0;

	memcpy(msg, cred_label, sizeof(cred_label) - 1);
	memcpy(msg + sizeof(cred_label) - 1, key, RN_RELAY_KEY_LEN);
	memcpy(msg + sizeof(cred_label) - 1 + RN_RELAY_KEY_LEN, &be, 8);
	memmove(cred->key, key, RN_RELAY_KEY_LEN);
	cred->expiry = expiry;
	if (!HMAC(EVP_sha256(), secret, RN_RELAY_SECRET_LEN, msg, sizeof(msg), cred->token, &len) ||
	    len != RN_RELAY_TOKEN_LEN)
		return -EIO;
	return 0;
}

bool rn_relay_credential_verify(const uint8_t secret[RN_RELAY_SECRET_LEN],
				const struct rn_relay_cred *cred, uint64_t now)
{
	struct rn_relay_cred want;
	bool ok;

	if (cred->expiry <= now)
		return false;
	if (rn_relay_credential_issue(secret, cred->key, cred->expiry, &want))
		return false;
	ok = CRYPTO_memcmp(want.token, cred->token, RN_RELAY_TOKEN_LEN) == 0;
	OPENSSL_cleanse(&want, sizeof(want));
	return ok;
}

bool rn_relay_key_parse(const char *b64, uint8_t key[RN_RELAY_KEY_LEN])
{
	uint8_t raw[48];
	bool ok;

	/* 44 characters, one '=' of padding: EVP_DecodeBlock counts it as a 33rd byte */
	ok = strlen(b64) == 44 && b64[43] == '=' && b64[42] != '=' &&
	     EVP_DecodeBlock(raw, (const unsigned char *)b64, 44) == 33;
	if (ok)
		memcpy(key, raw, RN_RELAY_KEY_LEN);
	OPENSSL_cleanse(raw, sizeof(raw));
	return ok;
}

void rn_relay_cred_format(const struct rn_relay_cred *cred, char out[RN_RELAY_CRED_TEXT_LEN])
{
	char exp[24];
	int n;

	EVP_EncodeBlock((unsigned char *)out, cred->key, RN_RELAY_KEY_LEN);
	n = snprintf(exp, sizeof(exp), ":%llu:", (unsigned long long)cred->expiry);
	memcpy(out + 44, exp, (size_t)n);
	EVP_EncodeBlock((unsigned char *)out + 44 + n, cred->token, RN_RELAY_TOKEN_LEN);
}

bool rn_relay_cred_parse(const char *text, struct rn_relay_cred *cred)
{
	char key[45], token[45];
	const char *p = text;
	unsigned long long exp;
	char *end;

	if (strnlen(text, RN_RELAY_CRED_TEXT_LEN) >= RN_RELAY_CRED_TEXT_LEN || strlen(p) < 46 ||
	    p[44] != ':' || p[45] < '0' || p[45] > '9')
		return false;
	memcpy(key, p, 44);
	key[44] = 0;
	errno = 0;
	exp = strtoull(p + 45, &end, 10);
	if (errno || *end != ':' || strlen(end + 1) != 44)
		return false;
	memcpy(token, end + 1, 45);
	cred->expiry = exp;
	return rn_relay_key_parse(key, cred->key) && rn_relay_key_parse(token, cred->token);
}

/* line: the secret's text without its newline. */
static bool secret_parse(const char *line, size_t n, uint8_t secret[RN_RELAY_SECRET_LEN])
{

	if (n == 2 * RN_RELAY_SECRET_LEN) {
		for (size_t i = 0; i < RN_RELAY_SECRET_LEN; i++) {
			int hi = OPENSSL_hexchar2int((unsigned char)line[2 * i]),
			    lo = OPENSSL_hexchar2int((unsigned char)line[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return false;
			secret[i] = (uint8_t)(hi << 4 | lo);
		}
		return true;
	}
	return n == 44 && rn_relay_key_parse(line, secret);
}

int rn_relay_secret_load(const char *path, uint8_t secret[RN_RELAY_SECRET_LEN], char *err,
			 size_t errlen)
{
	char buf[128];
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return rn_errf(err, errlen, -errno,
			       "cannot open the relay secret \"%s\": %s (make one with "
			       "`rustynet-relay genkey --secret FILE`)",
			       path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = rn_errf(err, errlen, -errno, "stat \"%s\": %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		ret = rn_errf(err, errlen, -EPERM,
			      "the relay secret \"%s\" has mode %04o: it must be a regular file "
			      "only its owner can read (chmod 600 \"%s\")",
			      path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		ret = rn_errf(err, errlen, -errno, "reading \"%s\": %s", path, strerror(errno));
		goto out;
	}
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	if (!secret_parse(buf, (size_t)n, secret))
		ret = rn_errf(err, errlen, -EINVAL,
			      "the relay secret \"%s\" is not one line of 64 hex digits or 44 "
			      "base64 characters (32 bytes); make one with `rustynet-relay genkey`",
			      path);
	else
		ret = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return ret;
}

int rn_relay_secret_generate(const char *path, char *err, size_t errlen)
{
	uint8_t secret[RN_RELAY_SECRET_LEN];
	char hex[2 * RN_RELAY_SECRET_LEN + 2];
	int fd, ret;

	if (RAND_priv_bytes(secret, sizeof(secret)) != 1)
		return rn_errf(err, errlen, -EIO, "no randomness from libcrypto");
	for (size_t i = 0; i < sizeof(secret); i++)
		snprintf(hex + 2 * i, 3, "%02x", secret[i]);
	hex[2 * RN_RELAY_SECRET_LEN] = '\n';
	hex[2 * RN_RELAY_SECRET_LEN + 1] = 0;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = rn_errf(err, errlen, -errno, "cannot create \"%s\": %s%s", path,
			      strerror(errno),
			      errno == EEXIST ? " (refusing to overwrite a secret)" : "");
		goto out;
	}
	ret = rn_write_all(fd, hex, strlen(hex));
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret) {
		unlink(path);
		rn_errf(err, errlen, ret, "writing \"%s\": %s", path, strerror(-ret));
	}
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(hex, sizeof(hex));
	return ret;
}

int rn_relay_spki_file(const char *path, uint8_t spki[RN_RELAY_SPKI_LEN], char *err, size_t errlen)
{
	unsigned char *der = NULL;
	unsigned int len = RN_RELAY_SPKI_LEN;
	FILE *f = fopen(path, "re");
	X509 *x;
	int n, ret = 0;

	if (!f)
		return rn_errf(err, errlen, -errno, "cannot open the certificate \"%s\": %s", path,
			       strerror(errno));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return rn_errf(err, errlen, -EINVAL, "\"%s\" holds no PEM certificate", path);
	n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
	if (n <= 0 || !EVP_Digest(der, (size_t)n, spki, &len, EVP_sha256(), NULL) ||
	    len != RN_RELAY_SPKI_LEN)
		ret = rn_errf(err, errlen, -EIO, "cannot hash the public key of \"%s\"", path);
	OPENSSL_free(der);
	X509_free(x);
	return ret;
}
