// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Libraries opened when needed (user/dl.h): found, missing, short of a
 * function. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "check.h"
#include "dl.h"

struct table {
	size_t (*len)(const char *s);
	int (*cmp)(const char *a, const char *b);
};

static const struct zt_dl_sym syms[] = {
	{ "strlen", offsetof(struct table, len) },
	{ "strcmp", offsetof(struct table, cmp) },
};

static void test_found(void)
{
	static const char *const names[] = { "libnot-there.so.9", "libc.so.6", NULL };
	struct table t = { 0 };
	char err[256] = "";

	struct zt_dl_lib lib = { names, syms, 2, &t, false };

	CHECK_EQ_INT(zt_dl_open(&lib, err, sizeof(err)), 0);
	CHECK(lib.open);
	CHECK(t.len != NULL && t.cmp != NULL);
	if (t.len && t.cmp) {
		CHECK_EQ_INT(t.len("four"), 4);
		CHECK_EQ_INT(t.cmp("a", "a"), 0);
	}
	/* Once: a second call finds it open, whatever the table holds. */
	t.len = NULL;
	CHECK_EQ_INT(zt_dl_open(&lib, err, sizeof(err)), 0);
	CHECK(t.len == NULL);
}

static void test_missing_library(void)
{
	static const char *const names[] = { "libnot-there.so.9", "libnor-this.so", NULL };
	struct table t = { 0 };
	char err[256] = "";

	struct zt_dl_lib lib = { names, syms, 2, &t, false };

	CHECK_EQ_INT(zt_dl_open(&lib, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "cannot load libnot-there.so.9") != NULL);
	CHECK(!lib.open);
	CHECK(t.len == NULL);
}

static void test_missing_function(void)
{
	static const char *const names[] = { "libc.so.6", NULL };
	static const struct zt_dl_sym odd[] = {
		{ "strlen", offsetof(struct table, len) },
		{ "zt_no_such_function", offsetof(struct table, cmp) },
	};
	struct table t = { 0 };
	char err[256] = "";

	struct zt_dl_lib lib = { names, odd, 2, &t, false };

	CHECK_EQ_INT(zt_dl_open(&lib, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "libc.so.6 has no zt_no_such_function") != NULL);
	CHECK(!lib.open);
}

int main(void)
{
	test_found();
	test_missing_library();
	test_missing_function();
	return TEST_SUMMARY("test_dl");
}
