/* SPDX-License-Identifier: MIT */
/* Unit tests for HuJSON standardization (comments, trailing commas) and the position index. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/hujson.h"

struct std_case {
	const char *in;
	const char *out; /* NULL: refused */
	size_t bad;	 /* where, when refused */
};

static const struct std_case std_cases[] = {
	{ "{}", "{}", 0 },
	{ "// c\n{}", "    \n{}", 0 },
	{ "{} // trailing", "{}            ", 0 },
	{ "{/* a\nb */}", "{    \n    }", 0 },
	{ "{\"a\": \"//not a comment\"}", "{\"a\": \"//not a comment\"}", 0 },
	{ "{\"a\": \"/*no*/\"}", "{\"a\": \"/*no*/\"}", 0 },
	{ "{\"a\\\"//\": 1}", "{\"a\\\"//\": 1}", 0 },	   /* escaped quote keeps the string open */
	{ "{\"a\\\\\"//x\n:1}", "{\"a\\\\\"   \n:1}", 0 }, /* escaped backslash closes it */
	{ "[1,]", "[1 ]", 0 },
	{ "[1, ]", "[1  ]", 0 },
	{ "{\"a\": [1,],}", "{\"a\": [1 ] }", 0 },
	{ "[1, // c\n]", "[1      \n]", 0 },
	{ "[1,/* c */]", "[1        ]", 0 },
	{ "[\"x\",]", "[\"x\" ]", 0 },
	{ "[,]", "[,]", 0 },	 /* not a trailing comma: stays an error for jansson */
	{ "[1,,]", "[1,,]", 0 }, /* ditto */
	{ "{,}", "{,}", 0 },
	{ "{\"a\":,}", "{\"a\":,}", 0 },
	{ "\",]\"", "\",]\"", 0 }, /* inside a string */
	{ "/* open", NULL, 0 },
	{ "{} /*/", NULL, 3 },
	{ "{\"a\": 1 /* x */ } /* y", NULL, 18 },
	{ "/", "/", 0 }, /* a lone slash is jansson's to refuse */
	{ "", "", 0 },
};

static void test_standardize(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(std_cases) / sizeof(std_cases[0]); i++) {
		const struct std_case *c = &std_cases[i];
		size_t len = strlen(c->in), bad = 12345;
		char *buf = strdup(c->in);
		int ret = rn_hujson_standardize(buf, len, &bad);

		if (!c->out) {
			if (ret != -EINVAL || bad != c->bad)
				fail_msg("case %zu %s: ret %d bad %zu, want refused at %zu", i,
					 c->in, ret, bad, c->bad);
		} else if (ret || strcmp(buf, c->out)) {
			fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, ret, buf, c->out);
		}
		free(buf);
	}
}

static void test_index(void **state)
{
	const char *t = "{\"a\": [1, {\"b\": \"x\"}], \"c\": true}";
	struct rn_hujson_index idx;

	(void)state;
	assert_int_equal(rn_hujson_index_build(t, strlen(t), &idx), 0);
	assert_int_equal(idx.n, 6);
	/* root */
	assert_int_equal(idx.pos[0].key, RN_HUJSON_NO_KEY);
	assert_int_equal(idx.pos[0].val, 0);
	assert_int_equal(idx.pos[0].next, 6);
	/* "a": [...] */
	assert_int_equal(idx.pos[1].key, 1);
	assert_int_equal(idx.pos[1].val, 6);
	assert_int_equal(idx.pos[1].next, 5);
	/* 1 */
	assert_int_equal(idx.pos[2].val, 7);
	assert_int_equal(idx.pos[2].next, 3);
	/* {"b": "x"} */
	assert_int_equal(idx.pos[3].val, 10);
	assert_int_equal(idx.pos[3].next, 5);
	assert_int_equal(idx.pos[4].key, 11);
	assert_int_equal(idx.pos[4].val, 16);
	/* "c": true */
	assert_int_equal(idx.pos[5].key, 23);
	assert_int_equal(idx.pos[5].val, 28);
	assert_int_equal(idx.pos[5].next, 6);
	rn_hujson_index_free(&idx);

	/* Not JSON: refused, not misread. */
	assert_int_equal(rn_hujson_index_build("{\"a\" 1}", 7, &idx), -EINVAL);
	assert_int_equal(rn_hujson_index_build("[1, 2", 5, &idx), -EINVAL);
	assert_int_equal(rn_hujson_index_build("   ", 3, &idx), -EINVAL);
	/* A NUL (which jansson lets end a number) is stepped over, not spun on. */
	assert_int_equal(rn_hujson_index_build("[4\0,1]", 6, &idx), 0);
	assert_int_equal(idx.n, 3);
	rn_hujson_index_free(&idx);
	assert_int_equal(rn_hujson_index_build("[\0]", 3, &idx), 0);
	assert_int_equal(idx.n, 2);
	rn_hujson_index_free(&idx);
	assert_null(idx.pos);
}

static void test_index_after_comments(void **state)
{
	char t[] = "// head\n{\n\t\"k\": /* c */ [\"v\",],\n}";
	struct rn_hujson_index idx;
	unsigned line, col;
	size_t bad;

	(void)state;
	assert_int_equal(rn_hujson_standardize(t, strlen(t), &bad), 0);
	assert_int_equal(rn_hujson_index_build(t, strlen(t), &idx), 0);
	assert_int_equal(idx.n, 3);
	rn_hujson_line_col(t, strlen(t), idx.pos[1].key, &line, &col);
	assert_int_equal(line, 3);
	assert_int_equal(col, 2);
	rn_hujson_line_col(t, strlen(t), idx.pos[1].val, &line, &col); /* the list */
	assert_int_equal(line, 3);
	assert_int_equal(col, 15);
	rn_hujson_line_col(t, strlen(t), idx.pos[2].val, &line, &col); /* "v" in it */
	assert_int_equal(col, 16);
	rn_hujson_index_free(&idx);
}

static void test_line_col(void **state)
{
	const char *t = "ab\n\xc3\xa9x\n\ny"; /* "é" is two bytes, one column */
	unsigned line, col;

	(void)state;
	rn_hujson_line_col(t, strlen(t), 0, &line, &col);
	assert_true(line == 1 && col == 1);
	rn_hujson_line_col(t, strlen(t), 2, &line, &col);
	assert_true(line == 1 && col == 3);
	rn_hujson_line_col(t, strlen(t), 5, &line, &col); /* the x */
	assert_true(line == 2 && col == 2);
	rn_hujson_line_col(t, strlen(t), 8, &line, &col); /* the y */
	assert_true(line == 4 && col == 1);
	rn_hujson_line_col(t, strlen(t), 100, &line, &col); /* past the end: stops at it */
	assert_true(line == 4 && col == 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standardize),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_index_after_comments),
		cmocka_unit_test(test_line_col),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
