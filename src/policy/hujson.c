/* SPDX-License-Identifier: MIT */
/*
 * HuJSON to JSON without moving a byte, and an index of where each JSON value starts, so
 * errors found after jansson has parsed the text can still say line:column.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "policy/hujson.h"

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* From the opening quote at i to just past the closing one (or len if there is none). */
static size_t skip_string(const char *t, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\')
			i++;
		else if (t[i] == '"')
			return i + 1;
	}
	return len;
}

/* Blanks the comment starting at i; returns the offset after it, or len if unterminated. */
static size_t blank_comment(char *t, size_t len, size_t i, bool *unterminated)
{
	if (t[i + 1] == '/') {
		for (; i < len && t[i] != '\n'; i++)
			t[i] = ' ';
		return i;
	}
	t[i] = t[i + 1] = ' ';
	for (i += 2; i + 1 < len; i++) {
		if (t[i] == '*' && t[i + 1] == '/') {
			t[i] = t[i + 1] = ' ';
			return i + 2;
		}
		if (t[i] != '\n')
			t[i] = ' '; /* keep line numbers */
	}
	*unterminated = true;
	return len;
}

static int strip_comments(char *t, size_t len, size_t *bad)
{
	bool unterminated = false;
	size_t i = 0;

	while (i < len) {
		if (t[i] == '"') {
			i = skip_string(t, len, i);
		} else if (t[i] == '/' && i + 1 < len && (t[i + 1] == '/' || t[i + 1] == '*')) {
			size_t start = i;

			i = blank_comment(t, len, i, &unterminated);
			if (unterminated) {
				*bad = start;
				return -EINVAL;
			}
		} else {
			i++;
		}
	}
	return 0;
}

/*
 * A comma is trailing when the next significant byte closes a container and the previous one
 * ended a value: "[1,]" loses its comma, "[,]", "[1,,]" and {"a":,} keep theirs and stay errors.
 */
static void strip_trailing_commas(char *t, size_t len)
{
	char prev = '\0';
	size_t i = 0;

	while (i < len) {
		char c = t[i];

		if (c == '"') {
			i = skip_string(t, len, i);
			prev = '"';
			continue;
		}
		if (is_ws(c)) {
			i++;
			continue;
		}
		if (c == ',' && prev && !strchr("[{,:", prev)) {
			size_t j = i + 1;

			while (j < len && is_ws(t[j]))
				j++;
			if (j < len && (t[j] == ']' || t[j] == '}')) {
				t[i++] = ' ';
				continue;
			}
		}
		prev = c;
		i++;
	}
}

int rn_hujson_standardize(char *buf, size_t len, size_t *bad)
{
	int ret = strip_comments(buf, len, bad);

	if (ret)
		return ret;
	strip_trailing_commas(buf, len);
	return 0;
}

struct walker {
	const char *t;
	size_t len, i;
	struct rn_hujson_index *idx;
	size_t cap;
	size_t *stack; /* indexes of the open containers */
	size_t depth, stack_cap;
};

static void skip_ws(struct walker *w)
{
	while (w->i < w->len && is_ws(w->t[w->i]))
		w->i++;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap * 2 : 64;
	void *q;

	if (need <= *cap)
		return 0;
	q = reallocarray(*p, n, size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Records the value at w->i; opens it if it is a container, else steps over it. */
static int open_value(struct walker *w, size_t key)
{
	struct rn_hujson_index *idx = w->idx;
	size_t me = idx->n;
	char c;

	if (w->i >= w->len || grow((void **)&idx->pos, &w->cap, idx->n + 1, sizeof(*idx->pos)))
		return w->i >= w->len ? -EINVAL : -ENOMEM;
	idx->pos[idx->n++] = (struct rn_hujson_pos){ .key = key, .val = w->i, .next = me + 1 };
	c = w->t[w->i];
	if (c == '{' || c == '[') {
		if (grow((void **)&w->stack, &w->stack_cap, w->depth + 1, sizeof(*w->stack)))
			return -ENOMEM;
		w->stack[w->depth++] = me;
		w->i++;
	} else if (c == '"') {
		w->i = skip_string(w->t, w->len, w->i);
	} else {
		/* A scalar: up to a delimiter. Each value must take a byte, or this never ends. */
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a NUL is not a delimiter */
		while (w->i < w->len && !is_ws(w->t[w->i]) && !memchr(",]}", w->t[w->i], 3))
			w->i++;
		if (w->i == idx->pos[me].val)
			return -EINVAL;
	}
	return 0;
}

/* One step inside the innermost open container: close it, or record its next member. */
static int step(struct walker *w)
{
	size_t top = w->stack[w->depth - 1], key;
	char c;

	skip_ws(w);
	if (w->i >= w->len)
		return -EINVAL;
	c = w->t[w->i];
	if (c == ']' || c == '}') {
		w->idx->pos[top].next = w->idx->n;
		w->depth--;
		w->i++;
		return 0;
	}
	if (c == ',') {
		w->i++;
		skip_ws(w);
	}
	if (w->t[w->idx->pos[top].val] == '[')
		return open_value(w, RN_HUJSON_NO_KEY);
	if (w->i >= w->len || w->t[w->i] != '"')
		return -EINVAL;
	key = w->i;
	w->i = skip_string(w->t, w->len, w->i);
	skip_ws(w);
	if (w->i >= w->len || w->t[w->i] != ':')
		return -EINVAL;
	w->i++;
	skip_ws(w);
	return open_value(w, key);
}

int rn_hujson_index_build(const char *text, size_t len, struct rn_hujson_index *out)
{
	struct walker w = { .t = text, .len = len, .idx = out };
	int ret;

	memset(out, 0, sizeof(*out));
	skip_ws(&w);
	ret = open_value(&w, RN_HUJSON_NO_KEY);
	while (!ret && w.depth)
		ret = step(&w);
	free(w.stack);
	if (ret)
		rn_hujson_index_free(out);
	return ret;
}

void rn_hujson_index_free(struct rn_hujson_index *idx)
{
	free(idx->pos);
	memset(idx, 0, sizeof(*idx));
}

void rn_hujson_line_col(const char *text, size_t len, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}
