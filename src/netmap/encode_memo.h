/* SPDX-License-Identifier: MIT */
/*
 * What the encoder keeps between maps (see encode.c): the text of each peer's own fields and
 * of long prefix lists, raw for the map and escaped for its envelope. An entry is used only
 * when the fields it was made from equal the map's, so it is never stale, only missed.
 */
#ifndef RN_NETMAP_ENCODE_MEMO_H
#define RN_NETMAP_ENCODE_MEMO_H

#include "netmap/jsonw.h"
#include "netmap/netmap.h"

struct rn_netmap_encoder;

struct rn_enc_text {
	char *raw, *esc; /* owned */
	size_t raw_len, esc_len;
};

struct rn_enc_peer_memo {
	struct rn_netmap_peer key;     /* id 0: a free slot; endpoints owned, no prefixes */
	struct rn_enc_text head;       /* "{"id":...,"allowed_ips":" */
	struct rn_enc_text own4, own6; /* "ipv4/32", "ipv6/128", quoted */
	struct rn_enc_text mid;	       /* ","online":...,"is_exit":" */
};

struct rn_enc_list_memo {
	struct rn_filter_prefix *v; /* owned */
	size_t n;
	struct rn_enc_text text;
};

enum {
	RN_ENC_LISTS = 8,     /* prefix lists kept: a policy's distinct long sources */
	RN_ENC_LIST_MIN = 16, /* prefixes: shorter lists are written each time */
};

struct rn_enc_memo {
	struct rn_enc_peer_memo *peers; /* owned: open addressing by id */
	size_t cap, count;
	struct rn_enc_list_memo lists[RN_ENC_LISTS];
	unsigned next_list;
};

/* The encoder's map writer and memo, and its way to copy kept text into map and envelope. */
struct rn_jw *rn_enc_map(struct rn_netmap_encoder *enc);
struct rn_enc_memo *rn_enc_memo(struct rn_netmap_encoder *enc);
void rn_enc_paste(struct rn_netmap_encoder *enc, const struct rn_enc_text *t);
/* The parts of a peer that do not depend on whom the map is for (encode.c). */
void rn_enc_peer_head(struct rn_jw *w, const struct rn_netmap_peer *p);
void rn_enc_peer_mid(struct rn_jw *w, const struct rn_netmap_peer *p);

/*
 * Writes p from "{" to its is_exit key, from the memo. false (nothing written) when there is
 * no memory for an entry: the caller writes p itself.
 */
bool rn_enc_memo_peer(struct rn_netmap_encoder *enc, const struct rn_netmap_peer *p);
/* Writes a JSON array of v[0..n), from the memo when the list is long. */
void rn_enc_memo_prefixes(struct rn_netmap_encoder *enc, const struct rn_filter_prefix *v,
			  size_t n);
/* Drops peer entries when far more are kept than a map has peers (nodes were removed). */
void rn_enc_memo_trim(struct rn_enc_memo *memo, size_t n_peers);
void rn_enc_memo_free(struct rn_enc_memo *memo);

#endif
