/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Finding the TLS library code a process runs: the libssl files it maps,
 * or its own executable when OpenSSL is linked in statically. Pure file
 * parsing, testable without root or BPF.
 */
#ifndef ZT_TLS_LIBS_H
#define ZT_TLS_LIBS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Calls `cb` once per distinct OpenSSL libssl file (basename "libssl.so*":
 * NSS's libssl3.so is another API) mapped executable in a /proc/PID/maps
 * stream. Paths are as the process sees them (its mount namespace); mapped
 * files since deleted are skipped, and so are paths of 256 bytes or more
 * and files past the 16th. Returns the number of calls.
 */
int zt_maps_for_each_libssl(FILE *maps, void (*cb)(void *ctx, const char *path), void *ctx);

/*
 * Does the ELF file at `path` define the function `name` (in .symtab or
 * .dynsym; an undefined reference to a shared library's does not count)?
 * Returns 1, 0, or -errno when the file cannot be read as ELF.
 */
int zt_elf_defines(const char *path, const char *name);

#define ZT_ELF_CODE 64

/* A function in an ELF file: where it is, and its first bytes. */
struct zt_elf_func {
	uint64_t vaddr;  /* the symbol's address */
	uint64_t off;    /* where its code sits in the file: what a uprobe is attached at */
	uint8_t code[ZT_ELF_CODE];
	size_t ncode;
};

/*
 * Finds `name` (a defined function in .symtab or .dynsym; local symbols
 * count) or, with name NULL, takes the code at `f->vaddr`, and fills `f`.
 * Returns 0, -ENOENT, or -errno when the file cannot be read.
 */
int zt_elf_func(const char *path, const char *name, struct zt_elf_func *f);

/*
 * The target address of the first direct call (E8 rel32) in the first
 * `n` bytes of code at `vaddr`, or 0. A byte scan, not a disassembler: the
 * caller confirms a target by finding it from two functions.
 */
uint64_t zt_x86_first_call(const uint8_t *code, size_t n, uint64_t vaddr);

#endif
