/* SPDX-License-Identifier: MIT */
/*
 * The control protocol's HTTPS requests (docs/control-protocol.md) and the long-poll thread.
 * Trust is the pin alone: the certificate is self-signed, so chain and name checks are off and
 * CURLOPT_PINNEDPUBLICKEY refuses any server whose key is not the one the auth key named.
 */
#include "rustynetd/client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <net/if.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/enroll_proof.h"
#include "common/log.h"
#include "common/wipe_alloc.h"
#include "rustynetd/exit.h"

#define RETRY_AFTER_MAX_S 300 /* a server asking for more is capped: we still want to come back */
#define ACK_WAIT_S	  10  /* how long the poll waits for the loop to handle a map */

void rn_login_wipe(struct rn_login *l)
{
	OPENSSL_cleanse(l, sizeof(*l));
}

int rn_client_global_init(void)
{
	/* curl's request buffers hold the enroll body (the auth key): zeroed when freed */
	return curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, rn_wipe_free, rn_wipe_realloc,
				    rn_wipe_strdup, calloc) == CURLE_OK
		   ? 0
		   : -EIO;
}

void rn_client_global_cleanup(void)
{
	curl_global_cleanup();
}

bool rn_client_url_ok(const char *url, char *err, size_t errlen)
{
	size_t len = strlen(url);

	if (strncmp(url, "https://", 8) || len == 8) {
		snprintf(
		    err, errlen,
		    "the server URL \"%.200s\" is not https://HOST[:PORT]: the control protocol "
		    "runs over HTTPS only",
		    url);
		return false;
	}
	if (len >= RN_CLIENT_URL_MAX - 16) {
		snprintf(err, errlen, "the server URL is too long (%zu bytes)", len);
		return false;
	}
	for (const char *p = url; *p; p++) {
		if (!isgraph((unsigned char)*p)) {
			snprintf(err, errlen,
				 "the server URL \"%.200s\" contains a space or a control "
				 "character",
				 url);
			return false;
		}
	}
	return true;
}

/* ---- one request ---- */

struct http_resp {
	long status;
	char *body; /* NUL-terminated; may hold a token: wiped by resp_free */
	size_t len, cap;
	bool too_big;
	long retry_after_s; /* 0: none */
};

static void resp_free(struct http_resp *r)
{
	if (r->body)
		OPENSSL_cleanse(r->body, r->cap);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct http_resp *r = ud;
	size_t add = size * n, cap;
	char *q;

	if (add > RN_CLIENT_MAX_BODY - r->len) {
		r->too_big = true;
		return 0;
	}
	if (r->len + add + 1 > r->cap) {
		cap = r->cap ? r->cap : 4096;
		while (cap < r->len + add + 1)
			cap *= 2;
		q = malloc(cap);
		if (!q)
			return 0;
		if (r->body) {
			memcpy(q, r->body, r->len);
			OPENSSL_cleanse(r->body, r->cap);
			free(r->body);
		}
		r->body = q;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, add);
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct http_resp *r = ud;
	size_t len = size * n;
	char num[16];
	size_t i = 12, k = 0;

	if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (i < len && k < sizeof(num) - 1 && isdigit((unsigned char)p[i]))
			num[k++] = p[i++];
		num[k] = '\0';
		if (k && k < 8)
			r->retry_after_s = strtol(num, NULL, 10);
	}
	return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const atomic_bool *stop = ud;

	(void)dt, (void)dn, (void)ut, (void)un;
	return stop && atomic_load(stop);
}

/*
 * The control server's connections carry rustynetd's fwmark, as its WireGuard packets do: in
 * protected mode rule 5200 sends them by the main table and the kill switch lets them out.
 * Without an exit selected the mark matches no rule. Failing to set it is not fatal: the kill
 * switch then drops the connection rather than letting it leak.
 */
static int on_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	int mark = RN_EXIT_FWMARK;

	(void)ud;
	if (purpose == CURLSOCKTYPE_IPCXN &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		log_debug(MAIN, "control connection: cannot set fwmark: %s", strerror(errno));
	return CURL_SOCKOPT_OK;
}

/* Told once the TLS session with the pinned server is up, before the request goes out. */
struct on_connect {
	void (*fn)(void *arg);
	void *arg;
};

static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
		     int conn_local_port)
{
	const struct on_connect *oc = ud;

	(void)conn_primary_ip, (void)conn_local_ip, (void)conn_primary_port, (void)conn_local_port;
	if (oc && oc->fn)
		oc->fn(oc->arg);
	return CURL_PREREQFUNC_OK;
}

/*
 * Sets the pin, the only thing the server is trusted by while chain and name checks are off:
 * a libcurl that cannot pin (built with a TLS library without it) must fail the request, not
 * talk to whoever answers.
 */
static CURLcode set_pin(CURL *c, const char *pin)
{
#ifdef RN_TEST_HOOKS
	if (getenv("RUSTYNETD_TEST_NO_PINNING"))
		return CURLE_NOT_BUILT_IN;
#endif
	return curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pin);
}

/* "sha256//" and the standard base64 of the pin, as libcurl wants it. */
static void pin_string(const uint8_t pin[RN_AUTHKEY_HASH_LEN], char out[8 + 45])
{
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): EVP_EncodeBlock below ends it with NUL */
	memcpy(out, "sha256//", 8);
	EVP_EncodeBlock((unsigned char *)out + 8, pin, RN_AUTHKEY_HASH_LEN);
}

static enum rn_client_failure transport_error(const struct rn_login *l, CURLcode rc,
					      const char *detail, const struct http_resp *r,
					      char *err, size_t errlen)
{
	if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH) {
		snprintf(
		    err, errlen,
		    "the server at %s is not the one this auth key was made for (its TLS key "
		    "does not match the key's pin): check --server, or ask the admin for a key "
		    "made by this server",
		    l->server_url);
		return RN_CLIENT_WRONG_SERVER;
	}
	if (r->too_big) {
		snprintf(err, errlen, "the control server at %s sent an answer over %d MiB",
			 l->server_url, RN_CLIENT_MAX_BODY >> 20);
		return RN_CLIENT_RETRY;
	}
	snprintf(err, errlen, "cannot reach the control server at %s: %s", l->server_url,
		 detail[0] ? detail : curl_easy_strerror(rc));
	return RN_CLIENT_UNREACHABLE;
}

/*
 * The control connection carries the WireGuard sockets' mark, so it bypasses the exit node's
 * routing: a dead or revoked exit must not cut the node off from the server that fixes it.
 * Without CAP_NET_ADMIN the mark is not set and the connection follows the routes.
 */
static int on_socket(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	int mark = RN_EXIT_FWMARK;

	(void)arg;
	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	return CURL_SOCKOPT_OK;
}

void rn_client_conn_close(void **conn)
{
	curl_easy_cleanup(*conn);
	*conn = NULL;
}

/*
 * POSTs body to server_url + path. RN_CLIENT_OK when an HTTP answer came (any status, in *r);
 * otherwise the transport failure, with err set. keep (may be NULL): a handle kept between
 * calls, so its connection carries the next request (see rn_client_poll_once).
 */
static enum rn_client_failure http_post(const struct rn_login *l, const char *path, bool with_token,
					const char *body, long timeout_s, atomic_bool *stop,
					const struct on_connect *oc, void **keep,
					struct http_resp *r, char *err, size_t errlen)
{
	char url[RN_CLIENT_URL_MAX + 32], pin[8 + 45], auth[32 + RN_CLIENT_TOKEN_MAX];
	char detail[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL, *h;
	enum rn_client_failure f = RN_CLIENT_OK;
	CURL *c = keep && *keep ? *keep : curl_easy_init();
	CURLcode rc;

	if (keep && *keep)
		curl_easy_reset(c); /* options to defaults; the live connection stays */

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", l->server_url, path);
	pin_string(l->tls_pin, pin);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", l->node_token);
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	if (hdr && (h = curl_slist_append(hdr, "Accept: application/json")))
		hdr = h;
	if (hdr && with_token && (h = curl_slist_append(hdr, auth)))
		hdr = h;
	OPENSSL_cleanse(auth, sizeof(auth));
	if (!c || !hdr) {
		snprintf(err, errlen, "out of memory");
		f = RN_CLIENT_RETRY;
		goto out;
	}
	rc = set_pin(c, pin);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
	if (rc != CURLE_OK) {
		snprintf(
		    err, errlen,
		    "this libcurl cannot pin the control server's key or insist on HTTPS and "
		    "TLS 1.3 (%s), so the server could not be trusted: install a libcurl built "
		    "with OpenSSL",
		    curl_easy_strerror(rc));
		f = RN_CLIENT_UNREACHABLE;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)RN_CLIENT_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)RN_CLIENT_MAX_BODY);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, stop);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_socket);
	if (oc) {
		curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
		curl_easy_setopt(c, CURLOPT_PREREQDATA, oc);
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		f = transport_error(l, rc, detail, r, err, errlen);
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
out:
	if (hdr && with_token)
		for (h = hdr; h; h = h->next)
			OPENSSL_cleanse(h->data, strlen(h->data));
	curl_slist_free_all(hdr);
	if (keep && !f && c) {
		*keep = c;
	} else {
		curl_easy_cleanup(c); /* a failed or aborted connection is never reused */
		if (keep)
			*keep = NULL;
	}
	if (f)
		resp_free(r);
	return f;
}

/* The server's {"error": "..."} text, made safe to print, or "". */
static void server_message(const struct http_resp *r, char *out, size_t len)
{
	json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const char *s = json_string_value(json_object_get(j, "error"));
	size_t i;

	snprintf(out, len, "%.300s", s ? s : "");
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	json_decref(j);
}

/* Turns a non-2xx status into a failure kind and a message (prefix names the request). */
static enum rn_client_failure classify(const struct rn_login *l, const struct http_resp *r,
				       const char *what, char *err, size_t errlen)
{
	char msg[320];

	if (r->status >= 200 && r->status < 300)
		return RN_CLIENT_OK;
	server_message(r, msg, sizeof(msg));
	if (!msg[0])
		snprintf(msg, sizeof(msg), "no reason given");
	snprintf(err, errlen, "%s: %s answered HTTP %ld: %s", what, l->server_url, r->status, msg);
	switch (r->status) {
	case 401:
	case 403:
		return RN_CLIENT_REFUSED;
	case 400:
	case 404:
	case 405:
	case 413:
		return RN_CLIENT_BAD_REQUEST;
	default:
		return RN_CLIENT_RETRY;
	}
}

static json_t *routes_json(const struct rn_advertise *adv)
{
	char buf[RN_FILTER_PREFIX_STRLEN];
	json_t *a = json_array();

	for (size_t i = 0; a && adv && i < adv->n_routes; i++)
		json_array_append_new(
		    a, json_string(rn_filter_prefix_format(&adv->routes[i], buf, sizeof(buf))));
	return a;
}

static json_t *endpoints_json(const char *skip_ifname, uint16_t port)
{
	char eps[RN_CLIENT_MAX_ENDPOINTS][64];
	size_t n = rn_client_endpoints(skip_ifname, port, eps);
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(eps[i]));
	return a;
}

/* ---- enroll and logout ---- */

bool rn_client_enrolled_parse(const char *body, size_t len, struct rn_client_enrolled *out)
{
	json_t *j = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
	json_t *id = json_object_get(j, "node_id"), *nm = json_object_get(j, "netmap");
	const char *tok = json_string_value(json_object_get(j, "node_token"));
	bool ok = false;

	if (!json_is_integer(id) || json_integer_value(id) < 1 || !json_is_object(nm) || !tok ||
	    strncmp(tok, "rnt_", 4) || strlen(tok) >= RN_CLIENT_TOKEN_MAX)
		goto out;
	out->node_id = (uint64_t)json_integer_value(id);
	snprintf(out->node_token, sizeof(out->node_token), "%s", tok);
	out->envelope = json_dumps(nm, JSON_COMPACT);
	out->envelope_len = out->envelope ? strlen(out->envelope) : 0;
	ok = out->envelope != NULL;
out:
	if (tok)
		OPENSSL_cleanse((char *)tok, strlen(tok));
	json_decref(j);
	return ok;
}

bool rn_client_challenge_parse(const char *body, size_t len, struct rn_client_challenge *out)
{
	json_t *j = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
	const char *nonce = json_string_value(json_object_get(j, "nonce"));
	const char *key = json_string_value(json_object_get(j, "server_key"));
	uint8_t raw[RN_ENROLL_KEY_LEN + 2];
	bool ok;

	memset(out, 0, sizeof(*out));
	ok = nonce && key && rn_authkey_b64_decode(nonce, strlen(nonce), out->nonce) &&
	     strlen(key) == 44 && key[43] == '=' &&
	     EVP_DecodeBlock(raw, (const unsigned char *)key, 44) == RN_ENROLL_KEY_LEN + 1;
	if (ok)
		memcpy(out->server_key, raw, RN_ENROLL_KEY_LEN);
	else
		memset(out, 0, sizeof(*out));
	json_decref(j);
	return ok;
}

/* POST /v1/enroll/challenge: a nonce and the key the proof is made for. */
static enum rn_client_failure get_challenge(const struct rn_login *login,
					    struct rn_client_challenge *ch, char *err,
					    size_t errlen)
{
	struct http_resp r;
	enum rn_client_failure f;

	f = http_post(login, "/v1/enroll/challenge", false, "{}", RN_CLIENT_REQUEST_TIMEOUT_S, NULL,
		      NULL, NULL, &r, err, errlen);
	if (f)
		return f;
	f = classify(login, &r, "enroll", err, errlen);
	if (!f && !rn_client_challenge_parse(r.body, r.len, ch)) {
		snprintf(err, errlen,
			 "enroll: %s answered the challenge without a nonce and server_key: is it "
			 "a rustynet control server of this version?",
			 login->server_url);
		f = RN_CLIENT_BAD_REQUEST;
	}
	resp_free(&r);
	return f;
}

/* The enroll request's body, with the proof of the node key; NULL when out of memory. */
static char *enroll_body(const struct rn_login *login, const char *secret,
			 const uint8_t private_key[32], const struct rn_client_challenge *ch,
			 const char *skip_ifname, uint16_t port, const struct rn_advertise *adv)
{
	uint8_t pub_raw[32], proof[RN_ENROLL_PROOF_LEN];
	char pub[45], nonce[RN_AUTHKEY_B64_LEN + 1], proof64[RN_AUTHKEY_B64_LEN + 1];
	struct rn_enroll_transcript t = { .nonce = ch->nonce,
					  .server_pub = ch->server_key,
					  .node_pub = pub_raw,
					  .auth_key = secret,
					  .hostname = login->hostname };
	json_t *req;
	char *body;

	if (!rn_enroll_key_public(private_key, pub_raw) ||
	    !rn_enroll_proof_make(private_key, ch->server_key, &t, proof))
		return NULL; /* a low-order server key: no proof can be made for it */
	EVP_EncodeBlock((unsigned char *)pub, pub_raw, 32);
	rn_authkey_b64_encode(ch->nonce, nonce);
	rn_authkey_b64_encode(proof, proof64);
	req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:b}", "auth_key", secret,
			"public_key", pub, "hostname", login->hostname, "nonce", nonce, "proof",
			proof64, "endpoints", endpoints_json(skip_ifname, port), "advertise_routes",
			routes_json(adv), "advertise_exit", adv && adv->exit);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (req)
		OPENSSL_cleanse((char *)json_string_value(json_object_get(req, "auth_key")),
				strlen(secret));
	json_decref(req);
	return body;
}

enum rn_client_failure rn_client_enroll(const struct rn_login *login, const char *secret,
					const uint8_t private_key[32], const char *skip_ifname,
					uint16_t port, const struct rn_advertise *adv,
					struct rn_client_enrolled *out, char *err, size_t errlen)
{
	struct rn_client_challenge ch;
	char *body;
	struct http_resp r;
	enum rn_client_failure f;

	memset(out, 0, sizeof(*out));
	f = get_challenge(login, &ch, err, errlen);
	if (f)
		return f;
	body = enroll_body(login, secret, private_key, &ch, skip_ifname, port, adv);
	if (!body) {
		snprintf(err, errlen,
			 "enroll: cannot prove the node key to %s (out of memory, or the server's "
			 "enrollment key is not usable)",
			 login->server_url);
		return RN_CLIENT_RETRY;
	}
	f = http_post(login, "/v1/enroll", false, body, RN_CLIENT_REQUEST_TIMEOUT_S, NULL, NULL,
		      NULL, &r, err, errlen);
	OPENSSL_cleanse(body, strlen(body));
	free(body);
	if (f)
		return f;
	f = classify(login, &r, "enroll", err, errlen);
	if (!f && !rn_client_enrolled_parse(r.body, r.len, out)) {
		snprintf(
		    err, errlen,
		    "enroll: %s answered 200 without a node_id, node_token and netmap: is it a "
		    "rustynet control server of this version?",
		    login->server_url);
		rn_client_enrolled_free(out);
		f = RN_CLIENT_BAD_REQUEST;
	}
	resp_free(&r);
	return f;
}

void rn_client_enrolled_free(struct rn_client_enrolled *e)
{
	free(e->envelope);
	OPENSSL_cleanse(e, sizeof(*e));
}

enum rn_client_failure rn_client_logout(const struct rn_login *login, char *err, size_t errlen)
{
	struct http_resp r;
	enum rn_client_failure f;

	f = http_post(login, "/v1/logout", true, "{}", RN_CLIENT_REQUEST_TIMEOUT_S, NULL, NULL,
		      NULL, &r, err, errlen);
	if (f)
		return f;
	f = classify(login, &r, "logout", err, errlen);
	resp_free(&r);
	return f;
}

enum rn_client_failure rn_client_poll_once(const struct rn_login *login, const char *skip_ifname,
					   uint16_t port, uint64_t since,
					   const struct rn_advertise *adv, bool calls,
					   atomic_bool *stop, void (*connected)(void *arg),
					   void *arg, void **conn, struct rn_client_polled *out,
					   char *err, size_t errlen)
{
	struct on_connect oc = { .fn = connected, .arg = arg };
	struct http_resp r;
	enum rn_client_failure f;
	json_t *req;
	char *body;

	memset(out, 0, sizeof(*out));
	req = json_pack("{s:I, s:o, s:o, s:b, s:b}", "since", (json_int_t)since, "endpoints",
			endpoints_json(skip_ifname, port), "advertise_routes", routes_json(adv),
			"advertise_exit", adv && adv->exit, "calls", calls);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body) {
		snprintf(err, errlen, "out of memory");
		return RN_CLIENT_RETRY;
	}
	f = http_post(login, "/v1/poll", true, body, RN_CLIENT_POLL_TIMEOUT_S, stop, &oc, conn, &r,
		      err, errlen);
	free(body);
	if (f)
		return f;
	f = classify(login, &r, "poll", err, errlen);
	out->retry_after_s = r.retry_after_s;
	if (!f && r.status == 200 &&
	    rn_client_calls_parse(r.body, r.len, out->calls, RN_CLIENT_CALLS_MAX, &out->n_calls)) {
		/* calls, not a map: the ids are checked against the map by the loop */
	} else if (!f && r.status == 200) {
		out->envelope = r.body; /* the loop decodes it: nothing here is trusted */
		out->envelope_len = r.len;
		r.body = NULL;
	}
	resp_free(&r);
	return f;
}

/* ---- "call me now" (POST /v1/call) ---- */

bool rn_client_calls_parse(const char *body, size_t len, uint64_t *from, size_t max, size_t *n)
{
	json_t *j = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
	json_t *a = json_object_get(j, "calls"), *v;
	bool is_calls = json_is_array(a) && json_object_size(j) == 1;
	size_t i;

	*n = 0;
	json_array_foreach(is_calls ? a : NULL, i, v) {
		json_t *id = json_object_get(v, "from");

		if (*n < max && json_is_integer(id) && json_integer_value(id) > 0)
			from[(*n)++] = (uint64_t)json_integer_value(id);
	}
	json_decref(j);
	return is_calls;
}

enum rn_client_failure rn_client_call(const struct rn_login *login, uint64_t peer,
				      atomic_bool *stop, void **conn, long *retry_after_s,
				      char *err, size_t errlen)
{
	struct http_resp r;
	enum rn_client_failure f;
	char body[64];

	*retry_after_s = 0;
	snprintf(body, sizeof(body), "{\"peer\":%llu}", (unsigned long long)peer);
	f = http_post(login, "/v1/call", true, body, RN_CLIENT_REQUEST_TIMEOUT_S, stop, NULL, conn,
		      &r, err, errlen);
	if (f)
		return f;
	f = classify(login, &r, "call", err, errlen);
	*retry_after_s = r.retry_after_s;
	resp_free(&r);
	return f;
}
