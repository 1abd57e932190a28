// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Finding OpenSSL in a process: maps parsing and ELF symbol lookup. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "tls/libs.h"

static char got[8][256];
static int ngot;

static void collect(void *ctx, const char *path)
{
	(void)ctx;
	if (ngot < 8)
		snprintf(got[ngot], sizeof(got[0]), "%s", path);
	ngot++;
}

static void test_maps(void)
{
	static const char maps[] =
		"55d0c-55d0d r--p 00000000 fe:01 100 /usr/sbin/nginx\n"
		"7f00-7f01 r--p 00000000 fe:01 200 /usr/lib/x86_64-linux-gnu/libssl.so.3\n"
		"7f01-7f02 r-xp 00020000 fe:01 200 /usr/lib/x86_64-linux-gnu/libssl.so.3\n"
		"7f02-7f03 r-xp 00020000 fe:01 200 /usr/lib/x86_64-linux-gnu/libssl.so.3\n"
		"7f03-7f04 r-xp 00000000 fe:01 300 /usr/lib/x86_64-linux-gnu/libssl3.so\n"
		"7f04-7f05 r-xp 00000000 fe:01 400 /opt/app/lib/libssl.so.1.1 (deleted)\n"
		"7f05-7f06 r-xp 00000000 fe:01 500 /opt/with space/libssl.so.1.1\n"
		"7f06-7f07 rw-p 00000000 00:00 0 \n"
		"7f07-7f08 r-xp 00000000 00:00 0 [vdso]\n"
		"7f08-7f09 r-xp 00000000 fe:01 600 /usr/lib/libcrypto.so.3\n"
		"garbage line\n"
		"\n";
	FILE *f = fmemopen((void *)maps, sizeof(maps) - 1, "r");

	CHECK(f != NULL);
	ngot = 0;
	CHECK_EQ_INT(zt_maps_for_each_libssl(f, collect, NULL), 2);
	fclose(f);
	CHECK_EQ_INT(ngot, 2);
	CHECK_EQ_STR(got[0], "/usr/lib/x86_64-linux-gnu/libssl.so.3");
	CHECK_EQ_STR(got[1], "/opt/with space/libssl.so.1.1");
}

/* Defined here, so this test's own executable defines it. */
__attribute__((noinline, used)) int zt_test_marker_fn(int x)
{
	return x + 1;
}

/* Two entry points calling one worker, as SSL_read and SSL_read_ex call
 * ssl_read_internal. */
__attribute__((noinline, used)) int zt_test_worker(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3;
}

__attribute__((noinline, used)) int zt_test_entry_a(int x)
{
	return zt_test_worker(x) + 1;
}

__attribute__((noinline, used)) int zt_test_entry_b(int x)
{
	return zt_test_worker(x) - 1;
}

static void test_call_target(void)
{
	struct zt_elf_func a = {}, b = {}, w = {}, at = {};
	static const uint8_t code[] = { 0x48, 0x83, 0xec, 0x08, 0xe8, 0xc7, 0xfd, 0xff, 0xff, 0x31 };

	/* SSL_read_ex of libssl.so.3 (Debian 3.0): sub $8,%rsp; call 0x35290 */
	CHECK_EQ_INT(zt_x86_first_call(code, sizeof(code), 0x354c0), 0x35290);
	CHECK_EQ_INT(zt_x86_first_call(code, 8, 0x354c0), 0); /* the call is cut */
	CHECK_EQ_INT(zt_x86_first_call(code, 4, 0x354c0), 0);

	CHECK_EQ_INT(zt_elf_func("/proc/self/exe", "zt_test_entry_a", &a), 0);
	CHECK_EQ_INT(zt_elf_func("/proc/self/exe", "zt_test_entry_b", &b), 0);
	CHECK_EQ_INT(zt_elf_func("/proc/self/exe", "zt_test_worker", &w), 0);
	CHECK(a.ncode > 5 && a.off != 0);
	CHECK_EQ_INT(zt_x86_first_call(a.code, a.ncode, a.vaddr), w.vaddr);
	CHECK_EQ_INT(zt_x86_first_call(b.code, b.ncode, b.vaddr), w.vaddr);
	/* By address: the same place, the same bytes. */
	at.vaddr = w.vaddr;
	CHECK_EQ_INT(zt_elf_func("/proc/self/exe", NULL, &at), 0);
	CHECK_EQ_INT(at.off, w.off);
	CHECK(!memcmp(at.code, w.code, w.ncode));
	CHECK_EQ_INT(zt_elf_func("/proc/self/exe", "zt_no_such_fn", &at), -ENOENT);
	at.vaddr = 1;
	CHECK_EQ_INT(zt_elf_func("/proc/self/exe", NULL, &at), -ENOENT);
	/* Keep the functions alive in the binary. */
	CHECK_EQ_INT(zt_test_entry_a(2) + zt_test_entry_b(2), 12);
}

static void test_elf(void)
{
	CHECK_EQ_INT(zt_elf_defines("/proc/self/exe", "zt_test_marker_fn"), 1);
	CHECK_EQ_INT(zt_elf_defines("/proc/self/exe", "zt_no_such_fn"), 0);
	/* Called here, defined in a shared library: an undefined reference. */
	CHECK_EQ_INT(zt_elf_defines("/proc/self/exe", "fmemopen"), 0);
	CHECK(zt_elf_defines("/proc/self/maps", "x") < 0);
	CHECK(zt_elf_defines("/nonexistent/file", "x") < 0);
	/* The real library, where the system has it. */
	FILE *f = fopen("/usr/lib/x86_64-linux-gnu/libssl.so.3", "r");

	if (f) {
		fclose(f);
		CHECK_EQ_INT(zt_elf_defines("/usr/lib/x86_64-linux-gnu/libssl.so.3", "SSL_write"), 1);
		CHECK_EQ_INT(zt_elf_defines("/usr/lib/x86_64-linux-gnu/libssl.so.3", "SSL_read_ex"), 1);
		CHECK_EQ_INT(zt_elf_defines("/usr/lib/x86_64-linux-gnu/libssl.so.3", "EVP_EncryptInit"), 0);
	}
}

int main(void)
{
	test_maps();
	test_elf();
	test_call_target();
	return TEST_SUMMARY("test_tls_libs");
}
