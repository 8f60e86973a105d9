/* SPDX-License-Identifier: MIT */
/*
 * The control server's TLS identity: a P-256 key and a self-signed certificate made at init,
 * and the pin of its public key that auth keys carry so nodes can authenticate the server
 * without trusting on first use.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "rustynet-control/ctl.h"

enum {
	RN_TLS_DAYS = 10 * 365, /* validity: the pin, not the dates, is what nodes check */
	RN_TLS_SERIAL_LEN = 16, /* bytes */
};

static int rn_tls_ssl_error(const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	fprintf(stderr, "rustynet-control: %s: %s\n", what, buf);
	return -EIO;
}

/* "DNS:a,IP:127.0.0.1,...": the names are checked by the caller to hold no ',' or ':' for DNS. */
static char *rn_tls_san(const char *const *names, size_t n)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 5;
	s = calloc(1, len);
	for (size_t i = 0; s && i < n; i++) {
		unsigned char addr[16];
		bool ip = inet_pton(AF_INET, names[i], addr) == 1 ||
			  inet_pton(AF_INET6, names[i], addr) == 1;

		if (i)
			strcat(s, ",");
		strcat(s, ip ? "IP:" : "DNS:");
		strcat(s, names[i]);
	}
	return s;
}

static int rn_tls_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return rn_tls_ssl_error("making a certificate extension");
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : rn_tls_ssl_error("adding a certificate extension");
}

static X509 *rn_tls_cert(EVP_PKEY *pkey, const char *san)
{
	unsigned char serial[RN_TLS_SERIAL_LEN];
	BIGNUM *bn = NULL;
	X509_NAME *name;
	X509 *x = X509_new();

	if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto err;
	serial[0] &= 0x7f; /* a positive serial */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	name = X509_get_subject_name(x);
	if (!bn || !X509_set_version(x, 2) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)RN_TLS_DAYS * 86400) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"rustynet-control", -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, pkey))
		goto err;
	if (rn_tls_add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
	    rn_tls_add_ext(x, NID_key_usage, "critical,digitalSignature") ||
	    rn_tls_add_ext(x, NID_ext_key_usage, "serverAuth") ||
	    rn_tls_add_ext(x, NID_subject_key_identifier, "hash") ||
	    rn_tls_add_ext(x, NID_subject_alt_name, san))
		goto err_quiet;
	if (!X509_sign(x, pkey, EVP_sha256()))
		goto err;
	BN_free(bn);
	return x;
err:
	rn_tls_ssl_error("making the TLS certificate");
err_quiet:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* A new file, exactly mode, never replacing one. */
static FILE *rn_tls_create_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0 || fchmod(fd, mode) < 0) {
		fprintf(stderr, "rustynet-control: creating \"%s\": %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

static int rn_tls_write(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *x)
{
	FILE *f = rn_tls_create_file(path, mode);
	int ok;

	if (!f)
		return -EIO;
	if (pkey)
		ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, x);
	if (fflush(f) || fsync(fileno(f)))
		ok = 0;
	if (fclose(f))
		ok = 0;
	if (!ok) {
		fprintf(stderr, "rustynet-control: writing \"%s\" failed\n", path);
		unlink(path);
		return -EIO;
	}
	return 0;
}

int rn_ctl_tls_create(const char *key_path, const char *cert_path, const char *const *names,
		      size_t n_names)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	char *san = rn_tls_san(names, n_names);
	X509 *x = NULL;
	int ret = -EIO;

	if (!pkey) {
		rn_tls_ssl_error("making the TLS key");
		goto out;
	}
	if (!san) {
		ret = -ENOMEM;
		goto out;
	}
	x = rn_tls_cert(pkey, san);
	if (!x)
		goto out;
	ret = rn_tls_write(key_path, 0600, pkey, NULL);
	if (!ret)
		ret = rn_tls_write(cert_path, 0644, NULL, x);
out:
	X509_free(x);
	EVP_PKEY_free(pkey);
	free(san);
	return ret;
}

int rn_ctl_tls_pin(const char *cert_path, uint8_t pin[32])
{
	unsigned char *der = NULL;
	unsigned int len = 32;
	FILE *f = fopen(cert_path, "re");
	X509 *x = NULL;
	int n, ret = -EIO;

	if (!f) {
		fprintf(stderr,
			"rustynet-control: reading the TLS certificate \"%s\": %s; "
			"is the state dir made by `rustynet-control init`?\n",
			cert_path, strerror(errno));
		return -errno;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x) {
		rn_tls_ssl_error("reading the TLS certificate");
		return -EIO;
	}
	n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
	if (n > 0 && EVP_Digest(der, (size_t)n, pin, &len, EVP_sha256(), NULL) && len == 32)
		ret = 0;
	else
		rn_tls_ssl_error("hashing the TLS public key");
	OPENSSL_free(der);
	X509_free(x);
	return ret;
}

int rn_ctl_tls_cert_ips(const char *cert_path, struct rn_netmap_ip *out, size_t max, size_t *n)
{
	GENERAL_NAMES *names;
	FILE *f = fopen(cert_path, "re");
	X509 *x;

	*n = 0;
	if (!f)
		return -errno;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return -EIO;
	names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && *n < max; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const ASN1_OCTET_STRING *ip = g->type == GEN_IPADD ? g->d.iPAddress : NULL;
		int len = ip ? ASN1_STRING_length(ip) : 0;

		if (len != 4 && len != 16)
			continue;
		out[*n].family = len == 4 ? AF_INET : AF_INET6;
		memcpy(out[*n].addr, ASN1_STRING_get0_data(ip), (size_t)len);
		(*n)++;
	}
	GENERAL_NAMES_free(names);
	X509_free(x);
	return 0;
}
