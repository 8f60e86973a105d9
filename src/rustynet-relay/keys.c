/* SPDX-License-Identifier: MIT */
/* rustynet-relay genkey, spki and issue: the secret, the certificate pin, credentials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "relay/relay.h"
#include "rustynet-relay/cmd.h"

/* Parses "--NAME FILE" as the only arguments of a command; NULL after a usage message. */
static const char *one_file_arg(int argc, char **argv, const char *name, const char *usage)
{
	size_t n = strlen(name);

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		exit(RN_RELAY_OK);
	}
	if (argc == 3 && !strcmp(argv[1], name))
		return argv[2];
	if (argc == 2 && !strncmp(argv[1], name, n) && argv[1][n] == '=' && argv[1][n + 1])
		return argv[1] + n + 1;
	fputs(usage, stderr);
	return NULL;
}

int rn_relay_genkey_main(int argc, char **argv)
{
	static const char usage[] =
	    "Usage: rustynet-relay genkey --secret FILE\n\n"
	    "Makes a new relay secret (32 random bytes, hex) in FILE, mode 0600; refuses to "
	    "overwrite.\nThe control server needs the same secret to issue relay credentials.\n";
	const char *path = one_file_arg(argc, argv, "--secret", usage);
	char err[512];

	if (!path)
		return RN_RELAY_USAGE;
	if (rn_relay_secret_generate(path, err, sizeof(err))) {
		fprintf(stderr, "rustynet-relay genkey: %s\n", err);
		return RN_RELAY_ERROR;
	}
	return RN_RELAY_OK;
}

int rn_relay_spki_main(int argc, char **argv)
{
	static const char usage[] =
	    "Usage: rustynet-relay spki --cert FILE\n\n"
	    "Prints the SHA-256 of the certificate's public key (DER SubjectPublicKeyInfo) in "
	    "base64: the pin\nnodes check the relay's TLS certificate against (the map's relays[].spki).\n";
	const char *path = one_file_arg(argc, argv, "--cert", usage);
	uint8_t spki[RN_RELAY_SPKI_LEN];
	char err[512], b64[45];

	if (!path)
		return RN_RELAY_USAGE;
	if (rn_relay_spki_file(path, spki, err, sizeof(err))) {
		fprintf(stderr, "rustynet-relay spki: %s\n", err);
		return RN_RELAY_ERROR;
	}
	EVP_EncodeBlock((unsigned char *)b64, spki, sizeof(spki));
	printf("%s\n", b64);
	return RN_RELAY_OK;
}

int rn_relay_issue_main(int argc, char **argv)
{
	static const char usage[] =
	    "Usage: rustynet-relay issue --secret FILE --node-key KEY [--valid-for SECONDS]\n\n"
	    "Prints the relay credential of the node whose WireGuard public key (base64) is KEY,\n"
	    "valid for SECONDS (default 86400), as KEY:EXPIRY:TOKEN. The control server makes\n"
	    "these for its maps; this command is for tests and operators.\n";
	const char *secret_file = NULL, *key_text = NULL, *valid_text = "86400";
	uint8_t secret[RN_RELAY_SECRET_LEN], key[RN_RELAY_KEY_LEN];
	char text[RN_RELAY_CRED_TEXT_LEN], err[512], *end;
	struct rn_relay_cred cred;
	unsigned long long valid;
	int ret;

	for (int i = 1; i < argc; i += 2) {
		const char **dst = !strcmp(argv[i], "--secret")	     ? &secret_file
				   : !strcmp(argv[i], "--node-key")  ? &key_text
				   : !strcmp(argv[i], "--valid-for") ? &valid_text
								     : NULL;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return RN_RELAY_OK;
		}
		if (!dst || i + 1 >= argc) {
			fprintf(stderr, "rustynet-relay issue: unexpected \"%s\"\n%s", argv[i],
				usage);
			return RN_RELAY_USAGE;
		}
		*dst = argv[i + 1];
	}
	if (!secret_file || !key_text) {
		fprintf(stderr, "rustynet-relay issue: --secret and --node-key are required\n%s",
			usage);
		return RN_RELAY_USAGE;
	}
	if (!rn_relay_key_parse(key_text, key)) {
		fprintf(stderr,
			"rustynet-relay issue: --node-key \"%s\" is not a WireGuard public key "
			"(44 base64 characters, as `wg pubkey` prints)\n",
			key_text);
		return RN_RELAY_USAGE;
	}
	valid = strtoull(valid_text, &end, 10);
	if (*end || !valid || valid > 10ull * 365 * 86400 || valid_text[0] == '-') {
		fprintf(stderr,
			"rustynet-relay issue: --valid-for \"%s\": expected 1 to 315360000 "
			"seconds\n",
			valid_text);
		return RN_RELAY_USAGE;
	}
	if (rn_relay_secret_load(secret_file, secret, err, sizeof(err))) {
		fprintf(stderr, "rustynet-relay issue: %s\n", err);
		return RN_RELAY_ERROR;
	}
	ret = rn_relay_credential_issue(secret, key, (uint64_t)time(NULL) + valid, &cred);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (ret) {
		fprintf(stderr, "rustynet-relay issue: libcrypto failed\n");
		return RN_RELAY_ERROR;
	}
	rn_relay_cred_format(&cred, text);
	printf("%s\n", text);
	return RN_RELAY_OK;
}
