// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "libs.h"

#define MAX_SEEN 16 /* distinct libssl files in one process: more is absurd */

static bool is_libssl(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libssl.so", 9);
}

int zt_maps_for_each_libssl(FILE *maps, void (*cb)(void *ctx, const char *path), void *ctx)
{
	char line[4096 + 128], seen[MAX_SEEN][256];
	int nseen = 0, calls = 0;

	while (fgets(line, sizeof(line), maps)) {
		char perms[8], *path;
		size_t len = strlen(line);
		int off = 0;

		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		/* addr perms offset dev inode path */
		if (sscanf(line, "%*s %7s %*s %*s %*s %n", perms, &off) != 1 || !off)
			continue;
		path = line + off;
		if (perms[2] != 'x' || path[0] != '/' || !is_libssl(path))
			continue;
		if (len > 10 && !strcmp(line + len - 10, " (deleted)"))
			continue;
		bool dup = false;

		for (int i = 0; i < nseen && !dup; i++)
			dup = !strcmp(seen[i], path);
		if (dup)
			continue;
		/* A path too long to remember, or one past the bound, is not
		 * a libssl anyone loads: skipped rather than reported twice. */
		if (nseen == MAX_SEEN || strlen(path) >= sizeof(seen[0]))
			continue;
		strcpy(seen[nseen++], path);
		cb(ctx, path);
		calls++;
	}
	return calls;
}

/* The defined function `name` in a symbol table: its address in *vaddr. */
static int scn_find(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, const char *name, uint64_t *vaddr)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n;

	if (!data || !sh->sh_entsize)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *s;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
		    !sym.st_value)
			continue;
		s = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (s && !strcmp(s, name)) {
			*vaddr = sym.st_value;
			return 1;
		}
	}
	return 0;
}

/* File offset of `vaddr`, from the section holding it. */
static int vaddr_to_off(Elf *elf, uint64_t vaddr, uint64_t *off, uint64_t *room)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		if (vaddr >= sh.sh_addr && vaddr < sh.sh_addr + sh.sh_size) {
			*off = sh.sh_offset + (vaddr - sh.sh_addr);
			*room = sh.sh_addr + sh.sh_size - vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

int zt_elf_func(const char *path, const char *name, struct zt_elf_func *f)
{
	int fd, found = 0, ret = -ENOENT;
	uint64_t room = 0;
	Elf *elf;
	Elf_Scn *scn = NULL;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		ret = -ENOEXEC;
		goto out;
	}
	if (name) {
		while (!found && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;

			if (gelf_getshdr(scn, &sh) &&
			    (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM))
				found = scn_find(elf, scn, &sh, name, &f->vaddr);
		}
		if (!found)
			goto out;
	}
	if (vaddr_to_off(elf, f->vaddr, &f->off, &room))
		goto out;
	f->ncode = room < ZT_ELF_CODE ? room : ZT_ELF_CODE;
	ret = pread(fd, f->code, f->ncode, (off_t)f->off) == (ssize_t)f->ncode ? 0 : -EIO;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return ret;
}

uint64_t zt_x86_first_call(const uint8_t *code, size_t n, uint64_t vaddr)
{
	for (size_t i = 0; i + 5 <= n; i++) {
		int32_t rel;

		if (code[i] != 0xe8)
			continue;
		memcpy(&rel, code + i + 1, 4);
		return vaddr + i + 5 + (int64_t)rel;
	}
	return 0;
}

int zt_elf_defines(const char *path, const char *name)
{
	struct zt_elf_func f = {};
	int ret;

	/* -ENOENT below means "no such symbol": a missing file is told first. */
	if (access(path, R_OK))
		return -errno;
	ret = zt_elf_func(path, name, &f);
	return ret == 0 ? 1 : ret == -ENOENT ? 0 : ret;
}
