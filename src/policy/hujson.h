/* SPDX-License-Identifier: MIT */
/*
 * HuJSON ("human JSON", what Tailscale policy files are written in): JSON plus // and
 * block comments and trailing commas. rn_hujson_standardize() turns it into plain JSON for
 * jansson by overwriting comments and trailing commas with spaces, so every byte keeps its
 * offset and jansson's line:column are the ones the person sees in their file.
 *
 * Jansson does not say where a value was in the text, so rn_hujson_index() records the offset
 * of every value (and of every object key) in document order; a caller walks it in step with
 * the jansson tree to point an error at the offending token.
 */
#ifndef RN_POLICY_HUJSON_H
#define RN_POLICY_HUJSON_H

#include <stddef.h>
#include <stdint.h>

#define RN_HUJSON_NO_KEY SIZE_MAX /* rn_hujson_pos.key of array elements and the root */

/*
 * One value, in pre-order. Its children (members or elements) follow it directly: the first
 * is at index + 1 and each one's next is where its next sibling starts; a value's next is the
 * index after its whole subtree.
 */
struct rn_hujson_pos {
	size_t key;  /* offset of the member's key (its opening quote) or RN_HUJSON_NO_KEY */
	size_t val;  /* offset of the value's first byte */
	size_t next; /* index of the next sibling, or past the parent's last child */
};

struct rn_hujson_index {
	struct rn_hujson_pos *pos; /* owned */
	size_t n;
};

/*
 * Standardizes buf[0..len) in place: comments become spaces (newlines inside block comments
 * stay, so lines keep their numbers) and a comma directly before a closing bracket or brace
 * becomes a space, unless it follows an opening one or another comma (",]" alone is not a
 * trailing comma and stays an error). Strings are left as they are.
 * Returns 0, or -EINVAL for an unterminated block comment with *bad set to its offset.
 */
int rn_hujson_standardize(char *buf, size_t len, size_t *bad);

/*
 * Indexes text that jansson has already accepted as JSON (standardized, same length).
 * Returns 0, -ENOMEM, or -EINVAL if the text is not JSON after all (a bug: say so, do not
 * trust the tree).
 */
int rn_hujson_index_build(const char *text, size_t len, struct rn_hujson_index *out);

void rn_hujson_index_free(struct rn_hujson_index *idx);

/*
 * Line (1-based) and column (1-based, in characters: UTF-8 continuation bytes do not count, as
 * jansson counts) of byte offset off in text.
 */
void rn_hujson_line_col(const char *text, size_t len, size_t off, unsigned *line, unsigned *col);

#endif
