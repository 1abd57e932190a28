// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * jitdump: the JIT image of a loaded BPF program, as the kernel runs it, for
 * scripts/bpfprof.sh to disassemble (objdump) and lay perf's samples on.
 * Debian's bpftool prints no JIT code (built without libbfd) and this
 * kernel has no /proc/kcore, but bpf_prog_info hands the bytes over.
 *
 * Usage: jitdump PROG-ID OUT-FILE
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info), n;
	unsigned char *img;
	FILE *f;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: jitdump PROG-ID OUT-FILE\n");
		return 2;
	}
	fd = bpf_prog_get_fd_by_id(atoi(argv[1]));
	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
		fprintf(stderr, "jitdump: program %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	n = info.jited_prog_len;
	img = malloc(n ? n : 1);
	if (!img)
		return 1;
	memset(&info, 0, sizeof(info));
	info.jited_prog_len = n;
	info.jited_prog_insns = (unsigned long)img;
	len = sizeof(info);
	if (!n || bpf_obj_get_info_by_fd(fd, &info, &len)) {
		fprintf(stderr, "jitdump: program %s: no JIT image\n", argv[1]);
		return 1;
	}
	f = fopen(argv[2], "wb");
	if (!f || fwrite(img, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "jitdump: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	free(img);
	return 0;
}
