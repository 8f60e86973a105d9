/* SPDX-License-Identifier: MIT */
/*
 * rustynetd's nftables tables, through libnftables. Each purpose owns one whole table whose
 * name starts with "rustynet" ("rustynet-router", later the kill switch's): it is created or
 * replaced in one transaction, so the kernel holds either the old ruleset or the new one,
 * never a mix, and removing it is one "delete table". Tables of other names are never touched.
 * These are the kernel calls only; the system layer (system.h) journals them.
 */
#ifndef RN_SYSTEM_NFT_H
#define RN_SYSTEM_NFT_H

#include <stdbool.h>
#include <stddef.h>

#define RN_NFT_PREFIX	  "rustynet"
#define RN_NFT_NAME_MAX	  64	     /* table name with the NUL: RN_NFT_PREFIX, a-z 0-9 - _ */
#define RN_NFT_FAMILY_MAX 8	     /* "inet", "ip", "ip6", "arp", with the NUL */
#define RN_NFT_BODY_MAX	  (1u << 20) /* bytes of one table's ruleset text */
#define RN_NFT_ERR_MAX	  512

bool rn_nft_name_ok(const char *name);
/* Interface names go into rulesets quoted: false for anything that could end the string. */
bool rn_nft_ifname_ok(const char *s);
bool rn_nft_family_ok(const char *family);
/*
 * Whether body can only sit inside "table F N { body }": braces balanced outside quoted
 * strings and never closing the table's own, no NUL, at most RN_NFT_BODY_MAX bytes. It keeps a
 * caller's text from reaching another table; it does not check nft syntax (the kernel does).
 */
bool rn_nft_body_ok(const char *body);

/*
 * Creates family/name with body (chains, sets and rules in nft's block syntax), or replaces
 * the whole of an existing one, in one transaction. 0, -EINVAL for a bad name, family or body,
 * -EPERM/-EIO when nft refused it (err, if given, holds nft's message).
 */
int rn_nft_table_replace(const char *family, const char *name, const char *body, char *err,
			 size_t errlen);
/* 0, -ENOENT when there is no such table, -EINVAL, -EIO. */
int rn_nft_table_delete(const char *family, const char *name, char *err, size_t errlen);
/* 1 if it exists, 0 if not, -errno when tables cannot be listed. */
int rn_nft_table_exists(const char *family, const char *name);

/* Calls fn for each table of the namespace whose name starts with RN_NFT_PREFIX. */
int rn_nft_tables_ours(void (*fn)(const char *family, const char *name, void *arg), void *arg);

#endif
