/* SPDX-License-Identifier: MIT */
/*
 * The control server's state: users, auth keys, nodes, network settings, the policy and an audit
 * log. This header is the only interface rustynet-control uses, so that a PostgreSQL backend can
 * sit behind it later; today it is SQLite (WAL) in STATE_DIR/control.db.
 *
 * Conventions: functions return 0 or -errno; on failure rn_store_errmsg() says, for a person,
 * what was wrong and what to do. Every function that changes configuration or membership takes
 * the actor (who asked: "admin:alice", "node:42", ...) and appends an audit entry in the same
 * transaction, so the log never disagrees with the state. Times are Unix seconds, passed in by
 * the caller so that tests control the clock. Tags, routes and endpoints are JSON arrays of
 * strings, checked on the way in. One struct rn_store serves one thread at a time; threads and
 * processes that share a state dir each open their own.
 */
#ifndef RN_CONTROL_STORE_H
#define RN_CONTROL_STORE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netmap/netmap.h"

struct rn_store;

enum {
	RN_STORE_SCHEMA_VERSION = 6, /* the newest schema this code understands */
	RN_STORE_KEY_LEN = 32,	     /* a node's WireGuard public key, bytes */
	RN_STORE_LABEL_MAX = 63,     /* one DNS label, RFC 1035 */
	RN_STORE_NAME_MAX = 255,     /* a hostname or user name as given, bytes */
	/* A secret: 4-byte prefix + base64url (no padding) of 32 random bytes, and the NUL */
	RN_STORE_SECRET_SIZE = 4 + 43 + 1,
	RN_STORE_SECRET_HASH_LEN = 32,			     /* SHA-256, what is stored */
	RN_STORE_AUTHKEY_SECRET_SIZE = RN_STORE_SECRET_SIZE, /* "rnk_..." */
	RN_STORE_NODE_TOKEN_SIZE = RN_STORE_SECRET_SIZE,     /* "rnt_..." */
	RN_STORE_ULA_PREFIX_LEN = 6,			     /* the network's ULA /48, bytes */
};

int rn_store_open(const char *state_dir, struct rn_store **out);
void rn_store_close(struct rn_store *store);
/* The last failure, for a person; "" if none. Valid until the next call on the store. */
const char *rn_store_errmsg(const struct rn_store *store);

/* --- network settings --- */
/* Known keys: "domain" (default "rustynet"), "ula_prefix" ("fdxx:xxxx:xxxx::/48", set at init),
 * "dns_upstreams" (canonical "IP,IP", absent or "" for none; an admin setting), "stun_servers"
 * (canonical "IP:PORT,[IP]:PORT", absent or "" for none; an admin setting), "key_expiry_s"
 * (decimal seconds, 0 or absent: off; an admin setting). */
int rn_store_setting_get(struct rn_store *store, const char *key, char *out, size_t size);
int rn_store_setting_set(struct rn_store *store, const char *actor, const char *key,
			 const char *value, int64_t now);
void rn_store_ula_prefix(const struct rn_store *store, uint8_t out[RN_STORE_ULA_PREFIX_LEN]);
/* Bumps and returns the netmap version: atomic across connections, never repeats, never falls. */
int rn_store_next_version(struct rn_store *store, uint64_t *out);

/* --- users --- */
int rn_store_user_add(struct rn_store *store, const char *actor, const char *name, int64_t now,
		      int64_t *id_out);
/* -ENOENT if there is no such user. */
int rn_store_user_get_by_name(struct rn_store *store, const char *name, int64_t *id_out);

struct rn_store_user {
	int64_t id;
	char *name; /* owned */
	int64_t created_at;
	bool admin; /* the admin role: named by autogroup:admin and autogroup:owner */
};
/* Gives user id the admin role or takes it back (member); -ENOENT if there is no such user. */
int rn_store_user_set_role(struct rn_store *store, const char *actor, int64_t id, bool admin,
			   int64_t now);
/* Every user, by id; free with rn_store_user_list_free. */
int rn_store_user_list(struct rn_store *store, struct rn_store_user **out, size_t *n_out);
void rn_store_user_list_free(struct rn_store_user *users, size_t n);

/* --- policy: the current text and every earlier one --- */
int rn_store_policy_set(struct rn_store *store, const char *actor, const char *text, int64_t now);
/* The same only if the current revision is still expect_rev (0: none yet), checked inside the
 * write transaction: -ESTALE otherwise, nothing changed. expect_rev -1: unconditional. */
int rn_store_policy_set_if(struct rn_store *store, const char *actor, const char *text,
			   int64_t expect_rev, int64_t now);
/* *text_out is malloc'd (NULL with *rev_out 0 if no policy was ever set); rev counts from 1. */
int rn_store_policy_get(struct rn_store *store, char **text_out, int64_t *rev_out);

/* --- auth keys --- */
enum rn_store_authkey_flags {
	RN_STORE_AUTHKEY_REUSABLE = 1u << 0,  /* enrolls any number of nodes (default: one) */
	RN_STORE_AUTHKEY_EPHEMERAL = 1u << 1, /* its nodes go once offline a few minutes */
};

struct rn_store_authkey {
	int64_t id;
	int64_t user_id;
	bool reusable;
	bool ephemeral;
	int64_t expires_at; /* 0: never */
	char *tags;	    /* JSON array of strings; owned, freed by rn_store_authkey_list_free */
	int64_t created_at;
	int64_t revoked_at; /* 0: not revoked */
	int64_t used_count;
};

/*
 * Makes a key and writes its secret to secret_out: the only time anyone sees it, since only its
 * SHA-256 is stored. tags: JSON array of "tag:..." strings, or NULL for none.
 */
int rn_store_authkey_create(struct rn_store *store, const char *actor, int64_t user_id,
			    unsigned flags, int64_t expires_at, const char *tags, int64_t now,
			    char secret_out[RN_STORE_AUTHKEY_SECRET_SIZE], int64_t *id_out);
int rn_store_authkey_list(struct rn_store *store, struct rn_store_authkey **out, size_t *n_out);
void rn_store_authkey_list_free(struct rn_store_authkey *keys, size_t n);
int rn_store_authkey_revoke(struct rn_store *store, const char *actor, int64_t id, int64_t now);

struct rn_store_authkey_use {
	int64_t key_id;
	int64_t user_id;
	bool ephemeral;
	char *tags; /* JSON array; owned, freed by rn_store_authkey_use_clear */
};

/*
 * Checks and uses a key in one IMMEDIATE transaction, so of two concurrent users of a single-use
 * key exactly one gets 0. Returns -EINVAL (not a key), -ENOENT (unknown), -EKEYREVOKED,
 * -EKEYEXPIRED, or -EKEYREJECTED (single-use and already used). The use is audited.
 */
int rn_store_authkey_consume(struct rn_store *store, const char *secret, int64_t now,
			     struct rn_store_authkey_use *out);
void rn_store_authkey_use_clear(struct rn_store_authkey_use *use);

/* --- nodes --- */
struct rn_store_node {
	int64_t id;
	char name[RN_STORE_NAME_MAX + 1];      /* the hostname the node gave */
	char dns_name[RN_STORE_LABEL_MAX + 1]; /* the unique DNS label given to it */
	int64_t user_id;
	uint8_t public_key[RN_STORE_KEY_LEN];
	struct in_addr ipv4;
	struct in6_addr ipv6;
	int64_t enrolled_at;
	int64_t last_seen; /* 0: never */
	bool expired;	   /* by an admin or a logout; see rn_store_node_is_expired */
	/* When the node's key expires: RN_STORE_KEY_EXPIRY_NONE (no network default when it
	 * enrolled), RN_STORE_KEY_EXPIRY_OFF (turned off for this node), else Unix seconds. */
	int64_t key_expires_at;
	bool ephemeral; /* enrolled with an ephemeral key: removed once offline a few minutes */
	bool advertises_exit;
	bool exit_approved;
	/* JSON arrays of strings; owned, freed by rn_store_node_clear */
	char *tags;
	char *advertised_routes; /* CIDRs */
	char *approved_routes;	 /* CIDRs, a subset of advertised_routes when approved */
	char *endpoints;	 /* "ip:port" / "[ip]:port" */
};

enum {
	RN_STORE_KEY_EXPIRY_NONE = 0,
	RN_STORE_KEY_EXPIRY_OFF = -1,
};
/* The network's key expiry, seconds after an enrollment ("key_expiry_s"; 0: keys never expire). */
#define RN_STORE_SETTING_KEY_EXPIRY "key_expiry_s"

/* Expired by an admin or a logout, or its key expired by now: it drops from every map. */
bool rn_store_node_is_expired(const struct rn_store_node *n, int64_t now);
/*
 * Removes the ephemeral nodes not seen (nor enrolled) since gone_since, each audited as a
 * removal by "control:ephemeral"; *removed counts them.
 */
int rn_store_node_remove_gone_ephemeral(struct rn_store *store, int64_t gone_since, int64_t now,
					size_t *removed);
/* Sets when node id's key expires (RN_STORE_KEY_EXPIRY_OFF: never, renewals included). */
int rn_store_node_set_key_expiry(struct rn_store *store, const char *actor, int64_t id,
				 int64_t expires_at, int64_t now);

struct rn_store_node_enroll {
	const char *hostname;
	int64_t user_id;
	const uint8_t *public_key; /* RN_STORE_KEY_LEN bytes */
	const char *tags;	   /* JSON array or NULL */
	bool ephemeral;		   /* the key's: removed once offline a few minutes */
};

/*
 * Enrolls a node: a new key gets fresh addresses and a DNS name; a key already enrolled keeps
 * its id, addresses, DNS name, user, tags, routes and approvals, takes the new hostname and is
 * un-expired (*reenrolled_out true). A key enrolled by another user is refused (-EPERM). out may
 * be NULL. The caller has checked that whoever asks holds the key's private half.
 */
int rn_store_node_add(struct rn_store *store, const char *actor,
		      const struct rn_store_node_enroll *req, int64_t now,
		      struct rn_store_node *out, bool *reenrolled_out);
/*
 * An enrollment with an auth key, in one transaction: the key is used (rn_store_authkey_consume's
 * checks and audit), the node added or re-enrolled (rn_store_node_add's rules, with the key's
 * user and tags) and given a new token (rn_store_node_set_token). If any step fails nothing
 * changes, so a single-use key is not used up by an enrollment that did not happen; a refused
 * key is still audited. Returns what those return; *use, *out and token_out are filled on 0.
 */
struct rn_store_enrollment {
	const char *auth_key; /* the "rnk_..." secret */
	const char *hostname;
	const uint8_t *public_key; /* RN_STORE_KEY_LEN bytes */
};
int rn_store_enroll(struct rn_store *store, const struct rn_store_enrollment *req, int64_t now,
		    struct rn_store_authkey_use *use, struct rn_store_node *out,
		    char token_out[RN_STORE_NODE_TOKEN_SIZE], bool *reenrolled_out);
/* -ENOENT when there is no such node. */
int rn_store_node_get_by_key(struct rn_store *store, const uint8_t key[RN_STORE_KEY_LEN],
			     struct rn_store_node *out);
int rn_store_node_get_by_name(struct rn_store *store, const char *dns_name,
			      struct rn_store_node *out);
int rn_store_node_list(struct rn_store *store, struct rn_store_node **out, size_t *n_out);
void rn_store_node_list_free(struct rn_store_node *nodes, size_t n);
void rn_store_node_clear(struct rn_store_node *node);
int rn_store_node_remove(struct rn_store *store, const char *actor, int64_t id, int64_t now);
/* Sets the DNS name to the label of name; -EEXIST if another node has that label. */
int rn_store_node_rename(struct rn_store *store, const char *actor, int64_t id, const char *name,
			 int64_t now);
int rn_store_node_expire(struct rn_store *store, const char *actor, int64_t id, int64_t now);
/* Replaces the node's tags (a JSON array of "tag:NAME"; [] removes them). Whether a tag counts
 * is the policy's tagOwners' to say, as for tags from an auth key. */
int rn_store_node_set_tags(struct rn_store *store, const char *actor, int64_t id, const char *tags,
			   int64_t now);
/* What the node advertises; approvals of routes it no longer advertises are dropped. */
int rn_store_node_set_routes(struct rn_store *store, const char *actor, int64_t id,
			     const char *routes, bool advertises_exit, int64_t now);
/* -EINVAL if a route is not advertised by the node. */
int rn_store_node_approve_routes(struct rn_store *store, const char *actor, int64_t id,
				 const char *routes, int64_t now);
int rn_store_node_approve_exit(struct rn_store *store, const char *actor, int64_t id, bool approved,
			       int64_t now);
/*
 * Records that the node checked in. Not audited: it happens on every poll, and the log is for
 * changes people make or authorise, which a heartbeat is not. endpoints may be NULL (unchanged).
 */
int rn_store_node_touch(struct rn_store *store, int64_t id, int64_t now, const char *endpoints);

/*
 * Node tokens ("rnt_" + 43 base64url), the credential a node polls with. set_token makes a new
 * one, replacing (and so revoking) the old, and writes it to token_out: the only time anyone
 * sees it, since only its SHA-256 is stored. Not audited on its own: it is part of an enrollment,
 * which is. get_by_token: -EINVAL if token is not a token, -ENOENT if no node has it.
 */
int rn_store_node_set_token(struct rn_store *store, int64_t id,
			    char token_out[RN_STORE_NODE_TOKEN_SIZE]);
int rn_store_node_get_by_token(struct rn_store *store, const char *token,
			       struct rn_store_node *out);
/* The node logs itself out: expired and its token forgotten, in one transaction, audited. */
int rn_store_node_logout(struct rn_store *store, const char *actor, int64_t id, int64_t now);

/*
 * A hostname as a DNS label: lowercased, every byte outside a-z 0-9 - turned into '-', leading
 * and trailing '-' trimmed, cut to 63 bytes; "node" if nothing is left. Pure.
 */
void rn_store_dns_label(const char *hostname, char out[RN_STORE_LABEL_MAX + 1]);

/*
 * The "dns_upstreams" setting (dns_upstreams.c): "IP[,IP...]" of unicast addresses, none of
 * them 100.100.100.100, at most max, no duplicates; "" is none. -EINVAL with err otherwise.
 */
#define RN_STORE_DNS_UPSTREAMS_MAX	8
#define RN_STORE_DNS_UPSTREAMS_TEXT_MAX (RN_STORE_DNS_UPSTREAMS_MAX * 48)
struct rn_store_ip {
	int family; /* AF_INET (addr[0..3]) or AF_INET6 */
	uint8_t addr[16];
};
/* Not the unspecified address, not multicast (or IPv4 broadcast and class E). */
bool rn_store_ip_unicast(int family, const uint8_t *addr);
int rn_store_dns_upstreams_parse(const char *text, struct rn_store_ip *out, size_t max, size_t *n,
				 char *err, size_t errlen) __attribute__((warn_unused_result));
/* Canonical text of ips, comma-separated, into out. */
void rn_store_dns_upstreams_format(const struct rn_store_ip *ips, size_t n, char *out, size_t size);

/*
 * The "dns_records" setting (dns_records.c): extra A/AAAA records every node's Magic DNS
 * answers, "NAME TYPE IP[,NAME TYPE IP...]" (lowercase DNS names without the final dot, A with
 * a unicast IPv4 address, AAAA with a unicast IPv6 one), at most RN_STORE_DNS_RECORDS_MAX, no
 * entry twice; "" is none. -EINVAL with err otherwise.
 */
enum {
	RN_STORE_DNS_RECORDS_MAX = 256,
	RN_STORE_DNS_RECORDS_TEXT_MAX = RN_STORE_DNS_RECORDS_MAX * (RN_NETMAP_DNS_NAME_MAX + 56),
};
/* One record from its three words (NAME lowercased, a final dot dropped). */
int rn_store_dns_record_parse(const char *name, const char *type, const char *ip,
			      struct rn_netmap_dns_record *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int rn_store_dns_records_parse(const char *text, struct rn_netmap_dns_record *out, size_t max,
			       size_t *n, char *err, size_t errlen)
    __attribute__((warn_unused_result));
bool rn_store_dns_record_same(const struct rn_netmap_dns_record *a,
			      const struct rn_netmap_dns_record *b);
/* "NAME TYPE IP" into out; the canonical text of v, comma-separated, into out. */
void rn_store_dns_record_format(const struct rn_netmap_dns_record *r, char *out, size_t size);
void rn_store_dns_records_format(const struct rn_netmap_dns_record *v, size_t n, char *out,
				 size_t size);

/*
 * The "stun_servers" setting (stun_servers.c): the STUN servers the admin lists, which every
 * netmap's "stun" carries after the control server's own responder (at most
 * RN_STORE_STUN_OWN_MAX entries: one per `serve --stun-listen`). "IP:PORT[,IP:PORT...]" with
 * IPv6 in brackets, unicast, not loopback or link-local, port 1-65535, no duplicates, at most
 * max; "" is none. -EINVAL with err (quoting the bad entry) otherwise.
 */
enum {
	RN_STORE_STUN_OWN_MAX = 2,
	RN_STORE_STUN_SERVERS_MAX = RN_NETMAP_MAX_STUN - RN_STORE_STUN_OWN_MAX,
	RN_STORE_STUN_SERVERS_TEXT_MAX = RN_NETMAP_MAX_STUN * 56,
};
int rn_store_stun_servers_parse(const char *text, union rn_netmap_endpoint *out, size_t max,
				size_t *n, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Canonical text of eps, comma-separated, into out. */
void rn_store_stun_servers_format(const union rn_netmap_endpoint *eps, size_t n, char *out,
				  size_t size);
/* Same family, address and port. */
bool rn_store_stun_server_same(const union rn_netmap_endpoint *a,
			       const union rn_netmap_endpoint *b);

/* Why nodes elsewhere cannot use ep (not unicast, loopback, link-local, IPv4-mapped), or NULL. */
const char *rn_store_endpoint_bad(const union rn_netmap_endpoint *ep);

/*
 * The admin's relays (store_relay.c): the "relays" setting, which every netmap's "relays" lists
 * after the control server's own relay (named RN_STORE_RELAY_OWN_NAME, so no other may be). At
 * most RN_STORE_RELAYS_MAX, names unique. Changed only by add and remove, each audited.
 */
#define RN_STORE_RELAY_OWN_NAME "control"
enum {
	RN_STORE_RELAYS_MAX = RN_NETMAP_MAX_RELAYS - 1,
	RN_STORE_RELAYS_TEXT_MAX = RN_NETMAP_MAX_RELAYS * 320,
};
/*
 * A relay from the admin's words: name a DNS label other than RN_STORE_RELAY_OWN_NAME; udp and
 * tls "" / NULL (not offered) or a unicast IP:PORT / [IP]:PORT, at least one of them; spki the
 * certificate pin in base64, exactly when tls is set. -EINVAL with err (quoting the bad value).
 */
int rn_store_relay_make(const char *name, const char *udp, const char *tls, const char *spki,
			struct rn_netmap_relay *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* -EEXIST: the name is taken; -ENOSPC: RN_STORE_RELAYS_MAX already. */
int rn_store_relay_add(struct rn_store *store, const char *actor, const struct rn_netmap_relay *r,
		       int64_t now);
/* -ENOENT: no relay of that name. */
int rn_store_relay_remove(struct rn_store *store, const char *actor, const char *name, int64_t now);
/* The admin's relays in the order they were added. */
int rn_store_relay_list(struct rn_store *store, struct rn_netmap_relay out[RN_STORE_RELAYS_MAX],
			size_t *n);

/*
 * --- admin API tokens (store_token.c) ---
 * A token is "rnadm_" + 16 hex digits (its lookup id, stored in clear) + "_" + base64url of 32
 * random bytes; only the SHA-256 of the whole text is stored, and the secret is shown once.
 * Scopes: read (GETs), write (read + every change), keys (read + auth key create/revoke).
 */
enum rn_store_token_scope {
	RN_STORE_TOKEN_READ,
	RN_STORE_TOKEN_WRITE,
	RN_STORE_TOKEN_KEYS,
};
enum {
	RN_STORE_TOKEN_NAME_MAX = 63,		   /* bytes of a token's name: a-z A-Z 0-9 . _ - */
	RN_STORE_TOKEN_SIZE = 6 + 16 + 1 + 43 + 1, /* "rnadm_" ID "_" SECRET, and the NUL */
	RN_STORE_TOKEN_LAST_USED_S = 60,	   /* last_used is written at most this often */
};
struct rn_store_token {
	int64_t id;
	char name[RN_STORE_TOKEN_NAME_MAX + 1];
	enum rn_store_token_scope scope;
	int64_t created_at;
	int64_t expires_at; /* 0: never */
	int64_t revoked_at; /* 0: not revoked */
	int64_t last_used;  /* 0: never; to RN_STORE_TOKEN_LAST_USED_S */
};
/* "read", "write", "keys"; parse: false for anything else. */
const char *rn_store_token_scope_name(enum rn_store_token_scope scope);
bool rn_store_token_scope_parse(const char *text, enum rn_store_token_scope *out)
    __attribute__((warn_unused_result));
/* Makes a token (audited "token.create") and writes its secret to secret_out. -EEXIST: the
 * name is taken; -EINVAL: a bad name or expiry. */
int rn_store_token_create(struct rn_store *store, const char *actor, const char *name,
			  enum rn_store_token_scope scope, int64_t expires_at, int64_t now,
			  char secret_out[RN_STORE_TOKEN_SIZE], int64_t *id_out);
/* Every token by id, never a secret; free with free(). */
int rn_store_token_list(struct rn_store *store, struct rn_store_token **out, size_t *n_out);
/* Revokes token name (audited "token.revoke"); -ENOENT: none such, -EALREADY: already. */
int rn_store_token_revoke(struct rn_store *store, const char *actor, const char *name, int64_t now);
/*
 * The token whose secret this is, valid now, into *out, noting its use in last_used. -EACCES
 * for every refusal (malformed, unknown, wrong secret, revoked, expired), the reason only in
 * rn_store_errmsg, so a caller cannot tell them apart by mistake.
 */
int rn_store_token_check(struct rn_store *store, const char *secret, int64_t now,
			 struct rn_store_token *out);

/* --- backup and restore (store_backup.c) --- */
/* A file of the state dir that travels in a backup beside the store (keys, certificate). */
struct rn_store_file {
	const char *name; /* a plain file name, no directory */
	unsigned int mode;
	const void *content;
	size_t len;
};
/*
 * Writes a consistent copy of the store, taken online, and files[] into one new SQLite file at
 * path (0600; an existing file is refused). On failure nothing is left at path.
 */
int rn_store_backup(struct rn_store *store, const char *path, const struct rn_store_file *files,
		    size_t n);
/*
 * Makes state_dir (0700; an existing one is refused) from a backup: the files named in allowed
 * (NULL-terminated; any other name refuses the backup), with their modes masked to 0644, and
 * the store, opened once to check and migrate it. *n_files counts the files written. On failure
 * err says why and nothing is left of state_dir.
 */
int rn_store_restore(const char *backup, const char *state_dir, const char *const *allowed,
		     size_t *n_files, char *err, size_t errlen);

/* --- audit log --- */
struct rn_store_audit {
	int64_t id;
	int64_t time;
	char *actor;
	char *action;  /* "node.add", "authkey.consume", ... */
	char *details; /* a JSON object; never a secret */
};

/* Entries with id > after_id, oldest first, at most max. */
int rn_store_audit_list(struct rn_store *store, int64_t after_id, size_t max,
			struct rn_store_audit **out, size_t *n_out);
/* A page of entries newest first: time >= since, id < before_id (0: no bound), at most max. */
int rn_store_audit_page(struct rn_store *store, int64_t since, int64_t before_id, size_t max,
			struct rn_store_audit **out, size_t *n_out);
void rn_store_audit_list_free(struct rn_store_audit *entries, size_t n);
/* The id of the newest entry (0: none): cheap, for noticing changes other processes made. */
int rn_store_audit_last_id(struct rn_store *store, int64_t *id_out);

#endif
