/* SPDX-License-Identifier: MIT */
/*
 * The network map: what the control server tells one node about its network — itself, the
 * peers it may talk to, the packet filter it enforces and its DNS config — and the signed wire
 * format that carries it. The node trusts nothing in a map until rn_netmap_decode() has checked
 * the signature against the pinned control key and every field, and rn_netmap_accept() has
 * checked it against the map the node already runs (newer version, fresh, same self key).
 * A map refused at either step changes nothing: the node keeps the last good one.
 *
 * Wire format, one JSON object:
 *   {"format":"rustynet-netmap/1","key_id":"<16 hex>","map":"<map JSON>","sig":"<base64>"}
 * key_id is the hex of the first 8 bytes of SHA-256 of the Ed25519 public key that signed;
 * sig is the Ed25519 signature over the exact bytes of the map string (after JSON unescaping),
 * so the map needs no canonical form: the node verifies the bytes it will parse.
 *
 * The map JSON is a strict schema: every field present, no unknown field, integers only where
 * integers go (no fractions, no exponents, none above 2^53 - 1, the largest every JSON reader
 * keeps exact). A new field is a new format version. src/netmap/schema.md shows it.
 */
#ifndef RN_NETMAP_NETMAP_H
#define RN_NETMAP_NETMAP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "policy/filter.h"

#define RN_NETMAP_FORMAT "rustynet-netmap/1"

enum {
	RN_NETMAP_KEY_LEN = 32,	      /* Ed25519 private seed or public key, and WireGuard keys */
	RN_NETMAP_SIG_LEN = 64,	      /* Ed25519 signature */
	RN_NETMAP_KEY_ID_LEN = 8,     /* bytes of SHA-256(public key) in key_id */
	RN_NETMAP_KEY_ID_STRLEN = 17, /* key_id as hex, and its NUL */
	RN_NETMAP_LABEL_MAX = 63,     /* one DNS label, RFC 1035 */
	RN_NETMAP_DNS_NAME_MAX = 253, /* a DNS name in text, without the final dot */
	RN_NETMAP_USER_MAX = 128,     /* an owner's login or e-mail address */
	RN_NETMAP_CLOCK_SKEW_S = 300, /* how far in the future issued_at may be, seconds */
};

/* Caps on outside input: far above any real network, low enough that memory stays bounded. */
enum {
	RN_NETMAP_MAX_BYTES = 16 << 20, /* encoded envelope, bytes */
	RN_NETMAP_MAX_PEERS = 10000,
	RN_NETMAP_MAX_ENDPOINTS = 16,	    /* per peer */
	RN_NETMAP_MAX_ALLOWED_IPS = 1024,   /* per peer */
	RN_NETMAP_MAX_ROUTES = 256,	    /* lan_routes per peer; routes of the filter */
	RN_NETMAP_MAX_RULES = 10000,	    /* filter rules */
	RN_NETMAP_MAX_RULE_PREFIXES = 4096, /* src, and dst, of one rule */
	RN_NETMAP_MAX_RULE_PORTS = 256,	    /* port ranges of one rule */
	RN_NETMAP_MAX_RESOLVERS = 8,
	RN_NETMAP_MAX_RECORDS = 4096,
	RN_NETMAP_MAX_STUN = 8,	  /* STUN servers */
	RN_NETMAP_MAX_RELAYS = 8, /* relays */
};
#define RN_NETMAP_MAX_INT ((UINT64_C(1) << 53) - 1) /* any integer field */

/* How long a node may start on a map from its cache (cache_valid_s), seconds. */
enum {
	RN_NETMAP_CACHE_VALID_DEFAULT_S = 86400, /* when the map has no cache_valid_s: 24 h */
	RN_NETMAP_CACHE_VALID_MAX_S = 31536000,	 /* 365 days */
};

/* An endpoint "ip:port" or "[ip]:port": sa_family AF_INET or AF_INET6, port never 0. */
union rn_netmap_endpoint {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

/* An IP address: family AF_INET (addr[0..3]) or AF_INET6, network order. */
struct rn_netmap_ip {
	uint8_t family;
	uint8_t addr[16];
};

/*
 * A relay (src/relay/relay.h): it forwards WireGuard ciphertext between nodes that cannot reach
 * each other directly, over UDP and/or TLS on TCP. At least one of udp and tls is set (sa_family
 * AF_UNSPEC: not offered); spki pins the TLS certificate (SHA-256 of its DER public key).
 */
struct rn_netmap_relay {
	char name[RN_NETMAP_LABEL_MAX + 1]; /* DNS label, unique among relays */
	union rn_netmap_endpoint udp;
	union rn_netmap_endpoint tls;
	uint8_t spki[RN_NETMAP_KEY_LEN]; /* with tls; all zero without */
};

/* This node's credential for the relays: token = HMAC-SHA256(relay secret, ... key, expires). */
struct rn_netmap_relay_cred {
	uint64_t expires; /* unix seconds; 0: no credential */
	uint8_t token[RN_NETMAP_KEY_LEN];
};

/* This node. */
struct rn_netmap_self {
	uint64_t id;				   /* node id, unique in the network, >= 1 */
	char name[RN_NETMAP_LABEL_MAX + 1];	   /* DNS label: a-z 0-9 -, unique in the network */
	char dns_name[RN_NETMAP_DNS_NAME_MAX + 1]; /* exactly name "." domain */
	char user[RN_NETMAP_USER_MAX + 1];	   /* owner: printable ASCII, no spaces */
	uint8_t ipv4[4];			   /* mesh address in 100.64.0.0/10 */
	uint8_t ipv6[16];			   /* mesh address in the network's ULA /48 */
	uint8_t public_key[RN_NETMAP_KEY_LEN];	   /* WireGuard; never changes between maps */
};

/* A node this one may talk to, or that may talk to it. */
struct rn_netmap_peer {
	uint64_t id;				   /* node id, >= 1, unique among peers and self */
	char name[RN_NETMAP_LABEL_MAX + 1];	   /* DNS label, unique */
	char dns_name[RN_NETMAP_DNS_NAME_MAX + 1]; /* exactly name "." domain */
	uint8_t public_key[RN_NETMAP_KEY_LEN];	   /* WireGuard, unique, not all zero */
	uint8_t ipv4[4];			   /* mesh addresses, unique, ipv6 in self's /48 */
	uint8_t ipv6[16];
	union rn_netmap_endpoint *endpoints; /* owned: where to send handshakes, best first */
	size_t n_endpoints;
	/*
	 * Owned: WireGuard allowed IPs, what this node routes to the peer and accepts from it:
	 * the peer's mesh /32 and /128 and each of lan_routes, nothing else. No prefix appears at
	 * two peers (the control server picks one router per prefix). The default routes are not
	 * here: the daemon adds them itself while the user has selected this peer as exit node.
	 */
	struct rn_filter_prefix *allowed_ips;
	size_t n_allowed_ips;
	bool online;	    /* connected to the control server when the map was made */
	uint64_t last_seen; /* unix seconds it was last connected; 0 = never */
	bool is_exit;	    /* an approved exit node this node may use */
	/*
	 * Owned: approved LAN subnets this node may reach through the peer. Never /0, never
	 * overlapping 100.64.0.0/10 or the network's /48.
	 */
	struct rn_filter_prefix *lan_routes;
	size_t n_lan_routes;
};

enum rn_netmap_rr_type {
	RN_NETMAP_RR_A = 1, /* DNS type numbers, RFC 1035 and RFC 3596 */
	RN_NETMAP_RR_AAAA = 28,
};

/* An extra DNS record Magic DNS answers, e.g. "nas.rustynet A 192.168.1.10". */
struct rn_netmap_dns_record {
	char name[RN_NETMAP_DNS_NAME_MAX + 1]; /* lowercase DNS name, no final dot */
	enum rn_netmap_rr_type type;
	struct rn_netmap_ip value; /* AF_INET for A, AF_INET6 for AAAA */
};

struct rn_netmap_dns {
	struct rn_netmap_ip *resolvers; /* owned: upstreams for other names, port 53 */
	size_t n_resolvers;
	struct rn_netmap_dns_record *records; /* owned */
	size_t n_records;
	char search_domain[RN_NETMAP_DNS_NAME_MAX + 1]; /* "" = none */
};

struct rn_netmap {
	uint64_t version;   /* strictly increasing per network, >= 1 */
	uint64_t issued_at; /* unix seconds the control server made the map */
	/*
	 * Seconds after issued_at during which a node may start on this map from its cache
	 * (optional on the wire; 0: absent, RN_NETMAP_CACHE_VALID_DEFAULT_S applies). Past it a
	 * restarted node runs no peers until the control server sends a map.
	 */
	uint64_t cache_valid_s;
	char domain[RN_NETMAP_DNS_NAME_MAX + 1]; /* Magic DNS domain, e.g. "rustynet" */
	struct rn_netmap_self self;
	struct rn_netmap_peer *peers; /* owned; ids, names, keys and addresses all unique */
	size_t n_peers;
	/*
	 * Owned: the packet filter this node enforces on what it receives. Its self is exactly
	 * self.ipv4/32 and self.ipv6/128; its routes are this node's approved LAN routes (same
	 * limits as lan_routes); exit says it is an approved exit node.
	 */
	struct rn_filter filter;
	struct rn_netmap_dns dns;
	/*
	 * Owned, optional on the wire (absent: none): the STUN servers this node asks, from its
	 * WireGuard socket, for the address and port its NAT maps that socket to (src/path).
	 */
	union rn_netmap_endpoint *stun;
	size_t n_stun;
	/* Owned, optional on the wire (absent: none): the relays, and this node's credential for
	 * them (present exactly when relays are). */
	struct rn_netmap_relay *relays;
	size_t n_relays;
	struct rn_netmap_relay_cred relay_cred;
};

/* m's cache_valid_s, or the default when the map has none. */
uint64_t rn_netmap_cache_valid_s(const struct rn_netmap *m);

/* ---- Ed25519 signing keys (the control server's) ---- */

/* A new key pair from the OpenSSL RNG. Returns 0 or -ENOMEM/-EIO. */
int rn_netmap_sign_key_generate(uint8_t priv[RN_NETMAP_KEY_LEN], uint8_t pub[RN_NETMAP_KEY_LEN])
    __attribute__((warn_unused_result));

/* The public key of a private one. Returns 0 or -EINVAL/-ENOMEM. */
int rn_netmap_sign_key_public(const uint8_t priv[RN_NETMAP_KEY_LEN], uint8_t pub[RN_NETMAP_KEY_LEN])
    __attribute__((warn_unused_result));

/* Ed25519 (RFC 8032, pure) over msg. Returns 0 or -EINVAL/-ENOMEM. */
int rn_netmap_sign(const uint8_t priv[RN_NETMAP_KEY_LEN], const void *msg, size_t len,
		   uint8_t sig[RN_NETMAP_SIG_LEN]) __attribute__((warn_unused_result));

bool rn_netmap_verify(const uint8_t pub[RN_NETMAP_KEY_LEN], const void *msg, size_t len,
		      const uint8_t sig[RN_NETMAP_SIG_LEN]) __attribute__((warn_unused_result));

/* A lowercase DNS name of RFC 1123 labels (a-z 0-9 -), no final dot, at most
 * RN_NETMAP_DNS_NAME_MAX bytes: what the map's names, domain and extra records must be. */
bool rn_netmap_is_dns_name(const char *s);

/* The key_id of a public key: 16 lowercase hex digits and a NUL. */
void rn_netmap_key_id(const uint8_t pub[RN_NETMAP_KEY_LEN], char out[RN_NETMAP_KEY_ID_STRLEN]);

enum rn_netmap_key_kind {
	RN_NETMAP_KEY_PRIVATE, /* file mode 0600, refused if group or others may read it */
	RN_NETMAP_KEY_PUBLIC,  /* file mode 0644 */
};

/*
 * Reads a key file: 64 hex digits or 44 base64 characters, surrounding whitespace ignored.
 * A private key file that group or others may read is refused (-EPERM), saying to chmod 600.
 * Returns 0, -errno of open/read, -EINVAL (bad contents, or not a regular file), -EPERM.
 */
int rn_netmap_key_load(const char *path, enum rn_netmap_key_kind kind,
		       uint8_t key[RN_NETMAP_KEY_LEN], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Writes key in base64 to a new file at path, atomically: it never replaces an existing file
 * (-EEXIST; a control server that lost its signing key must not silently get a new one).
 * Returns 0 or -errno.
 */
int rn_netmap_key_save(const char *path, enum rn_netmap_key_kind kind,
		       const uint8_t key[RN_NETMAP_KEY_LEN], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* ---- the codec ---- */

/*
 * Checks every field of m as rn_netmap_decode() does (ranges, syntax, uniqueness, counts).
 * Returns 0 or -EINVAL, with err naming the field and quoting the bad value.
 */
int rn_netmap_validate(const struct rn_netmap *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Validates m, encodes and signs it. *out is a NUL-terminated string for free(); *len its
 * length. Returns 0, -EINVAL (m invalid: err says why), -ENOMEM.
 */
int rn_netmap_encode(const struct rn_netmap *m, const uint8_t signing_priv[RN_NETMAP_KEY_LEN],
		     char **out, size_t *len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * An encoder for many maps signed with one key: rn_netmap_encode() that keeps its buffers and
 * the text of what repeats between maps (peers, long prefix lists), for the control server.
 * Not thread-safe. new returns NULL when the key is bad or out of memory; signing_priv is not
 * kept (OpenSSL keeps the key).
 */
struct rn_netmap_encoder;
struct rn_netmap_encoder *rn_netmap_encoder_new(const uint8_t signing_priv[RN_NETMAP_KEY_LEN]);
void rn_netmap_encoder_free(struct rn_netmap_encoder *enc);
int rn_netmap_encoder_run(struct rn_netmap_encoder *enc, const struct rn_netmap *m, char **out,
			  size_t *len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Signs map[0..len) as it is, unchecked, into an envelope (for tests, fuzzing and tools; the
 * control server uses rn_netmap_encode()). map must be valid UTF-8 without NUL bytes.
 * Returns 0, -EINVAL, -ENOMEM.
 */
int rn_netmap_seal(const char *map, size_t len, const uint8_t signing_priv[RN_NETMAP_KEY_LEN],
		   char **out, size_t *outlen) __attribute__((warn_unused_result));

/*
 * Verifies and parses buf[0..len) (need not be NUL-terminated) into *out, which is overwritten:
 * the signature is checked against signing_pub before the map is parsed. On failure *out is
 * zeroed and err says why. Returns 0, or
 *   -EMSGSIZE     over RN_NETMAP_MAX_BYTES, or empty;
 *   -EINVAL       not an envelope of this format, or a map field malformed or out of range;
 *   -EKEYREJECTED key_id is not that of signing_pub (signed by another control server key);
 *   -EBADMSG      the signature does not verify;
 *   -ENOMEM.
 */
int rn_netmap_decode(const char *buf, size_t len, const uint8_t signing_pub[RN_NETMAP_KEY_LEN],
		     struct rn_netmap *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Whether a decoded candidate may replace current (NULL: the node runs no map yet). Refuses
 * -ESTALE a version not above current's (replay, rollback) or a map issued more than max_age_s
 * before now; -ERANGE one issued more than RN_NETMAP_CLOCK_SKEW_S after now; -EPERM a self
 * public key other than current's. now is unix seconds; max_age_s must be > 0 (-EINVAL). The
 * caller checks the first map's self key against its own private key: that needs the key.
 * A daemon loading its cached map after a restart may pass a larger max_age_s.
 */
int rn_netmap_accept(const struct rn_netmap *current, const struct rn_netmap *candidate,
		     uint64_t now, uint64_t max_age_s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Frees what m owns and zeroes it. Safe on a zeroed map and on NULL. */
void rn_netmap_free(struct rn_netmap *m);

#endif
