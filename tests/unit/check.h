/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A minimal test harness: CHECK records a failure and carries on, so one run
 * reports every broken expectation; main() ends with TEST_SUMMARY(). */
#ifndef ZT_TEST_CHECK_H
#define ZT_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int zt_checks_passed, zt_checks_failed;

#define CHECK(cond) do { \
	if (cond) { zt_checks_passed++; } \
	else { zt_checks_failed++; \
		fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, __func__, #cond); } \
} while (0)

#define CHECK_EQ_INT(a, b) do { \
	long long _a = (long long)(a), _b = (long long)(b); \
	if (_a == _b) { zt_checks_passed++; } \
	else { zt_checks_failed++; \
		fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, \
			__func__, #a, _a, #b, _b); } \
} while (0)

#define CHECK_EQ_STR(a, b) do { \
	const char *_a = (a), *_b = (b); \
	if (_a && _b && strcmp(_a, _b) == 0) { zt_checks_passed++; } \
	else { zt_checks_failed++; \
		fprintf(stderr, "%s:%d: %s: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
			__func__, #a, _a ? _a : "(null)", _b ? _b : "(null)"); } \
} while (0)

/* The plain closing line CI reads: "N passed, N failed". */
#define TEST_SUMMARY(name) ( \
	printf("%s: %d passed, %d failed\n", (name), zt_checks_passed, zt_checks_failed), \
	zt_checks_failed ? 1 : 0)

#endif
